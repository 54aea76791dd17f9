"""HTML reports of specialized functions: entries and their guards, hits, misses, uncached runs.

``f.specialized.report(path)`` writes one function's report;
``guards.report(f, g, path=...)`` one for several, or for every specialized
function called so far when none is named; ``python -m guards report
script.py`` one for every specialized function a script called.

A report is one self-contained HTML file: inline CSS, no script, no link to
anything outside it; the parts that fold are ``<details>`` elements.  Every
text that comes from the user's program (reprs, reasons, paths, source lines)
is escaped (a control character other than newline and tab, which HTML does
not allow, is written as ``\\xNN``).  For each function it shows its source
(the lines where guards were installed marked), its statistics, each entry
with its hit count and its guards as a tree of access paths (each guard with
the line that installed it), each recorded miss with what came of it and,
when it was explained, why every entry failed, and the reasons calls ran
uncached with the line each names.
"""

from __future__ import annotations

import html
import inspect
import itertools
import linecache
import os
import pathlib
import re
import runpy
import sys
import time
import traceback
import types
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, overload

from guards import __version__
from guards.checks.cache import CacheEntry
from guards.checks.codegen import access_tree
from guards.core.builder import Check
from guards.core.guard import Provenance
from guards.core.values import show
from guards.errors import GuardsTypeError, describe, must_be
from guards.options import config
from guards.specialization.history import RECORDED_MISSES, EntryMismatch, MissRecord

if TYPE_CHECKING:
    from guards.specialization.decorator import Specialized

# -- which functions a report can cover --------------------------------------------------
_LIVE: weakref.WeakValueDictionary[int, Specialized] = weakref.WeakValueDictionary()
_SERIAL = itertools.count(1)


def register(state: Specialized) -> None:
    """Make a specialized function reportable by :func:`report` (weakly: it may still die)."""
    _LIVE[next(_SERIAL)] = state


def live_functions() -> list[Specialized]:
    """The state of every specialized function still alive, in the order they were made."""
    return [state for _, state in sorted(_LIVE.items(), key=lambda item: item[0])]


def was_called(state: Specialized) -> bool:
    """True once the function was called at least once (since it was made or cleared)."""
    info = state.cache.info()
    return bool(
        info.hits or info.misses or info.uncached or state.uncached_reasons or state.miss_history
    )


def state_of(function: Any, arg: str) -> Specialized:
    """The state behind a specialized function or method; ``arg`` names it in the error."""
    state = getattr(function, "__guards_specialized__", None)
    if state is None:
        raise must_be(arg, "a function made by @guards.specialize", function)
    return state  # type: ignore[no-any-return]


# -- the entry points ---------------------------------------------------------------------
@overload
def report(*functions: Callable[..., Any], path: None = None) -> str: ...
@overload
def report(*functions: Callable[..., Any], path: str | os.PathLike[str]) -> pathlib.Path: ...
def report(
    *functions: Callable[..., Any], path: str | os.PathLike[str] | None = None
) -> str | pathlib.Path:
    """An HTML report of specialized functions, as a string or written to ``path``.

    ``functions`` are functions (or methods) made by :func:`guards.specialize`;
    with none, the report covers every specialized function still alive that
    was called.  With ``path`` the report is written there (UTF-8) and the
    path is returned as a :class:`pathlib.Path`; without, the HTML text is
    returned.  Raises :class:`~guards.GuardsTypeError` for a function that is
    not specialized or a ``path`` that is not a ``str`` or ``os.PathLike``, and
    ``OSError`` when the file cannot be written.
    """
    if functions:
        states = [state_of(f, f"functions[{i}]") for i, f in enumerate(functions)]
    else:
        states = [state for state in live_functions() if was_called(state)]
    return save(states, path)


