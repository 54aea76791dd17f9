/* guards._evaluator: a compiled guard set run as a flat list of steps, in C.
 *
 * The pure-Python path (guards/checks/codegen.py) turns a guard set into one
 * generated function.  This evaluator runs the same plan (guards/checks/plan.py)
 * without the bytecode interpreter: each step either reads a value into a
 * register (a frame local, an attribute, an item, ...) or tests a register, and
 * the first test that fails ends the check with False.
 *
 * It mirrors the generated function exactly:
 *  - every read and test is the one the Python text would run, in the same
 *    order, with the same user-visible effects (a property runs, __eq__ runs);
 *  - an Exception raised anywhere makes the check False; anything else
 *    (KeyboardInterrupt, SystemExit) propagates, as "except Exception" does;
 *  - steps it has no C form for call a Python function made from the same
 *    template, so every guard kind keeps its semantics.
 *
 * The steps are built once, from a tuple of tuples, into a C array.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>
#define Py_T_PYSSIZET T_PYSSIZET
#define Py_READONLY READONLY
#endif

/* Reads: regs[dst] = ... */
enum {
    OP_LOCAL = 1,  /* L[a]                                        */
    OP_GLOBAL,     /* G[a]                                        */
    OP_GLOBALS,    /* G                                           */
    OP_ATTR,       /* getattr(regs[src], a)                       */
    OP_ITEM,       /* regs[src][a] if type in plain, else b(regs[src], a) */
    OP_SUBSCR,     /* regs[src][a]                                */
    OP_TYPE,       /* type(regs[src])                             */
    OP_COPY,       /* regs[src]                                   */
    OP_CALL,       /* a(regs[src]), or a(regs[src], b) when n == 2 */
    OP_CALL0,      /* regs[src]()                                 */
    OP_ROOT,       /* a(L, G)                                     */
    /* Tests: fail unless ... */
    OP_TYPE_IS = 32, /* type(regs[src]) is a                      */
    OP_IS,           /* regs[src] is a                            */
    OP_IS_NOT,       /* regs[src] is not a                        */
    OP_EQUALS,       /* v is a or (type(v) is b and v == a)       */
    OP_LEN,          /* len(v) == n                               */
    OP_KEYS,         /* list(v) == a                              */
    OP_WEAK_IS,      /* a() is v is not None                      */
    OP_IS_REG,       /* regs[src] is regs[args[0]]                */
    OP_PRED,         /* a(regs[args...]) is true                  */
};

typedef struct {
    int code;
    int dst;
    int src;
    int nargs;     /* OP_PRED, OP_IS_REG: the registers of the values */
    int *args;
    PyObject *a;
    PyObject *b;
    Py_ssize_t n;
} Step;

typedef struct {
    PyObject_HEAD
    Step *steps;
    Py_ssize_t nsteps;
    Py_ssize_t nregs;
    PyObject *weakreflist;
    vectorcallfunc vectorcall;
    int ready;            /* built whole, and not cleared: else every check fails */
} Evaluator;

/* Exact types subscripted directly (guards.core.sources.PLAIN_SUBSCRIPT_TYPES). */
static inline int
plain_subscript(PyObject *v)
{
    PyTypeObject *t = Py_TYPE(v);
    return t == &PyDict_Type || t == &PyList_Type || t == &PyTuple_Type
        || t == &PyUnicode_Type || t == &PyBytes_Type;
}

