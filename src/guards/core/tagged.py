"""Tagged JSON: the value codec of guard documents.

Every value a guard kind compares against is written so that reading it back
gives the same value exactly: the same type at every level (``True`` is not
``1``, a tuple is not a list), every int however large, every float bit for bit
but the payload of a NaN (``-0.0``, ``nan``, ``inf``), sets in their iteration
order.  JSON itself stands for what it means exactly; everything else is an
object whose ``"$"`` names its tag:

==========================  =====================================================
value                       JSON
==========================  =====================================================
``None``, ``True``, str     ``null``, ``true``, ``"text"``
int (``|i| < 2**63``)       ``42``; larger: ``{"$": "int", "hex": "0x1p..."}``
float                       ``{"$": "float", "repr": "-0.0"}`` (also ``nan``, ``inf``)
complex                     ``{"$": "complex", "real": "1.0", "imag": "-0.0"}``
bytes, bytearray            ``{"$": "bytes", "base64": "AAE="}``, ``"bytearray"``
list                        ``[item, ...]``
tuple                       ``{"$": "tuple", "items": [...]}``
set, frozenset              ``{"$": "set", "items": [...]}`` in iteration order
dict                        ``{"$": "dict", "items": [[key, value], ...]}`` in order
range, slice                ``{"$": "range", "start": 0, "stop": 9, "step": 1}``
``...``, ``NotImplemented`` ``{"$": "ellipsis"}``, ``{"$": "notimplemented"}``
``decimal.Decimal``         ``{"$": "decimal", "str": "1.00"}``
an enum member              ``{"$": "enum", "class": {class}, "name": "RED"}``
a builtin (``int``, ``len``) ``{"$": "builtin", "name": "int"}``
a module                    ``{"$": "module", "name": "json"}``
class, function, code,      ``{"$": "class", "module": "app", "qualname": "Config",
C function                  "fingerprint": "..."}`` (see :mod:`guards.core.naming`)
==========================  =====================================================

Decoding runs no code of the document and none of the user's: it builds
built-in values, and finds classes and functions with
:func:`guards.core.naming.resolve`.  A set is rebuilt by adding its items in
the written order; if this process iterates the result in another order (str
hashes differ from process to process), it is not the same value for a guard
that compares the order, and decoding raises :class:`~guards.StaleDocumentError`.
"""

from __future__ import annotations

import base64
import binascii
import collections
import decimal
import enum
from collections.abc import Callable
from typing import Any

from guards.core.naming import NAME_KINDS, Name, enum_member, name_of, plain_enum, resolve
from guards.core.sources import Source
from guards.core.values import SetSnapshot
from guards.errors import DocumentError, NotPortableError, StaleDocumentError, describe

#: JSON as ``json.loads`` returns it.
JSON = Any

#: How deep values may nest (tuples in lists in dicts...), writing and reading.
MAX_DEPTH = 100
#: The most items of one set, or keys of one dict, that may share a hash.  Ints and
#: floats hash predictably (``i * (2**61 - 1)`` all hash to 0), and each item that
#: shares a hash probes past all the others: a document of such items would cost
#: the square of their number to load (64,000 of them, 3 MB: 23 s).
MAX_SAME_HASH = 64
#: Ints in this range are written as JSON numbers; others in hexadecimal.
_JSON_INT = 1 << 63

_REF_KINDS = frozenset(NAME_KINDS) - {"builtin", "module"}


def _tagged(tag: str, **fields: JSON) -> dict[str, JSON]:
    return {"$": tag, **fields}


