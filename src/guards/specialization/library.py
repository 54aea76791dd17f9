"""Which code is library code: the standard library, installed packages, guards itself.

The tracer enters user code and calls library code on real values; the
untraced-code net and the taint rules ask the same question of frames and
tracebacks, so the answer has one home.
"""

from __future__ import annotations

import functools
import os
import sysconfig
import types

_STDLIB_PREFIXES = tuple(
    {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib")} - {""}
)
#: The directory of the guards package (this module is one level below it).
_OWN_PREFIX = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def is_own_file(filename: str) -> bool:
    """A file of the guards package itself."""
    return filename.startswith(_OWN_PREFIX)


def is_library_code(code: types.CodeType) -> bool:
    """Code of the standard library, of installed packages, and of guards itself."""
    return is_library_file(code.co_filename)


@functools.lru_cache(maxsize=4096)
def is_library_file(filename: str) -> bool:
    """:func:`is_library_code` by file name (memoized: the net asks at every call)."""
    return (
        filename.startswith(_OWN_PREFIX)
        or filename.startswith(_STDLIB_PREFIXES)
        or filename.startswith("<frozen ")
        or "site-packages" in filename.split(os.sep)
        or "dist-packages" in filename.split(os.sep)
    )


def is_library_frame(frame: types.FrameType) -> bool:
    """A frame of library code, or of code a library generated (attrs' methods, a
    namedtuple's ``__new__``, guards' own stubs and checks), which reads only what it
    is given.  A specialized function's wrapper is not: a hit there returns a result
    whose guards the running trace would not see."""
    code = frame.f_code
    if has_library_frames(code):
        return True
    if code.co_filename == "<string>":
        return str(frame.f_globals.get("__name__", "")).startswith("namedtuple_")
    return False


def has_library_frames(code: types.CodeType) -> bool:
    """Every frame of ``code`` is a library frame, whatever its globals: library code,
    or code that attrs or guards generated under a file name of their own (not a
    specialized function's wrapper).

    The untraced-code net stops watching such code for good (``sys.monitoring``'s
    ``DISABLE``): guards' own records are attrs classes, and their ``__hash__`` and
    ``__init__`` run for every value a miss reads.
    """
    filename = code.co_filename
    if is_library_file(filename):
        return True
    if filename.startswith("<guards "):
        return not filename.startswith("<guards specialize ")
    return filename.startswith("<attrs generated ")
