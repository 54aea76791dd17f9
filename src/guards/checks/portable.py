"""Guards as JSON: the document of a compiled guard set, written and read back.

:meth:`guards.CheckFunction.to_json` writes, and :func:`guards.load_check`
reads, a document of this shape (``docs/persistence.md`` shows one)::

    {"format": "guards.check", "version": 1,
     "sources": [{"class": "LocalSource", "local_name": "x"}, ...],
     "guards":  [{"source": 0, "kind": "TYPE_MATCH", "args": [],
                  "facts": {"type": {"$": "builtin", "name": "int"}}}, ...],
     "dropped": [{"source": 3, "kind": "TYPE_MATCH", "args": []}, ...],
     "labels":  [[5, "scale"], ...]}

* ``sources`` is a table: each source names its class and its fields, a chained
  source its ``base`` by an index into the table (always an earlier one), so no
  path nests and every prefix is written once;
* each guard has its source, its kind, its arguments (tagged JSON,
  :mod:`guards.core.tagged`; a source argument is ``{"$": "source", "index": i}``)
  and its *facts*: what its checks compare against (a type, a value, an outcome),
  which the frame held when it was built;
* ``dropped`` lists the guards on skipped paths (they make no checks; written when
  their arguments can be, as they are only shown);
* ``labels`` are the user's names of closure cells and defaults shown by explanations.

Reading builds each guard's checks with the guard kind itself, from its facts:
on stand-in values that give the kind the same answers the frame gave (a kind
reads the value at its source; ``HASATTR`` reads whether the base has the
attribute), or, where no stand-in can exist (the exact type of a user's object),
through the builder's own check methods (:meth:`GuardBuilder.type_check`...).
So a loaded check runs the same checks as the original, with the same
explanations.  No code of the document runs: no ``eval``, no pickle, no import.
"""

from __future__ import annotations

import builtins
import collections
import decimal
import enum
import json
import types
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from guards.core.builder import SCALAR_TYPES, Check, GuardBuilder
from guards.core.guard import Guard
from guards.core.naming import name_of
from guards.core.sources import (
    AttrSource,
    ClosureSource,
    CodeSource,
    ConstantSource,
    DefaultsSource,
    DictKeySource,
    GetItemSource,
    GlobalSource,
    GlobalsSource,
    LocalSource,
    ModuleSource,
    SkipGuardSource,
    Source,
    TypeSource,
    WeakRefCallSource,
)
from guards.core.tagged import (
    JSON,
    decode_value,
    encode_name,
    encode_value,
    fail,
    field,
    refuse_flood,
    refuse_flood_written,
)
from guards.core.values import SetSnapshot, referent, same_value
from guards.errors import (
    DocumentError,
    GuardsError,
    NotPortableError,
    StaleDocumentError,
    describe,
    must_be,
)

#: The ``"format"`` of a guard document.
FORMAT = "guards.check"
#: The ``"version"`` this library writes and reads.
VERSION = 1
#: The longest document :func:`read_document` reads, in characters.
MAX_DOCUMENT_CHARS = 64 * 1024 * 1024
#: The most steps a source of a document may be from its root.
MAX_SOURCE_DEPTH = 1000

#: The source classes a document may name, by class name.
SOURCE_CLASSES: dict[str, type[Source]] = {cls.__name__: cls for cls in (
    LocalSource, GlobalSource, GlobalsSource, ConstantSource, ModuleSource, AttrSource,
    GetItemSource, DictKeySource, ClosureSource, DefaultsSource, CodeSource, TypeSource,
    WeakRefCallSource, SkipGuardSource,
)}

#: The kinds the format does not write, and why (every other built-in kind round-trips).
NOT_PORTABLE_KINDS: dict[str, str] = {
    "NDARRAY_MATCH": "NumPy arrays are not in the value codec",
}

#: The singletons an identity guard may name by value.
_SINGLETONS = (None, True, False, ..., NotImplemented)


@attrs.frozen
class LoadedChecks:
    """What :func:`read_document` rebuilds: the guards, the dropped guards and the
    checks, ready to compile."""

    guards: tuple[Guard, ...]
    dropped: tuple[Guard, ...]
    checks: tuple[Check, ...]


