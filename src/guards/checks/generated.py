"""Generated code: one place that compiles, runs and shows the library's own text.

Every function guards generates (a compiled check and its explain variant, a
``bind_args`` stub, a cache accessor, a specialized function's front and its
entries) is made by :func:`compile_generated`, as attrs makes its methods
with ``_linecache_and_compile``.  It gives the text a unique file name, runs
it in a namespace whose ``__name__`` marks it as library code (so provenance
capture walks past its frames to the user's line), and registers the text in
``linecache`` for as long as the function lives, so tracebacks,
``inspect.getsource`` and debuggers show the generated lines.

The text is built by a :class:`LineWriter` (Dynamo's ``IndentedBuffer``):
blocks are indented by ``with writer.indent():``, never by hand-built
prefixes.
"""

from __future__ import annotations

import builtins
import itertools
import linecache
import sys
import threading
import types
import weakref
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

from guards.forks import fork_safe

T = TypeVar("T")

#: What a generated text is, the word after ``<guards`` in its file name.  The
#: tracer treats every ``<guards ...>`` frame as library code that reads only
#: what it is given, except ``specialize``: a specialized function's front may
#: return a cached result whose guards a running trace must see
#: (:func:`guards.specialization.library.is_library_frame`).
Kind = Literal["check", "explain", "accessor", "binding stub", "specialize", "entry"]

#: The ``__name__`` of generated code's globals: a ``guards.`` module, so
#: provenance capture (:func:`guards.core.guard.capture_provenance`) skips its frames.
GENERATED_MODULE = "guards.checks.generated"

#: Longest label kept in a file name (a check's label lists all its roots).
MAX_LABEL = 80

_counter = itertools.count()


