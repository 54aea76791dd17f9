"""The pytest plugin of guards: limit misses, capture the recompile log, verify hits.

Installing the package registers it (the ``pytest11`` entry point ``guards``),
so every pytest run in that environment has:

- the marker ``@pytest.mark.guards_max_misses(n)``: the test fails when its
  body causes more than ``n`` misses of specialized functions;
- the fixture ``guards_misses``, a :class:`MissCounter` of the misses since the
  fixture was set up, with ``.count``, ``.by_function`` and
  ``.assert_at_most(n)``;
- the fixture ``guards_recompiles``, a :class:`RecompileLog` of what the
  ``guards.recompiles`` logger says during the test;
- the option ``--guards-verify`` (or ``guards_verify = true`` in the ini file)
  and the marker ``@pytest.mark.guards_verify``: specialized functions run in
  verify mode, so a hit that differs from a fresh call raises ``StaleHitError``.

A test that uses none of these runs as it would without the plugin.  The
plugin needs no Hypothesis (the strategies are :mod:`guards.testing`).  Disable
it with ``-p no:guards``.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import types
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import cast

import pytest

from guards.events import watching_misses
from guards.forks import fork_safe
from guards.logs import recompiles_log
from guards.options import check_verify_share, config as guards_config

MAX_MISSES_MARKER = "guards_max_misses"
VERIFY_MARKER = "guards_verify"


class MissCounter:
    """Misses of specialized functions, counted by the function's qualified name.

    An observer for :func:`guards.events.watching_misses`: calling it with a
    function counts one miss of it.  Misses in every thread count.
    """

    def __init__(self) -> None:
        self._counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        fork_safe(self, "_lock")

    def __call__(self, function: types.FunctionType) -> None:
        with self._lock:
            self._counts[function.__qualname__] += 1

    @property
    def count(self) -> int:
        """How many misses, of all specialized functions together."""
        with self._lock:
            return self._counts.total()

    @property
    def by_function(self) -> dict[str, int]:
        """Misses per specialized function, by qualified name (``make.<locals>.area``)."""
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        """Forget the misses counted so far (after warming a cache up, say)."""
        with self._lock:
            self._counts.clear()

    def assert_at_most(self, limit: int) -> None:
        """Raise ``AssertionError`` if more than ``limit`` misses were counted."""
        if self.count > limit:
            raise AssertionError(self.describe(limit))

    def describe(self, limit: int | None = None) -> str:
        """The misses, one line per function, against ``limit`` when one is given."""
        counts = self.by_function
        total = sum(counts.values())
        head = f"{total} miss{'' if total == 1 else 'es'} of specialized functions"
        if limit is not None:
            head += f", more than the {limit} allowed"
        lines = [f"  {name}: {n}" for name, n in sorted(counts.items(), key=lambda kv: -kv[1])]
        return "\n".join([head + ":", *lines])


class RecompileLog(logging.Handler):
    """The records of the ``guards.recompiles`` logger while it captures.

    That logger says why a call missed when it builds a new entry ("Recompiling
    function ... triggered by the following guard failure(s)") and warns when
    a function runs uncached.  While capturing, the logger is set to INFO, so
    misses explain themselves; explaining walks each stored entry's paths
    again, so properties and ``__getattr__`` on them run once more per miss.
    """

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def messages(self) -> list[str]:
        """Each record's message, formatted."""
        return [record.getMessage() for record in self.records]

    @property
    def text(self) -> str:
        """The messages, one after the other, separated by newlines."""
        return "\n".join(self.messages)

    def clear(self) -> None:
        """Forget the records so far."""
        self.records.clear()

    @contextlib.contextmanager
    def capturing(self) -> Iterator[RecompileLog]:
        """Capture the logger's records in the block, then restore its level."""
        level = recompiles_log.level
        if not recompiles_log.isEnabledFor(logging.INFO):
            recompiles_log.setLevel(logging.INFO)
        recompiles_log.addHandler(self)
        try:
            yield self
        finally:
            recompiles_log.removeHandler(self)
            recompiles_log.setLevel(level)


# ----------------------------------------------------------------------- fixtures
@pytest.fixture
def guards_misses() -> Iterator[MissCounter]:
    """Count the misses of specialized functions from here to the end of the test."""
    counter = MissCounter()
    with watching_misses(counter):
        yield counter


@pytest.fixture
def guards_recompiles() -> Iterator[RecompileLog]:
    """Capture the ``guards.recompiles`` log (why calls missed or ran uncached)."""
    with RecompileLog().capturing() as log:
        yield log


# ------------------------------------------------------------------ configuration
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("guards", "guards (specialized functions)")
    group.addoption(
        "--guards-verify",
        action="store_true",
        default=False,
        help="run specialized functions in verify mode: every hit is checked "
        "against a fresh call, and a difference raises StaleHitError",
    )
    parser.addini(
        "guards_verify",
        type="bool",
        default=False,
        help="as --guards-verify, for every run",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(MissLimit(), "guards-max-misses")
    config.addinivalue_line(
        "markers",
        f"{MAX_MISSES_MARKER}(n): fail the test when its body causes more than n misses "
        "of specialized functions (guards)",
    )
    config.addinivalue_line(
        "markers",
        f"{VERIFY_MARKER}(share=True): run specialized functions in verify mode during "
        "the test (guards); False turns off --guards-verify for it",
    )


# ------------------------------------------------------------------------- hooks
# Old-style hook wrappers and plain hooks, which every pytest supports: the plugin
# loads under whatever pytest is installed beside guards.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Verify mode, when asked for, over the whole test: setup, body and teardown."""
    try:
        share = verify_share(item)
    except (TypeError, ValueError):
        share = None  # reported by pytest_runtest_setup, as an error of the test
    if share is None:
        yield
        return
    # patch() is typed as a ContextDecorator; it is a context manager too.
    with cast(AbstractContextManager[object], guards_config.patch(verify=share)):
        yield


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A bad ``guards_verify`` marker fails the test's setup, naming the marker."""
    try:
        verify_share(item)
    except (TypeError, ValueError) as exc:
        message = str(exc)
    else:
        return
    pytest.fail(message, pytrace=False)


def verify_share(item: pytest.Item) -> bool | float | None:
    """The verify share a test asks for, or None to leave ``guards.config`` alone.

    The ``guards_verify`` marker wins (``True`` when it has no argument); else
    ``--guards-verify`` or the ini option ``guards_verify`` mean ``True``.
    Raises ``GuardsTypeError`` or ``GuardsValueError`` for a bad marker.
    """
    marker = item.get_closest_marker(VERIFY_MARKER)
    if marker is None:
        if item.config.getoption("guards_verify") or item.config.getini("guards_verify"):
            return True
        return None
    share = marker.args[0] if marker.args else marker.kwargs.get("share", True)
    check_verify_share(f"@pytest.mark.{VERIFY_MARKER}", share)
    result: bool | float = share
    return result


class MissLimit:
    """The ``guards_max_misses`` marker: misses counted over the test body alone.

    Registered as a plugin of its own by :func:`pytest_configure`: it counts
    from after the last fixture is set up (so a fixture may warm a cache up)
    to the end of the body, and fails the test, after its body passed, when
    the count is over the marker's limit.  The failure lists the misses per
    function and what ``guards.recompiles`` said about them, once: in the
    message, and not in pytest's captured log, unless the logger was on at
    INFO anyway (``--log-level=INFO``, say), when the captured log has it and
    the message points there.
    """

    KEY = pytest.StashKey[tuple[MissCounter, RecompileLog, int, bool]]()

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        marker = item.get_closest_marker(MAX_MISSES_MARKER)
        if marker is None:
            return
        limit = marker.args[0] if marker.args else marker.kwargs.get("n")
        if type(limit) is not int or limit < 0:
            pytest.fail(f"@pytest.mark.{MAX_MISSES_MARKER}(n) needs an int n >= 0, "
                        f"got {limit!r}", pytrace=False)
        counter, log = MissCounter(), RecompileLog()
        stack = contextlib.ExitStack()
        # pytest's captured log gets only the records it would have got without the
        # marker: those logged because the marker turned the logger on to INFO are
        # in the failure message, and would otherwise be printed twice.
        report = getattr(item.config.pluginmanager.get_plugin("logging-plugin"),
                         "report_handler", None)
        level = recompiles_log.getEffectiveLevel()
        shown_by_pytest = (
            isinstance(report, logging.Handler) and level <= logging.INFO
            and report.level <= logging.INFO
            and item.config.getoption("showcapture", "all") in ("all", "log")
        )
        if isinstance(report, logging.Handler):
            hidden = _BelowLevel(level)
            report.addFilter(hidden)
            stack.callback(report.removeFilter, hidden)
        stack.enter_context(watching_misses(counter))
        stack.enter_context(log.capturing())
        item.addfinalizer(stack.close)
        item.stash[self.KEY] = (counter, log, limit, shown_by_pytest)

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        watch = item.stash.get(self.KEY, None)
        if watch is None:
            return
        counter, log, limit, shown_by_pytest = watch
        if counter.count > limit:
            message = f"@pytest.mark.{MAX_MISSES_MARKER}({limit}): {counter.describe(limit)}"
            if log.records and shown_by_pytest:
                message += "\nthe guards.recompiles log of the test is in its captured log below"
            elif log.records:
                message += "\nthe guards.recompiles log of the test:\n" + log.text
            pytest.fail(message, pytrace=False)


class _BelowLevel(logging.Filter):
    """Drops the ``guards.recompiles`` records below ``level`` (the logger's own level)."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name != recompiles_log.name or record.levelno >= self.level
