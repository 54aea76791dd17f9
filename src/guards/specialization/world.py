"""The outside world as the standard library reads it: what makes a run uncached.

``os.getenv``, ``os.path.exists``, ``time.time``, ``random.random``,
``datetime.datetime.now`` or ``Decimal`` arithmetic (the thread's decimal
context) answer from process state that no guard on the function's inputs
sees.  A run that calls one of them, or hands one to user code, or gets a
value of a type whose operations read such state, is not cached: the tracer
asks :func:`reads_world` and :func:`world_value` and records the answer as the
reason (``"os.getenv reads the environment"``).

:data:`WORLD_READERS` is the table, by dotted name.  ``module.*`` means every
public callable of the module; a class in the table also covers every method
of its instances (their state is the world's: ``Random().random()``) and, while
classes are handed to user code as themselves, reading the class at all.
Entries are resolved lazily, from modules already imported, and matched by
identity: a user function that happens to be called ``getenv`` is not one.

This table names what the known readers read; it is not what keeps library
code sound.  Library code is called opaquely and cached only when
:mod:`guards.specialization.purity` knows it to read nothing but its arguments (an
allow-list); any other library callable or class, such as one of an
installed package, makes the run uncached with a reason naming it.  A reader
in this table is refused even inside a module that list calls pure
(``datetime.datetime.now``).

Reads of ``os.environ`` itself (``os.environ["HOME"]``) need no entry: the
environment mapping is tracked like any input, so its items are guarded; and
the few library functions of :data:`TRACED_LIBRARY` (``os.getenv``,
``Mapping.get``) are traced into, so what they read of it is guarded too.
"""

from __future__ import annotations

import sys
import threading
import types
from typing import Any

from guards.forks import fork_safe

_CLOCK = "the clock"
_FILES = "the file system"
_ENV = "the environment"
_RANDOM = "the random state"

#: (dotted name, what it reads).
WORLD_READERS: tuple[tuple[str, str], ...] = (
    # the environment, the working directory, the process
    ("os.getenvb", _ENV), ("os.path.expanduser", _ENV),
    ("os.path.expandvars", _ENV), ("getpass.getuser", _ENV),
    ("os.getcwd", "the working directory"), ("os.getcwdb", "the working directory"),
    ("os.path.abspath", "the working directory"), ("os.path.relpath", "the working directory"),
    ("os.getpid", "the process"), ("os.getppid", "the process"), ("os.getlogin", _ENV),
    ("os.times", _CLOCK), ("os.urandom", _RANDOM), ("os.get_terminal_size", "the terminal"),
    ("shutil.get_terminal_size", "the terminal"), ("shutil.which", _FILES),
    ("shutil.disk_usage", _FILES),
    # the file system
    ("os.listdir", _FILES), ("os.scandir", _FILES), ("os.walk", _FILES), ("os.stat", _FILES),
    ("os.lstat", _FILES), ("os.access", _FILES), ("os.readlink", _FILES),
    ("os.path.exists", _FILES), ("os.path.lexists", _FILES), ("os.path.isfile", _FILES),
    ("os.path.isdir", _FILES), ("os.path.islink", _FILES), ("os.path.ismount", _FILES),
    ("os.path.getsize", _FILES), ("os.path.getmtime", _FILES), ("os.path.getatime", _FILES),
    ("os.path.getctime", _FILES), ("os.path.samefile", _FILES), ("os.path.realpath", _FILES),
    ("builtins.open", _FILES), ("io.open", _FILES), ("glob.*", _FILES),
    ("pathlib.Path", _FILES), ("pathlib.PosixPath", _FILES), ("pathlib.WindowsPath", _FILES),
    ("builtins.input", "standard input"), ("tempfile.gettempdir", _FILES),
    ("sqlite3.connect", "a database"), ("sqlite3.Connection", "a database"),
    # other processes, the network, the machine
    ("subprocess.*", "another process"), ("os.popen", "another process"),
    ("os.system", "another process"), ("os.get_exec_path", _ENV),
    ("socket.gethostname", "the network"), ("socket.getfqdn", "the network"),
    ("socket.socket", "the network"), ("urllib.request.urlopen", "the network"),
    ("platform.node", "the network"),
    # clocks
    ("time.time", _CLOCK), ("time.time_ns", _CLOCK), ("time.monotonic", _CLOCK),
    ("time.monotonic_ns", _CLOCK), ("time.perf_counter", _CLOCK),
    ("time.perf_counter_ns", _CLOCK), ("time.process_time", _CLOCK),
    ("time.process_time_ns", _CLOCK), ("time.thread_time", _CLOCK),
    ("time.thread_time_ns", _CLOCK), ("time.clock_gettime", _CLOCK),
    ("time.clock_gettime_ns", _CLOCK), ("time.localtime", _CLOCK), ("time.gmtime", _CLOCK),
    ("time.ctime", _CLOCK), ("time.asctime", _CLOCK), ("time.strftime", _CLOCK),
    ("time.mktime", "the time zone"),
    ("datetime.datetime.now", _CLOCK), ("datetime.datetime.today", _CLOCK),
    ("datetime.datetime.utcnow", _CLOCK), ("datetime.date.today", _CLOCK),
    ("datetime.datetime.fromtimestamp", "the time zone"),
    ("datetime.date.fromtimestamp", "the time zone"),
    ("datetime.datetime.astimezone", "the time zone"),
    ("datetime.datetime.timestamp", "the time zone"),
    # randomness
    ("random.*", _RANDOM), ("random.Random", _RANDOM), ("random.SystemRandom", _RANDOM),
    ("secrets.*", _RANDOM), ("uuid.uuid1", _RANDOM), ("uuid.uuid4", _RANDOM),
    ("uuid.getnode", "the network interfaces"),
    ("numpy.random.*", _RANDOM), ("numpy.random.RandomState", _RANDOM),
    ("numpy.random.Generator", _RANDOM),
    # the thread's decimal context, the locale, the running thread
    ("decimal.Decimal", "the thread's decimal context"),
    ("decimal.Context", "the thread's decimal context"),
    ("decimal.getcontext", "the thread's decimal context"),
    ("decimal.localcontext", "the thread's decimal context"),
    ("locale.*", "the locale"),
    ("threading.current_thread", "the running thread"),
    ("threading.get_ident", "the running thread"),
    ("threading.get_native_id", "the running thread"),
    ("sys.exc_info", "the exception being handled"),
    ("sys.exception", "the exception being handled"),
)