def encode_value(
    value: Any, *, source_index: Callable[[Source], int] | None = None, depth: int = 0
) -> JSON:
    """``value`` as tagged JSON; :class:`~guards.NotPortableError` for a value the
    codec does not write (an instance of a user class, an int subclass...).

    ``source_index`` writes a :class:`~guards.Source` (a guard's argument) as
    ``{"$": "source", "index": i}``, an index into the document's sources.
    """
    if depth > MAX_DEPTH:
        raise NotPortableError(f"a value nests deeper than {MAX_DEPTH} levels")
    t = type(value)
    if value is None or t is bool or t is str:
        return value
    if t is int:
        return value if -_JSON_INT < value < _JSON_INT else _tagged("int", hex=hex(value))
    if t is float:
        return _tagged("float", repr=repr(value))
    if t is complex:
        return _tagged("complex", real=repr(value.real), imag=repr(value.imag))
    if t is bytes or t is bytearray:
        return _tagged(t.__name__, base64=base64.b64encode(value).decode("ascii"))
    inner = depth + 1
    if t is list:
        return [encode_value(item, source_index=source_index, depth=inner) for item in value]
    if t is tuple:
        return _tagged("tuple", items=[
            encode_value(item, source_index=source_index, depth=inner) for item in value])
    if t is set or t is frozenset or t is SetSnapshot:
        kind = value.kind if t is SetSnapshot else t
        items = value.items if t is SetSnapshot else value
        _same_hashes(list(items))
        return _tagged(kind.__name__, items=[
            encode_value(item, source_index=source_index, depth=inner) for item in items])
    if t is dict:
        _same_hashes(list(value))
        return _tagged("dict", items=[
            [encode_value(k, source_index=source_index, depth=inner),
             encode_value(v, source_index=source_index, depth=inner)] for k, v in value.items()])
    if t is range:
        return _tagged("range", start=encode_value(value.start), stop=encode_value(value.stop),
                       step=encode_value(value.step))
    if t is slice:
        return _tagged("slice", **{
            field: encode_value(getattr(value, field), source_index=source_index, depth=inner)
            for field in ("start", "stop", "step")})
    if value is ...:
        return _tagged("ellipsis")
    if value is NotImplemented:
        return _tagged("notimplemented")
    if t is decimal.Decimal:
        return _tagged("decimal", str=str(value))
    if source_index is not None and isinstance(value, Source):
        return _tagged("source", index=source_index(value))
    if issubclass(t, enum.Enum):
        return _encode_member(value)
    return encode_name(name_of(value))


def _encode_member(member: enum.Enum) -> JSON:
    cls = type(member)
    name = object.__getattribute__(member, "_name_")
    if not plain_enum(cls) or enum_member(cls, name) is not member:
        msg = (f"the enum member {name!r} of {cls.__qualname__} cannot be named (a member "
               "made by combining flags, or an enum whose repr, == or hash is its own)")
        raise NotPortableError(msg)
    return _tagged("enum", **{"class": encode_name(name_of(cls))}, name=name)


def encode_name(name: Name) -> JSON:
    """A :class:`~guards.core.naming.Name` as tagged JSON."""
    if name.kind == "builtin":
        return _tagged("builtin", name=name.qualname)
    if name.kind == "module":
        return _tagged("module", name=name.module)
    return _tagged(name.kind, module=name.module, qualname=name.qualname,
                   fingerprint=name.fingerprint)


# -- reading -------------------------------------------------------------------------------
def fail(where: str, what: str, value: Any = None) -> DocumentError:
    """The error for a document whose part at ``where`` (a JSON path) is not ``what``."""
    return DocumentError(f"{where} must be {what}, got {describe(value)}")


