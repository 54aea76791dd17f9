"""Sources: immutable access paths from a frame's locals or globals to a value.

A source is data, never a string to ``eval``.  Each class below knows three
things about its one step along a path, side by side so they cannot drift
(the last two, with ``root_value`` for a root, are the inner API through which
explanations and generated code walk a path):

* ``_render``: how the step reads in a name (``L['cfg'].mode``), matching the
  renderings of PyTorch Dynamo character for character;
* ``step``: how to take the step on a real value (used by :meth:`Source.get`);
* ``step_code``: the Python expression that takes the step in a generated
  check function, given the expression of the base and a ``bind`` callback
  that turns any value into the name of a bound constant.
"""

from __future__ import annotations

import decimal
import enum
import itertools
import keyword
import operator
import sys
import unicodedata
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, cast

import attrs

from guards.core.values import type_defines
from guards.errors import GuardsTypeError, GuardsValueError, check_frame, describe, must_be

if TYPE_CHECKING:
    from guards.core.guard import Guard

#: ``bind(value, hint)`` returns the identifier a generated function uses for ``value``.
Binder = Callable[[Any, str], str]


class GuardSource(enum.Enum):
    """Where the root of a source lives."""

    LOCAL = "local"
    GLOBAL = "global"
    CONSTANT = "constant"


def _field(instance: object, attribute: attrs.Attribute[Any]) -> str:
    """How errors name a field: ``AttrSource.member``."""
    return f"{type(instance).__name__}.{attribute.name}"