/* The value of a read step, a new reference, or NULL with an error set. */
static PyObject *
read_step(const Step *s, PyObject **regs, PyObject *L, PyObject *G)
{
    PyObject *base, *res;
    switch (s->code) {
    case OP_LOCAL:
        if (PyDict_CheckExact(L)) {
            res = PyDict_GetItemWithError(L, s->a);
            if (res == NULL) {
                if (!PyErr_Occurred()) {
                    PyErr_SetObject(PyExc_KeyError, s->a);
                }
                return NULL;
            }
            return Py_NewRef(res);
        }
        return PyObject_GetItem(L, s->a);
    case OP_GLOBAL:
        if (G != NULL && PyDict_CheckExact(G)) {
            res = PyDict_GetItemWithError(G, s->a);
            if (res == NULL) {
                if (!PyErr_Occurred()) {
                    PyErr_SetObject(PyExc_KeyError, s->a);
                }
                return NULL;
            }
            return Py_NewRef(res);
        }
        return PyObject_GetItem(G == NULL ? Py_None : G, s->a);
    case OP_GLOBALS:
        return Py_NewRef(G == NULL ? Py_None : G);
    case OP_ROOT:
        {
            PyObject *args[2] = {L, G == NULL ? Py_None : G};
            return PyObject_Vectorcall(s->a, args, 2, NULL);
        }
    default:
        break;
    }
    base = regs[s->src];
    switch (s->code) {
    case OP_ATTR:
        return PyObject_GetAttr(base, s->a);
    case OP_ITEM:
        if (PyDict_CheckExact(base)) {
            res = PyDict_GetItemWithError(base, s->a);
            if (res == NULL) {
                if (!PyErr_Occurred()) {
                    PyErr_SetObject(PyExc_KeyError, s->a);
                }
                return NULL;
            }
            return Py_NewRef(res);
        }
        if (plain_subscript(base)) {
            return PyObject_GetItem(base, s->a);
        }
        {
            PyObject *args[2] = {base, s->a};
            return PyObject_Vectorcall(s->b, args, 2, NULL);
        }
    case OP_SUBSCR:
        return PyObject_GetItem(base, s->a);
    case OP_TYPE:
        return Py_NewRef((PyObject *)Py_TYPE(base));
    case OP_COPY:
        return Py_NewRef(base);
    case OP_CALL:
        if (s->n != 2) {
            return PyObject_CallOneArg(s->a, base);
        }
        {
            PyObject *args[2] = {base, s->b};
            return PyObject_Vectorcall(s->a, args, 2, NULL);
        }
    case OP_CALL0:
        return PyObject_CallNoArgs(base);
    default:
        PyErr_Format(PyExc_SystemError, "guards evaluator: unknown step %d", s->code);
        return NULL;
    }
}

/* 1 when `list(v) == keys`, 0 when not, -1 on error.  An exact dict whose keys are
 * the very objects of `keys`, in order, is equal without building the list (==
 * of lists compares items by identity first); anything else is compared as
 * Python does. */
static int
keys_equal(PyObject *v, PyObject *keys)
{
    if (PyDict_CheckExact(v) && PyList_CheckExact(keys)) {
        Py_ssize_t size = PyDict_GET_SIZE(v);
        if (size != PyList_GET_SIZE(keys)) {
            return 0;
        }
        Py_ssize_t pos = 0, i = 0;
        PyObject *key, *value;
        int same = 1;
        while (PyDict_Next(v, &pos, &key, &value)) {
            if (i >= size || key != PyList_GET_ITEM(keys, i)) {
                same = 0;
                break;
            }
            i++;
        }
        if (same && i == size) {
            return 1;
        }
    }
    PyObject *items = PySequence_List(v);
    if (items == NULL) {
        return -1;
    }
    int equal = PyObject_RichCompareBool(items, keys, Py_EQ);
    Py_DECREF(items);
    return equal;
}

/* 1 when the test passes, 0 when it fails, -1 on error. */
static int
test_step(const Step *s, PyObject **regs)
{
    PyObject *v = regs[s->src];
    switch (s->code) {
    case OP_TYPE_IS:
        return (PyObject *)Py_TYPE(v) == s->a;
    case OP_IS:
        return v == s->a;
    case OP_IS_NOT:
        return v != s->a;
    case OP_EQUALS:
        if (v == s->a) {
            return 1;
        }
        if ((PyObject *)Py_TYPE(v) != s->b) {
            return 0;
        }
        return PyObject_RichCompareBool(v, s->a, Py_EQ);
    case OP_LEN:
        {
            Py_ssize_t size = PyObject_Length(v);
            if (size < 0) {
                return -1;
            }
            return size == s->n;
        }
    case OP_KEYS:
        return keys_equal(v, s->a);
    case OP_WEAK_IS:
        {
            PyObject *referent = PyObject_CallNoArgs(s->a);
            if (referent == NULL) {
                return -1;
            }
            int same = referent == v && v != Py_None;
            Py_DECREF(referent);
            return same;
        }
    case OP_IS_REG:
        return v == regs[s->args[0]];
    case OP_PRED:
        {
            PyObject *small[8];
            PyObject **args = small;
            if (s->nargs > 8) {
                args = PyMem_Malloc(sizeof(PyObject *) * (size_t)s->nargs);
                if (args == NULL) {
                    PyErr_NoMemory();
                    return -1;
                }
            }
            for (int i = 0; i < s->nargs; i++) {
                args[i] = regs[s->args[i]];
            }
            PyObject *res = PyObject_Vectorcall(s->a, args, (size_t)s->nargs, NULL);
            if (args != small) {
                PyMem_Free(args);
            }
            if (res == NULL) {
                return -1;
            }
            int truth = PyObject_IsTrue(res);
            Py_DECREF(res);
            return truth;
        }
    default:
        PyErr_Format(PyExc_SystemError, "guards evaluator: unknown test %d", s->code);
        return -1;
    }
}