@overload
def save(states: Sequence[Specialized], path: None) -> str: ...
@overload
def save(states: Sequence[Specialized], path: str | os.PathLike[str]) -> pathlib.Path: ...
def save(
    states: Sequence[Specialized], path: str | os.PathLike[str] | None
) -> str | pathlib.Path:
    """:func:`render` ``states``; write the page to ``path`` and return it, or return the text."""
    if path is not None and not isinstance(path, str | os.PathLike):
        raise must_be("path", "a str, an os.PathLike or None", path)
    text = render(states)
    if path is None:
        return text
    target = pathlib.Path(path)
    # A lone surrogate (from an exception's message, say) is written escaped, not refused.
    target.write_text(text, encoding="utf-8", errors="backslashreplace")
    return target


def render(states: Sequence[Specialized]) -> str:
    """The report of ``states`` (the ``.specialized`` of each function) as one HTML page."""
    for i, state in enumerate(states):
        if not hasattr(state, "miss_history"):
            msg = f"states[{i}] must be the .specialized of a function, got {describe(state)}"
            raise GuardsTypeError(msg)
    names = ", ".join(state.function.__qualname__ for state in states) or "no functions"
    body = [_header(states)]
    if len(states) > 1:
        body.append(_index(states))
    if not states:
        body.append('<p class="empty">No specialized function was called.</p>')
    body += [_function(state, f"f{i}") for i, state in enumerate(states, 1)]
    return _PAGE.format(title=_esc(f"guards report: {names}"), css=_CSS, body="\n".join(body))


# -- the command line ---------------------------------------------------------------------
def report_script(
    target: str, argv: Sequence[str] = (), output: str = "guards-report.html",
    names: Sequence[str] = (),
) -> int:
    """``python -m guards report``: run a script, then report its specialized functions.

    ``target`` is a script's path (or a directory or zip file with a
    ``__main__.py``), run as ``python target`` would run it, or else a module
    name, run as ``python -m target`` would; ``argv`` are its arguments.  It
    runs with ``guards.config.record_misses`` on, so every miss is explained.
    Then the report of every specialized function still alive that was called
    (or of those ``names`` name: a function's name, qualified name or
    ``module:qualname``) is written to ``output``, even when the script raised.
    Returns the exit status: the script's, or 1 if it raised (its traceback
    printed from the script's own frames down, as ``python`` prints it), or 2
    when a name matches no specialized function.  Before the script runs, a
    ``target`` that looks like a path (it ends in ``.py`` or holds a path
    separator) but does not exist, and an ``output`` whose folder does not
    exist or is not writable, are refused with one line on stderr and status 2.
    Nothing is written when the status is 2.
    """
    problem = _missing_script(target) or _unwritable(output)
    if problem:
        print(f"guards report: {problem}", file=sys.stderr)
        return 2
    status, outcome = _run(target, argv)
    states = live_functions()
    if names:
        chosen = [state for state in states if _named(state, names)]
        missing = [name for name in names if not any(_named(s, (name,)) for s in chosen)]
        if missing:
            known = ", ".join(_full_name(s) for s in states) or "none"
            print(f"guards report: no specialized function named {', '.join(missing)}; "
                  f"specialized functions: {known}", file=sys.stderr)
            return 2
    else:
        chosen = [state for state in states if was_called(state)]
    try:
        path = save(chosen, output)
    except OSError as exc:  # the folder went away while the script ran, say
        print(f"guards report: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"guards report: {len(chosen)} specialized function(s) written to {path}",
          file=sys.stderr)
    del outcome  # kept the script's functions alive until the report was written
    return status


def _run(target: str, argv: Sequence[str]) -> tuple[int, object]:
    """Run ``target`` as ``__main__``: its exit status, and what keeps its globals alive."""
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [target, *argv]
    saved_record, config.record_misses = config.record_misses, True
    try:
        if os.path.exists(target):
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            return 0, runpy.run_path(target, run_name="__main__")
        return 0, runpy.run_module(target, run_name="__main__", alter_sys=True)
    except SystemExit as exc:  # its traceback holds the script's frames, and so its globals
        code = exc.code
        if code is None or isinstance(code, int):
            return code or 0, exc
        print(code, file=sys.stderr)
        return 1, exc
    except Exception as exc:
        traceback.print_exception(type(exc), exc, _script_frames(exc.__traceback__))
        return 1, exc
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        config.record_misses = saved_record