def validate_source_field(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An ``attrs`` validator: the field holds a :class:`Source` (else
    :class:`~guards.GuardsTypeError` naming the class and the field)."""
    if not isinstance(value, Source):
        raise must_be(_field(instance, attribute), "a Source", value)


def _validate_str(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise must_be(_field(instance, attribute), "a str", value)


def _validate_identifier(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _validate_str(instance, attribute, value)
    assert isinstance(value, str)
    if not value.isidentifier() or keyword.iskeyword(value):
        raise must_be(_field(instance, attribute), "a Python identifier", value, GuardsValueError)


def is_plain_identifier(text: str) -> bool:
    """True when ``text`` may stand in generated code as a name or attribute.

    Python reads identifiers NFKC-normalized (``x.\ufb01`` is ``x.fi``), so a
    name that normalization changes is not plain: it must go through ``getattr``.
    """
    if type(text) is str:  # a name is asked again and again: each exact str once
        found = _PLAIN_IDENTIFIERS.get(text)
        if found is not None:
            return found
    plain = (
        text.isidentifier()
        and not keyword.iskeyword(text)
        and unicodedata.normalize("NFKC", text) == text
    )
    if type(text) is str and len(_PLAIN_IDENTIFIERS) < _MAX_PLAIN_IDENTIFIERS:
        _PLAIN_IDENTIFIERS[text] = plain
    return plain


#: Exact strs :func:`is_plain_identifier` answered, with its answer (at most
#: :data:`_MAX_PLAIN_IDENTIFIERS` of them).
_PLAIN_IDENTIFIERS: dict[str, bool] = {}
_MAX_PLAIN_IDENTIFIERS = 4096


class HashSlot(property):
    """A class's ``__hash__`` that is its ``_hash_now`` slot (a bound ``int.__index__``):
    ``hash(obj)`` finds this property, whose getter is the slot's own, gets the bound
    method from it and calls it, all in C.  Called itself, as ``cls.__hash__(obj)``
    or ``super().__hash__()`` call any ``__hash__``, it answers ``hash(obj)`` too (the
    slot's descriptor alone, looked up on the class, is not callable).
    """

    def __call__(self, instance: Any) -> int:
        """``hash(instance)``, for ``cls.__hash__(instance)``."""
        now: Callable[[], int] = self.__get__(instance)
        return now()


class HashedBySlot:
    """A base of the ``attrs`` records whose hash is computed once, at construction, and
    kept in the ``_hash_now`` slot, as the bound ``__index__`` of the int; their class's
    ``__hash__`` is :data:`SLOT_HASH`, so ``hash(obj)`` runs no Python code.

    A slot of this base, not a field: ``attrs.fields``, ``asdict`` and ``astuple`` show
    the record's own fields only (a bound method would differ between equal records,
    and is no JSON).
    """

    __slots__ = ("_hash_now",)
    _hash_now: Callable[[], int]


#: The ``__hash__`` of :class:`HashedBySlot`'s subclasses (see :class:`HashSlot`).
SLOT_HASH = HashSlot(HashedBySlot.__dict__["_hash_now"].__get__)


@attrs.frozen
class Source(HashedBySlot):
    """Base class of every access path.

    Subclasses are frozen ``attrs`` classes: hashable, picklable and equal when
    their fields are.  Two attributes are computed once, at construction:

    * ``name``: the path as Dynamo renders it, such as
      ``L['fn'].__closure__[0].cell_contents``;
    * ``is_skipped``: True when the path passes through a :class:`SkipGuardSource`.
    """

    # Fields, not properties: read by guards' own code several times per value a
    # specialized function's miss reads, and a slot is read without a Python call.
    name: str = attrs.field(init=False, eq=False, repr=False)
    is_skipped: bool = attrs.field(init=False, eq=False, repr=False)
    # The hash is kept in the ``_hash_now`` slot (:class:`HashedBySlot`): sources are
    # dict keys throughout a trace (each value read looks its path up about 40
    # times), and an attrs ``__hash__`` was a Python call each time.

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "name", self._render())
        base = self.base
        object.__setattr__(
            self, "is_skipped",
            isinstance(self, SkipGuardSource) or (base is not None and base.is_skipped),
        )
        object.__setattr__(self, "_hash_now", hash(_hash_key(self)).__index__)

    def __reduce__(self) -> tuple[Any, ...]:
        # Made again from its fields, as attrs pickles them (every field, none through
        # __init__: a kw_only field, a converter), with the hash computed in the process
        # that loads it (a str's hash differs between processes).
        # The values are arguments of their own (not a dict of them): pickle nests a
        # call per container, and a path is pickled base within base.
        cls = type(self)
        names = field_names(cls)
        return _remade, (cls, names, *[getattr(self, name) for name in names])

    # -- what every source offers -------------------------------------------------
    @property
    def base(self) -> Source | None:
        """The source this one steps from; ``None`` for a root."""
        return None

    @property
    def root(self) -> Source:
        """The first source of the chain (a local, global or constant)."""
        source: Source = self
        while source.base is not None:
            source = source.base
        return source

    @property
    def guard_source(self) -> GuardSource:
        """Whether the path starts in the locals, the globals or a constant."""
        return self.root._root_kind()

    def chain(self) -> tuple[Source, ...]:
        """Every source on the path, root first, this source last."""
        out: list[Source] = []
        source: Source | None = self
        while source is not None:
            out.append(source)
            source = source.base
        return tuple(reversed(out))

    def get(self, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any] | None = None) -> Any:
        """Walk the path on real values and return what it reaches.

        Errors of the walk itself (a missing key, a missing attribute) propagate
        unchanged, exactly as evaluating :attr:`name` would raise them.
        """
        check_frame(f_locals, f_globals)
        steps = self.chain()
        value = steps[0].root_value(f_locals, f_globals)
        for step in steps[1:]:
            value = step.step(value)
        return value

    def make_guard(self, kind: Any, **args: Hashable) -> Guard:
        """A :class:`~guards.Guard` of ``kind`` (``GuardBuilder.TYPE_MATCH``, ...) on this source.

        ``args`` are the kind's arguments, such as ``source_b=`` for
        ``DUPLICATE_INPUT``.  The guard records the user code line that made it.
        """
        # Imported here: guard kinds (core.builder) build on sources, not the reverse.
        from guards.core.builder import make_guard

        return make_guard(self, kind, args)

    def __str__(self) -> str:
        return self.name

    # -- what each subclass defines ------------------------------------------------
    def _render(self) -> str:
        msg = (
            f"{type(self).__name__} is an abstract base class: make a LocalSource, "
            "GlobalSource, AttrSource, GetItemSource... instead"
        )
        raise GuardsTypeError(msg)

    def _root_kind(self) -> GuardSource:
        raise NotImplementedError

    def root_value(self, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any] | None) -> Any:
        """A root's value in the frame ``f_locals``/``f_globals`` (a chained source has
        none: ``NotImplementedError``).  Errors of the read propagate unchanged.

        With :meth:`step` and :meth:`step_code`, the inner API that walks a path one
        source at a time, for code that reads paths (explanations, code generation).
        """
        raise NotImplementedError

    def step(self, base_value: Any) -> Any:
        """Take this source's one step from ``base_value``, the value of :attr:`base`
        (a root has no step: ``NotImplementedError``).  Errors of the step propagate
        unchanged, as evaluating :attr:`name` would raise them."""
        raise NotImplementedError

    def step_code(self, base_expr: str, bind: Binder) -> str:
        """The Python expression taking this step from ``base_expr``, the expression of
        :attr:`base` (for a root, ``base_expr`` is unused).  Every value the step needs
        is named through ``bind(value, hint)``, never pasted into the text."""
        raise NotImplementedError


def _need_globals(source: Source, f_globals: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if f_globals is None:
        msg = f"source {source.name} reads the globals, but f_globals is None"
        raise GuardsValueError(msg)
    return f_globals


# ---------------------------------------------------------------------------- roots
@attrs.frozen
class LocalSource(Source):
    """A local variable of the frame: ``L['x']``."""

    local_name: str = attrs.field(validator=_validate_str)

    def _render(self) -> str:
        return f"L[{self.local_name!r}]"

    def _root_kind(self) -> GuardSource:
        return GuardSource.LOCAL

    def root_value(self, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any] | None) -> Any:
        return f_locals[self.local_name]

    def step_code(self, base_expr: str, bind: Binder) -> str:
        return f"L[{bind(self.local_name, 'local')}]"


@attrs.frozen
class GlobalSource(Source):
    """A global variable of the frame: ``G['y']``."""

    global_name: str = attrs.field(validator=_validate_str)

    def _render(self) -> str:
        return f"G[{self.global_name!r}]"

    def _root_kind(self) -> GuardSource:
        return GuardSource.GLOBAL

    def root_value(self, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any] | None) -> Any:
        return _need_globals(self, f_globals)[self.global_name]

    def step_code(self, base_expr: str, bind: Binder) -> str:
        return f"G[{bind(self.global_name, 'global')}]"


@attrs.frozen
class GlobalsSource(Source):
    """The frame's globals dict itself: ``G`` (to guard that a name is *not* a global)."""

    def _render(self) -> str:
        return "G"

    def _root_kind(self) -> GuardSource:
        return GuardSource.GLOBAL

    def root_value(self, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any] | None) -> Any:
        return _need_globals(self, f_globals)

    def step_code(self, base_expr: str, bind: Binder) -> str:
        return "G"


