"""The generated front of a specialized function: its own signature, its hits inline.

A specialized function is one generated function with the wrapped function's
parameters.  It binds a call as Python does (defaults of the wrapped
function read at call time), then checks the most recently used entries
*inline*: each entry's guards are emitted right in its body, reading the
parameters themselves instead of a dict of frame locals, so a hit costs no
dict, no binding and no call but the wrapper's own.  Anything else (more
entries than are inlined, a miss, verify mode, a disabled region) builds the
frame locals and goes to the slow path, ``Specialized.dispatch``.

When the inline entries change, the body is generated again and swapped
into the same function object (``wrapper.__code__``), so the object users
hold never changes.  While every inline entry calls its check function (more
than :data:`INLINE_CHECKS` checks, as a function reading many values makes),
they are looked up from a tuple by lines the wrapper was defined with (a wide
function's front is a plain function over the tuple): a change rebinds the
tuple and compiles nothing.  With more entries than are inlined, the body looks the
candidates up in a dict and a list it reads as constants
(:class:`IndexedFront`); an entry added or evicted updates those in place,
and the body is generated again only when the cache builds its index anew,
which it does once in as many changes as it has entries: a miss costs the
same with 10 or 10,000 entries.  Each generation binds its constants under
names of its own in the wrapper's private globals, so a thread still
running the previous body never reads the new one's constants; the
generation before that is dropped, and a thread that could still be in it would fail its checks into
the slow path, which is always right.  A generation's names are taken again
only once the body that used them is gone (no thread can run it, and nothing
holds it), not made new at every refresh: Python 3.12 and 3.13 keep every
identifier they compile until the process ends.

``__defaults__``, ``__kwdefaults__`` and ``__code__`` of the wrapped function
may be reassigned after decoration, and nothing tells the wrapper.  So the
wrapper's own signature rejects no call for its arity: every parameter defaults
to ``MISSING`` (an omitted one takes the function's default *now*) and a hidden
``*args`` takes surplus positional arguments.  A call that does not fit the
function as it is now (a required argument missing, too many given) is made
again on the function itself as it was given, so Python raises its own
``TypeError``; a function whose ``__code__`` was replaced is called plainly.
"""

from __future__ import annotations

import builtins
import functools
import threading
import types
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from guards.checks.cache import (
    INDEX_VALUE_TYPE_IDS,
    CacheChange,
    CacheEntry,
    EntryIndex,
    GuardedCache,
)
from guards.checks.codegen import FAIL, Emitter, access_expr, emit_body
from guards.checks.generated import (
    GENERATED_MODULE,
    LineWriter,
    compile_generated,
    run_factory,
)
from guards.core.signatures import SignatureShape, signature_shape
from guards.core.sources import GlobalSource, GlobalsSource, LocalSource, Source
from guards.forks import fork_safe
from guards.markers import SLOW_PATH
from guards.tracking.binding import parameter_list

#: Up to this many entries are checked inline, most recently used first.
INLINE_ENTRIES = 4
#: A function with more parameters than this checks its entries in a function of its
#: own (see ``Dispatcher._generate``).
WIDE_PARAMETERS = 16
#: An entry with more checks than this calls its check function instead of having
#: them emitted in the body (see ``Dispatcher._checks``).
INLINE_CHECKS = 16


#: Names of builtins, which guards' generated text may use.
_BUILTIN_NAMES = frozenset(vars(builtins))


class _Missing:
    def __repr__(self) -> str:
        return "<default>"


#: The default of every parameter that has one: "not passed, read the real default".
MISSING = _Missing()
#: What an entry function returns when its guards fail.
NO_HIT = _Missing()


class FreshNames:
    """Names for generated code that cannot collide with the user's names."""

    def __init__(self, taken: set[str]) -> None:
        self._taken = set(taken)

    def get(self, hint: str) -> str:
        name = f"_g_{hint}"
        while name in self._taken:
            name = "_" + name
        self._taken.add(name)
        return name

    def prefix(self, hint: str) -> str:
        """A prefix no taken name starts with (for whole families of names)."""
        prefix = f"_g{hint}_"
        while any(name.startswith(prefix) for name in self._taken):
            prefix = "_" + prefix
        return prefix


