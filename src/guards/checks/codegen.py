"""Code generation: many checks become one Python function.

The checks are arranged in a tree by access path, so each prefix of a path is
walked once and kept in a local; a value's own checks run (cheapest first)
before any path below it is walked.  Checks on several sources (such as
``DUPLICATE_INPUT``) run last, when all their values are at hand.

Only identifiers reach the generated text: every constant, key and attribute
name that is not a plain identifier is bound as an argument of a factory
function, so the check sees it as a closure cell.  Comments carry source names
with every character that is not printable ASCII escaped, so no name can end a
comment line.
"""

from __future__ import annotations

import functools
import itertools
import operator
import string
import threading
from collections.abc import Callable, Sequence
from typing import Any

from guards.checks.generated import (
    GENERATED_MODULE,
    LineWriter,
    comment_safe,
    compile_generated,
    run_factory,
)
from guards.core.builder import Check
from guards.core.sources import (
    PLAIN_SUBSCRIPT_TYPES,
    AttrSource,
    ChainedSource,
    GetItemSource,
    LocalSource,
    Source,
    get_item,
    is_plain_identifier,
)
from guards.forks import fork_safe

CheckFn = Callable[..., bool]


class _Node:
    """A path in the access tree: its checks and the paths one step below it."""

    __slots__ = ("checks", "children", "source")

    # Written out (not attrs): a miss makes one per value its run read.
    def __init__(self, source: Source | None) -> None:
        self.source = source
        self.checks: list[Check] = []
        self.children: dict[Source, _Node] = {}


class Generated:
    """The output of :func:`generate` (or of a plan): the function, its checks in run
    order, the verbose path's predicates and the generated Python text.

    ``check`` is what runs.  ``python_check`` is the generated Python function of the
    same checks: ``check`` itself, unless the checks run in the C evaluator
    (:mod:`guards.checks.plan`, made with ``python``).  Then the text is generated
    and compiled only when asked for (``code``, ``filename``, ``python_check``), so a
    miss does not pay for it.
    """

    __slots__ = ("_code", "_make", "_python", "check", "ordered_checks", "predicates")

    def __init__(
        self, check: CheckFn, predicates: LazyPredicates, ordered_checks: tuple[Check, ...],
        *, code: str | None = None, python: Callable[[], Generated] | None = None,
    ) -> None:
        if (code is None) == (python is None):
            msg = "Generated needs either the code of check or a maker of its Python form"
            raise TypeError(msg)
        self.check = check
        self.predicates = predicates
        self.ordered_checks = ordered_checks
        self._code = code
        self._make = python
        self._python: Generated | None = self if python is None else None

    def python(self) -> Generated:
        """The generated Python form of the same checks (made the first time)."""
        python = self._python
        if python is None:
            # No lock (a miss would pay for one per check): two threads may both make
            # it; the first one stored is kept, so every caller sees one text.
            assert self._make is not None
            made = self._make()
            if self._python is None:
                self._python = made
            python = self._python
        return python

    @property
    def native(self) -> bool:
        """True when :attr:`check` is not the generated Python function (the C evaluator)."""
        return self._python is not self

    @property
    def python_check(self) -> CheckFn:
        """The generated Python ``check(L, G=None)`` of the same checks."""
        return self.python().check

    @property
    def code(self) -> str:
        """The text of :attr:`python_check`."""
        code = self.python()._code
        assert code is not None
        return code

    @property
    def filename(self) -> str:
        """The ``linecache`` name of :attr:`code`."""
        return self.python_check.__code__.co_filename


class Emitter:
    """Names and bound constants of one generated function.

    Every name it makes starts with ``prefix``, so a caller that generates code
    around user names (the ``specialize`` dispatcher) can keep them apart.
    """

    def __init__(self, prefix: str = "_") -> None:
        self.prefix = prefix
        self.constants: dict[str, Any] = {}
        self._by_id: dict[tuple[int, str], str] = {}
        self._vars = itertools.count()

    def bind(self, value: Any, hint: str) -> str:
        """The name under which ``value`` is bound (the same name for the same object)."""
        key = (id(value), hint)
        name = self._by_id.get(key)
        if name is None:
            name = f"{self.prefix}k{len(self.constants)}_{hint}"
            self.constants[name] = value
            self._by_id[key] = name
        return name

    def new_var(self) -> str:
        return f"{self.prefix}v{next(self._vars)}"