@attrs.frozen
class ConstantSource(Source):
    """A named constant, rendered bare (``NAME``) and read from the globals."""

    source_name: str = attrs.field(validator=_validate_identifier)

    def _render(self) -> str:
        return self.source_name

    def _root_kind(self) -> GuardSource:
        return GuardSource.CONSTANT

    def root_value(self, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any] | None) -> Any:
        return _need_globals(self, f_globals)[self.source_name]

    def step_code(self, base_expr: str, bind: Binder) -> str:
        return f"G[{bind(self.source_name, 'constant')}]"


@attrs.frozen
class ModuleSource(Source):
    """A module by name, as an ``import`` statement finds it: ``sys.modules['pkg.mod']``."""

    module_name: str = attrs.field(validator=_validate_str)

    def _render(self) -> str:
        return f"sys.modules[{self.module_name!r}]"

    def _root_kind(self) -> GuardSource:
        return GuardSource.GLOBAL

    def root_value(self, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any] | None) -> Any:
        return sys.modules[self.module_name]

    def step_code(self, base_expr: str, bind: Binder) -> str:
        return f"{bind(sys.modules, 'modules')}[{bind(self.module_name, 'module')}]"


# ------------------------------------------------------------------------- chained
@attrs.frozen
class ChainedSource(Source):
    """A source one step away from ``base``."""

    # A frozen field narrows Source.base, a read-only property, to never-None.
    base: Source = attrs.field(validator=validate_source_field)

    def _root_kind(self) -> GuardSource:
        return self.root._root_kind()


@attrs.frozen
class AttrSource(ChainedSource):
    """An attribute: ``L['cfg'].mode``, or ``getattr(L['cfg'], 'a b')`` for other names."""

    member: str = attrs.field(validator=_validate_str)

    def _render(self) -> str:
        if is_plain_identifier(self.member):
            return f"{self.base.name}.{self.member}"
        return f"getattr({self.base.name}, {self.member!r})"

    def step(self, base_value: Any) -> Any:
        return getattr(base_value, self.member)

    def step_code(self, base_expr: str, bind: Binder) -> str:
        if is_plain_identifier(self.member):
            return f"{base_expr}.{self.member}"
        return f"getattr({base_expr}, {bind(self.member, 'attr')})"