class Dispatcher:
    """Owns a specialized function's generated front and keeps it in step with the cache."""

    def __init__(
        self,
        function: types.FunctionType,
        cache: GuardedCache,
        slow_path: Callable[[dict[str, Any]], Any],
        *,
        inline: bool = True,
        new_code: Callable[..., Any] | None = None,
    ) -> None:
        self.function = function
        self.cache = cache
        code = function.__code__
        self.shape = signature_shape(function)
        # Guards are written with builtins (``type(x) is T``): a parameter that shadows
        # one would be called in their place, so such a function checks its entries
        # on the slow path only.
        self.inline = inline and not _BUILTIN_NAMES.intersection(self.shape.names())
        self.names = FreshNames(set(code.co_varnames) | set(code.co_freevars))
        #: The body that last used each set of names (``_g0_``, ``_g1_``...), weakly.
        self._bodies: list[weakref.ref[types.CodeType] | None] = []
        self._previous: list[str] = []
        self._entry_functions: dict[CacheEntry, Callable[..., Any]] = {}
        #: The indexed lookup of the current body, updated in place (None: inline).
        self._front: IndexedFront | None = None
        self._lock = threading.Lock()
        fork_safe(self, "_lock")
        n = self.names
        self.missing, self.slow, self.flag, self.g = (
            n.get("MISSING"), n.get("slow"), n.get("SLOW_PATH"), n.get("G"),
        )
        self.pos_default, self.kw_default, self.cell_items = (
            n.get("pos_default"), n.get("kw_default"), n.get("cell_items"),
        )
        # The defaults as they were: a call compares the function's current
        # tuple with them by identity, and reads them inline while they stand.
        self.fn, self.defaults, self.defaults_now = n.get("fn"), n.get("defaults"), n.get("d")
        # Surplus positional arguments (the function's own *args, or a hidden one),
        # the call made again as given, and the code the wrapper was made for.
        self.surplus = self.shape.varargs or n.get("surplus")
        self.as_given, self.code = n.get("as_given"), n.get("code")
        self.unbound = n.get("Unbound")
        self.new_code = n.get("new_code") if new_code is not None else None
        self.cells = [n.get(f"cell{i}") for i in range(len(code.co_freevars))]
        # Not the function's own name, which may not be an identifier ("<lambda>");
        # specialize() gives the wrapper the function's names afterwards.
        self.def_name = n.get("wrapper")
        self.globals: dict[str, Any] = {
            "__name__": GENERATED_MODULE,
            self.missing: MISSING,
            self.slow: slow_path,
            self.flag: SLOW_PATH,
            self.g: function.__globals__,
            self.pos_default: _defaults_reader(function, self.shape),
            self.fn: function,
            self.defaults: function.__defaults__,
            self.kw_default: _kwdefaults_reader(function),
            self.cell_items: _cell_items,
            self.as_given: _caller_as_given(function, self.shape),
            self.unbound: _Unbound,
            self.code: code,
            **dict(zip(self.cells, function.__closure__ or (), strict=True)),
        }
        if self.new_code is not None:
            self.globals[self.new_code] = new_code
        self._signature: tuple[list[str], list[str]] | None = None
        # A wide function (more than WIDE_PARAMETERS parameters) keeps its wrapper,
        # whose signature and defaults' reads are written out per parameter, and checks
        # its entries in a front function that is generated again instead: a miss
        # compiles one line per parameter, not a dozen.  The call costs a hit little
        # next to binding that many arguments.
        self.wide = len(self._parameter_names()) > WIDE_PARAMETERS
        self.front_fn, self.nohit, self.front_result = n.get("front"), n.get("nohit"), n.get("r")
        self.globals[self.front_fn] = _no_entries
        self.globals[self.nohit] = NO_HIT
        # Entries that call their check function (more than INLINE_CHECKS checks) are
        # looked up from a tuple of them, in a body written once, when every inline
        # entry is one: the first miss of a function that reads many values compiles
        # no body again.  (check, value, get, hits) per entry; see _called_entries.
        self.calls = n.get("calls")
        self.call_vars = tuple(n.get(hint) for hint in ("c", "v", "get", "h", "hit"))
        self.globals[self.calls] = ()
        self.wrapper = self._define()
        #: The body that looks entries up in the tuple (None: a wide function's, kept
        #: as it is, and one that checks entries on the slow path only).
        self._calls_code: types.CodeType | None = (
            None if self.wide or not self.inline else self.wrapper.__code__
        )
        cache.add_listener(self.refresh)

    # -- generation -------------------------------------------------------------------
    def _define(self) -> types.FunctionType:
        lookup = self._calls_lookup() if self.inline and not self.wide else []
        return compile_generated(
            self._skeleton(lookup, front=self.wide and self.inline),
            kind="specialize", label=self.function.__qualname__,
            namespace=self.globals, owner=self._pop_wrapper,
        )

    def _pop_wrapper(self, namespace: dict[str, Any]) -> types.FunctionType:
        """The function just defined, out of the globals (its name is of no use there)."""
        return namespace.pop(self.def_name)  # type: ignore[no-any-return]

    def _pop_code(self, namespace: dict[str, Any]) -> types.CodeType:
        """The code of the function just defined: the new body of the wrapper."""
        return self._pop_wrapper(namespace).__code__

    def refresh(self, change: CacheChange | None = None) -> None:
        """Keep the body in step with the cache after ``change`` (``None``: any change).

        In the indexed regime (more than :data:`INLINE_ENTRIES` entries) an entry
        added or evicted only updates the candidates the body reads (a dict and
        a list bound as its constants), in place: O(1) per change, no code
        generated but the new entry's function.  The body is generated again
        when the inline entries change, and when the cache builds its index
        anew (rarely: amortized O(1) per change, see ``EntryIndex.due``).
        """
        if not self.inline:
            return  # the body never changes: every call goes to the slow path
        with self._lock:
            front = self._front
            if (
                front is not None and change is not None and not change.reset
                and len(self.cache) > INLINE_ENTRIES and front.index is self.cache.index
            ):
                for entry in change.removed:
                    front.remove(entry)
                    self._entry_functions.pop(entry, None)
                if change.added is not None:
                    front.add(change.added, self._entry_function(change.added))
                return
            self._generate()

    def _generate(self) -> None:
        """Generate the body again for the cache's current entries and swap it in (locked)."""
        if len(self.cache) <= INLINE_ENTRIES and self._swap_calls():
            return
        free = self._free_names()
        emitter = Emitter(self.names.prefix(f"{free}"))
        if len(self.cache) > INLINE_ENTRIES:
            index = self.cache.index
            self._entry_functions = {
                entry: fn for entry, fn in self._entry_functions.items() if entry in index.keys
            }
            lines = self._indexed(index, emitter)
        else:
            self._front = None
            self._entry_functions.clear()
            # A wide function's front builds the frame locals once, if an entry asks.
            frame = f"{emitter.prefix}L" if self.wide else None
            lines = [
                line for entry in self.cache.entries
                for line in self._inline(entry, emitter, frame)
            ]
            if frame is not None and any(frame in line for line in lines):
                lines.insert(0, f"{frame} = {{{', '.join(self._frame_entries())}}}")
        self.globals.update(emitter.constants)
        # Its linecache entry follows the code: it lasts while a thread may run it.
        if self.wide:
            # Defined in place of the last one: a thread reads the old or the new.
            body = compile_generated(
                self._front_text(lines), kind="specialize",
                label=self.function.__qualname__, namespace=self.globals,
                owner=self._front_code,
            )
        else:
            body = compile_generated(
                self._skeleton(lines), kind="specialize", label=self.function.__qualname__,
                namespace=self.globals, owner=self._pop_code,
            )
            self.wrapper.__code__ = body
        self._bodies[free] = weakref.ref(body)
        for name in self._previous:  # two generations back: no thread can be there
            self.globals.pop(name, None)
        self._previous = list(emitter.constants)

    def _swap_calls(self) -> bool:
        """When every entry calls its check function (more than :data:`INLINE_CHECKS`
        checks), look them up from a tuple: in the body written when the wrapper was
        defined, or a wide function's front made of :func:`_called_entries`, with
        nothing compiled.  False (nothing done) otherwise."""
        entries = self.cache.entries
        # A loop, not any() of a generator: one closed early raises (an event for the
        # net with sys.monitoring, on every miss).
        for entry in entries:
            if len(entry.check.checks) <= INLINE_CHECKS:
                return False
        calls = tuple([_entry_call(entry) for entry in entries])
        if self.wide:
            if self.function.__code__.co_freevars:
                return False  # its frame locals hold the cells' contents: generated
            front = functools.partial(
                _called_entries, tuple(self._parameter_names()), calls,
                self.function.__globals__,
            )
            self.globals[self.front_fn] = front
        else:
            if self._calls_code is None:
                return False
            self.globals[self.calls] = calls
            self.wrapper.__code__ = self._calls_code
        self._front = None
        self._entry_functions.clear()
        for name in self._previous:  # the last generated body's: replaced now
            self.globals.pop(name, None)
        self._previous = []
        return True

    def _calls_lookup(self) -> list[str]:
        """The lines that look entries up in the tuple of :meth:`_swap_calls`."""
        check, value, get, hits, result = self.call_vars
        frame = f"{{{', '.join(self._frame_entries())}}}"
        return [
            f"for {check}, {value}, {get}, {hits} in {self.calls}:",
            f"    if {check}({frame}, {self.g}):",
            f"        {result} = {value} if {get} is None else {get}()",
            f"        next({hits})",
            f"        return {result}",
        ]

    def _free_names(self) -> int:
        """A set of names whose last body is gone: no thread runs it, or ever will
        (a frame running it holds it).  A new set when every one is in use."""
        for i, body in enumerate(self._bodies):
            if body is None or body() is None:
                return i
        self._bodies.append(None)
        return len(self._bodies) - 1

    def _skeleton(self, lookup: list[str], *, front: bool = False) -> str:
        """The whole function: bind the call, try ``lookup`` (or, with ``front``, the
        front function), else the slow path."""
        if self._signature is None:  # the same for every body
            self._signature = self._parameters()
        params, resolve = self._signature
        writer = LineWriter()
        writer.line(f"def {self.def_name}({', '.join(params)}):")
        with writer.indent():
            writer.lines(resolve)
            if front:
                result = self.front_result
                writer.line(f"if not {self.flag}[0]:")
                with writer.indent():
                    args = ", ".join(self._parameter_names())
                    writer.line(f"{result} = {self.front_fn}({args})")
                    writer.line(f"if {result} is not {self.nohit}:")
                    with writer.indent():
                        writer.line(f"return {result}")
            elif lookup:
                writer.line(f"if not {self.flag}[0]:")
                with writer.indent():
                    _fall_through_on_error(writer, lookup)
            writer.line(f"return {self.slow}({{{', '.join(self._frame_entries())}}})")
        return writer.text()

    def _front_text(self, lookup: list[str]) -> str:
        """A wide function's front: ``lookup`` on the bound parameters, else ``NO_HIT``."""
        writer = LineWriter()
        writer.line(f"def {self.front_fn}({', '.join(self._parameter_names())}):")
        with writer.indent():
            if lookup:
                _fall_through_on_error(writer, lookup)
            writer.line(f"return {self.nohit}")
        return writer.text()

    def _front_code(self, namespace: dict[str, Any]) -> types.CodeType:
        """The code of the front just defined (the function stays in the globals)."""
        return namespace[self.front_fn].__code__  # type: ignore[no-any-return]

    def _inline(self, entry: CacheEntry, emitter: Emitter, frame: str | None) -> list[str]:
        """One entry's guards inline: ``break`` out of its block on the first failure."""
        writer = LineWriter()
        writer.line("while True:")
        with writer.indent():
            writer.lines(self._checks(entry, emitter, "break", frame))
        return writer.getlines()

    def _checks(
        self, entry: CacheEntry, emitter: Emitter, fail: str, frame: str | None = None
    ) -> list[str]:
        """The entry's guards (``fail`` where one fails), then the hit: count it, return.

        An entry of more than :data:`INLINE_CHECKS` checks calls its own check function
        on the frame locals instead: the check is as fast either way (a dict and a call
        on top of many checks), and emitting it again would cost a miss as much as
        compiling it did, in proportion to the values the run read.  ``frame`` names
        the frame locals built already (a wide function's front), else they are built
        in the call.
        """
        check = entry.check
        if len(check.checks) > INLINE_CHECKS:
            if frame is None:
                frame = f"{{{', '.join(self._frame_entries())}}}"
            call = f"{emitter.bind(check.check, 'check')}({frame}, {self.g})"
            lines = [f"if not {call}:", f"    {fail}"]
        else:
            body, _ = emit_body(check.checks, emitter, self._root_code)
            lines = [line.replace(FAIL, fail) for line in body]
        # The result is read before the hit is counted: a thread still in an old
        # generation whose constants were dropped fails over to the slow path (a
        # NameError) before counting, never after, so no call is counted twice.
        result = f"{emitter.prefix}hit"
        stored = entry.value
        if getattr(stored, "immutable", False):
            lines.append(f"{result} = {emitter.bind(stored.value, 'value')}")
        else:
            lines.append(f"{result} = {emitter.bind(stored.get, 'get')}()")
        lines += [
            # Only the count: the cache turns moved counts into recency when it
            # needs recency (GuardedCache._sync_recency), keeping this path short.
            f"next({emitter.bind(entry.hit_counter, 'hits')})",
            f"return {result}",
        ]
        return lines

    def _indexed(self, index: EntryIndex, emitter: Emitter) -> list[str]:
        """Many entries: look the candidates up by the value they demand at one source.

        The index is the cache's own (:class:`~guards.checks.cache.EntryIndex`); each
        candidate is a small generated function of the parameters that returns
        the entry's value, or ``NO_HIT``.  The body reads the candidates from an
        :class:`IndexedFront`, which :meth:`refresh` keeps in step with the index.
        """
        front = self._front = IndexedFront(index)
        for entry in reversed(index.rest):
            front.add(entry, self._entry_function(entry))
        for bucket in index.buckets.values():
            for entry in reversed(bucket):
                front.add(entry, self._entry_function(entry))
        p = emitter.prefix
        nohit, args = emitter.bind(NO_HIT, "nohit"), ", ".join(self._parameter_names())
        # Read into a local first: after a candidate counted its hit, only locals are
        # read, so a dropped generation's globals cannot send a hit to the slow path.
        writer = LineWriter()
        writer.line(f"{p}n = {nohit}")
        nohit = f"{p}n"

        def try_candidate() -> None:
            writer.line(f"{p}r = {p}c({args})")
            writer.line(f"if {p}r is not {nohit}:")
            with writer.indent():
                writer.line(f"return {p}r")

        if index.source is not None:
            key = access_expr(index.source, emitter, self._root_code)
            type_ = emitter.bind(type, "type")
            # Looked up only when no user code runs in the lookup (no __hash__ or __eq__
            # of the user's, as index_can_look_up): other values are never keys.
            if index.by_type:
                test = f"{type_}({p}k) is {type_}"  # {p}k is a class: its metaclass
            else:
                test = (f"{emitter.bind(id, 'id')}({type_}({p}k)) in "
                        f"{emitter.bind(INDEX_VALUE_TYPE_IDS, 'keytypes')}")
            # A value that cannot be read or hashed matches no bucket, only the rest.
            writer.line("try:")
            with writer.indent():
                writer.line(f"{p}k = {type_}({key})" if index.by_type else f"{p}k = {key}")
                writer.line(
                    f"{p}c = {emitter.bind(front.buckets, 'buckets')}.get({p}k) if {test} "
                    "else None"
                )
            writer.line("except Exception:")
            with writer.indent():
                writer.line(f"{p}c = None")
            writer.line(f"if {p}c is not None:")
            with writer.indent():
                try_candidate()
        # Always: entries may join the rest later without a new body.
        writer.line(f"for {p}c in {emitter.bind(front.rest, 'rest')}:")
        with writer.indent():
            try_candidate()
        return writer.getlines()

    def _entry_function(self, entry: CacheEntry) -> Callable[..., Any]:
        """``entry``'s guards as a function of the parameters: its value, or ``NO_HIT``."""
        function = self._entry_functions.get(entry)
        if function is None:
            emitter = Emitter(self.names.prefix("x"))
            nohit = emitter.bind(NO_HIT, "nohit")
            body = self._checks(entry, emitter, f"return {nohit}")
            args = ", ".join(self._parameter_names())
            # One name for every entry: it is popped right after (names.get() would
            # take a new, longer one each time, and keep it).
            make = f"{self.names.prefix('make')}fn"
            writer = LineWriter()
            writer.line(f"def {make}({', '.join(emitter.constants)}):")
            with writer.indent():
                writer.line(f"def entry({args}):")
                with writer.indent():
                    _fall_through_on_error(writer, body)
                    writer.line(f"return {nohit}")
                writer.line("return entry")
            # In the wrapper's globals: the body reads its clock, cells and globals there.
            function = run_factory(
                writer.text(), kind="entry", label=self.function.__qualname__, factory=make,
                arguments=emitter.constants, namespace=self.globals,
            )
            self._entry_functions[entry] = function
        return function

    def _root_code(self, source: Source, bind: Callable[[Any, str], str]) -> str | None:
        code = self.function.__code__
        if isinstance(source, LocalSource):
            name = source.local_name
            if name in self._parameter_names():
                return name
            if name in code.co_freevars:
                return f"{self.cells[code.co_freevars.index(name)]}.cell_contents"
            return None
        if isinstance(source, GlobalSource):
            return f"{self.g}[{bind(source.global_name, 'global')}]"
        if isinstance(source, GlobalsSource):
            return self.g
        return None

    def _parameter_names(self) -> list[str]:
        return self.shape.names()

    def _parameters(self) -> tuple[list[str], list[str]]:
        """The parameter list (every default is MISSING) and the lines that resolve defaults.

        The lines first send a call on replaced ``__code__`` to ``new_code`` and a call
        with surplus positional arguments to ``as_given``; then each omitted parameter
        takes the function's current default, or the call goes to ``as_given`` (which
        raises Python's ``TypeError``) when there is none: reading the default of a
        parameter that has none raises ``Unbound``, caught once around them all, so the
        text stays linear in the number of parameters (the call's arguments are written
        out once).
        """
        head = LineWriter()
        resolve = LineWriter()
        again = f"return {self.as_given}({self._given()})"

        def when(condition: str, then: str, writer: LineWriter = resolve) -> None:
            writer.line(f"if {condition}:")
            with writer.indent():
                writer.line(then)

        if self.new_code is not None:
            when(f"{self.fn}.__code__ is not {self.code}",
                 f"return {self.new_code}({self.as_given}, {self._given()})", head)
        if self.shape.varargs is None:
            when(self.surplus, again, head)
        first_default = len(self.shape.positional) - self.shape.n_defaults

        def positional(name: str, index: int) -> str:
            resolve.line(f"if {name} is {self.missing}:")
            with resolve.indent():
                if index >= first_default:  # had a default: read inline while they stand
                    resolve.line(f"{self.defaults_now} = {self.fn}.__defaults__")
                    resolve.line(
                        f"{name} = ({self.defaults_now}[{index - first_default}] if "
                        f"{self.defaults_now} is {self.defaults} else {self.pos_default}({index}))"
                    )
                else:
                    resolve.line(f"{name} = {self.pos_default}({index})")
            return self.missing

        def keyword(name: str) -> str:
            resolve.line(f"if {name} is {self.missing}:")
            with resolve.indent():
                resolve.line(f"{name} = {self.kw_default}({name!r})")
            return self.missing

        every_optional = attrs.evolve(
            self.shape,
            n_defaults=len(self.shape.positional),
            kwdefault_names=self.shape.kwonly,
            varargs=self.surplus,
        )
        params = parameter_list(every_optional, positional, keyword)
        if resolve.getlines():
            head.line("try:")
            with head.indent():
                head.lines(resolve.getlines())
            head.line(f"except {self.unbound}:")
            with head.indent():
                head.line(again)
        return params, head.getlines()

    def _given(self) -> str:
        """The arguments of ``as_given``: the parameters' values as the call bound them."""
        shape = self.shape
        positional = "".join(f"{name}, " for name in shape.positional)
        kwonly = "".join(f"{name}, " for name in shape.kwonly)
        return f"({positional}), {self.surplus}, ({kwonly}), {shape.varkw or '{}'}"

    def _frame_entries(self) -> list[str]:
        """``'name': value`` items of the frame locals: parameters, then free variables."""
        items = [f"{name!r}: {name}" for name in self._parameter_names()]
        code = self.function.__code__
        items += [
            f"**{self.cell_items}({self.cells[i]}, {name!r})"
            for i, name in enumerate(code.co_freevars)
        ]
        return items