def _missing_script(target: str) -> str | None:
    """Why ``target``, which names a file that is not there, cannot run; None if it can try."""
    separators = [sep for sep in (os.sep, os.altsep) if sep]
    looks_like_path = target.endswith(".py") or any(sep in target for sep in separators)
    if looks_like_path and not os.path.exists(target):
        return f"no such file: {target}"
    return None


def _unwritable(output: str) -> str | None:
    """Why the report cannot be written to ``output``; None if it looks like it can."""
    path = os.path.abspath(output)
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        return f"cannot write the report to {output}: it is a folder"
    if not os.path.isdir(folder):
        return f"cannot write the report to {output}: no such folder {folder}"
    if not os.access(folder, os.W_OK | os.X_OK) or (
        os.path.exists(path) and not os.access(path, os.W_OK)
    ):
        return f"cannot write the report to {output}: permission denied"
    return None


def _script_frames(tb: types.TracebackType | None) -> types.TracebackType | None:
    """``tb`` from the script's module-level frame on: the frames of guards and runpy dropped."""
    start = tb
    while start is not None:
        frame = start.tb_frame
        if frame.f_code.co_name == "<module>" and frame.f_globals.get("__name__") == "__main__":
            return start
        start = start.tb_next
    return tb


def _full_name(state: Specialized) -> str:
    return f"{state.function.__module__}:{state.function.__qualname__}"


def _named(state: Specialized, names: Sequence[str]) -> bool:
    function = state.function
    return any(
        name in (function.__name__, function.__qualname__, _full_name(state)) for name in names
    )