def _hashable_key(index: Any) -> Hashable:
    """A key that tells ``1``, ``True`` and ``1.0`` apart, since their names differ."""
    if isinstance(index, slice):
        return ("slice", _hashable_key(index.start), _hashable_key(index.stop),
                _hashable_key(index.step))
    if type(index) is tuple:
        return ("tuple", *(_hashable_key(item) for item in index))
    if type(index) is frozenset:
        return ("frozenset", frozenset(_hashable_key(item) for item in index))
    if type(index) in (float, complex):
        return (type(index), index, repr(index))  # -0.0 and 0.0 render differently
    if type(index) is range:  # range(0, 3, 2) == range(0, 4, 2): they differ all the same
        return ("range", index.start, index.stop, index.step)
    if type(index) is decimal.Decimal:  # Decimal('1.0') == Decimal('1.00') likewise
        return (decimal.Decimal, index.as_tuple())
    return (type(index), index)


def _render_key(index: Any) -> str:
    """``repr(index)``; for an int too long for ``repr``, its hex (still the same key),
    and for a key whose ``__repr__`` raises, ``object.__repr__``."""
    try:
        return repr(index)
    except Exception:
        if type(index) is int:
            return hex(index)
        return object.__repr__(index)


def _validate_index(instance: GetItemSource, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, Source):
        raise must_be("GetItemSource.index", "a constant key, not a Source", value)
    if isinstance(value, slice):
        if not instance.index_is_slice:
            msg = (
                f"GetItemSource.index is a slice, {describe(value)}; "
                "pass index_is_slice=True to index with a slice"
            )
            raise GuardsValueError(msg)
        return
    if instance.index_is_slice:
        raise must_be("GetItemSource.index", "a slice when index_is_slice=True", value)
    try:
        hash(value)
    except Exception:
        raise must_be("GetItemSource.index", "hashable", value) from None