class IndexedFront:
    """The candidates a generated body in the indexed regime reads: a dict from the
    value at the index's source to a candidate function, and a list of the
    functions of the entries in the index's ``rest``.

    Both objects are bound into the body once; entries added and evicted update
    them in place (under the dispatcher's lock), each key with one atomic
    assignment, so a thread running the body sees a bucket before or after a
    change, never half of one.  A thread that took an evicted entry's function
    still gets a right answer: the entry's own checks decide.
    """

    def __init__(self, index: EntryIndex) -> None:
        self.index = index
        self.buckets: dict[Any, Callable[..., Any]] = {}
        self.rest: list[Callable[..., Any]] = []
        self._grouped: dict[Any, list[tuple[CacheEntry, Callable[..., Any]]]] = {}
        #: entry -> (its group's key, or _REST; its function)
        self._where: dict[CacheEntry, tuple[Any, Callable[..., Any]]] = {}

    def add(self, entry: CacheEntry, function: Callable[..., Any]) -> None:
        """Make ``entry``'s function the first candidate of its bucket (or of the rest)."""
        key = self.index.keys.get(entry)
        if key is None:
            self._where[entry] = (_REST, function)
            self.rest.insert(0, function)
            return
        raw = key if self.index.by_type else key[1]  # 1, 1.0 and True share; checks tell
        self._where[entry] = (raw, function)
        group = self._grouped[raw] = [(entry, function), *self._grouped.get(raw, ())]
        self.buckets[raw] = _candidate(group)

    def remove(self, entry: CacheEntry) -> None:
        """Take ``entry``'s function out of the candidates; nothing if it is not there."""
        where = self._where.pop(entry, None)
        if where is None:
            return
        raw, function = where
        if raw is _REST:
            self.rest.remove(function)  # functions compare by identity
            return
        group = [(e, f) for e, f in self._grouped.get(raw, ()) if e is not entry]
        if group:
            self._grouped[raw] = group
            self.buckets[raw] = _candidate(group)
        else:
            self._grouped.pop(raw, None)
            self.buckets.pop(raw, None)