def comment_safe(text: str) -> str:
    """``text`` with everything but printable ASCII escaped: safe inside a ``#`` comment."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(
        ch if ch.isascii() and ch.isprintable() else ascii(ch)[1:-1] for ch in text
    )


def generated_filename(kind: Kind, label: str) -> str:
    """A file name no other generated text has: ``<guards check L['x'] #12>``.

    ``label`` (a source or function name, user text) is escaped and cut to
    :data:`MAX_LABEL` characters; the counter makes the name unique, so two
    texts never share (or drop) one ``linecache`` entry.
    """
    return f"<guards {kind} {comment_safe(label)[:MAX_LABEL]} #{next(_counter)}>"


def compile_generated(
    text: str,
    *,
    kind: Kind,
    label: str,
    namespace: dict[str, Any],
    owner: Callable[[dict[str, Any]], T],
) -> T:
    """Compile ``text``, run it in ``namespace`` and return ``owner(namespace)``.

    Inputs: ``text`` is Python source built from identifiers only (every value
    it uses is bound in ``namespace``); ``kind`` and ``label`` name it (see
    :func:`generated_filename`); ``namespace`` becomes the globals of the
    functions it defines (``__builtins__`` and ``__name__`` are added when
    missing); ``owner`` picks, from the namespace after the run, the object the
    text belongs to (a function, or a code object) and must return an object
    that supports weak references.

    Output: that object.  Its ``linecache`` entry (under the unique file name
    of ``co_filename``) lasts until it is garbage collected.

    Errors: whatever compiling or running the text raises (a bug in guards:
    the text is generated), or ``owner`` raises.
    """
    filename = generated_filename(kind, label)
    namespace.setdefault("__builtins__", builtins)
    namespace.setdefault("__name__", GENERATED_MODULE)
    exec(compiled_text(text, filename), namespace)  # text from identifiers only
    result = owner(namespace)
    # mtime None: linecache.checkcache() keeps the entry (there is no file to check).
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    weakref.finalize(result, linecache.cache.pop, filename, None)
    return result


def compiled_text(text: str, filename: str) -> types.CodeType:
    """``compile(text, filename, "exec")``, the compiling done once per text.

    Generated texts repeat: they bind every value under a name (never paste it), so
    the check of a function's every miss with the same kinds of values read is the
    same text, and so is its front with the same entry shapes.  ``compile`` costs
    about 5 µs a line, most of a small miss; the code compiled for a text is kept
    (the :data:`CODE_CACHE_SIZE` most recent texts under :data:`CODE_CACHE_TEXT`
    characters each) and given ``filename`` again, in each of its code objects, with
    ``code.replace``.
    """
    if len(text) > CODE_CACHE_TEXT:
        return compile(text, filename, "exec")
    with _code_lock:
        code = _code_cache.pop(text, None)
        if code is None:
            code = compile(text, filename, "exec")
        _code_cache[text] = code  # the most recent last
        if len(_code_cache) > CODE_CACHE_SIZE:
            del _code_cache[next(iter(_code_cache))]
    return _renamed(code, filename)


def forget_compiled_texts() -> None:
    """Drop the code kept by :func:`compiled_text`: the next texts are compiled anew
    (for benchmarks that time a miss of a shape never seen, and for tests)."""
    with _code_lock:
        _code_cache.clear()


def _renamed(code: types.CodeType, filename: str) -> types.CodeType:
    """``code`` and the code objects in its constants, with ``co_filename`` ``filename``."""
    consts = code.co_consts
    # A test and a list, not generators: a generator closed early raises (an event
    # for the untraced-code net with sys.monitoring, on every miss).
    if types.CodeType in map(type, consts):
        renamed = [
            _renamed(const, filename) if type(const) is types.CodeType else const
            for const in consts
        ]
        return code.replace(co_filename=filename, co_consts=tuple(renamed))
    return code.replace(co_filename=filename)


#: How many generated texts keep their compiled code, and up to what length.
CODE_CACHE_SIZE = 128
CODE_CACHE_TEXT = 20_000
_code_cache: dict[str, types.CodeType] = {}
_code_lock = threading.Lock()
fork_safe(sys.modules[__name__], "_code_lock")  # a parent thread may hold it at a fork


def run_factory(
    text: str,
    *,
    kind: Kind,
    label: str,
    factory: str,
    arguments: dict[str, Any],
    namespace: dict[str, Any] | None = None,
) -> Any:
    """:func:`compile_generated` for text that defines ``factory``; returns ``factory(...)``.

    The factory's parameters must be ``arguments``' keys, in order: they are
    passed by position, since matching thousands of keywords is quadratic.
    Its values become closure cells of the function it returns, which owns
    the ``linecache`` entry; the factory itself is removed from ``namespace``
    (a fresh one when None).
    """

    def call(namespace: dict[str, Any]) -> Any:
        return namespace.pop(factory)(*arguments.values())

    return compile_generated(
        text, kind=kind, label=label, namespace={} if namespace is None else namespace,
        owner=call,
    )


class LineWriter:
    """Lines of generated text, indented by blocks, as Dynamo's ``IndentedBuffer``.

    ``writer.line("try:")``, then ``with writer.indent(): writer.line(...)``;
    ``writer.text()`` is the whole text.  ``lines`` adds lines that may carry
    their own (relative) indentation, such as another writer's ``lines()``.
    """

    INDENT = "    "

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._prefix = ""

    def line(self, text: str) -> None:
        """Add one line at the current indentation."""
        self._lines.append(self._prefix + text)

    def lines(self, texts: Iterable[str]) -> None:
        """Add each of ``texts`` as a line at the current indentation."""
        prefix = self._prefix
        self._lines.extend(prefix + text for text in texts)

    def indent(self) -> LineWriter:
        """``with writer.indent():`` indents the lines added in the block one level more.

        The writer is its own context manager (no generator per block: a check
        of 10,000 guards opens as many blocks).
        """
        self._prefix += self.INDENT
        return self

    def __enter__(self) -> LineWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._prefix = self._prefix[: -len(self.INDENT)]

    def getlines(self) -> list[str]:
        """The lines so far (without newlines), to splice into another writer."""
        return self._lines

    def text(self) -> str:
        """The lines so far as source text, each ending in a newline."""
        return "".join(line + "\n" for line in self._lines)