/* Py_True, Py_False, or NULL when a BaseException that is not an Exception
 * propagates (as it does through the generated "except Exception"). */
static PyObject *
run(Evaluator *self, PyObject *L, PyObject *G)
{
    PyObject *small[32];
    PyObject **regs = small;
    PyObject *verdict = Py_True;
    Py_ssize_t nregs = self->nregs;

    if (!self->ready) {
        /* Half built or cleared by the collector: never pass a frame. */
        Py_RETURN_FALSE;
    }
    if (nregs > 32) {
        regs = PyMem_Calloc((size_t)nregs, sizeof(PyObject *));
        if (regs == NULL) {
            return PyErr_NoMemory();
        }
    }
    else {
        memset(small, 0, sizeof(small));
    }
    if (Py_EnterRecursiveCall(" in a guards check")) {
        verdict = NULL;
        goto error;
    }
    for (Py_ssize_t i = 0; i < self->nsteps; i++) {
        const Step *s = &self->steps[i];
        if (s->code < OP_TYPE_IS) {
            PyObject *value = read_step(s, regs, L, G);
            if (value == NULL) {
                verdict = NULL;
                break;
            }
            Py_XSETREF(regs[s->dst], value);
        }
        else {
            int ok = test_step(s, regs);
            if (ok <= 0) {
                verdict = ok == 0 ? Py_False : NULL;
                break;
            }
        }
    }
    Py_LeaveRecursiveCall();
error:
    for (Py_ssize_t r = 0; r < nregs; r++) {
        Py_XDECREF(regs[r]);
    }
    if (regs != small) {
        PyMem_Free(regs);
    }
    if (verdict == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_Exception)) {
            return NULL;
        }
        PyErr_Clear();
        verdict = Py_False;
    }
    return Py_NewRef(verdict);
}

static PyObject *
evaluator_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                     PyObject *kwnames)
{
    Evaluator *self = (Evaluator *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *L = nargs > 0 ? args[0] : NULL;
    PyObject *G = nargs > 1 ? args[1] : NULL;
    if (nargs > 2) {
        PyErr_Format(PyExc_TypeError,
                     "check() takes from 1 to 2 positional arguments but %zd were given",
                     nargs);
        return NULL;
    }
    if (kwnames != NULL) {
        /* As def check(L, G=None): the parameters by name too. */
        Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t i = 0; i < nkw; i++) {
            PyObject *name = PyTuple_GET_ITEM(kwnames, i);
            PyObject **slot;
            if (PyUnicode_CompareWithASCIIString(name, "L") == 0) {
                slot = &L;
            }
            else if (PyUnicode_CompareWithASCIIString(name, "G") == 0) {
                slot = &G;
            }
            else {
                PyErr_Format(PyExc_TypeError,
                             "check() got an unexpected keyword argument '%U'", name);
                return NULL;
            }
            if (*slot != NULL) {
                PyErr_Format(PyExc_TypeError, "check() got multiple values for argument '%U'",
                             name);
                return NULL;
            }
            *slot = args[nargs + i];
        }
    }
    if (L == NULL) {
        PyErr_SetString(PyExc_TypeError, "check() missing 1 required positional argument: 'L'");
        return NULL;
    }
    if (G == Py_None) {
        G = NULL;
    }
    return run(self, L, G);
}