#: Where an entry of the index's rest is (no bucket key is this object).
_REST = object()


def _candidate(group: Sequence[tuple[CacheEntry, Callable[..., Any]]]) -> Callable[..., Any]:
    """One candidate is called directly; several are tried in turn by one function."""
    if len(group) == 1:
        return group[0][1]
    return _first_of([function for _, function in group])


class _Unbound(Exception):
    """Raised inside a wrapper for a parameter that got no argument and has no default."""


def _first_of(functions: Sequence[Callable[..., Any]]) -> Callable[..., Any]:
    """A candidate that tries ``functions`` in turn (entries sharing one index key)."""

    def first(*args: Any) -> Any:
        for function in functions:
            result = function(*args)
            if result is not NO_HIT:
                return result
        return NO_HIT

    return first


def _cell_items(cell: types.CellType, name: str) -> dict[str, Any]:
    """``{name: contents}``, or ``{}`` for an empty cell (as ``frame.f_locals`` shows it)."""
    try:
        return {name: cell.cell_contents}
    except ValueError:
        return {}


def frame_locals_builder(function: types.FunctionType) -> Callable[..., dict[str, Any]]:
    """A function with ``function``'s parameters that returns its frame locals (for explain)."""
    dispatcher = Dispatcher(function, GuardedCache(), lambda f_locals: f_locals, inline=False)
    return dispatcher.wrapper


