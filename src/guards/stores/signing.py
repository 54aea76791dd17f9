"""The key that signs a store's records: HMAC-SHA256, compared in constant time.

Whoever holds the key can write records a store will load; whoever does not
cannot make it load anything (a record without a valid signature is ignored).
The key is never written anywhere by the store.
"""

from __future__ import annotations

import hashlib
import hmac

from guards.errors import GuardsValueError, check_type

#: The shortest key accepted, in bytes: a short password is guessed offline from
#: any one signed record.
MIN_KEY_BYTES = 16


class RecordSigner:
    """Signs and verifies byte strings with one secret key (HMAC-SHA256).

    ``key`` is bytes, or a str taken as UTF-8, of at least
    :data:`MIN_KEY_BYTES` bytes (``secrets.token_bytes(32)`` makes a good one).
    Raises :class:`~guards.GuardsTypeError` or :class:`~guards.GuardsValueError`
    naming ``key`` otherwise; the key itself is never shown in a message.
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes | str) -> None:
        check_type("key", key, (bytes, str))
        raw = key.encode() if isinstance(key, str) else bytes(key)
        if len(raw) < MIN_KEY_BYTES:
            # The value is secret: describe only its length.
            msg = (
                f"key must be at least {MIN_KEY_BYTES} bytes, got {len(raw)} bytes "
                f"(type {type(key).__qualname__}); secrets.token_bytes(32) makes a good key"
            )
            raise GuardsValueError(msg)
        self._key = raw

    def __repr__(self) -> str:
        return "RecordSigner(<key>)"

    def sign(self, message: bytes) -> bytes:
        """The 32-byte HMAC-SHA256 of ``message``."""
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's signature of ``message`` (constant time)."""
        return hmac.compare_digest(self.sign(message), signature)