# -- writing -------------------------------------------------------------------------------
class _Writer:
    """Writes one document; raises :class:`~guards.NotPortableError` for what it cannot."""

    def __init__(self) -> None:
        self.sources: list[JSON] = []
        self.index: dict[Source, int] = {}

    def source(self, source: Source) -> int:
        found = self.index.get(source)
        if found is not None:
            return found
        for step in source.chain():
            if step not in self.index:
                fields = self._source_fields(step)  # first: it may raise
                self.index[step] = len(self.sources)
                self.sources.append(fields)
        return self.index[source]

    def _source_fields(self, source: Source) -> JSON:
        cls = type(source)
        if SOURCE_CLASSES.get(cls.__name__) is not cls:
            raise NotPortableError(f"the source {source.name} is a {cls.__qualname__}, which "
                                   "the format does not know")
        written: dict[str, JSON] = {"class": cls.__name__}
        for attribute in attrs.fields(cls):
            if not attribute.init:
                continue
            value = getattr(source, attribute.name)
            if attribute.name == "base":
                written["base"] = self.index[value]
            else:
                try:
                    written[attribute.name] = encode_value(value)
                except NotPortableError as exc:
                    raise NotPortableError(f"the source {source.name}: {exc.reason}") from None
        return written

    def value(self, value: Any) -> JSON:
        return encode_value(value, source_index=self.source)

    def guard(self, guard: Guard, checks: Sequence[Check]) -> JSON:
        kind = guard.kind
        try:
            if kind in NOT_PORTABLE_KINDS:
                raise NotPortableError(f"the kind {kind} is not portable: "
                                       f"{NOT_PORTABLE_KINDS[kind]}")
            codec = KIND_CODECS.get(kind)
            if codec is None:
                raise NotPortableError(f"the kind {kind} is not a built-in kind; the format "
                                       "writes built-in kinds only")
            if not checks:
                raise NotPortableError("its checks are not known (the CheckFunction was not "
                                       "made by compile_guards)")
            facts = codec.write(self, guard, checks)
            return {"source": self.source(guard.source), "kind": kind,
                    "args": self.args(guard), "facts": facts}
        except NotPortableError as exc:
            raise NotPortableError(f"guard {guard}: {exc.reason}") from None

    def args(self, guard: Guard) -> JSON:
        return [[key, self.value(arg)] for key, arg in guard.args]


def write_document(
    guards: Sequence[Guard], dropped: Sequence[Guard], checks: Sequence[Check]
) -> dict[str, JSON]:
    """The document of a compiled guard set: ``guards`` (those it checks), ``dropped``
    (those left out on skipped paths) and ``checks`` (every check the builder made
    for them, before duplicates were removed).

    Raises :class:`~guards.NotPortableError` naming the first guard that cannot be
    written and why.
    """
    by_guard: dict[Guard, list[Check]] = {}
    for check in checks:
        by_guard.setdefault(check.guard, []).append(check)
    writer = _Writer()
    written = [writer.guard(guard, by_guard.get(guard, ())) for guard in guards]
    written_dropped = []
    for guard in dropped:
        try:
            written_dropped.append({"source": writer.source(guard.source), "kind": guard.kind,
                                    "args": writer.args(guard)})
        except NotPortableError:
            continue  # only shown: a dropped guard makes no check
    labels: dict[int, str] = {}
    for check in checks:
        if check.label is not None and check.guard in by_guard:
            labels[writer.source(check.sources[0])] = check.label
    refuse_flood_written(list(writer.index), "sources")
    refuse_flood_written(list(guards), "guards")
    return {"format": FORMAT, "version": VERSION, "sources": writer.sources,
            "guards": written, "dropped": written_dropped,
            "labels": [[index, label] for index, label in sorted(labels.items())]}


def to_text(document: dict[str, JSON]) -> str:
    """The JSON text of a document: compact, ASCII only, no NaN literal."""
    return json.dumps(document, separators=(",", ":"), allow_nan=False)


# -- reading -------------------------------------------------------------------------------
def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        counts = collections.Counter(key for key, _ in pairs)
        twice = sorted(key for key, count in counts.items() if count > 1)
        raise DocumentError(f"the document repeats the keys {twice} in one object")
    return found


def _no_constant(name: str) -> Any:
    raise DocumentError(f"the document holds the non-JSON number {name}")


def parse(text: str) -> dict[str, JSON]:
    """The top-level object of a document's text, its format and version checked."""
    if type(text) is not str:
        raise must_be("text", "a str (a guard document)", text)
    if len(text) > MAX_DOCUMENT_CHARS:
        raise DocumentError(f"the document has {len(text)} characters, more than the "
                            f"{MAX_DOCUMENT_CHARS} read")
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys,
                          parse_constant=_no_constant)
    except RecursionError:
        raise DocumentError("the document nests too deeply to be read") from None
    except DocumentError:
        raise
    except ValueError as exc:
        raise DocumentError(f"the document is not JSON: {exc}") from None
    if type(data) is not dict:
        raise fail("the document", "a JSON object", data)
    if data.get("format") != FORMAT:
        raise fail("the document's format", repr(FORMAT), data.get("format"))
    version = data.get("version")
    if type(version) is not int or version != VERSION:
        raise fail("the document's version", f"{VERSION} (the version this library reads)",
                   version)
    extra = set(data) - {"format", "version", "sources", "guards", "dropped", "labels"}
    if extra:
        raise DocumentError(f"the document has unknown fields {sorted(extra)}")
    return data