#: Library functions traced like user code, so that what they read is guarded
#: rather than the run uncached: they only read tracked values through their
#: special methods.  ``os.getenv(k)`` is ``os.environ.get(k)``,
#: ``Mapping.get``/``__contains__`` are ``self[k]`` with ``KeyError`` caught, and
#: gettext's translations look the message up in their catalog dict.
TRACED_LIBRARY: tuple[str, ...] = (
    "os.getenv",
    "_collections_abc.Mapping.get",
    "_collections_abc.Mapping.__contains__",
    # gettext's ``_`` (installed as a builtin) reads only its catalog, a tracked dict
    "gettext.NullTranslations.gettext",
    "gettext.GNUTranslations.gettext",
)


class ImportedNames:
    """Dotted names of library objects, resolved once their module is imported.

    Resolving never imports anything: an entry whose module is not in
    ``sys.modules`` stays pending, and :meth:`refresh` tries the pending ones
    again whenever ``sys.modules`` has grown.  Subclasses say what resolving
    one entry does (:meth:`resolve`: True once it is done).
    """

    def __init__(self, pending: list[Any]) -> None:
        self._pending = pending
        self._modules_seen = -1
        self._lock = threading.Lock()
        fork_safe(self, "_lock")

    def refresh(self) -> None:
        """Resolve the entries whose module has been imported since the last look."""
        if len(sys.modules) == self._modules_seen:
            return
        with self._lock:
            self._modules_seen = len(sys.modules)
            self._pending = [entry for entry in self._pending if not self.resolve(entry)]

    def resolve(self, entry: Any) -> bool:
        """Resolve one pending entry; False while its module is not imported."""
        raise NotImplementedError


