"""How an uncached reason is worded: what happened, where, and nothing that changes per call.

A reason is a key of ``f.specialized.uncached_reasons``, a line of the
``guards.recompiles`` log and an item of ``UntrackedCallError.reasons``.  Each
one ends with the place in the user's code where the operation that could not
be tracked happened, as ``at model.py:12`` (the file's base name and the
line).  The same operation must give the same text at every call, so that its
count adds up and it is logged once: a reason never holds a memory address
(``<Key object at 0x7f...>`` becomes ``<Key object>``), and its place is a
line of code, never the caller's.

* :func:`located`: a reason with its place, addresses removed;
* :func:`frame_line`, :func:`code_line`, :func:`instruction_line`, :func:`definition_line`,
  :func:`return_line`: the places, as ``file:line``;
* :func:`caller_line`: the first line outside guards on the stack.
"""

from __future__ import annotations

import dis
import os
import re
import sys
import types

from guards.specialization.library import is_own_file

#: A memory address as ``repr`` shows it: `` at 0x7f...`` in ``<X object at 0x7f...>``,
#: or a long hexadecimal number standing alone.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+|\b0x[0-9a-fA-F]{6,}\b")


def without_addresses(text: str) -> str:
    """``text`` with every memory address taken out (``<object object>``, ``<address>``)."""
    return _ADDRESS.sub(lambda m: "" if m.group().startswith(" ") else "<address>", text)


def located(reason: str, where: str) -> str:
    """``reason at where``, with no memory address in it."""
    return f"{without_addresses(reason)} at {where}"


def _line(filename: str, lineno: int | None) -> str:
    return f"{os.path.basename(filename)}:{lineno if lineno is not None else '?'}"


def code_line(code: types.CodeType, lineno: int | None) -> str:
    """``file:line`` of line ``lineno`` of ``code``'s file (``file:?`` when unknown)."""
    return _line(code.co_filename, lineno)


def frame_line(frame: types.FrameType) -> str:
    """``file:line`` of the line ``frame`` is running."""
    return _line(frame.f_code.co_filename, frame.f_lineno)


def definition_line(code: types.CodeType) -> str:
    """``file:line`` of the ``def`` of ``code``."""
    return _line(code.co_filename, code.co_firstlineno)


def instruction_line(code: types.CodeType, offset: int) -> str:
    """``file:line`` of the instruction of ``code`` at ``offset``."""
    lineno = None
    for start, _end, line in code.co_lines():
        if start > offset:
            break
        if line is not None:
            lineno = line
    return _line(code.co_filename, lineno if lineno is not None else code.co_firstlineno)


_RETURNS = frozenset({"RETURN_VALUE", "RETURN_CONST"})


def return_line(code: types.CodeType) -> str:
    """``file:line`` of the ``return`` of ``code`` when all its returns are on one line,
    else of its ``def``: where a reason about the function's result points."""
    lines = {
        instr.positions.lineno
        for instr in dis.get_instructions(code)
        if instr.opname in _RETURNS and instr.positions is not None
    }
    if len(lines) == 1:
        (lineno,) = lines
        if lineno is not None:
            return _line(code.co_filename, lineno)
    return definition_line(code)


def caller_line() -> str:
    """``file:line`` of the first frame on the stack that is not guards' own code (its
    modules, or the functions it generates): the line of user code that called in."""
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not (is_own_file(filename) or filename.startswith("<guards ")):
            return frame_line(frame)
        frame = frame.f_back
    return "?"