class _Reader:
    def __init__(self, data: dict[str, JSON]) -> None:
        self.sources: list[Source] = []
        self.depths: list[int] = []  # how many steps each source is from its root
        self.seen: dict[Source, Any] = {}  # the first stand-in value of each source
        for i, written in enumerate(field(data, "sources", "document", list)):
            self.sources.append(self._source(written, f"sources[{i}]"))
        # Sources are keys (of stand-ins, checks, labels): many of one hash (indexes
        # i * (2**61 - 1)) would cost their number squared.
        refuse_flood(self.sources, "sources")

    def source_at(self, index: int, where: str) -> Source:
        if type(index) is not int or not 0 <= index < len(self.sources):
            raise fail(where, f"an index into the {len(self.sources)} sources", index)
        return self.sources[index]

    def _source(self, written: JSON, where: str) -> Source:
        if type(written) is not dict:
            raise fail(where, "a JSON object", written)
        name = field(written, "class", where, str)
        cls = SOURCE_CLASSES.get(name)
        if cls is None:
            raise fail(f"{where}.class", f"one of {sorted(SOURCE_CLASSES)}", name)
        fields = [a for a in attrs.fields(cls) if a.init]
        extra = set(written) - {"class", *(a.name for a in fields)}
        if extra:
            raise DocumentError(f"{where} has fields {sorted(extra)} that {name} has not")
        arguments: dict[str, Any] = {}
        depth = 0
        for field_ in fields:
            attribute = field_.name
            if attribute not in written:
                if field_.default is attrs.NOTHING:
                    raise DocumentError(f"{where} has no field {attribute!r}")
                continue
            if attribute == "base":
                arguments["base"] = self.source_at(written["base"], f"{where}.base")
                depth = self.depths[written["base"]] + 1
                if depth > MAX_SOURCE_DEPTH:
                    # Each source renders its whole path: a longer chain costs its
                    # square in time and memory.
                    msg = f"{where} is a path of more than {MAX_SOURCE_DEPTH} steps"
                    raise DocumentError(msg)
            else:
                arguments[attribute] = decode_value(written[attribute], f"{where}.{attribute}")
        self.depths.append(depth)
        try:
            return cls(**arguments)
        except GuardsError as exc:
            raise DocumentError(f"{where}: {exc}") from None
        except Exception as exc:
            raise DocumentError(f"{where}: {type(exc).__name__}: {exc}") from None

    def _shared(self, values: Mapping[Source, Any]) -> dict[Source, Any]:
        """``values``, each the very object an earlier guard on its source read when the
        two are the same value: the frame held one object there, and checks that bind
        the same object are made once, as they were when the guards were built."""
        shared = {}
        for source, value in values.items():
            earlier = self.seen.setdefault(source, value)
            same = earlier is value or (type(earlier) is type(value)
                                        and _same_value(earlier, value))
            shared[source] = earlier if same else value
        return shared

    def value(self, data: JSON, where: str) -> Any:
        return decode_value(data, where, source_at=self.source_at)

    def guard(self, written: JSON, where: str, *, dropped: bool = False) -> Guard:
        if type(written) is not dict:
            raise fail(where, "a JSON object", written)
        allowed = {"source", "kind", "args"} if dropped else {"source", "kind", "args", "facts"}
        extra = set(written) - allowed
        if extra:
            raise DocumentError(f"{where} has unknown fields {sorted(extra)}")
        source = self.source_at(field(written, "source", where, int), f"{where}.source")
        kind = field(written, "kind", where, str)
        if not dropped and kind not in KIND_CODECS:
            known = ", ".join(sorted(KIND_CODECS))
            raise fail(f"{where}.kind", f"a kind the format writes ({known})", kind)
        args = []
        for i, pair in enumerate(field(written, "args", where, list)):
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
                raise fail(f"{where}.args[{i}]", "a [name, value] pair", pair)
            args.append((pair[0], self.value(pair[1], f"{where}.args[{i}][1]")))
        if [name for name, _ in args] != sorted({name for name, _ in args}):
            raise fail(f"{where}.args", "pairs sorted by distinct names", written["args"])
        try:
            guard = Guard(source, kind, tuple(args))
            hash(guard)
        except GuardsError as exc:
            raise DocumentError(f"{where}: {exc}") from None
        except TypeError:
            raise fail(f"{where}.args", "hashable values", written["args"]) from None
        if dropped and not guard.is_skipped:
            raise DocumentError(f"{where} is not on a skipped path, so it is not dropped")
        return guard

    def checks(self, guard: Guard, facts: JSON, where: str) -> list[Check]:
        if type(facts) is not dict:
            raise fail(where, "a JSON object", facts)
        codec = KIND_CODECS[guard.kind]
        extra = set(facts) - set(codec.facts)
        missing = set(codec.facts) - set(facts)
        if extra or missing:
            raise DocumentError(f"{where} of {guard.kind} must have the fields "
                                f"{sorted(codec.facts)}, got {sorted(facts)}")
        decoded = {key: self.value(facts[key], f"{where}.{key}") for key in codec.facts}
        builder = GuardBuilder({}, None, values=self._shared(codec.stand_ins(guard, decoded,
                                                                             where)))
        try:
            if codec.emit is None:
                builder.build(guard)
            else:
                codec.emit(builder, guard, decoded, where)
        except DocumentError:
            raise
        except GuardsError as exc:
            raise DocumentError(f"{where}: the facts do not build {guard}: {exc}") from None
        return builder.checks