static void
clear_steps(Evaluator *self)
{
    Step *steps = self->steps;
    Py_ssize_t n = self->nsteps;
    self->steps = NULL;
    self->nsteps = 0;
    if (steps == NULL) {
        return;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_CLEAR(steps[i].a);
        Py_CLEAR(steps[i].b);
        PyMem_Free(steps[i].args);
    }
    PyMem_Free(steps);
}

static int
evaluator_traverse(Evaluator *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    for (Py_ssize_t i = 0; i < self->nsteps; i++) {
        Py_VISIT(self->steps[i].a);
        Py_VISIT(self->steps[i].b);
    }
    return 0;
}

static int
evaluator_clear(Evaluator *self)
{
    self->ready = 0;
    clear_steps(self);
    return 0;
}

static void
evaluator_dealloc(Evaluator *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    evaluator_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* An exact int (no __index__: no user code runs while a plan is parsed). */
static int
as_int(PyObject *item, const char *what, Py_ssize_t i, int *out)
{
    if (!PyLong_CheckExact(item)) {
        PyErr_Format(PyExc_ValueError, "step %zd: %s must be an int", i, what);
        return -1;
    }
    long value = PyLong_AsLong(item);
    if (value == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (value < -1 || value > INT_MAX) {
        PyErr_Format(PyExc_ValueError, "step %zd: %s out of range", i, what);
        return -1;
    }
    *out = (int)value;
    return 0;
}

/* One step from (code, dst, src, a, b, n, args): checked, so that a malformed
 * plan is a ValueError here, never a crash at check time. */
static int
parse_step(PyObject *item, Py_ssize_t i, Py_ssize_t nregs, Step *s)
{
    if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 7) {
        PyErr_Format(PyExc_ValueError, "step %zd: a tuple of 7 expected", i);
        return -1;
    }
    if (as_int(PyTuple_GET_ITEM(item, 0), "code", i, &s->code) < 0
        || as_int(PyTuple_GET_ITEM(item, 1), "dst", i, &s->dst) < 0
        || as_int(PyTuple_GET_ITEM(item, 2), "src", i, &s->src) < 0) {
        return -1;
    }
    s->a = Py_NewRef(PyTuple_GET_ITEM(item, 3));
    s->b = Py_NewRef(PyTuple_GET_ITEM(item, 4));
    if (!PyLong_CheckExact(PyTuple_GET_ITEM(item, 5))) {
        PyErr_Format(PyExc_ValueError, "step %zd: n must be an int", i);
        return -1;
    }
    s->n = PyLong_AsSsize_t(PyTuple_GET_ITEM(item, 5));
    if (s->n == -1 && PyErr_Occurred()) {
        return -1;
    }
    PyObject *args = PyTuple_GET_ITEM(item, 6);
    if (!PyTuple_CheckExact(args)) {
        PyErr_Format(PyExc_ValueError, "step %zd: args must be a tuple", i);
        return -1;
    }
    int known = (s->code >= OP_LOCAL && s->code <= OP_ROOT)
        || (s->code >= OP_TYPE_IS && s->code <= OP_PRED);
    if (!known) {
        PyErr_Format(PyExc_ValueError, "step %zd: unknown code %d", i, s->code);
        return -1;
    }
    int is_read = s->code < OP_TYPE_IS;
    int rootless = s->code == OP_LOCAL || s->code == OP_GLOBAL || s->code == OP_GLOBALS
        || s->code == OP_ROOT;
    if ((is_read && (s->dst < 0 || s->dst >= nregs))
        || (!rootless && (s->src < 0 || s->src >= nregs))) {
        PyErr_Format(PyExc_ValueError, "step %zd: register out of range", i);
        return -1;
    }
    PyObject *callable = s->code == OP_ITEM ? s->b
        : (s->code == OP_CALL || s->code == OP_ROOT || s->code == OP_PRED
           || s->code == OP_WEAK_IS) ? s->a : NULL;
    if (callable != NULL && !PyCallable_Check(callable)) {
        PyErr_Format(PyExc_ValueError, "step %zd: not callable", i);
        return -1;
    }
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    if ((s->code == OP_IS_REG && nargs != 1) || (s->code != OP_PRED && s->code != OP_IS_REG
                                                 && nargs != 0) || nargs > INT_MAX) {
        PyErr_Format(PyExc_ValueError, "step %zd: wrong number of registers", i);
        return -1;
    }
    s->nargs = (int)nargs;
    if (s->nargs) {
        s->args = PyMem_Malloc(sizeof(int) * (size_t)s->nargs);
        if (s->args == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (int j = 0; j < s->nargs; j++) {
            if (as_int(PyTuple_GET_ITEM(args, j), "register", i, &s->args[j]) < 0) {
                return -1;
            }
            if (s->args[j] < 0 || s->args[j] >= nregs) {
                PyErr_Format(PyExc_ValueError, "step %zd: register out of range", i);
                return -1;
            }
        }
    }
    return 0;
}

static PyObject *
evaluator_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"steps", "registers", NULL};
    PyObject *plan;
    Py_ssize_t nregs;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!n:Evaluator", kwlist, &PyTuple_Type,
                                     &plan, &nregs)) {
        return NULL;
    }
    if (nregs < 0 || nregs > 1 << 20) {
        PyErr_SetString(PyExc_ValueError, "registers out of range");
        return NULL;
    }
    Evaluator *self = (Evaluator *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = evaluator_vectorcall;
    self->nregs = nregs;
    Py_ssize_t n = PyTuple_GET_SIZE(plan);
    self->steps = PyMem_Calloc(n ? (size_t)n : 1, sizeof(Step));
    if (self->steps == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    /* Which registers hold a value when each step runs: a step may only read a
     * register that an earlier read wrote (registers are never emptied during a
     * check, and the first failing step ends it). */
    char *written = PyMem_Calloc(nregs ? (size_t)nregs : 1, 1);
    if (written == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Step *s = &self->steps[i];
        self->nsteps = i + 1; /* so that a failure frees what was parsed */
        if (parse_step(PyTuple_GET_ITEM(plan, i), i, nregs, s) < 0) {
            goto fail;
        }
        int rootless = s->code == OP_LOCAL || s->code == OP_GLOBAL || s->code == OP_GLOBALS
            || s->code == OP_ROOT;
        int unset = !rootless && !written[s->src];
        for (int j = 0; j < s->nargs; j++) {
            unset |= !written[s->args[j]];
        }
        if (unset) {
            PyErr_Format(PyExc_ValueError,
                         "step %zd: reads a register that no earlier step wrote", i);
            goto fail;
        }
        if (s->code < OP_TYPE_IS) {
            written[s->dst] = 1;
        }
    }
    PyMem_Free(written);
    self->nsteps = n;
    self->ready = 1;
    return (PyObject *)self;
fail:
    PyMem_Free(written);
    Py_DECREF(self);
    return NULL;
}

static PyObject *
evaluator_copy(PyObject *self, PyObject *unused)
{
    /* Immutable once built: a copy is itself, as a function's is. */
    return Py_NewRef(self);
}

static PyObject *
evaluator_get_name(Evaluator *self, void *closure)
{
    return PyUnicode_FromString("check");
}

static PyMethodDef evaluator_methods[] = {
    {"__copy__", evaluator_copy, METH_NOARGS, "Itself: an evaluator is immutable."},
    {"__deepcopy__", evaluator_copy, METH_O, "Itself: an evaluator is immutable."},
    {NULL},
};

/* The steps as tuples again, made when asked: an evaluator keeps only its C array
 * (the tuples it was built from would be objects for the collector to walk). */
static PyObject *
evaluator_get_steps(Evaluator *self, void *closure)
{
    PyObject *steps = PyTuple_New(self->nsteps);
    if (steps == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < self->nsteps; i++) {
        const Step *s = &self->steps[i];
        PyObject *args = PyTuple_New(s->nargs);
        if (args == NULL) {
            Py_DECREF(steps);
            return NULL;
        }
        for (int j = 0; j < s->nargs; j++) {
            PyObject *reg = PyLong_FromLong(s->args[j]);
            if (reg == NULL) {
                Py_DECREF(args);
                Py_DECREF(steps);
                return NULL;
            }
            PyTuple_SET_ITEM(args, j, reg);
        }
        PyObject *step = Py_BuildValue("(iiiOOnN)", s->code, s->dst, s->src, s->a, s->b, s->n,
                                       args);
        if (step == NULL) {
            Py_DECREF(steps);
            return NULL;
        }
        PyTuple_SET_ITEM(steps, i, step);
    }
    return steps;
}

static PyObject *
evaluator_get_registers(Evaluator *self, void *closure)
{
    return PyLong_FromSsize_t(self->nregs);
}

static PyGetSetDef evaluator_getset[] = {
    {"steps", (getter)evaluator_get_steps, NULL, "The steps it runs, as tuples (made when asked).", NULL},
    {"registers", (getter)evaluator_get_registers, NULL, "How many values it holds at once.",
     NULL},
    {"__name__", (getter)evaluator_get_name, NULL, "check, as the generated function.", NULL},
    {"__qualname__", (getter)evaluator_get_name, NULL, "check.", NULL},
    {NULL},
};

static PyMemberDef evaluator_members[] = {
    {"__vectorcalloffset__", Py_T_PYSSIZET, offsetof(Evaluator, vectorcall), Py_READONLY},
    {"__weaklistoffset__", Py_T_PYSSIZET, offsetof(Evaluator, weakreflist), Py_READONLY},
    {NULL},
};

static PyType_Slot evaluator_slots[] = {
    {Py_tp_doc, "Evaluator(steps, registers): check(L, G=None) -> bool, in C."},
    {Py_tp_new, evaluator_new},
    {Py_tp_dealloc, evaluator_dealloc},
    {Py_tp_traverse, evaluator_traverse},
    {Py_tp_clear, evaluator_clear},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_getset, evaluator_getset},
    {Py_tp_methods, evaluator_methods},
    {Py_tp_members, evaluator_members},
    {0, NULL},
};