#: The line that stands for "this check failed" in an emitted body.
FAIL = "<FAIL>"
#: ``root_code(source, bind)``: the expression of a root source, or None for the default.
RootCode = Callable[[Source, Callable[[Any, str], str]], "str | None"]


def access_tree(checks: Sequence[Check]) -> tuple[_Node, list[Check]]:
    """The access-path tree of single-source checks, and the multi-source ones."""
    root = _Node(None)
    nodes: dict[Source, _Node] = {}

    def node_for(source: Source) -> _Node:
        node = nodes.get(source)
        if node is None:  # then it is not among its parent's children either
            # A root's `base` is a property (a Python call): asked only of a chained one.
            base = source.base if isinstance(source, ChainedSource) else None
            parent = root if base is None else node_for(base)
            node = parent.children[source] = nodes[source] = _Node(source)
        return node

    relational: list[Check] = []
    for check in checks:
        sources = check.sources
        if len(sources) == 1:
            node_for(sources[0]).checks.append(check)
        else:
            for source in sources:
                node_for(source)
            relational.append(check)
    return root, relational


@functools.lru_cache(maxsize=1024)
def _fields(template: str) -> frozenset[str]:
    return frozenset(field for _, field, _, _ in string.Formatter().parse(template) if field)


def render_expr(check: Check, value_vars: Sequence[str], emitter: Emitter) -> str:
    """``check``'s expression on the variables ``value_vars`` (one per source), its
    constants bound through ``emitter``."""
    used = _fields(check.expr)
    names = {
        name: emitter.bind(value, name) for name, value in check.constants if name in used
    }
    return check.expr.format(*value_vars, **names)


def emit_body(
    checks: Sequence[Check], emitter: Emitter, root_code: RootCode | None = None
) -> tuple[list[str], list[Check]]:
    """The statements that run ``checks``, with :data:`FAIL` where a check fails.

    Returns the lines and the checks in the order they run.  ``root_code``
    may give another expression for a root (a parameter instead of ``L['x']``).
    """
    segments, ordered = emit_segments(checks, emitter, root_code)
    return [line for segment in segments for line in segment], ordered