def _validate_bool(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not bool:
        raise must_be(_field(instance, attribute), "a bool", value)


def calls_missing(base: Any, key: Any) -> bool:
    """True when ``base[key]`` would call ``__missing__``: ``base`` is a dict subclass
    that defines it (looked up on the type, as CPython does) and lacks ``key``."""
    cls = type(base)
    return (
        cls is not dict
        and issubclass(cls, dict)
        and type_defines(cls, "__missing__")
        and not dict.__contains__(base, key)
    )


#: Exact types whose subscript never calls ``__missing__`` (nor other user code).
PLAIN_SUBSCRIPT_TYPES = frozenset({dict, list, tuple, str, bytes})


def get_item(base: Any, key: Any, /) -> Any:
    """``base[key]`` as a guard reads it: never through a dict subclass's ``__missing__``.

    ``d[k]`` on a ``defaultdict`` (or any dict subclass with ``__missing__``)
    that lacks ``k`` calls ``__missing__``, which may insert ``k``: a check must
    not change what it reads, so a missing key raises ``KeyError`` here instead
    (and the check fails).  Everything else is ``base[key]``.
    """
    if calls_missing(base, key):
        raise KeyError(key)
    return base[key]


@attrs.frozen
class GetItemSource(ChainedSource):
    """A subscript: ``L['d']['k']``, ``L['d'][0]``, ``L['d'][slice(1, 3, None)]``.

    A slice index needs ``index_is_slice=True``, so that a slice is never taken
    by accident.  The step is :func:`get_item`: it never calls ``__missing__``.
    """

    index: Any = attrs.field(eq=False, hash=False)
    index_is_slice: bool = attrs.field(default=False, validator=_validate_bool)
    _key: Hashable = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        # attrs runs validators in field order, before index_is_slice is known
        # to be valid, so the index is checked here, once both are set.
        _validate_index(self, attrs.fields(GetItemSource).index, self.index)
        object.__setattr__(self, "_key", _hashable_key(self.index))
        super().__attrs_post_init__()

    def _render(self) -> str:
        return f"{self.base.name}[{_render_key(self.index)}]"

    def step(self, base_value: Any) -> Any:
        return get_item(base_value, self.index)

    def step_code(self, base_expr: str, bind: Binder) -> str:
        # The common exact types subscript directly; others go through get_item.
        # The base is evaluated once, into a local named after the bound helper.
        item = bind(get_item, "item")
        plain = bind(PLAIN_SUBSCRIPT_TYPES, "plain")
        key = bind(self.index, "key")
        if base_expr.isidentifier():  # a local already: read it again
            base, bound = base_expr, base_expr
        else:
            base = f"{item}_base"
            bound = f"{base} := {base_expr}"
        return f"({base}[{key}] if type({bound}) in {plain} else {item}({base}, {key}))"


def _validate_position(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int or value < 0:
        raise must_be(_field(instance, attribute), "an int >= 0", value)


def dict_key(base: Any, index: int, /) -> Any:
    """The ``index``-th key of the dict ``base``, in its iteration order.

    Read with ``dict.keys`` (a subclass's own ``keys`` or ``__iter__`` is not
    called); ``TypeError`` for anything but a dict, ``IndexError`` past the end.
    """
    keys = dict.keys(base)
    if index >= len(keys):
        msg = f"dict has {len(keys)} keys, no key at position {index}"
        raise IndexError(msg)
    return next(itertools.islice(keys, index, None))


@attrs.frozen
class DictKeySource(ChainedSource):
    """A dict's key by position: ``list(dict.keys(L['g']))[0]`` (as Dynamo's ConstDictKeySource).

    The path to an object used as a key, so that what is read through it is
    guarded like anything else the function reads.
    """

    index: int = attrs.field(validator=_validate_position)

    def _render(self) -> str:
        return f"list(dict.keys({self.base.name}))[{self.index}]"

    def step(self, base_value: Any) -> Any:
        return dict_key(base_value, self.index)

    def step_code(self, base_expr: str, bind: Binder) -> str:
        return f"{bind(dict_key, 'dict_key')}({base_expr}, {bind(self.index, 'position')})"


@attrs.frozen
class ClosureSource(ChainedSource):
    """A function's closure tuple: ``L['fn'].__closure__``."""

    def _render(self) -> str:
        return f"{self.base.name}.__closure__"

    def step(self, base_value: Any) -> Any:
        return base_value.__closure__

    def step_code(self, base_expr: str, bind: Binder) -> str:
        return f"{base_expr}.__closure__"


def _validate_defaults_key(instance: DefaultsSource, attribute: attrs.Attribute[Any],
                           value: Any) -> None:
    if instance.is_kw:
        if not isinstance(value, str) or not value.isidentifier():
            raise must_be("DefaultsSource.idx_key", "a parameter name (str) when is_kw=True", value)
    elif type(value) is not int:
        expected = "an int index into __defaults__ (pass is_kw=True for a keyword-only default)"
        raise must_be("DefaultsSource.idx_key", expected, value)


@attrs.frozen
class DefaultsSource(ChainedSource):
    """A default: ``L['fn'].__defaults__[1]`` or ``L['fn'].__kwdefaults__['k']``."""

    idx_key: int | str = attrs.field()
    is_kw: bool = attrs.field(default=False, validator=_validate_bool)

    def __attrs_post_init__(self) -> None:
        _validate_defaults_key(self, attrs.fields(DefaultsSource).idx_key, self.idx_key)
        super().__attrs_post_init__()

    @property
    def field(self) -> str:
        """The function attribute holding the default: ``__defaults__`` or ``__kwdefaults__``."""
        return "__kwdefaults__" if self.is_kw else "__defaults__"

    def _render(self) -> str:
        if self.is_kw:
            return f"{self.base.name}.__kwdefaults__['{self.idx_key}']"
        return f"{self.base.name}.__defaults__[{self.idx_key}]"

    def step(self, base_value: Any) -> Any:
        return getattr(base_value, self.field)[self.idx_key]

    def step_code(self, base_expr: str, bind: Binder) -> str:
        return f"{base_expr}.{self.field}[{bind(self.idx_key, 'default')}]"


@attrs.frozen
class CodeSource(ChainedSource):
    """A function's code object: ``L['fn'].__code__``."""

    def _render(self) -> str:
        return f"{self.base.name}.__code__"

    def step(self, base_value: Any) -> Any:
        return base_value.__code__

    def step_code(self, base_expr: str, bind: Binder) -> str:
        return f"{base_expr}.__code__"


@attrs.frozen
class TypeSource(ChainedSource):
    """The exact type of a value: ``type(L['x'])``."""

    def _render(self) -> str:
        return f"type({self.base.name})"

    def step(self, base_value: Any) -> Any:
        return type(base_value)

    def step_code(self, base_expr: str, bind: Binder) -> str:
        return f"type({base_expr})"


@attrs.frozen
class WeakRefCallSource(ChainedSource):
    """The referent of a weak reference: ``L['r']()``."""

    def _render(self) -> str:
        return f"{self.base.name}()"

    def step(self, base_value: Any) -> Any:
        return base_value()

    def step_code(self, base_expr: str, bind: Binder) -> str:
        return f"{base_expr}()"


@attrs.frozen
class SkipGuardSource(ChainedSource):
    """The same value as ``base``, but every guard made on it or through it is dropped.

    Compiling records the dropped guards in ``CheckFunction.dropped_guards``.
    """

    def _render(self) -> str:
        return self.base.name

    def step(self, base_value: Any) -> Any:
        return base_value

    def step_code(self, base_expr: str, bind: Binder) -> str:
        return base_expr


def read_memoized(
    source: Source,
    values: dict[Source, Any],
    f_locals: Mapping[str, Any],
    f_globals: Mapping[str, Any] | None,
) -> Any:
    """The value at ``source``, each prefix read once and kept in ``values``.

    Errors of the walk propagate, as :meth:`Source.get`'s do.  Builders and
    tracing contexts share this, so a path is read the same way everywhere.
    """
    value = values.get(source, _UNREAD)  # not a KeyError: a raise is an event to the net
    if value is not _UNREAD:
        return value
    base = source.base
    if base is None:
        value = source.root_value(f_locals, f_globals)
    else:
        value = source.step(read_memoized(base, values, f_locals, f_globals))
    values[source] = value
    return value

#: A value not read yet (``values.get`` default): distinct from every value a path holds.
_UNREAD: Any = object()

# -- made by guards' own code ----------------------------------------------------------
# A miss makes one source per value it reads.  Where guards' own code has arguments
# that are valid by construction (a Source, an exact str or small int), it makes the
# source without attrs' validators and calls: each field set as ``__init__`` and
# ``__attrs_post_init__`` would set it (tests/test_sources.py compares them field
# by field, the hash too).
_set = object.__setattr__
_new = object.__new__
#: Ints whose ``repr`` is made at once (a longer one may exceed the digit limit).
_SMALL_INT_BITS = 60


def attr_source(base: Source, member: str) -> AttrSource:
    """``AttrSource(base, member)`` for an exact str ``member`` and a valid ``base``."""
    source = _new(AttrSource)
    _set(source, "base", base)
    _set(source, "member", member)
    plain = _PLAIN_IDENTIFIERS.get(member)
    if plain is None:
        plain = is_plain_identifier(member)
    name = f"{base.name}.{member}" if plain else f"getattr({base.name}, {member!r})"
    _set(source, "name", name)
    _set(source, "is_skipped", base.is_skipped)
    _set(source, "_hash_now", hash((AttrSource, base, member)).__index__)
    return source


def item_source(base: Source, index: int | str) -> GetItemSource:
    """``GetItemSource(base, index)`` for an exact str, or an exact int of less than
    60 bits, as ``index``, and a valid ``base``."""
    source = _new(GetItemSource)
    key = (type(index), index)
    _set(source, "base", base)
    _set(source, "index", index)
    _set(source, "index_is_slice", False)
    _set(source, "_key", key)
    _set(source, "name", f"{base.name}[{index!r}]")
    _set(source, "is_skipped", base.is_skipped)
    _set(source, "_hash_now", hash((GetItemSource, base, False, key)).__index__)
    return source


def fast_item_key(index: Any) -> bool:
    """``index`` may be given to :func:`item_source`."""
    return type(index) is str or (
        type(index) is int and index.bit_length() < _SMALL_INT_BITS
    )


def local_source(name: str) -> LocalSource:
    """``LocalSource(name)`` for an exact str ``name``."""
    source = _new(LocalSource)
    _set(source, "local_name", name)
    _set(source, "name", f"L[{name!r}]")
    _set(source, "is_skipped", False)
    _set(source, "_hash_now", hash((LocalSource, name)).__index__)
    return source


#: Source class -> a function of a source giving the values of the fields its equality
#: compares (those its attrs hash would have hashed).
_HASH_FIELDS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _hash_key(source: Source) -> tuple[Any, ...]:
    """What ``hash(source)`` hashes: its class and the fields equality compares, so
    equal sources (same class, equal fields) hash equal."""
    cls = type(source)
    fields = _HASH_FIELDS.get(cls)
    if fields is None:
        names = [f.name for f in attrs.fields(cls) if f.eq and f.hash is not False]
        fields = _HASH_FIELDS[cls] = _fields_getter(names)
    return (cls, *fields(source))


#: Source class -> a function of a source giving the fields its equality compares but
#: ``base`` (which :func:`_source_eq` follows in a loop).
_OWN_FIELDS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _own_fields(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    fields = _OWN_FIELDS.get(cls)
    if fields is None:
        names = [f.name for f in attrs.fields(cls) if f.eq and f.name != "base"]
        fields = _OWN_FIELDS[cls] = _fields_getter(names)
    return fields


def _fields_getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A function of an object giving the tuple of its attributes ``names``."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    if names:
        one = operator.attrgetter(names[0])
        return lambda s: (one(s),)
    return lambda s: ()


def _source_eq(self: Source, other: object) -> Any:
    """``self == other`` for sources, as attrs' ``__eq__`` (same class, equal fields;
    ``NotImplemented`` for another class), walking the two paths in a loop: attrs'
    compares ``base`` with ``==``, a call per step, so two equal paths 1,000 steps
    long raised ``RecursionError``.  The same object, or another hash, answers at once.
    A base of another class, or of a class with an equality of its own (a user's
    attrs subclass: an ``eq`` key, a ``__eq__`` written out), is compared with ``==``,
    as attrs' ``__eq__`` compares it."""
    mine: Source = self
    first = True
    while True:
        if mine is other:
            return True
        cls = type(mine)
        if not first and (type(other) is not cls or cls.__eq__ is not _source_eq):
            return bool(mine == other)  # as attrs' tuple comparison of the bases
        first = False
        if type(other) is not cls:  # as attrs: another class may answer
            return NotImplemented
        theirs = other
        if mine._hash_now() != theirs._hash_now():
            return False
        own = _own_fields(cls)
        if own(mine) != own(theirs):
            return False
        if not isinstance(mine, ChainedSource):
            return True
        mine, other = mine.base, cast(ChainedSource, theirs).base


#: attrs class -> the names of its fields (:func:`field_names`).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    """The names of the fields of the attrs class ``cls`` (one tuple per class)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in attrs.fields(cls))
    return names


def restored(cls: type, names: tuple[str, ...], values: tuple[Any, ...]) -> Any:
    """An instance of the attrs class ``cls`` whose fields ``names`` are ``values``, as
    pickle makes one: set by attrs' ``__setstate__`` (which also clears a cached
    hash), then each one directly (a subclass without slots inherits a
    ``__setstate__`` that knows its base's fields only)."""
    made: Any = object.__new__(cls)
    state = dict(zip(names, values, strict=True))
    made.__setstate__(state)
    for name, value in state.items():
        object.__setattr__(made, name, value)
    return made


def _remade(cls: type[Source], names: tuple[str, ...], *values: Any) -> Source:
    """The source of class ``cls`` whose fields ``names`` are ``values``
    (``Source.__reduce__``), with its hash computed here."""
    source: Source = restored(cls, names, values)
    object.__setattr__(source, "_hash_now", hash(_hash_key(source)).__index__)
    return source


def _source_ne(self: Source, other: object) -> Any:
    equal = _source_eq(self, other)
    return equal if equal is NotImplemented else not equal


def _hash_by_slot(cls: type[Source]) -> None:
    """Make ``hash()`` of ``cls``'s instances call the bound ``int.__index__`` kept in
    the ``_hash_now`` slot (:class:`HashSlot`), all in C; and ``==`` walk paths in a
    loop (:func:`_source_eq`).  Then the same for its subclasses here (attrs gives each
    its own ``__hash__`` and ``__eq__``)."""
    cls.__hash__ = SLOT_HASH  # type: ignore[method-assign,assignment]
    cls.__eq__ = _source_eq  # type: ignore[method-assign,assignment]
    cls.__ne__ = _source_ne  # type: ignore[method-assign,assignment]
    for sub in cls.__subclasses__():
        _hash_by_slot(sub)


_hash_by_slot(Source)