static PyType_Spec evaluator_spec = {
    .name = "guards._evaluator.Evaluator",
    .basicsize = sizeof(Evaluator),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
        | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = evaluator_slots,
};

static int
evaluator_exec(PyObject *module)
{
    PyObject *type = PyType_FromModuleAndSpec(module, &evaluator_spec, NULL);
    if (type == NULL) {
        return -1;
    }
    int rc = PyModule_AddObjectRef(module, "Evaluator", type);
    Py_DECREF(type);
    if (rc < 0) {
        return -1;
    }
    struct { const char *name; int value; } codes[] = {
        {"LOCAL", OP_LOCAL}, {"GLOBAL", OP_GLOBAL}, {"GLOBALS", OP_GLOBALS},
        {"ATTR", OP_ATTR}, {"ITEM", OP_ITEM}, {"SUBSCR", OP_SUBSCR}, {"TYPE", OP_TYPE},
        {"COPY", OP_COPY}, {"CALL", OP_CALL}, {"CALL0", OP_CALL0}, {"ROOT", OP_ROOT},
        {"TYPE_IS", OP_TYPE_IS}, {"IS", OP_IS}, {"IS_NOT", OP_IS_NOT},
        {"EQUALS", OP_EQUALS}, {"LEN", OP_LEN}, {"KEYS", OP_KEYS}, {"WEAK_IS", OP_WEAK_IS},
        {"IS_REG", OP_IS_REG}, {"PRED", OP_PRED},
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (PyModule_AddIntConstant(module, codes[i].name, codes[i].value) < 0) {
            return -1;
        }
    }
    return 0;
}

static PyModuleDef_Slot evaluator_module_slots[] = {
    {Py_mod_exec, evaluator_exec},
    {0, NULL},
};

static struct PyModuleDef evaluator_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "guards._evaluator",
    .m_doc = "The compiled evaluator of guards' checks (optional: guards.checks.plan).",
    .m_size = 0,
    .m_slots = evaluator_module_slots,
};

PyMODINIT_FUNC
PyInit__evaluator(void)
{
    return PyModuleDef_Init(&evaluator_module);
}
