"""A stored record's bytes: a small JSON header, the document, the value, a signature.

Both stores keep records in this one format, so the same code checks them::

    MAGIC | 4-byte header length | header (JSON) | document (UTF-8) | value

The header holds ``created``, ``writer``, ``serializer``, the lengths of the
document and the value, and ``signature`` (hex, or null when unsigned).  The
signature is the HMAC-SHA256 of the key's digest (so a record cannot be moved
to another key), the header without its signature, the document and the value,
each with its length before it.  Reading a record parses only the header's
JSON and slices bytes: nothing in a record is run, and the value is not
deserialized here at all.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any, Literal

import attrs

from guards.stores.interface import StoredEntry, StoreKey
from guards.stores.signing import RecordSigner

MAGIC = b"guards-record/1\n"
_LENGTH = struct.Struct(">I")
#: A header larger than this is not a record (a guard against reading garbage).
MAX_HEADER_BYTES = 64 * 1024

#: What reading a record found: trusted, or why it was ignored.
Verdict = Literal["ok", "unsigned", "bad_signature", "malformed"]


@attrs.frozen
class DecodedRecord:
    """A record read back: its ``verdict``; its entry and serializer name when it
    could be parsed (``entry`` is None for a malformed record)."""

    verdict: Verdict
    entry: StoredEntry | None = None
    serializer: str = ""


def _framed(*parts: bytes) -> bytes:
    return b"".join(_LENGTH.pack(len(part)) + part for part in parts)


def _header_bytes(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def _signed_message(key: StoreKey, header: dict[str, Any], document: bytes, value: bytes) -> bytes:
    unsigned = {name: v for name, v in header.items() if name != "signature"}
    return MAGIC + _framed(key.digest.encode(), _header_bytes(unsigned), document, value)


def encode_record(
    key: StoreKey, entry: StoredEntry, serializer: str, signer: RecordSigner | None
) -> bytes:
    """The bytes of ``entry`` filed under ``key``, signed when ``signer`` is given."""
    document = entry.document.encode("utf-8", "surrogatepass")
    header: dict[str, Any] = {
        "created": float(entry.created),
        "writer": entry.writer,
        "serializer": serializer,
        "document": len(document),
        "value": len(entry.value),
        "signature": None,
    }
    if signer is not None:
        header["signature"] = signer.sign(
            _signed_message(key, header, document, entry.value)
        ).hex()
    head = _header_bytes(header)
    return MAGIC + _LENGTH.pack(len(head)) + head + document + entry.value


def _parse_header(blob: bytes) -> tuple[dict[str, Any], int] | None:
    start = len(MAGIC) + _LENGTH.size
    if not blob.startswith(MAGIC) or len(blob) < start:
        return None
    (length,) = _LENGTH.unpack_from(blob, len(MAGIC))
    if length > MAX_HEADER_BYTES or start + length > len(blob):
        return None
    try:
        header = json.loads(blob[start : start + length])
    except ValueError:
        return None
    if not _header_is_valid(header):
        return None
    if start + length + header["document"] + header["value"] != len(blob):
        return None
    return header, start + length


def _header_is_valid(header: Any) -> bool:
    if type(header) is not dict or set(header) != {
        "created", "writer", "serializer", "document", "value", "signature"
    }:
        return False
    created, signature = header["created"], header["signature"]
    return (
        type(created) is float and math.isfinite(created) and created >= 0
        and type(header["writer"]) is str and type(header["serializer"]) is str
        and type(header["document"]) is int and header["document"] >= 0
        and type(header["value"]) is int and header["value"] >= 0
        and (signature is None or _is_signature(signature))
    )


def _is_signature(text: object) -> bool:
    # Lower-case hex only: one signature has one spelling (no "AB" for "ab").
    return type(text) is str and len(text) == 64 and set(text) <= set("0123456789abcdef")


def decode_record(key: StoreKey, blob: bytes, signer: RecordSigner | None) -> DecodedRecord:
    """Read ``blob`` as a record filed under ``key``, checking its signature with
    ``signer``.  Without a signer every well-formed record is trusted (the store
    has no key to check against); with one, only a record it signed."""
    parsed = _parse_header(blob) if type(blob) is bytes else None
    if parsed is None:
        return DecodedRecord("malformed")
    header, offset = parsed
    split = offset + header["document"]
    document, value = blob[offset:split], blob[split:]
    try:
        entry = StoredEntry(
            document.decode("utf-8", "surrogatepass"), value, header["created"], header["writer"]
        )
    except (UnicodeDecodeError, ValueError, TypeError):
        return DecodedRecord("malformed")
    verdict: Verdict = "ok"
    if signer is not None:
        if header["signature"] is None:
            verdict = "unsigned"
        else:
            signature = bytes.fromhex(header["signature"])
            if not signer.verify(_signed_message(key, header, document, value), signature):
                verdict = "bad_signature"
    if verdict != "ok":
        return DecodedRecord(verdict)
    return DecodedRecord("ok", entry, header["serializer"])