def field(data: dict[str, JSON], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    """``data[key]`` of the JSON type ``kind`` (``bool`` is not an ``int`` here), else
    :class:`~guards.DocumentError` naming ``where.key``."""
    if key not in data:
        raise DocumentError(f"{where} has no field {key!r}")
    value = data[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if type(value) not in kinds:
        names = " or ".join(k.__name__ for k in kinds)
        raise fail(f"{where}.{key}", f"a JSON {names}", value)
    return value


def _fields(data: dict[str, JSON], where: str, *names: str) -> None:
    extra = set(data) - {"$", *names}
    if extra:
        raise DocumentError(f"{where} has unknown fields {sorted(extra)}")


def _float(text: Any, where: str) -> float:
    if type(text) is not str or len(text) > 40:
        raise fail(where, "a float's repr (a str)", text)
    try:
        return float(text)
    except ValueError:
        raise fail(where, "a float's repr", text) from None


def decode_name(data: dict[str, JSON], where: str) -> Name:
    """The :class:`~guards.core.naming.Name` written at ``where`` (not resolved)."""
    tag = data.get("$")
    if tag == "builtin":
        _fields(data, where, "name")
        return Name("builtin", "builtins", field(data, "name", where, str))
    if tag == "module":
        _fields(data, where, "name")
        return Name("module", field(data, "name", where, str), "")
    if tag not in _REF_KINDS:
        raise fail(f"{where}.$", f"one of {sorted(NAME_KINDS)}", tag)
    _fields(data, where, "module", "qualname", "fingerprint")
    return Name(str(tag), field(data, "module", where, str), field(data, "qualname", where, str),
                field(data, "fingerprint", where, str))


def decode_value(
    data: JSON, where: str, *, source_at: Callable[[int, str], Source] | None = None,
    depth: int = 0,
) -> Any:
    """The value tagged JSON ``data`` stands for (see the module's docstring).

    ``where`` names ``data``'s place in the document for errors; ``source_at(i,
    where)`` gives the document's source ``i`` for a ``{"$": "source"}`` tag
    (without it, that tag is an error).  Raises :class:`~guards.DocumentError`
    for anything malformed and :class:`~guards.StaleDocumentError` for a name
    this process does not have.
    """
    if depth > MAX_DEPTH:
        raise DocumentError(f"{where} nests deeper than {MAX_DEPTH} levels")
    t = type(data)
    if data is None or t is bool or t is str or t is int:
        return data
    inner = depth + 1
    if t is list:
        return [decode_value(item, f"{where}[{i}]", source_at=source_at, depth=inner)
                for i, item in enumerate(data)]
    if t is not dict:
        raise fail(where, "a tagged value (null, true, false, a str, an int, a list or an "
                   "object with a '$' tag)", data)
    tag = data.get("$")
    reader = _READERS.get(tag) if type(tag) is str else None
    if reader is not None:
        return reader(data, where, source_at, inner)
    if tag == "source" and source_at is not None:
        _fields(data, where, "index")
        return source_at(field(data, "index", where, int), f"{where}.index")
    if tag in NAME_KINDS:
        return resolve(decode_name(data, where))
    if tag == "enum":
        return _read_member(data, where)
    raise fail(f"{where}.$", "a known value tag", tag)


def _read_member(data: dict[str, JSON], where: str) -> Any:
    _fields(data, where, "class", "name")
    named = field(data, "class", where, dict)
    name = field(data, "name", where, str)
    cls = resolve(decode_name(named, f"{where}.class"))
    if not plain_enum(cls):
        raise fail(f"{where}.class", "an enum class whose repr, == and hash are enum's", cls)
    member = enum_member(cls, name)
    if member is None:
        msg = f"{where}: the enum {cls.__qualname__} has no member {name!r} here"
        raise StaleDocumentError(msg, f"{cls.__qualname__}.{name}")
    return member


Reader = Callable[[dict[str, JSON], str, Any, int], Any]


def _items(data: dict[str, JSON], where: str, source_at: Any, depth: int) -> list[Any]:
    _fields(data, where, "items")
    items = field(data, "items", where, list)
    return [decode_value(item, f"{where}.items[{i}]", source_at=source_at, depth=depth)
            for i, item in enumerate(items)]


def _read_int(data: dict[str, JSON], where: str, source_at: Any, depth: int) -> int:
    _fields(data, where, "hex")
    text = field(data, "hex", where, str)
    try:
        return int(text, 16)
    except ValueError:
        raise fail(f"{where}.hex", "an int in hexadecimal", text) from None


def _read_float(data: dict[str, JSON], where: str, source_at: Any, depth: int) -> float:
    _fields(data, where, "repr")
    return _float(data.get("repr"), f"{where}.repr")


def _read_complex(data: dict[str, JSON], where: str, source_at: Any, depth: int) -> complex:
    _fields(data, where, "real", "imag")
    return complex(_float(data.get("real"), f"{where}.real"),
                   _float(data.get("imag"), f"{where}.imag"))


def _read_bytes(data: dict[str, JSON], where: str, source_at: Any, depth: int) -> Any:
    _fields(data, where, "base64")
    text = field(data, "base64", where, str)
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise fail(f"{where}.base64", "base64 text", text) from None
    return raw if data["$"] == "bytes" else bytearray(raw)


def _read_tuple(data: dict[str, JSON], where: str, source_at: Any, depth: int) -> tuple[Any, ...]:
    return tuple(_items(data, where, source_at, depth))


def _flooded(keys: list[Any]) -> bool:
    """More than :data:`MAX_SAME_HASH` of a set's items or a dict's keys share a hash
    (the hashes of the codec's values run no user code)."""
    try:
        counts = collections.Counter(map(hash, keys))
    except TypeError:
        return False  # an unhashable one: building the set or dict says so
    return bool(counts) and max(counts.values()) > MAX_SAME_HASH


_FLOODED = (f"more than {MAX_SAME_HASH} values with one hash (loading them would cost the "
            "square of their number)")


def _same_hashes(keys: list[Any]) -> None:
    if _flooded(keys):
        raise NotPortableError(f"a set or dict holds {_FLOODED}")


def refuse_flood_written(keys: list[Any], what: str) -> None:
    """Raise :class:`~guards.NotPortableError` when more than :data:`MAX_SAME_HASH`
    of ``keys`` (``what``: the sources or guards of a document being written) share a
    hash: loading the document would refuse them (:func:`refuse_flood`)."""
    if _flooded(keys):
        raise NotPortableError(f"its {what} hold {_FLOODED}")


def refuse_flood(keys: list[Any], where: str) -> None:
    """Raise :class:`~guards.DocumentError` (naming ``where``) when more than
    :data:`MAX_SAME_HASH` of ``keys``, read from a document to become a set's items
    or a dict's keys, share a hash: building it would cost their number squared."""
    if _flooded(keys):
        raise DocumentError(f"{where} has {_FLOODED}")


def _read_set(data: dict[str, JSON], where: str, source_at: Any, depth: int) -> Any:
    items = _items(data, where, source_at, depth)
    kind = set if data["$"] == "set" else frozenset
    refuse_flood(items, f"{where}.items")
    try:
        built = kind(items)  # adds them one by one, in the written order
    except TypeError:
        raise fail(f"{where}.items", "hashable values", items) from None
    if len(built) != len(items):
        raise fail(f"{where}.items", "distinct values", items)
    if any(a is not b for a, b in zip(built, items, strict=True)):
        msg = (f"{where}: this process iterates the set {describe(items)} in another order "
               "than the one written (str hashes differ from process to process), so it "
               "is not the same value for guards that compare the order")
        raise StaleDocumentError(msg, where)
    return built


def _read_dict(data: dict[str, JSON], where: str, source_at: Any, depth: int) -> dict[Any, Any]:
    pairs = _items(data, where, source_at, depth)
    built: dict[Any, Any] = {}
    for i, pair in enumerate(pairs):
        if type(pair) is not list or len(pair) != 2:
            raise fail(f"{where}.items[{i}]", "a [key, value] pair", pair)
    refuse_flood([pair[0] for pair in pairs], f"{where}.items")
    for i, pair in enumerate(pairs):
        try:
            built[pair[0]] = pair[1]
        except TypeError:
            raise fail(f"{where}.items[{i}][0]", "a hashable key", pair[0]) from None
    if len(built) != len(pairs):
        raise fail(f"{where}.items", "pairs with distinct keys", pairs)
    return built


def _read_range(data: dict[str, JSON], where: str, source_at: Any, depth: int) -> range:
    _fields(data, where, "start", "stop", "step")
    ends = [decode_value(data.get(k), f"{where}.{k}", depth=depth) for k in ("start", "stop",
                                                                            "step")]
    if not all(type(end) is int for end in ends) or ends[2] == 0:
        raise fail(where, "a range of ints with a step other than 0", ends)
    return range(*ends)


def _read_slice(data: dict[str, JSON], where: str, source_at: Any, depth: int) -> slice:
    _fields(data, where, "start", "stop", "step")
    for key in ("start", "stop", "step"):
        if key not in data:
            raise DocumentError(f"{where} has no field {key!r}")
    return slice(*(decode_value(data[k], f"{where}.{k}", source_at=source_at, depth=depth)
                   for k in ("start", "stop", "step")))


def _read_decimal(data: dict[str, JSON], where: str, source_at: Any, depth: int) -> Any:
    _fields(data, where, "str")
    text = field(data, "str", where, str)
    try:
        if len(text) > 10_000:
            raise decimal.InvalidOperation
        return decimal.Decimal(text)
    except (decimal.InvalidOperation, ValueError):
        raise fail(f"{where}.str", "a Decimal's str", text) from None


def _read_constant(value: Any) -> Reader:
    def read(data: dict[str, JSON], where: str, source_at: Any, depth: int) -> Any:
        _fields(data, where)
        return value

    return read


_READERS: dict[str, Reader] = {
    "int": _read_int, "float": _read_float, "complex": _read_complex,
    "bytes": _read_bytes, "bytearray": _read_bytes, "tuple": _read_tuple,
    "set": _read_set, "frozenset": _read_set, "dict": _read_dict, "range": _read_range,
    "slice": _read_slice, "decimal": _read_decimal,
    "ellipsis": _read_constant(...), "notimplemented": _read_constant(NotImplemented),
}
