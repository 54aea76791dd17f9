"""Library code guards knows to read nothing but its arguments: the allow-list.

Code the trace does not enter (the standard library, installed packages, C
functions and methods) is called opaquely, its arguments guarded by value.
That is sound only for code whose result depends on its arguments alone, and
much library code reads process state no guard sees: interpreter settings
(``sys.getrecursionlimit``, ``gc.get_threshold``), registries a module keeps
(``mimetypes``, ``urllib.parse.uses_relative``, the ``codecs`` search path),
an installed package's own settings (numpy's print options), the file
system (``importlib.util.find_spec``) or the random state (``tempfile.mktemp``).
No table of such readers can be complete, so the rule is the other way
round: a library callable or class is cached through only when this module
knows it pure; anything else makes the run uncached, with a reason naming it
(``"calls mimetypes.guess_type, which guards does not know to read only its
arguments"``).

Known pure are: the builtins of :data:`PURE_BUILTINS` and every builtin class
(``int``, ``dict``, exceptions...) with its methods; the modules of
:data:`PURE_MODULES` (their functions, classes and the methods of those
classes, C accelerators included); and the callables of
:data:`PURE_CALLABLES` of otherwise unlisted modules (``os.path.join``).
:mod:`guards.specialization.world` still names what the known readers read, and takes
precedence (``datetime.datetime.now`` is in a pure module).

User code is not this module's business: the tracer enters it.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from guards.specialization.world import ImportedNames

#: Builtin functions that read only their arguments (or call back into them:
#: their hooks, traced or caught by the net).  Not ``open``, ``input``,
#: ``print`` (the standard streams) nor ``breakpoint``/``help``.
PURE_BUILTINS: frozenset[str] = frozenset({
    "abs", "aiter", "all", "anext", "any", "ascii", "bin", "callable", "chr", "delattr",
    "dir", "divmod", "format", "getattr", "hasattr", "hash", "hex", "id", "isinstance",
    "issubclass", "iter", "len", "max", "min", "next", "oct", "ord", "pow", "repr",
    "round", "setattr", "sorted", "sum", "vars", "locals", "globals", "__build_class__",
    "compile", "eval", "exec", "__import__",
})

#: Modules (by ``__name__``, C accelerators included) whose every callable reads
#: only its arguments.  Their known readers (``datetime.datetime.now``, the
#: class ``decimal.Decimal``) are in :data:`guards.specialization.world.WORLD_READERS`.
PURE_MODULES: frozenset[str] = frozenset({
    "math", "cmath", "operator", "_operator", "itertools", "functools", "_functools",
    "collections", "_collections", "_collections_abc", "collections.abc", "heapq", "_heapq",
    "bisect", "_bisect", "string", "_string", "re", "_sre", "re._compiler", "re._parser",
    "re._constants", "re._casefix", "sre_compile", "sre_parse", "sre_constants",
    "json", "json.decoder", "json.encoder", "json.scanner", "_json", "struct", "_struct",
    "binascii", "base64", "hashlib", "_hashlib", "_md5", "_sha1", "_sha256", "_sha512",
    "_sha2", "_sha3", "_blake2", "hmac", "copy", "textwrap", "unicodedata", "fractions",
    "statistics", "enum", "dataclasses", "typing", "abc", "_abc", "keyword", "html",
    "html.entities", "difflib", "colorsys", "datetime", "_datetime", "_pydatetime",
    "decimal", "_decimal", "_pydecimal", "numbers", "types", "zlib", "array", "graphlib",
    "ipaddress", "fnmatch", "shlex", "ast", "_ast", "reprlib", "contextlib", "_weakrefset",
    "copyreg",
})

#: Single callables of modules that are not pure as a whole, by dotted name.
PURE_CALLABLES: tuple[str, ...] = (
    "os.fspath", "os.path.join", "os.path.split", "os.path.splitext", "os.path.basename",
    "os.path.dirname", "os.path.normpath", "os.path.normcase", "os.path.isabs",
    "os.path.commonprefix", "os.path.commonpath", "os.path.splitdrive",
    "sys.intern", "sys.getsizeof", "time.sleep", "threading.Lock", "threading.RLock",
    "io.StringIO", "io.BytesIO", "uuid.UUID",
    "pathlib.PurePath", "pathlib.PurePosixPath", "pathlib.PureWindowsPath",
    "urllib.parse.quote", "urllib.parse.unquote", "urllib.parse.quote_plus",
    "urllib.parse.unquote_plus", "urllib.parse.urlencode",
    # A name's logger is the same object for the life of the process; what is done
    # with it is logging, an effect that returns None (guards.specialization.frames), which a hit
    # skips as it skips printing.
    "logging.getLogger",
)

#: Builtin value types: their methods read only the value and the arguments.
_VALUE_TYPES = (str, bytes, bytearray, int, float, complex, bool, tuple, list, dict, set,
                frozenset, range, slice, memoryview, type(None))


class _Allowed(ImportedNames):
    """:data:`PURE_CALLABLES` resolved to objects, for the modules imported so far."""

    def __init__(self) -> None:
        self.objects: dict[int, Any] = {}
        super().__init__(list(PURE_CALLABLES))

    def resolve(self, dotted: str) -> bool:
        module_name, _, attr = dotted.rpartition(".")
        module = sys.modules.get(module_name)
        if module is None:
            return False
        value = getattr(module, attr, None)
        if value is not None:
            self.objects[id(value)] = value
        return True

    def has(self, value: Any) -> bool:
        self.refresh()
        return self.objects.get(id(value)) is value


_ALLOWED = _Allowed()


def unknown_reads(value: Any) -> str | None:
    """Why ``value``, a library callable or class about to be called where the trace
    does not follow, may read more than its arguments; ``None`` if known pure.

    Decided from identity, exact types and the ``__module__`` C code and the
    defining module give, running no user code.  Only for library code:
    callers ask about user functions and classes elsewhere.
    """
    if _ALLOWED.has(value):
        return None
    cls = type(value)
    if cls is types.FunctionType:
        module = value.__globals__.get("__name__")
        return None if module in PURE_MODULES else _reason(value, module)
    if cls is types.BuiltinFunctionType:  # also bound C methods
        owner = value.__self__
        if owner is None or type(owner) is types.ModuleType:
            module = value.__module__ if owner is None else owner.__name__
            if module == "builtins":
                return None if value.__name__ in PURE_BUILTINS else _reason(value, module)
            return None if module in PURE_MODULES else _reason(value, module)
        return class_unknown_reads(owner if isinstance(owner, type) else type(owner))
    if cls is types.MethodType:
        return unknown_reads(value.__func__)
    if cls in (types.MethodDescriptorType, types.WrapperDescriptorType,
               types.ClassMethodDescriptorType, types.MethodWrapperType):
        owner = getattr(value, "__objclass__", None)
        if owner is None:
            owner = type(getattr(value, "__self__", None))
        return class_unknown_reads(owner)
    if issubclass(cls, type):
        return class_unknown_reads(value)
    return class_unknown_reads(cls)  # a callable object: its __call__ is its class's


def class_unknown_reads(cls: type) -> str | None:
    """:func:`unknown_reads` for a library class, its construction and its methods."""
    if _ALLOWED.has(cls) or cls in _VALUE_TYPES:
        return None
    module = cls.__module__
    if module == "builtins" or module in PURE_MODULES:
        return None
    if issubclass(cls, BaseException):  # raised and caught: its construction reads nothing
        return None
    return _reason(cls, module)


def _reason(value: Any, module: Any) -> str:
    name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    where = f"{module}." if isinstance(module, str) else ""
    return f"calls {where}{name}, which guards does not know to read only its arguments"
