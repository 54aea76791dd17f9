"""How a store turns values into bytes and back: pluggable, pickle by default.

A serializer is any object with a ``name`` and ``dumps``/``loads``
(:class:`Serializer`).  The default, :data:`PICKLE`, is :mod:`pickle`: it keeps
every value a Python program can return (classes, NumPy arrays, compiled
artifacts) exactly, and it is the pragmatic choice; but unpickling bytes can
run any code their writer chose.  So a store only ever unpickles a record it
trusts: with a key, a record whose HMAC signature the key verifies; without
one, a record in a file only trusted users can write (see "Trust model" in
``docs/reliability.md``).  A serializer that cannot run code (JSON of plain
values, say) can be passed as ``serializer=`` where values are simple.
"""

from __future__ import annotations

import pickle
from typing import Any, Protocol, runtime_checkable

import attrs


@runtime_checkable
class Serializer(Protocol):
    """Turns a value into bytes and back.

    ``name`` is written beside each record, so a store skips (never loads) the
    records of another serializer; ``loads(dumps(value))`` must equal ``value``.
    """

    @property
    def name(self) -> str:
        """The serializer's name, written beside each record."""
        ...

    def dumps(self, value: Any) -> bytes:
        """The bytes of ``value``; raises whatever the format raises for a value it
        cannot keep (``pickle.PicklingError``, ``TypeError``)."""
        ...

    def loads(self, data: bytes) -> Any:
        """The value of ``data``, written by :meth:`dumps`."""
        ...


@attrs.frozen
class PickleSerializer:
    """:mod:`pickle` at ``protocol`` (the highest by default).

    Unpickling runs code chosen by whoever wrote the bytes: stores call
    :meth:`loads` only on records they trust (signed with their key).
    """

    protocol: int = pickle.HIGHEST_PROTOCOL
    name: str = "pickle"

    def dumps(self, value: Any) -> bytes:
        """``pickle.dumps(value, protocol)``."""
        return pickle.dumps(value, protocol=self.protocol)

    def loads(self, data: bytes) -> Any:
        """``pickle.loads(data)``: only for trusted bytes."""
        return pickle.loads(data)


#: The default serializer of every store.
PICKLE: Serializer = PickleSerializer()