def _defaults_reader(function: types.FunctionType, shape: SignatureShape) -> Callable[[int], Any]:
    n_positional = len(shape.positional)

    def pos_default(index: int) -> Any:
        """The current default of positional parameter ``index``; ``_Unbound`` if it has
        none.

        As CPython binds: the defaults fill the last parameters.
        """
        defaults = function.__defaults__ or ()
        at = index - (n_positional - len(defaults))
        if at < 0:
            raise _Unbound
        return defaults[at]

    return pos_default


def _kwdefaults_reader(function: types.FunctionType) -> Callable[[str], Any]:
    def kw_default(name: str) -> Any:
        """The current default of keyword-only parameter ``name``; ``_Unbound`` if it has
        none."""
        value = (function.__kwdefaults__ or {}).get(name, MISSING)
        if value is MISSING:
            raise _Unbound
        return value

    return kw_default


def _caller_as_given(function: types.FunctionType, shape: SignatureShape) -> Callable[..., Any]:
    """A function that calls ``function`` with the arguments a wrapper call bound, as given.

    Used only for calls that do not fit the function as it is now, so that
    Python's own binding raises its own ``TypeError`` (or, after ``__code__`` was
    replaced, binds them to the new code).  Positional-only parameters were
    given by position (a prefix of them); when surplus positional arguments
    came, every positional parameter was; other parameters go by keyword, which
    binds them and reports the missing ones as the original call would.
    """
    names, n_posonly = shape.positional, shape.posonly_count

    def as_given(positional: tuple[Any, ...], surplus: tuple[Any, ...],
                 kwonly: tuple[Any, ...], varkw: dict[str, Any]) -> Any:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for i, (name, value) in enumerate(zip(names, positional, strict=True)):
            if value is MISSING:
                continue
            if surplus or i < n_posonly:
                args.append(value)
            else:
                kwargs[name] = value
        args.extend(surplus)
        kwargs.update(
            (name, value) for name, value in zip(shape.kwonly, kwonly, strict=True)
            if value is not MISSING
        )
        kwargs.update(varkw)
        return function(*args, **kwargs)

    return as_given