def emit_segments(
    checks: Sequence[Check], emitter: Emitter, root_code: RootCode | None = None
) -> tuple[list[list[str]], list[Check]]:
    """:func:`emit_body`, cut into one segment per root path.

    No variable crosses from one segment to the next, except into the last
    segment when there are checks across paths (they need values of several).
    """
    root, relational = access_tree(checks)
    var_of: dict[Source, str] = {}
    ordered: list[Check] = []
    segments: list[LineWriter] = []

    def emit_checks(checks: Sequence[Check], value_vars: Sequence[str]) -> None:
        """One ``if`` for a value's checks, cheapest first: fewer lines and jumps."""
        ordered.extend(checks)
        exprs = [f"({render_expr(check, value_vars, emitter)})" for check in checks]
        # Kinds only: descriptions show expected values, which stay out of the code.
        kinds = ", ".join(dict.fromkeys(comment_safe(check.guard.kind) for check in checks))
        segment = segments[-1]
        segment.line(f"# {kinds}")
        segment.line(f"if not ({' and '.join(exprs)}):")
        with segment.indent():
            segment.line(FAIL)

    needed = {source for check in relational for source in check.sources}
    # Depth-first, with an explicit stack so deep paths cannot exhaust recursion.
    # A step with no checks of its own and one path below it (the closure tuple
    # on the way to a cell) is not stored: its expression feeds the next step.
    # A value is needed only while the paths below it are checked, so values at
    # one depth share a variable (fewer locals to set up on every call); only
    # the values of checks across paths keep their own.
    roots = list(root.children.values())
    if len(roots) >= GROUP_MIN:
        segments.append(LineWriter())

        def root_expr(source: Source) -> str:
            expr = root_code(source, emitter.bind) if root_code is not None else None
            return expr if expr is not None else source.step_code("", emitter.bind)

        roots = emit_equal_groups(
            roots, root_expr, needed, emitter, segments[-1], ordered,
            locals_read=root_code is None,
        )
        if not segments[-1].getlines():
            segments.pop()
    stack: list[tuple[_Node, str, int, int]] = [
        (child, "", 0, 0) for child in reversed(roots)
    ]
    while stack:
        node, base_expr, depth, folded = stack.pop()
        assert node.source is not None
        if node.source.base is None:
            segments.append(LineWriter())
        expr = None
        if root_code is not None and node.source.base is None:
            expr = root_code(node.source, emitter.bind)
        if expr is None:
            expr = node.source.step_code(base_expr, emitter.bind)
        if (not node.checks and len(node.children) == 1 and node.source not in needed
                and folded < MAX_FOLDED):
            stack.extend((child, expr, depth + 1, folded + 1) for child in node.children.values())
            continue
        segments[-1].line(f"# {comment_safe(node.source.name)}")
        if expr.isidentifier():  # already a local (a parameter of the dispatcher)
            var = expr
        else:
            var = emitter.new_var() if node.source in needed else f"{emitter.prefix}d{depth}"
            segments[-1].line(f"{var} = {expr}")
        var_of[node.source] = var
        if node.checks:
            emit_checks(sorted(node.checks, key=lambda c: c.cost), (var,))
        children = list(node.children.values())
        if len(children) >= GROUP_MIN:
            children = emit_equal_groups(children, var, needed, emitter, segments[-1], ordered)
        stack.extend((child, var, depth + 1, 0) for child in reversed(children))
    if relational:
        segments.append(LineWriter())
        for check in relational:
            emit_checks([check], [var_of[s] for s in check.sources])
    return [segment.getlines() for segment in segments], ordered


#: At most this many steps in a row with no checks are written as one expression:
#: an item step nests its base in parentheses, and CPython refuses an expression
#: nested 200 deep ("too many nested parentheses").
MAX_FOLDED = 16
#: At least this many sibling paths (attributes, or items) that are each checked for one
#: exact built-in scalar are read with one call and compared as one tuple.
GROUP_MIN = 4
#: Exact types whose ``==`` runs no user code and agrees with the equality checks'.
GROUP_TYPES = frozenset({int, float, str, bytes, bool, type(None)})
#: EQUALS_MATCH's check of a value whose ``==`` is exact (GuardBuilder.EQUALS_MATCH).
_EQUAL_TEMPLATE = "{0} is {V} or (type({0}) is {T} and {0} == {V})"
#: Identity checks of singletons: the value they demand and its type.
_SINGLETON_TEMPLATES: dict[str, Any] = {"{0} is True": True, "{0} is False": False,
                                        "{0} is None": None}


def _exact_scalar(node: _Node) -> tuple[type, Any] | None:
    """``(type, value)`` when ``node`` is a leaf whose one check demands that exact
    built-in scalar (an int, a non-NaN float, a str, bytes, a bool or None), else None."""
    if node.children or len(node.checks) != 1:
        return None
    return scalar_demand(node.checks[0])


def scalar_demand(check: Check) -> tuple[type, Any] | None:
    """``(type, value)`` when ``check`` demands one exact built-in scalar (an int, a
    non-NaN float, a str, bytes, a bool or None), else None: a leaf with only such a
    check is read and compared with its siblings as one tuple (:func:`emit_equal_groups`)."""
    expr, constants = check.expr, check.constants
    if expr in _SINGLETON_TEMPLATES:
        value = _SINGLETON_TEMPLATES[expr]
        return type(value), value
    if expr != _EQUAL_TEMPLATE:
        return None
    if len(constants) == 2 and constants[0][0] == "V" and constants[1][0] == "T":
        (_, value), (_, t) = constants  # as scalar_check writes them: no dict per check
    else:
        found = dict(constants)
        t, value = found.get("T"), found.get("V")
    if t not in GROUP_TYPES or type(value) is not t or value != value:
        return None
    return t, value