def read_document(text: str) -> LoadedChecks:
    """The guards and checks of a document's ``text`` (see the module's docstring).

    Raises :class:`~guards.DocumentError` naming what is wrong and where, and its
    subclass :class:`~guards.StaleDocumentError` for a class, function or module
    this process does not have (or has in another version).
    """
    data = parse(text)
    reader = _Reader(data)
    guards: list[Guard] = []
    checks: list[Check] = []
    for i, written in enumerate(field(data, "guards", "document", list)):
        guard = reader.guard(written, f"guards[{i}]")
        if guard.is_skipped:
            raise DocumentError(f"guards[{i}] is on a skipped path: it belongs in 'dropped'")
        guards.append(guard)
        checks.extend(reader.checks(guard, written.get("facts"),
                                    f"guards[{i}].facts"))
    refuse_flood(guards, "guards")
    if len(set(guards)) != len(guards):
        raise DocumentError("the document lists a guard twice")
    dropped = tuple(reader.guard(written, f"dropped[{i}]", dropped=True)
                    for i, written in enumerate(field(data, "dropped", "document", list)))
    labels: dict[Source, str] = {}
    for i, pair in enumerate(field(data, "labels", "document", list)):
        if type(pair) is not list or len(pair) != 2 or type(pair[1]) is not str:
            raise fail(f"labels[{i}]", "an [index, label] pair", pair)
        labels[reader.source_at(pair[0], f"labels[{i}][0]")] = pair[1]
    checks = [
        check if check.label == labels.get(check.sources[0])
        else attrs.evolve(check, label=labels.get(check.sources[0]))
        for check in checks
    ]
    return LoadedChecks(tuple(guards), dropped, tuple(checks))


def _same_value(a: Any, b: Any) -> bool:
    try:
        return same_value(a, b)
    except Exception:  # a stand-in compares with nothing
        return False


# -- the kinds -------------------------------------------------------------------------------
StandIns = Callable[[Guard, dict[str, Any], str], Mapping[Source, Any]]
Emit = Callable[[GuardBuilder, Guard, dict[str, Any], str], None]


@attrs.frozen
class KindCodec:
    """How one guard kind is written and read.

    ``facts`` are the names of its facts; ``write(writer, guard, checks)`` returns
    them as JSON from the checks the kind built; ``stand_ins(guard, facts, where)``
    gives the values the kind reads when it is built again from the decoded facts;
    ``emit(builder, guard, facts, where)``, when given, emits the checks instead of
    the kind itself (for a fact no stand-in value can give, such as a user's type).
    """

    facts: tuple[str, ...]
    write: Callable[[_Writer, Guard, Sequence[Check]], dict[str, JSON]]
    stand_ins: StandIns
    emit: Emit | None = None


def _constant(checks: Sequence[Check], name: str) -> Any:
    for check in checks:
        for key, value in check.constants:
            if key == name:
                return value
    raise NotPortableError(f"no check of it binds {name!r}")


def _type_fact(writer: _Writer, guard: Guard, checks: Sequence[Check]) -> JSON:
    for check in checks:
        if check.expr == "type({0}) is {T}" and check.sources == (guard.source,):
            return writer.value(check.expected)
    raise NotPortableError("none of its checks is its type check")


def _identity(writer: _Writer, obj: Any) -> JSON:
    """An object compared by identity: a singleton, or an object with a name."""
    if any(obj is singleton for singleton in _SINGLETONS) or issubclass(type(obj), enum.Enum):
        return encode_value(obj)  # one of a kind in every process, named by value
    try:
        return encode_name(name_of(obj))
    except NotPortableError as exc:
        raise NotPortableError(f"the identity of an object cannot be named in another "
                               f"process ({exc.reason})") from None