# -- the page -------------------------------------------------------------------------
# C0 and C1 control characters and DEL, but for newline and tab: HTML allows none of them.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _esc(value: object) -> str:
    """``value`` as text for the page: markup escaped, each control character as ``\\xNN``."""
    text = html.escape(str(value), quote=True)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _header(states: Sequence[Specialized]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S")
    python = sys.version.split()[0]
    count = f"{len(states)} specialized function{'s' if len(states) != 1 else ''}"
    return (
        f'<header><h1>guards report</h1><p class="meta">{_esc(count)} · made {_esc(when)} '
        f"· guards {_esc(__version__)} · Python {_esc(python)}</p></header>"
    )


def _index(states: Sequence[Specialized]) -> str:
    rows = []
    for i, state in enumerate(states, 1):
        info = state.cache.info()
        rows.append(
            f'<tr><td><a href="#f{i}"><code>{_esc(state.function.__qualname__)}</code></a></td>'
            f"<td>{_where_code(state.function.__code__)}</td><td class=num>{info.hits}</td>"
            f"<td class=num>{info.misses}</td><td class=num>{info.entries}</td>"
            f"<td class=num>{sum(state.uncached_reasons.values())}</td></tr>"
        )
    return (
        '<nav><table class="index"><thead><tr><th>function</th><th>defined at</th>'
        "<th>hits</th><th>misses</th><th>entries</th><th>uncached</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></nav>"
    )


def _function(state: Specialized, anchor: str) -> str:
    function = state.function
    entries = state.cache.entries
    live = {entry.number for entry in entries}
    places = _places(state, entries)
    parts = [
        f'<section class="function" id="{anchor}">',
        f"<h2><code>{_esc(function.__qualname__)}</code>"
        f' <span class="module">{_esc(function.__module__)}</span></h2>',
        f'<p class="where">defined at {_where_code(function.__code__)}</p>',
        _stats(state),
        _source(state, entries, places),
        f"<h3>Entries <span class=count>{len(entries)}</span></h3>",
        _entries(state, entries, anchor),
        _misses(state, anchor, live),
        _uncached(state, places),
        "</section>",
    ]
    return "\n".join(parts)


def _where_code(code: Any) -> str:
    return _where(code.co_filename, code.co_firstlineno)


def _where(filename: str, lineno: int) -> str:
    short = os.path.basename(filename) or filename
    return f'<span class="path" title="{_esc(filename)}">{_esc(short)}:{lineno}</span>'


def _stats(state: Specialized) -> str:
    info = state.cache.info()
    cells = [
        ("hits", info.hits, "good"), ("misses", info.misses, "bad" if info.misses else ""),
        ("entries", f"{info.entries} / {info.max_entries}", ""),
        ("evictions", info.evictions, "bad" if info.evictions else ""),
        ("uncached", info.uncached, "warn" if info.uncached else ""),
    ]
    stats = "".join(
        f'<div class="stat {cls}"><span class="n">{_esc(value)}</span>'
        f'<span class="what">{name}</span></div>'
        for name, value, cls in cells
    )
    options = (
        f"on_limit={state.cache.on_limit!r} · strict={state.strict!r} · verify={state.verify!r}"
        f" · copy_results={state.copy_results!r}"
    )
    return f'<div class="stats">{stats}</div><p class="options">{_esc(options)}</p>'


# -- the source, with the lines that matter marked -------------------------------------------
def _source(state: Specialized, entries: Sequence[CacheEntry], places: dict[str, str]) -> str:
    function = state.function
    try:
        lines, first = inspect.getsourcelines(function)
    except (OSError, TypeError):
        return '<p class="note">The source of the function is not available.</p>'
    filename = function.__code__.co_filename
    guarded = {
        p.lineno
        for entry in entries
        for check in entry.check.checks
        if (p := check.guard.provenance) is not None and p.filename == filename
    }
    uncached = {
        lineno
        for reason in state.uncached_reasons
        for name, lineno in _lines_named(reason, places)
        if name == filename
    }
    first = first or 1  # 0 for a module's code
    shown = range(first, first + len(lines))
    guarded.intersection_update(shown)
    uncached.intersection_update(shown)
    rows = []
    for lineno, line in enumerate(lines, first):
        marks = " ".join(
            mark for mark, on in (("guarded", lineno in guarded), ("untracked", lineno in uncached))
            if on
        )
        rows.append(
            f'<tr class="{marks}"><td class="ln">{lineno}</td>'
            f'<td class="mark">{_marker(lineno in guarded, lineno in uncached)}</td>'
            f"<td><pre>{_esc(line.rstrip())}</pre></td></tr>"
        )
    legend = "".join(
        text
        for present, text in (
            (guarded, '<span class="dot g">●</span> a guard was installed here '),
            (uncached, '<span class="dot u">▲</span> a reason to run uncached points here'),
        )
        if present
    )
    legend = f'<p class="legend">{legend}</p>' if legend else ""
    return (
        "<details open><summary>Source</summary>"
        f'<table class="source">{"".join(rows)}</table>{legend}</details>'
    )


def _marker(guarded: bool, uncached: bool) -> str:
    return ('<span class="dot g">●</span>' if guarded else "") + (
        '<span class="dot u">▲</span>' if uncached else ""
    )


#: A ``file:line`` in a reason: a path ending in .py, or a name in angle brackets.
_FILE_LINE = re.compile(
    r"(?P<file>(?:[A-Za-z]:)?[^\s:;,()'\"]+?\.pyw?|<[^<>]+>):(?P<line>\d+)"
)


def _lines_named(text: str, places: dict[str, str]) -> list[tuple[str, int]]:
    """The ``file:line`` places a reason names, each file by its full name when known."""
    return [
        (places.get(m["file"], m["file"]), int(m["line"])) for m in _FILE_LINE.finditer(text)
    ]


def _places(state: Specialized, entries: Sequence[CacheEntry]) -> dict[str, str]:
    """Base name -> full name of the files the report knows (reasons name base names).

    The function's own file wins a clash; other files are the guards' and callers'.
    """
    found = [
        p.filename
        for p in (
            *(check.guard.provenance for entry in entries for check in entry.check.checks),
            *(record.caller for record in state.miss_history),
        )
        if p is not None
    ]
    found.append(state.function.__code__.co_filename)
    return {os.path.basename(name): name for name in found}


# -- entries and their guard trees ------------------------------------------------------------
def _entries(state: Specialized, entries: Sequence[CacheEntry], anchor: str) -> str:
    if not entries:
        return (
            '<p class="note">No entries: no call has stored a result '
            "(or the cache was cleared).</p>"
        )
    return "\n".join(_entry(state, entry, anchor, rank) for rank, entry in enumerate(entries))


#: Entries shown unfolded; the less recently used ones start folded.
_OPEN_ENTRIES = 3


def _entry(state: Specialized, entry: CacheEntry, anchor: str, rank: int) -> str:
    check = entry.check
    made = f" · stored by the call at {_provenance(entry.provenance)}" if entry.provenance else ""
    recency = "most recently used" if rank == 0 else f"{_ordinal(rank + 1)} most recently used"
    summary = (
        f'<span class="badge entry">entry {entry.number}</span> '
        f'<span class="hits{" zero" if not entry.hits else ""}">{entry.hits} '
        f"hit{'' if entry.hits == 1 else 's'}</span> · {len(check.guards)} guard"
        f"{'' if len(check.guards) == 1 else 's'} · {recency}{made}"
    )
    result = show(state.stored_result(entry))
    body = [
        f'<p class="result">result: <code>{_esc(result)}</code></p>',
        _tree(check.checks),
    ]
    if check.dropped_guards:
        dropped = "".join(
            f"<li><span class=kind>{_esc(g.kind)}</span> <code>{_esc(g.source.name)}</code></li>"
            for g in check.dropped_guards
        )
        body.append(
            f'<p class="sub">dropped (on a skipped path):</p><ul class="dropped">{dropped}</ul>'
        )
    unfolded = " open" if rank < _OPEN_ENTRIES else ""
    return (
        f'<details class="entry" id="{anchor}-e{entry.number}"{unfolded}>'
        f'<summary>{summary}</summary>{"".join(body)}</details>'
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _tree(checks: Sequence[Check]) -> str:
    if not checks:
        return '<p class="note">No guards: the result is reused for every call.</p>'
    root, relational = access_tree(checks)
    out = ['<ul class="tree">']
    out += [_node(child) for child in root.children.values()]
    out.append("</ul>")
    if relational:
        out.append('<p class="sub">across paths:</p><ul class="checks">')
        out.append(_checks(relational))
        out.append("</ul>")
    return "".join(out)


def _node(node: Any) -> str:
    checks = _checks(node.checks)
    children = "".join(_node(child) for child in node.children.values())
    inner = (f'<ul class="checks">{checks}</ul>' if checks else "") + (
        f'<ul class="tree">{children}</ul>' if children else ""
    )
    return f'<li><code class="path">{_esc(node.source.name)}</code>{inner}</li>'


def _checks(checks: Sequence[Check]) -> str:
    """The checks, each run of checks installed by one line followed by that line once."""
    out = []
    for i, check in enumerate(checks):
        where = check.guard.provenance
        last_of_run = i + 1 == len(checks) or checks[i + 1].guard.provenance != where
        out.append(_check(check, where if last_of_run else None))
    return "".join(out)


def _check(check: Check, where: Provenance | None) -> str:
    label = f' <span class="label">guard on {_esc(repr(check.label))}</span>' if check.label else ""
    installed = f'<span class="prov">{_provenance(where)}</span>' if where else ""
    return (
        f'<li><span class="kind">{_esc(check.guard.kind)}</span> '
        f"<code>{_esc(check.description)}</code>{label}{installed}</li>"
    )


def _provenance(where: Provenance) -> str:
    line = where.line
    text = f"{_where(where.filename, where.lineno)} in <code>{_esc(where.function)}</code>"
    return f'{text}: <code class="line">{_esc(line)}</code>' if line else text


# -- misses ---------------------------------------------------------------------------------
def _misses(state: Specialized, anchor: str, live: set[int]) -> str:
    records = list(state.miss_history)
    heading = f"<h3>Misses <span class=count>{len(records)}</span></h3>"
    if not records:
        return heading + '<p class="note">No misses recorded.</p>'
    total = records[-1].number
    notes = []
    if total > len(records):
        notes.append(f"Only the last {RECORDED_MISSES} of {total} misses are kept.")
    if any(not record.explained and record.outcome != "found" for record in records):
        notes.append(
            "Misses marked <em>not explained</em> happened while "
            "<code>guards.config.record_misses</code> was off (<code>python -m guards "
            "report</code> turns it on): set it to see why each lookup missed."
        )
    note = "".join(f'<p class="note">{n}</p>' for n in notes)
    items = "".join(_miss(record, anchor, live) for record in reversed(records))
    return f'{heading}{note}<ol class="misses" reversed>{items}</ol>'


def _miss(record: MissRecord, anchor: str, live: set[int]) -> str:
    clock = time.strftime("%H:%M:%S", time.localtime(record.time))
    millis = f"{record.time % 1:.3f}"[1:]
    caller = f" · from {_provenance(record.caller)}" if record.caller else ""
    head = (
        f'<div class="head"><span class="badge miss">miss {record.number}</span> '
        f'<span class="time">{clock}{millis}</span>{caller}</div>'
        f'<div class="outcome {record.outcome}">{_outcome(record, anchor, live)}</div>'
    )
    why = _why(record, anchor, live)
    return f'<li class="miss" id="{anchor}-m{record.number}">{head}{why}</li>'


def _outcome(record: MissRecord, anchor: str, live: set[int]) -> str:
    if record.outcome == "uncached":
        reasons = "".join(f"<li>{_esc(reason)}</li>" for reason in record.reasons)
        return f"→ ran uncached:<ul>{reasons}</ul>"
    text = _esc(record.outcome_text())
    for number in (record.entry, record.evicted):
        if number is not None and number in live:
            link = f'<a href="#{anchor}-e{number}">entry {number}</a>'
            text = re.sub(rf"\bentry {number}\b", link, text, count=1)
    return f"→ {text}"


def _why(record: MissRecord, anchor: str, live: set[int]) -> str:
    if record.outcome == "found":  # it hit after all: nothing to explain
        return ""
    if record.explanation is None:
        return '<p class="why none">not explained</p>'
    if not record.explanation:
        return '<p class="why">The cache was empty: nothing to reuse yet.</p>'
    rows = "".join(_mismatch(m, anchor, live) for m in record.explanation)
    more = (
        f'<p class="note">{record.unrecorded_entries} more entries failed too (not recorded).</p>'
        if record.unrecorded_entries
        else ""
    )
    text = f"<details><summary>as text</summary><pre>{_esc(record)}</pre></details>"
    return (
        '<div class="why"><table class="failures"><colgroup><col class="c-entry">'
        '<col class="c-guard"><col class="c-value"><col class="c-value"><col class="c-where">'
        "</colgroup><thead><tr><th>entry</th><th>failing guard</th><th>expected</th>"
        f"<th>got</th><th>installed at</th></tr></thead><tbody>{rows}</tbody></table>"
        f"{more}{text}</div>"
    )


def _mismatch(mismatch: EntryMismatch, anchor: str, live: set[int]) -> str:
    """The rows of one entry's failures; the entry's cell spans them."""
    number = mismatch.entry
    name = (
        f'<a href="#{anchor}-e{number}">entry {number}</a>'
        if number in live
        else f'entry {number}<br><span class="gone">not cached now</span>'
    )
    cells = [
        f'<td><span class="kind">{_esc(f.kind)}</span> <code>{_esc(f.description)}</code>'
        + (f' <span class="label">guard on {_esc(repr(f.label))}</span>' if f.label else "")
        + f'</td><td><code class="expected">{_esc(f.expected)}</code></td>'
        f'<td><code class="actual">{_esc(f.actual)}</code></td>'
        f"<td>{_provenance(f.provenance) if f.provenance else ''}</td>"
        for f in mismatch.failures
    ]
    if mismatch.not_evaluated:
        skipped = _esc("; ".join(mismatch.not_evaluated))
        cells.append(
            f'<td colspan="4" class="sub">{len(mismatch.not_evaluated)} guard(s) not evaluated'
            f" after the first failure (that could run your code): {skipped}</td>"
        )
    if not cells:
        cells.append('<td colspan="4" class="sub">no failing guard</td>')
    head = f'<td rowspan="{len(cells)}" class="entry">{name}</td>'
    return "".join(
        f"<tr>{head if i == 0 else ''}{cell}</tr>" for i, cell in enumerate(cells)
    )


# -- uncached runs ------------------------------------------------------------------------------
def _uncached(state: Specialized, places: dict[str, str]) -> str:
    reasons = sorted(state.uncached_reasons.items(), key=lambda item: -item[1])
    heading = f"<h3>Uncached calls <span class=count>{sum(n for _, n in reasons)}</span></h3>"
    if not reasons:
        return heading + '<p class="note">Every call could be cached.</p>'
    rows = "".join(
        f"<tr><td class=num>{count}</td><td>{_esc(reason)}{_named_lines(reason, places)}</td></tr>"
        for reason, count in reasons
    )
    return (
        f'{heading}<table class="reasons"><thead><tr><th>calls</th><th>reason</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _named_lines(reason: str, places: dict[str, str]) -> str:
    shown = []
    for filename, lineno in _lines_named(reason, places):
        line = linecache.getline(filename, lineno).strip()
        if line:
            quoted = f"{_where(filename, lineno)} <code>{_esc(line)}</code>"
            shown.append(f'<div class="quote">{quoted}</div>')
    return "".join(shown)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
{body}
</body>
</html>
"""

_CSS = """
:root { --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg2: #f6f8fa;
  --good: #1a7f37; --bad: #cf222e; --warn: #9a6700; --accent: #0969da; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--fg); max-width: 1150px; margin: 0 auto; padding: 20px 24px 60px; }
code, pre { font: 12.5px/1.4 "DejaVu Sans Mono", Menlo, Consolas, monospace; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
h1 { font-size: 22px; margin: 0 0 2px; }
h2 { font-size: 19px; margin: 0; } h2 code { font-size: 19px; }
h2 .module { font-size: 13px; font-weight: normal; color: var(--muted);
  margin-left: 6px; }
h3 { font-size: 15px; margin: 22px 0 8px; border-bottom: 1px solid var(--line);
  padding-bottom: 3px; }
.count { color: var(--muted); font-weight: normal; background: var(--bg2); border-radius: 9px;
  padding: 0 7px; font-size: 12px; }
.meta, .where, .options, .note, .sub, .legend { color: var(--muted); margin: 4px 0; }
.note { font-style: italic; }
.function { border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px; margin: 18px 0; }
.stats { display: flex; gap: 10px; flex-wrap: wrap; margin: 10px 0 4px; }
.stat { border: 1px solid var(--line); border-radius: 6px; padding: 4px 12px; min-width: 84px;
  text-align: center; background: var(--bg2); }
.stat .n { display: block; font-size: 18px; font-weight: 600; }
.stat .what { font-size: 11px; color: var(--muted); text-transform: uppercase;
  letter-spacing: .04em; }
.stat.good .n { color: var(--good); } .stat.bad .n { color: var(--bad); }
.stat.warn .n { color: var(--warn); }
details { margin: 8px 0; } summary { cursor: pointer; }
details > summary { font-weight: 600; }
table { border-collapse: collapse; }
table.source { width: 100%; background: var(--bg2); border: 1px solid var(--line);
  border-radius: 6px; margin-top: 6px; }
table.source td { padding: 0 6px; vertical-align: top; }
table.source td.ln { color: var(--muted); text-align: right; width: 3.5em; user-select: none;
  font: 12px/1.4 monospace; }
table.source td.mark { width: 2.2em; white-space: nowrap; }
table.source tr.guarded { background: #dafbe1; }
table.source tr.untracked { background: #fff8c5; }
.dot.g { color: var(--good); } .dot.u { color: var(--warn); }
details.entry { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
details.entry > summary { font-weight: normal; }
details.entry[open] > summary { margin-bottom: 4px; }
.badge { display: inline-block; border-radius: 4px; padding: 0 7px; font-weight: 600;
  font-size: 12.5px; color: #fff; }
.badge.entry { background: var(--accent); } .badge.miss { background: var(--bad); }
.hits { font-weight: 600; color: var(--good); } .hits.zero { color: var(--muted); }
.result { margin: 2px 0 6px; }
ul.tree, ul.checks, ul.dropped { list-style: none; margin: 0; padding-left: 18px; }
details.entry > ul.tree { padding-left: 2px; }
ul.tree > li { margin: 3px 0; }
ul.tree ul.tree { border-left: 1px dashed var(--line); margin-left: 4px; padding-left: 14px; }
code.path { font-weight: 600; }
ul.checks > li { margin: 1px 0; }
.kind { display: inline-block; font: 11px/1.5 monospace; background: #ddf4ff; color: #0550ae;
  border-radius: 3px; padding: 0 5px; }
.label { color: var(--muted); font-size: 12px; }
.prov { display: block; color: var(--muted); font-size: 12px; margin-left: 10px; }
.prov code.line, .quote code { color: var(--fg); background: var(--bg2); padding: 0 3px; }
.path { color: var(--muted); }
ol.misses { padding-left: 0; list-style: none; }
li.miss { border-left: 3px solid var(--bad); padding: 4px 0 6px 12px; margin: 10px 0; }
li.miss .head .time { color: var(--muted); font-size: 12px; }
.outcome { margin: 3px 0; } .outcome ul { margin: 2px 0; }
.outcome.stored { color: var(--accent); }
.outcome.uncached, .outcome.declined { color: var(--warn); }
.outcome.limit { color: var(--bad); }
.why.none { color: var(--muted); font-style: italic; margin: 2px 0; }
table.failures, table.reasons, table.index { margin: 6px 0; width: 100%; }
table.failures { table-layout: fixed; }
col.c-entry { width: 8.5em; } col.c-value { width: 14%; } col.c-where { width: 30%; }
table.failures td { word-break: break-word; }
table.failures td.entry { font-weight: 600; }
table.failures th, table.failures td, table.reasons th, table.reasons td,
table.index th, table.index td { border: 1px solid var(--line); padding: 3px 7px; text-align: left;
  vertical-align: top; }
th { background: var(--bg2); font-weight: 600; font-size: 12.5px; }
table td.num { text-align: right; width: 5em; font-variant-numeric: tabular-nums; }
code.expected { color: var(--good); } code.actual { color: var(--bad); }
.gone { color: var(--muted); font-weight: normal; }
.quote { margin-top: 3px; font-size: 12.5px; }
.empty { font-size: 16px; color: var(--muted); }
"""