def _items_of(base: Any, keys: tuple[Any, ...]) -> tuple[Any, ...]:
    """``(base[k] for k in keys)`` as guards read items: never through ``__missing__``."""
    return tuple(get_item(base, key) for key in keys)


def emit_equal_groups(
    children: Sequence[_Node],
    base: str | Callable[[Source], str],
    needed: set[Source],
    emitter: Emitter,
    segment: LineWriter,
    ordered: list[Check],
    *,
    locals_read: bool = False,
) -> list[_Node]:
    """Emit, on ``segment``, the checks of the leaves among ``children`` that each demand
    one exact built-in scalar, read together and compared as one tuple: for paths one
    step below the variable ``base``, attributes with one ``operator.attrgetter`` call and
    items with one ``operator.itemgetter``; for roots (``base`` gives a root's
    expression), one tuple of their expressions, or with ``locals_read`` (roots read as
    ``L[name]``, as :class:`LocalSource` reads them) one ``operator.itemgetter`` call on
    ``L`` for locals only.  Then the exact types are compared by
    identity and the values as one tuple ``==``.  Returns the children left to emit
    one by one, in their order.

    The text stays a few lines however many paths there are, so compiling it costs
    the same for 4 or 4,000 values.  What is read and compared is what the checks
    one by one read and compare: ``x is V or (type(x) is T and x == V)`` equals
    ``type(x) is T and x == V`` for these types, and ``==`` of tuples compares items
    by identity first.  No user code runs but the reads themselves (a property runs,
    as it does one by one).  The checks enter ``ordered`` as they were.
    """
    attrs_: list[tuple[_Node, tuple[type, Any]]] = []
    items: list[tuple[_Node, tuple[type, Any]]] = []
    rest: list[_Node] = []
    for child in children:
        demand = None if needed and child.source in needed else _exact_scalar(child)
        source = child.source
        if demand is not None and not isinstance(base, str):
            attrs_.append((child, demand))  # roots: one group, read as a tuple
        elif demand is not None and type(source) is AttrSource and is_plain_identifier(
            source.member
        ):
            attrs_.append((child, demand))
        elif demand is not None and type(source) is GetItemSource and not source.index_is_slice:
            items.append((child, demand))
        else:
            rest.append(child)
    for group, by_attr in ((attrs_, True), (items, False)):
        if len(group) < GROUP_MIN:
            rest.extend(node for node, _ in group)
            continue
        sources = [node.source for node, _ in group if node.source is not None]
        # Builtins by bound names: the dispatcher's text runs among the user's parameters.
        is_, map_, all_, type_ = (
            emitter.bind(fn, hint) for fn, hint in (
                (operator.is_, "is"), (map, "map"), (all, "all"), (type, "type")
            )
        )
        if not isinstance(base, str) and locals_read and all(
            type(s) is LocalSource for s in sources
        ):  # the frame's locals: L[name] each (a text as long as the parameters, before)
            names = [s.local_name for s in sources if isinstance(s, LocalSource)]
            read = f"{emitter.bind(operator.itemgetter(*names), 'locals')}(L)"
        elif not isinstance(base, str):
            read = f"({''.join(f'{base(s)}, ' for s in sources)})"
        elif by_attr:
            members = [s.member for s in sources if isinstance(s, AttrSource)]
            getter = emitter.bind(operator.attrgetter(*members), "attrs")
            read = f"{getter}({base})"
        else:
            keys = tuple(s.index for s in sources if isinstance(s, GetItemSource))
            getter = emitter.bind(operator.itemgetter(*keys), "items")
            plain = emitter.bind(PLAIN_SUBSCRIPT_TYPES, "plain")
            slow = emitter.bind(_items_of, "items_of")
            read = (
                f"({getter}({base}) if {type_}({base}) in {plain} "
                f"else {slow}({base}, {emitter.bind(keys, 'keys')}))"
            )
        demands = [demand for _, demand in group]
        types_ = emitter.bind(tuple([t for t, _ in demands]), "types")
        values = emitter.bind(tuple([v for _, v in demands]), "values")
        var = emitter.new_var()
        kinds = ", ".join(
            map(comment_safe, dict.fromkeys([n.checks[0].guard.kind for n, _ in group]))
        )
        what = "roots" if not isinstance(base, str) else "attributes" if by_attr else "items"
        segment.line(f"# {kinds}: {len(group)} {what}")
        segment.line(f"{var} = {read}")
        segment.line(
            f"if not ({all_}({map_}({is_}, {map_}({type_}, {var}), {types_})) "
            f"and {var} == {values}):"
        )
        with segment.indent():
            segment.line(FAIL)
        ordered.extend(node.checks[0] for node, _ in group)
    order = {id(child): i for i, child in enumerate(children)}
    return sorted(rest, key=lambda node: order[id(node)])