def _expect_class(value: Any, where: str) -> type:
    if not issubclass(type(value), type):
        raise fail(where, "a class", value)
    return value  # type: ignore[no-any-return]


def _none(guard: Guard, facts: dict[str, Any], where: str) -> Mapping[Source, Any]:
    return {}


def _at_source(key: str, check: Callable[[Any, str], None] | None = None) -> StandIns:
    def stand_ins(guard: Guard, facts: dict[str, Any], where: str) -> Mapping[Source, Any]:
        if check is not None:
            check(facts[key], f"{where}.{key}")
        return {guard.source: facts[key]}

    return stand_ins


def _is_bool(value: Any, where: str) -> None:
    if type(value) is not bool:
        raise fail(where, "true or false", value)


def _identity_object(value: Any, where: str) -> None:
    if not (any(value is s for s in _SINGLETONS) or type(value) in (
        types.ModuleType, types.FunctionType, types.BuiltinFunctionType
    ) or issubclass(type(value), (type, enum.Enum))):
        raise fail(where, "a singleton, an enum member, a module, a class or a function",
                   value)


# -- facts of each kind ----
def _write_object(writer: _Writer, guard: Guard, checks: Sequence[Check]) -> dict[str, JSON]:
    obj = referent(checks[0].expected)
    if obj is None and checks[0].expected is not None:
        raise NotPortableError("its object is gone")
    return {"object": _identity(writer, obj)}


def _write_closure(writer: _Writer, guard: Guard, checks: Sequence[Check]) -> dict[str, JSON]:
    code = [c.expected for c in checks if type(c.expected) is types.CodeType]
    if not code:
        return {"object": _write_object(writer, guard, checks)["object"], "code": None}
    return {"object": None, "code": _identity(writer, code[0])}


def _closure_stand_ins(guard: Guard, facts: dict[str, Any], where: str) -> Mapping[Source, Any]:
    code = facts["code"]
    if code is None:
        _identity_object(facts["object"], f"{where}.object")
        return {guard.source: facts["object"]}
    if type(code) is not types.CodeType or facts["object"] is not None:
        raise fail(where, "a code object and a null object, or the reverse", facts)
    # A function of that very code (its cells empty): the kind reads only its code.
    cells = tuple(types.CellType() for _ in code.co_freevars)
    return {guard.source: types.FunctionType(code, {}, code.co_name, None, cells)}


def _write_value(writer: _Writer, guard: Guard, checks: Sequence[Check]) -> dict[str, JSON]:
    value = checks[0].expected
    if (type(value) in _CONTAINERS or type(value) is decimal.Decimal) and _holds_nan(value):
        raise NotPortableError(_NAN_INSIDE)
    return {"value": writer.value(value)}


_CONTAINERS = (list, tuple, dict, set, frozenset, SetSnapshot, slice)
_NAN_INSIDE = ("a NaN inside a container, or a Decimal NaN, matches only that very NaN "
               "object (== on containers tests identity first), which no other process has")


def _holds_nan(value: Any) -> bool:
    """Some float, complex or Decimal at any depth of ``value`` is a NaN."""
    t = type(value)
    if t is float or t is complex:
        return bool(value != value)
    if t is decimal.Decimal:
        return bool(value.is_nan())
    if t is dict:
        return any(_holds_nan(k) or _holds_nan(v) for k, v in value.items())
    if t is SetSnapshot:
        return any(map(_holds_nan, value.items))
    if t is slice:
        return any(map(_holds_nan, (value.start, value.stop, value.step)))
    if t in _CONTAINERS:
        return any(map(_holds_nan, value))
    return False


def _write_outcome(writer: _Writer, guard: Guard, checks: Sequence[Check]) -> dict[str, JSON]:
    outcome = checks[-1].expected
    if type(outcome) is not bool:
        raise NotPortableError(f"its outcome is not a bool: {describe(outcome)}")
    return {"outcome": outcome}


class _Presence:
    """A stand-in that has exactly one attribute, or none (for ``HASATTR``)."""

    __slots__ = ("_member", "_present")

    def __init__(self, member: str, present: bool) -> None:
        self._member, self._present = member, present

    def __getattribute__(self, name: str) -> Any:
        if name == object.__getattribute__(self, "_member") and (
            object.__getattribute__(self, "_present")
        ):
            return None
        raise AttributeError(name)


class _Contains:
    """A stand-in that answers ``in`` as it was told (for ``DICT_CONTAINS``)."""

    __slots__ = ("present",)

    def __init__(self, present: bool) -> None:
        self.present = present

    def __contains__(self, key: object) -> bool:
        return self.present