class _Table(ImportedNames):
    """:data:`WORLD_READERS` resolved to objects, for the modules imported so far."""

    def __init__(self) -> None:
        self.objects: dict[int, tuple[Any, str]] = {}
        self.methods: dict[tuple[int, str], tuple[Any, str]] = {}
        self.classes: dict[int, tuple[type, str]] = {}
        #: classes with a method in the table (``datetime.datetime`` for ``now``)
        self.owners: dict[int, tuple[type, str]] = {}
        self.traced: dict[int, Any] = {}
        super().__init__(list(WORLD_READERS) + [(name, "") for name in TRACED_LIBRARY])

    def resolve(self, entry: Any) -> bool:
        return self._resolve(*entry)

    def _resolve(self, dotted: str, what: str) -> bool:
        found = _find(dotted)
        if found is None:
            return False
        owner, name, value = found
        if not what:  # an entry of TRACED_LIBRARY
            self.traced[id(value)] = value
            return True
        if name == "*":  # its functions (its classes only when named: exceptions...)
            for attr, item in list(vars(owner).items()):
                if not attr.startswith("_") and callable(item) and not isinstance(item, type):
                    self._add(f"{owner.__name__}.{attr}", owner, attr, item, what)
        else:
            self._add(dotted, owner, name, value, what)
        return True

    def _add(self, dotted: str, owner: Any, name: str, value: Any, what: str) -> None:
        if issubclass(type(value), type):
            self.classes[id(value)] = (value, what)
            for attr, item in vars(value).items():  # its methods, called unbound
                function = item.__func__ if type(item) in _WRAPPERS else item
                qualname = getattr(function, "__qualname__", None)
                if isinstance(qualname, str) and qualname.startswith(value.__qualname__ + "."):
                    self.objects.setdefault(
                        id(function), (function, f"{dotted}.{attr} reads {what}")
                    )
        reason = f"{dotted} reads {what}"
        if issubclass(type(owner), type):  # a class's method, bound anew at each read
            self.methods[(id(owner), name)] = (owner, reason)
            self.owners.setdefault(id(owner), (owner, f"{dotted}() reads {what}"))
        if type(value) not in (types.BuiltinMethodType, types.MethodType) or (
            getattr(owner, name, None) is value
        ):
            self.objects.setdefault(id(value), (value, reason))


def _find(dotted: str) -> tuple[Any, str, Any] | None:
    """``(owner, last name, value)`` for an imported dotted name; ``None`` if not imported."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is None:
            continue
        owner: Any = module
        for attr in parts[cut:-1]:
            owner = getattr(owner, attr, None)
            if owner is None:
                return None
        if parts[-1] == "*":
            return owner, "*", None
        value = getattr(owner, parts[-1], None)
        return None if value is None else (owner, parts[-1], value)
    return None


_WRAPPERS = (staticmethod, classmethod)
_TABLE = _Table()


def reads_world(value: Any) -> str | None:
    """Why calling (or holding) ``value`` reads the outside world, or ``None``.

    ``value`` is a callable or a class about to reach user code or untraced
    code.  Decided by identity and exact types, running no user code.
    """
    _TABLE.refresh()
    hit = _TABLE.objects.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1]
    cls = type(value)
    if cls is types.MethodType:
        return reads_world(value.__func__) or _bound_to_world(value.__self__, value.__name__)
    if cls is types.BuiltinMethodType and type(value.__self__) is not types.ModuleType:
        return _bound_to_world(value.__self__, value.__name__)
    if issubclass(cls, type):
        return _class_reads_world(value)
    return None


def held_reads_world(value: Any) -> str | None:
    """:func:`reads_world`, for a value handed to user code as itself: a class that
    has a method in the table counts too (``datetime.datetime``: once user code holds
    the class, its ``now()`` is called where the tracer does not see it)."""
    reason = reads_world(value)
    if reason is None and issubclass(type(value), type):
        hit = _TABLE.owners.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
    return reason


def traced_library(function: types.FunctionType) -> bool:
    """True for a library function of :data:`TRACED_LIBRARY` (traced, not called opaquely)."""
    _TABLE.refresh()
    return _TABLE.traced.get(id(function)) is function


def world_value(value: Any) -> str | None:
    """Why operations on ``value`` read the outside world (a ``Decimal``), or ``None``."""
    _TABLE.refresh()
    reason = _class_reads_world(type(value))
    return None if reason is None else f"a {type(value).__qualname__} result: {reason}"


def _bound_to_world(owner: Any, name: str) -> str | None:
    hit = _TABLE.methods.get((id(owner), name))
    if hit is not None and hit[0] is owner:
        return hit[1]
    reason = _class_reads_world(owner if issubclass(type(owner), type) else type(owner))
    if reason is None:
        return None
    return f"the method {name} of {reason}"


def _class_reads_world(cls: type) -> str | None:
    for klass in cls.__mro__:
        hit = _TABLE.classes.get(id(klass))
        if hit is not None and hit[0] is klass:
            return f"{klass.__module__}.{klass.__qualname__} reads {hit[1]}"
    return None