def access_expr(source: Source, emitter: Emitter, root_code: RootCode | None = None) -> str:
    """The expression that walks ``source`` from its root (no sharing, no checks)."""
    expr = ""
    for step in source.chain():
        code = root_code(step, emitter.bind) if root_code and step.base is None else None
        expr = code if code is not None else step.step_code(expr, emitter.bind)
    return expr


def compile_accessor(source: Source) -> Callable[..., Any]:
    """A generated ``get(L, G=None)`` that walks ``source`` (and may raise)."""
    emitter = Emitter()
    expr = access_expr(source, emitter)
    writer = LineWriter()
    writer.line(f"def _make_get({', '.join(emitter.constants)}):")
    with writer.indent():
        writer.line("def get(L, G=None):")
        with writer.indent():
            writer.line(f"return {expr}")
        writer.line("return get")
    return run_factory(  # type: ignore[no-any-return]
        writer.text(), kind="accessor", label=source.name, factory="_make_get",
        arguments=emitter.constants,
    )


#: Above this many lines, the check is cut into parts: CPython's compiler is
#: slower than linear on one huge function, and a call per part costs little.
PART_LINES = 2000


def generate(checks: Sequence[Check], label: str) -> Generated:
    """Compile ``checks`` into one function ``check(L, G=None) -> bool`` that never raises."""
    emitter = Emitter()
    segments, ordered = emit_segments(checks, emitter)
    # Checks across paths read values of several segments: those stay in one part.
    across = any(len(check.sources) > 1 for check in ordered)
    parts = [[line for seg in segments for line in seg]] if across else _parts(segments)
    writer = LineWriter()
    if len(parts) > 1:
        for i, part in enumerate(parts):
            writer.line(f"def _part{i}(L, G):")
            with writer.indent():
                writer.lines(line.replace(FAIL, "return False") for line in part)
                writer.line("return True")
    writer.line("def check(L, G=None):")
    with writer.indent():
        writer.line("try:")
        with writer.indent():
            if len(parts) == 1:
                writer.lines(line.replace(FAIL, "return False") for line in parts[0])
                writer.line("return True")
            else:
                writer.line(f"return {' and '.join(f'_part{i}(L, G)' for i in range(len(parts)))}")
        writer.line("except Exception:")
        with writer.indent():
            writer.line("return False")
    code = writer.text()
    # The constants are the globals of a namespace of the check's own: as fast to
    # read as closure cells, and compile stays linear in the size of the check.
    namespace = _namespace(emitter)
    check_fn = compile_generated(
        code, kind="check", label=label, namespace=namespace, owner=_get_check
    )
    predicates = LazyPredicates(ordered, emitter, label, namespace)
    return Generated(check_fn, predicates, tuple(ordered), code=code)


def _get_check(namespace: dict[str, Any]) -> CheckFn:
    return namespace["check"]  # type: ignore[no-any-return]


def _namespace(emitter: Emitter) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": GENERATED_MODULE}
    namespace.update(emitter.constants)
    return namespace