class _Alive:
    """A referent for a stand-in weak reference (for ``WEAKREF_ALIVE``)."""


_ALIVE = _Alive()


def _base_stand_in(make: Callable[[Guard, bool], Any]) -> StandIns:
    def stand_ins(guard: Guard, facts: dict[str, Any], where: str) -> Mapping[Source, Any]:
        _is_bool(facts["outcome"], f"{where}.outcome")
        base = guard.source.base
        if base is None:
            raise fail(f"{where} of {guard.kind}", "on a chained source", guard.source.name)
        return {base: make(guard, facts["outcome"])}

    return stand_ins


def _presence(guard: Guard, present: bool) -> Any:
    if not isinstance(guard.source, AttrSource):
        raise fail(f"the source of {guard.kind}", "an AttrSource", guard.source.name)
    return _Presence(guard.source.member, present)


def _cell(guard: Guard, empty: bool) -> Any:
    return types.CellType() if empty else types.CellType(None)


def _write_type_and(name: str, writer_key: str) -> Callable[..., dict[str, JSON]]:
    def write(writer: _Writer, guard: Guard, checks: Sequence[Check]) -> dict[str, JSON]:
        return {"type": _type_fact(writer, guard, checks),
                writer_key: writer.value(_constant(checks, name))}

    return write


def _emit_length(builder: GuardBuilder, guard: Guard, facts: dict[str, Any], where: str) -> None:
    length = facts["length"]
    if type(length) is not int or length < 0:
        raise fail(f"{where}.length", "an int >= 0", length)
    builder.type_check(guard, _expect_class(facts["type"], f"{where}.type"))
    builder.length_check(guard, length)


def _emit_keys(builder: GuardBuilder, guard: Guard, facts: dict[str, Any], where: str) -> None:
    if type(facts["keys"]) is not list:
        raise fail(f"{where}.keys", "a list", facts["keys"])
    builder.type_check(guard, _expect_class(facts["type"], f"{where}.type"))
    builder.keys_check(guard, facts["keys"])


def _emit_type(builder: GuardBuilder, guard: Guard, facts: dict[str, Any], where: str) -> None:
    builder.type_check(guard, _expect_class(facts["type"], f"{where}.type"))


def _class_keys_stand_in(guard: Guard, facts: dict[str, Any], where: str) -> Mapping[Source, Any]:
    keys = facts["keys"]
    if type(keys) is not list:
        raise fail(f"{where}.keys", "a list", keys)
    refuse_flood(keys, f"{where}.keys")
    try:
        return {guard.source: dict.fromkeys(keys)}
    except TypeError:
        raise fail(f"{where}.keys", "hashable keys", keys) from None


def _write_sequence(writer: _Writer, guard: Guard, checks: Sequence[Check]) -> dict[str, JSON]:
    cls = _constant(checks, "T")
    items = checks[-1].expected
    if _holds_nan(items):
        raise NotPortableError(_NAN_INSIDE)
    if cls is set or cls is frozenset:
        # Written as a set in the order the check compares (a copy might iterate otherwise).
        return {"value": writer.value(SetSnapshot(cls, tuple(items)))}
    return {"value": writer.value(items)}


def _sequence_stand_in(guard: Guard, facts: dict[str, Any], where: str) -> Mapping[Source, Any]:
    value = facts["value"]
    if type(value) not in (list, tuple, set, frozenset):
        raise fail(f"{where}.value", "a list, tuple, set or frozenset", value)
    return {guard.source: value}


def _others(guard: Guard, facts: dict[str, Any], where: str) -> Mapping[Source, Any]:
    found: dict[Source, Any] = {guard.source: None}
    for _, arg in guard.args:
        for source in (arg if type(arg) is tuple else (arg,)):
            if isinstance(source, Source):
                found[source] = None
    return found


def _write_weakref(writer: _Writer, guard: Guard, checks: Sequence[Check]) -> dict[str, JSON]:
    if _constant(checks, "T") is not weakref.ref:
        raise NotPortableError("its reference is of a subclass of weakref.ref")
    return {}


def _weakref_stand_in(guard: Guard, facts: dict[str, Any], where: str) -> Mapping[Source, Any]:
    source = guard.source
    if isinstance(source, WeakRefCallSource):
        return {source.base: weakref.ref(_ALIVE), source: _ALIVE}
    return {source: weakref.ref(_ALIVE)}


def _write_builtin(writer: _Writer, guard: Guard, checks: Sequence[Check]) -> dict[str, JSON]:
    if _constant(checks, "B") is not builtins.__dict__:
        raise NotPortableError("its globals have builtins of their own")
    found = [value for check in checks for key, value in check.constants if key == "obj"]
    return {"present": bool(found), "object": _identity(writer, found[0]) if found else None}