def _no_entries(*args: Any) -> Any:
    """A wide function's front before its first entry: no hit."""
    return NO_HIT


def _entry_call(entry: CacheEntry) -> tuple[Any, ...]:
    """``entry`` as the body of :meth:`Dispatcher._calls_lookup` reads it: its check
    function, its value (stored as it is) or None and the function that gives it,
    and its hit counter."""
    stored = entry.value
    if getattr(stored, "immutable", False):
        return entry.check.check, stored.value, None, entry.hit_counter
    return entry.check.check, None, stored.get, entry.hit_counter


def _called_entries(
    names: tuple[str, ...], calls: tuple[tuple[Any, ...], ...], f_globals: dict[str, Any],
    *args: Any,
) -> Any:
    """A wide function's front when every entry calls its check function: the value of
    the first entry whose check passes on the parameters ``names`` bound to ``args``
    (its hit counted), else ``NO_HIT``; a check that raises falls through to the
    slow path, as in a generated front."""
    try:
        frame = dict(zip(names, args, strict=True))
        for check, value, get, hits in calls:
            if check(frame, f_globals):
                result = value if get is None else get()
                next(hits)
                return result
    except Exception:  # a failed check: the slow path decides
        pass
    return NO_HIT


def _fall_through_on_error(writer: LineWriter, checks: list[str]) -> None:
    """``checks`` in a ``try`` whose error falls through to what follows: a check
    that raises (a property, a hostile ``__eq__``) is a failed check, and the slow
    path then decides."""
    writer.line("try:")
    with writer.indent():
        writer.lines(checks)
    writer.line("except Exception:")
    with writer.indent():
        writer.line("pass")