def _parts(segments: Sequence[Sequence[str]]) -> list[list[str]]:
    """Whole segments grouped into parts of about :data:`PART_LINES` lines."""
    parts: list[list[str]] = [[]]
    for segment in segments:
        if parts[-1] and len(parts[-1]) + len(segment) > PART_LINES:
            parts.append([])
        parts[-1].extend(segment)
    return parts


class _PredicatesLock:
    """The one lock of every :class:`LazyPredicates` (re-made in a forked child)."""

    __slots__ = ("__weakref__", "lock")

    def __init__(self) -> None:
        self.lock = threading.RLock()


# One lock for all: predicates are compiled only when a failure is first explained,
# and a lock of its own (with its fork hook) per check cost every miss an allocation.
_PREDICATES = _PredicatesLock()
fork_safe(_PREDICATES, "lock")


class LazyPredicates:
    """The verbose path's predicates, compiled the first time a failure is explained.

    ``LazyPredicates.of(ordered, label)`` makes them for checks compiled elsewhere
    (a plan): one function per check, in ``ordered``'s order.
    """

    __slots__ = ("_args", "_predicates")

    @classmethod
    def of(cls, ordered: Sequence[Check], label: str) -> LazyPredicates:
        """The predicates of ``ordered``, with constants of their own (bound when
        they are compiled)."""
        return cls(ordered, None, label, None)

    def __init__(
        self, ordered: Sequence[Check], emitter: Emitter | None, label: str,
        namespace: dict[str, Any] | None,
    ) -> None:
        self._args: tuple[Sequence[Check], Emitter | None, str, dict[str, Any] | None] | None = (
            ordered, emitter, label, namespace,
        )
        self._predicates: tuple[Callable[..., Any], ...] = ()

    def get(self) -> tuple[Callable[..., Any], ...]:
        with _PREDICATES.lock:
            if self._args is not None:
                ordered, emitter, label, namespace = self._args
                if emitter is None or namespace is None:
                    emitter = Emitter()
                    namespace = _namespace(emitter)
                self._predicates = _predicates(ordered, emitter, label, namespace)
                self._args = None
            return self._predicates


def check_functions(
    text: str, names: Sequence[str], emitter: Emitter, label: str
) -> list[Callable[..., Any]]:
    """Compile ``text`` (functions whose constants ``emitter`` bound) as part of the
    check ``label``; its functions ``names``, in that order."""
    namespace = _namespace(emitter)
    compile_generated(
        text, kind="check", label=label, namespace=namespace, owner=_get_check_of(names[0])
    )
    return [namespace[name] for name in names]


def _get_check_of(name: str) -> Callable[[dict[str, Any]], Any]:
    def get(namespace: dict[str, Any]) -> Any:
        return namespace[name]

    return get


def _predicates(
    ordered: Sequence[Check], emitter: Emitter, label: str, namespace: dict[str, Any]
) -> tuple[Callable[..., Any], ...]:
    """One function per check, from the same template, for the verbose path.

    They read the bound constants as globals of their own namespace: thousands
    of closures over one factory would make ``compile`` super-linear.  Their
    text stays in ``linecache`` as long as the check: the namespace holds the
    check, and every function in it holds the namespace.
    """
    writer = LineWriter()
    for i, check in enumerate(ordered):
        params = [f"_p{j}" for j in range(len(check.sources))]
        writer.line(f"def _pred{i}({', '.join(params)}):")
        with writer.indent():
            writer.line(f"return {render_expr(check, params, emitter)}")
    # Checks compared as one tuple (emit_equal_groups) bind their own constants only now.
    namespace.update(
        (name, value) for name, value in emitter.constants.items() if name not in namespace
    )
    if not ordered:
        return ()
    # The text lives as long as the check of this namespace, or its first predicate.
    owner = _get_check if "check" in namespace else _get_check_of("_pred0")
    compile_generated(writer.text(), kind="explain", label=label, namespace=namespace, owner=owner)
    return tuple(namespace[f"_pred{i}"] for i in range(len(ordered)))