def _builtin_stand_in(guard: Guard, facts: dict[str, Any], where: str) -> Mapping[Source, Any]:
    present, obj = facts["present"], facts["object"]
    _is_bool(present, f"{where}.present")
    source = guard.source
    if not isinstance(source, GetItemSource) or type(source.index) is not str:
        raise fail(f"the source of {guard.kind}", "a GetItemSource of a name",
                   source.name)
    name = source.index
    now = builtins.__dict__.get(name, _ALIVE)
    if present != (now is not _ALIVE) or (present and now is not obj):
        shown = "absent" if now is _ALIVE else describe(now)
        msg = (f"{where}: the builtin {name!r} is {shown} in this process, not "
               f"{describe(obj) if present else 'absent'} as written")
        raise StaleDocumentError(msg, name)
    return {source.base: {}}  # globals without the name: their builtins are builtins'


def _other_type(writer: _Writer, guard: Guard, checks: Sequence[Check]) -> JSON:
    other = guard.arguments.get("other")
    if not isinstance(other, Source):
        return None
    for check in checks:
        if check.expr == "type({0}) is {T}" and check.sources == (other,):
            return writer.value(check.expected)
    raise NotPortableError("none of its checks is the type check of other=")


def _write_compare(writer: _Writer, guard: Guard, checks: Sequence[Check]) -> dict[str, JSON]:
    return {"type": _type_fact(writer, guard, checks),
            "other_type": _other_type(writer, guard, checks),
            **_write_outcome(writer, guard, checks)}


def _emit_compare(builder: GuardBuilder, guard: Guard, facts: dict[str, Any],
                  where: str) -> None:
    _is_bool(facts["outcome"], f"{where}.outcome")
    arguments: Mapping[str, Any] = guard.arguments
    other = arguments.get("other")
    other_type = facts["other_type"]
    if isinstance(other, Source):
        other_type = _expect_class(other_type, f"{where}.other_type")
    elif other_type is not None:
        raise fail(f"{where}.other_type", "null when other= is not a source", other_type)
    builder.compare_checks(guard, arguments.get("op"), other, arguments.get("apply", ()),
                           _expect_class(facts["type"], f"{where}.type"),
                           type(None) if other_type is None else other_type, facts["outcome"])


def _write_predicate(writer: _Writer, guard: Guard, checks: Sequence[Check]) -> dict[str, JSON]:
    return {"type": _type_fact(writer, guard, checks), **_write_outcome(writer, guard, checks)}


def _emit_predicate(builder: GuardBuilder, guard: Guard, facts: dict[str, Any],
                    where: str) -> None:
    _is_bool(facts["outcome"], f"{where}.outcome")
    arguments: Mapping[str, Any] = guard.arguments
    builder.predicate_checks(guard, _expect_class(facts["type"], f"{where}.type"),
                             arguments.get("method"), arguments.get("args", ()),
                             facts["outcome"])


def _write_contains(writer: _Writer, guard: Guard, checks: Sequence[Check]) -> dict[str, JSON]:
    container = guard.arguments.get("container")
    if not isinstance(container, Source):
        raise NotPortableError("its container= is not a source")
    types_of = {c.sources: c.expected for c in checks if c.expr == "type({0}) is {T}"}
    return {"type": writer.value(types_of[(guard.source,)]),
            "container_type": writer.value(types_of[(container,)]),
            **_write_outcome(writer, guard, checks)}


def _contains_stand_ins(guard: Guard, facts: dict[str, Any], where: str) -> Mapping[Source, Any]:
    cls, kind, present = facts["type"], facts["container_type"], facts["outcome"]
    _is_bool(present, f"{where}.outcome")
    if not any(cls is scalar for scalar in SCALAR_TYPES):
        raise fail(f"{where}.type", "an exact built-in scalar type", cls)
    if not any(kind is t for t in (dict, set, frozenset)):
        raise fail(f"{where}.container_type", "dict, set or frozenset", kind)
    container = guard.arguments.get("container")
    if not isinstance(container, Source):
        raise fail(f"the container= of {guard.kind}", "a source", container)
    value = cls()  # a value of that exact type; the checks keep only its type
    return {guard.source: value, container: kind((value,) if present else ()) if kind is not dict
            else ({value: None} if present else {})}


def _signals(signals: frozenset[type]) -> list[type]:
    return sorted(signals, key=lambda signal: signal.__qualname__)


