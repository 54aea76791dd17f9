"""C methods called unbound, with a tracked value as ``self``.

``object.__repr__(x)``, ``object.__hash__(x)``, ``object.__getattribute__(self, n)``
and ``dict.get(d, k)`` take the object as their first argument, in C: given a
proxy they would answer for the proxy (its repr, its hash), fail to find the
attribute, or raise ``TypeError`` (a proxy is not a dict).  So traced code never
holds such a method descriptor or slot wrapper as itself where it can call it:

* a built-in type read as a global to take one attribute of it (``object.__repr__``,
  ``dict.get``) is :class:`TypeAtSite`, which hands out its C methods as
  :class:`UnboundCMethod`;
* a method descriptor read on a tracked path (``getter = dict.get`` held in a
  global) is an :class:`UnboundCMethod` too.

Called with a proxy first, an :class:`UnboundCMethod` goes to
``Tracer.call_unbound``, which takes the path of the bound form; with any other
first argument it is the C method itself.
"""

from __future__ import annotations

import dis
import itertools
import types
import weakref
from typing import TYPE_CHECKING, Any

from guards.specialization.proxy import is_proxy, is_scalar_proxy

if TYPE_CHECKING:
    from guards.specialization.tracer import Tracer

#: Types of the C methods that take ``self`` as their first argument when unbound.
UNBOUND_C_METHODS = (types.MethodDescriptorType, types.WrapperDescriptorType)
_ATTRIBUTE_LOADS = frozenset({"LOAD_ATTR", "LOAD_METHOD"})
_SITES: weakref.WeakKeyDictionary[types.CodeType, frozenset[int]] = weakref.WeakKeyDictionary()


class UnboundCMethod:
    """A method descriptor or slot wrapper as traced code holds it (see the module doc)."""

    __slots__ = ("descriptor", "tracer")

    def __init__(self, tracer: Tracer, descriptor: Any) -> None:
        self.tracer = tracer
        self.descriptor = descriptor

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and is_proxy(args[0]):
            return self.tracer.call_unbound(self.descriptor, args[0], args[1:], kwargs)
        if any(map(is_scalar_proxy, args)) or any(map(is_scalar_proxy, kwargs.values())):
            # `int.__add__(5, n)`: C code that answers NotImplemented to a proxy, where
            # the value gets an answer: it gets the value, guarded by value.
            tracer = self.tracer
            with tracer.entered:
                args = tuple(tracer.realize(a, "a C method") if is_scalar_proxy(a) else a
                             for a in args)
                kwargs = {k: tracer.realize(v, "a C method") if is_scalar_proxy(v) else v
                          for k, v in kwargs.items()}
        return self.descriptor(*args, **kwargs)

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        # Set as a class attribute in traced code, it binds as the C method does.
        return self.descriptor.__get__(obj, cls)

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return type(self.descriptor)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.descriptor, name)

    def __eq__(self, other: object) -> bool:
        if type(other) is UnboundCMethod:
            return self.descriptor is other.descriptor
        return self.descriptor is other

    def __hash__(self) -> int:
        return hash(self.descriptor)

    def __repr__(self) -> str:
        return repr(self.descriptor)


class TypeAtSite:
    """A built-in type read as a global only to take one attribute of it: the attribute,
    its C methods as :class:`UnboundCMethod`."""

    __slots__ = ("_cls", "_tracer")

    def __init__(self, tracer: Tracer, cls: type) -> None:
        object.__setattr__(self, "_tracer", tracer)
        object.__setattr__(self, "_cls", cls)

    def __getattribute__(self, name: str) -> Any:
        cls = object.__getattribute__(self, "_cls")
        value = getattr(cls, name)
        tracer = object.__getattribute__(self, "_tracer")
        if type(value) in UNBOUND_C_METHODS:
            return UnboundCMethod(tracer, value)
        return tracer.seen(value)  # `int.__class__` is `type`: its stand-in


def attribute_sites(code: types.CodeType) -> frozenset[int]:
    """Offsets of the ``LOAD_GLOBAL`` instructions of ``code`` whose value is only read an
    attribute of (``object.__repr__``, ``dict.get(...)``)."""
    sites = _SITES.get(code)
    if sites is None:
        instructions = list(dis.get_instructions(code))
        sites = _SITES[code] = frozenset(
            instr.offset
            for instr, following in itertools.pairwise(instructions)
            if instr.opname == "LOAD_GLOBAL" and not (instr.arg or 0) & 1
            and following.opname in _ATTRIBUTE_LOADS
        )
    return sites