def _write_decimal(writer: _Writer, guard: Guard, checks: Sequence[Check]) -> dict[str, JSON]:
    settings, flags = _constant(checks, "S"), _constant(checks, "F")
    return {"getcontext": _identity(writer, _constant(checks, "getcontext")),
            "settings": writer.value(list(settings[:-1])),
            "traps": writer.value(_signals(settings[-1])), "flags": writer.value(_signals(flags))}


def _emit_decimal(builder: GuardBuilder, guard: Guard, facts: dict[str, Any],
                  where: str) -> None:
    getcontext, settings = facts["getcontext"], facts["settings"]
    if type(getcontext) not in (types.FunctionType, types.BuiltinFunctionType):
        raise fail(f"{where}.getcontext", "a function", getcontext)
    kinds = [int, str, int, int, int, int]  # prec, rounding, Emin, Emax, capitals, clamp
    if type(settings) is not list or [type(v) for v in settings] != kinds:
        raise fail(f"{where}.settings", "[prec, rounding, Emin, Emax, capitals, clamp]",
                   settings)
    signals = {}
    for key in ("traps", "flags"):
        found = facts[key]
        if type(found) is not list or not all(issubclass(type(s), type) for s in found):
            raise fail(f"{where}.{key}", "a list of classes", found)
        signals[key] = frozenset(found)
    builder.decimal_context_check(guard, getcontext, (*settings, signals["traps"]),
                                  signals["flags"])


def _simple(facts: tuple[str, ...], write: Callable[..., dict[str, JSON]],
            stand_ins: StandIns, emit: Emit | None = None) -> KindCodec:
    return KindCodec(facts, write, stand_ins, emit)


def _no_facts(writer: _Writer, guard: Guard, checks: Sequence[Check]) -> dict[str, JSON]:
    return {}


def _identity_stand_in(guard: Guard, facts: dict[str, Any], where: str) -> Mapping[Source, Any]:
    _identity_object(facts["object"], f"{where}.object")
    return {guard.source: facts["object"]}


#: The kinds a document may hold, and how each is written and read.
KIND_CODECS: dict[str, KindCodec] = {
    "TYPE_MATCH": _simple(("type",), lambda w, g, c: {"type": _type_fact(w, g, c)}, _none,
                          _emit_type),
    "ID_MATCH": _simple(("object",), _write_object, _identity_stand_in),
    "FUNCTION_MATCH": _simple(("object",), _write_object, _identity_stand_in),
    "CLOSURE_MATCH": _simple(("object", "code"), _write_closure, _closure_stand_ins),
    "EQUALS_MATCH": _simple(("value",), _write_value, _at_source("value")),
    "CONSTANT_MATCH": _simple(("value",), _write_value, _at_source("value")),
    "NONE_MATCH": _simple((), _no_facts, _none),
    "NOT_NONE_MATCH": _simple((), _no_facts, _none),
    "BOOL_MATCH": _simple(("value",), _write_value, _at_source("value", _is_bool)),
    "TRUTH_MATCH": _simple(("outcome",), _write_outcome, _at_source("outcome", _is_bool)),
    "HASATTR": _simple(("outcome",), _write_outcome, _base_stand_in(_presence)),
    "DICT_CONTAINS": _simple(("outcome",), _write_outcome,
                             _base_stand_in(lambda guard, present: _Contains(present))),
    "CELL_EMPTY": _simple(("outcome",), _write_outcome, _base_stand_in(_cell)),
    "SEQUENCE_LENGTH": _simple(("type", "length"), _write_type_and("N", "length"), _none,
                               _emit_length),
    "DICT_KEYS_MATCH": _simple(("type", "keys"), _write_type_and("K", "keys"), _none,
                               _emit_keys),
    "CLASS_KEYS_MATCH": _simple(("keys",), lambda w, g, c: {"keys": w.value(_constant(c, "K"))},
                                _class_keys_stand_in),
    "SEQUENCE_VALUES_MATCH": _simple(("value",), _write_sequence, _sequence_stand_in),
    "DUPLICATE_INPUT": _simple((), _no_facts, _others),
    "NO_ALIASING": _simple((), _no_facts, _others),
    "WEAKREF_ALIVE": _simple((), _write_weakref, _weakref_stand_in),
    "BUILTIN_MATCH": _simple(("present", "object"), _write_builtin, _builtin_stand_in),
    "COMPARE_MATCH": _simple(("type", "other_type", "outcome"), _write_compare, _none,
                             _emit_compare),
    "PREDICATE_MATCH": _simple(("type", "outcome"), _write_predicate, _none, _emit_predicate),
    "CONTAINS_MATCH": _simple(("type", "container_type", "outcome"), _write_contains,
                              _contains_stand_ins),
    "DECIMAL_CONTEXT_MATCH": _simple(("getcontext", "settings", "traps", "flags"),
                                     _write_decimal, _none, _emit_decimal),
}
