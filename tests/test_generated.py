"""Generated code: every generated function shows its text, under a name of its own, while it lives.

Each kind of generated function (a compiled check and its explain variant, a
``bind_args`` stub, a cache accessor, a specialized function's front and its
entries) is found by the file name of its code, and its ``linecache`` lines
must be the text it was compiled from.
"""

from __future__ import annotations

import builtins
import gc
import inspect
import linecache
import traceback
import types
from collections.abc import Callable
from typing import Any

import pytest

import guards
from guards import AttrSource, GuardBuilder, LocalSource, compile_guards, tracing
from guards.checks import generated
from guards.checks.codegen import compile_accessor
from guards.checks.generated import LineWriter, compile_generated, generated_filename

x = LocalSource("x")


def registered_text(code: types.CodeType) -> str:
    """The text ``linecache`` holds for ``code``'s file (asserting it holds some)."""
    assert code.co_filename.startswith("<guards "), code.co_filename
    assert code.co_filename in linecache.cache
    return "".join(linecache.getlines(code.co_filename))


def assert_shows_source(function: Callable[..., Any]) -> None:
    """``function``'s own ``def`` is in the registered text, where its code says it is."""
    code = function.__code__
    text = registered_text(code)
    compile(text, code.co_filename, "exec")  # the real, whole source
    first = linecache.getline(code.co_filename, code.co_firstlineno)
    assert first.lstrip().startswith("def "), first
    # Of the code: a specialized function's __wrapped__ leads inspect to the user's def.
    assert inspect.getsource(code) in text


def generated_functions(kind: str) -> list[types.FunctionType]:
    """Every live function made by :func:`compile_generated` for ``kind``."""
    gc.collect()
    return [
        obj for obj in gc.get_objects()
        if type(obj) is types.FunctionType  # not isinstance: hostile objects in other tests
        and obj.__code__.co_filename.startswith(f"<guards {kind} ")
    ]


def gone_after_collect(filename: str) -> bool:
    gc.collect()
    return filename not in linecache.cache


# ------------------------------------------------------------- every kind shows its text
def test_a_compiled_check_shows_its_text() -> None:
    cf = compile_guards([x.make_guard(GuardBuilder.EQUALS_MATCH)], {"x": 1})
    assert_shows_source(cf.python_check)
    assert registered_text(cf.python_check.__code__) == cf.code
    assert cf.filename == cf.python_check.__code__.co_filename
    assert (cf.check is cf.python_check) is not cf.native
    assert cf.filename.startswith("<guards check L['x'] #")


def test_the_explain_variant_of_a_check_shows_its_text() -> None:
    cf = compile_guards(
        [x.make_guard(GuardBuilder.EQUALS_MATCH), x.make_guard(GuardBuilder.TYPE_MATCH)], {"x": 1}
    )
    before = {f.__code__.co_filename for f in generated_functions("explain")}
    assert not cf.check_verbose({"x": 2}).passed
    made = [f for f in generated_functions("explain") if f.__code__.co_filename not in before]
    assert len(made) == 2  # one predicate per check
    assert len({f.__code__.co_filename for f in made}) == 1  # compiled as one text
    for predicate in made:
        assert_shows_source(predicate)
        assert predicate.__globals__["__name__"].startswith("guards.")
    filename = made[0].__code__.co_filename
    assert filename != cf.filename
    del cf, made, predicate
    assert gone_after_collect(filename)


def test_a_binding_stub_shows_its_text() -> None:
    namespace: dict[str, Any] = {}
    exec("def target(a, b=2, *, c):\n    return a\n", namespace)  # a code of its own
    with tracing({"f": namespace["target"]}) as tx:
        tx.local("f").bind(1, c=3)
    (stub,) = [
        f for f in generated_functions("binding stub") if f.__code__.co_qualname == "target"
    ]
    assert_shows_source(stub)
    filename = stub.__code__.co_filename
    assert filename.startswith("<guards binding stub target #")
    del stub, namespace, tx
    assert gone_after_collect(filename)  # the stub lives as long as the target's code


def test_a_cache_accessor_shows_its_text() -> None:
    get = compile_accessor(AttrSource(x, "attr"))
    text = registered_text(get.__code__)
    assert "def get(L, G=None):" in text
    assert inspect.getsource(get) in text
    assert "return " in linecache.getline(get.__code__.co_filename, get.__code__.co_firstlineno + 1)
    filename = get.__code__.co_filename
    del get
    assert gone_after_collect(filename)


def test_a_specialized_function_and_its_entries_show_their_text() -> None:
    @guards.specialize(max_entries=16)
    def double(n: int) -> int:
        return n * 2

    assert_shows_source(double)
    for n in range(8):  # more entries than are inlined: each one gets a function
        assert double(n) == n * 2
    assert_shows_source(double)
    entries = [f for f in generated_functions("entry") if "double" in f.__code__.co_filename]
    assert entries
    for entry in entries:
        assert_shows_source(entry)
        assert entry.__globals__["__name__"].startswith("guards.")
    files = {double.__code__.co_filename} | {f.__code__.co_filename for f in entries}
    del double, entries, entry
    gc.collect()
    assert not files & set(linecache.cache)


# ------------------------------------------------------------------ unique names, lifetime
def test_two_compilations_of_one_guard_set_have_their_own_files() -> None:
    guard_list = [x.make_guard(GuardBuilder.EQUALS_MATCH)]
    first = compile_guards(guard_list, {"x": 1})
    second = compile_guards(guard_list, {"x": 1})
    assert first.code == second.code
    assert first.filename != second.filename
    assert first.check_verbose({"x": 2}).failures and second.check_verbose({"x": 2}).failures
    get1, get2 = compile_accessor(x), compile_accessor(x)
    assert get1.__code__.co_filename != get2.__code__.co_filename
    gone = first.filename
    del first
    assert gone_after_collect(gone)
    assert second.filename in linecache.cache  # the other one's entry stays


def test_the_entry_goes_when_its_owner_dies() -> None:
    class Owner:
        def __init__(self, namespace: dict[str, Any]) -> None:
            self.function = namespace["f"]

    owner = compile_generated(
        "def f():\n    return 1\n", kind="check", label="test", namespace={}, owner=Owner
    )
    filename = owner.function.__code__.co_filename
    assert linecache.getline(filename, 2).strip() == "return 1"
    del owner
    assert gone_after_collect(filename)


def test_file_names_escape_their_labels() -> None:
    name = generated_filename("check", "L['a\nb\u00e9']" + "x" * 200)
    assert name.isascii() and name.isprintable()
    assert name.startswith("<guards check L['a\\nb\\xe9']") and name.endswith(">")
    assert len(name) < 120


def test_generated_globals_are_library_code() -> None:
    namespace: dict[str, Any] = {}
    compile_generated("def f():\n    pass\n", kind="check", label="t", namespace=namespace,
                      owner=lambda ns: ns["f"])
    assert namespace["__name__"].startswith("guards.")
    assert "__builtins__" in namespace


# --------------------------------------------------------------------------- tracebacks
class Interrupt(BaseException):
    """Not an ``Exception``: a check lets it through (as it does ``KeyboardInterrupt``)."""


class Raises:
    @property
    def attr(self) -> int:
        raise Interrupt


class Fine:
    attr = 1


def test_a_traceback_through_a_check_shows_the_generated_line() -> None:
    cf = compile_guards([AttrSource(x, "attr").make_guard(GuardBuilder.TYPE_MATCH)], {"x": Fine()})
    with pytest.raises(Interrupt) as info:
        cf.python_check({"x": Raises()})
    tb = traceback.extract_tb(info.value.__traceback__)
    frames = [frame for frame in tb if frame.filename == cf.filename]
    assert len(frames) == 1
    line = frames[0].line
    assert line is not None and line.endswith(".attr")  # the step that raised
    assert frames[0].lineno is not None
    assert line == cf.code.splitlines()[frames[0].lineno - 1].strip()
    text = "".join(traceback.format_exception(info.value))
    assert f'File "{cf.filename}"' in text and line in text


def test_a_traceback_through_a_specialized_function_shows_its_front() -> None:
    @guards.specialize
    def fails(n: int) -> int:
        raise ValueError(n)

    with pytest.raises(ValueError) as info:
        fails(1)
    frames = [
        f for f in traceback.extract_tb(info.value.__traceback__)
        if f.filename == fails.__code__.co_filename
    ]
    assert frames and frames[0].line and frames[0].line.startswith("return ")


# --------------------------------------------------------------------------- LineWriter
def test_line_writer_indents_blocks() -> None:
    writer = LineWriter()
    writer.line("def f(a):")
    with writer.indent():
        writer.line("if a:")
        with writer.indent():
            writer.lines(["b = 1", "return b"])
        writer.line("return 0")
    writer.line("x = f(1)")
    assert writer.text() == (
        "def f(a):\n    if a:\n        b = 1\n        return b\n    return 0\nx = f(1)\n"
    )
    inner = LineWriter()
    inner.line("while True:")
    with inner.indent():
        inner.line("break")
    outer = LineWriter()
    with outer.indent():
        outer.lines(inner.getlines())
    assert outer.text() == "    while True:\n        break\n"


def test_line_writer_restores_the_indentation_after_an_error() -> None:
    writer = LineWriter()
    with pytest.raises(RuntimeError), writer.indent():
        raise RuntimeError
    writer.line("x")
    assert writer.text() == "x\n"


# --------------------------------------------------------------- compiled once per text
@pytest.fixture
def compiled_texts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The file names ``compile`` is called with, from now on, by generated code."""
    names: list[str] = []
    real = builtins.compile

    def counting(text: str, filename: str, mode: str) -> types.CodeType:
        names.append(filename)
        return real(text, filename, mode)

    monkeypatch.setattr(generated, "compile", counting, raising=False)
    return names


def test_a_text_generated_again_is_compiled_once_and_shows_under_its_own_name(
    compiled_texts: list[str],
) -> None:
    text = "def f(x):\n    def inner():\n        return 1 // x\n    return inner()\n"

    def make() -> Any:
        return compile_generated(text, kind="check", label="again", namespace={},
                                 owner=lambda namespace: namespace["f"])

    first, second = make(), make()
    assert len(compiled_texts) == 1
    assert first(1) == second(1) == 1
    assert first.__code__.co_filename != second.__code__.co_filename
    for function in (first, second):
        assert_shows_source(function)
        with pytest.raises(ZeroDivisionError) as info:
            function(0)
        frames = traceback.extract_tb(info.value.__traceback__)
        inner = [f for f in frames if f.name == "inner"]  # a nested code object
        assert inner[0].filename == function.__code__.co_filename
        assert inner[0].line == "return 1 // x"


def test_misses_of_one_shape_compile_their_check_once(compiled_texts: list[str]) -> None:
    class Bag:
        def __init__(self, a: int, b: int) -> None:
            self.a, self.b = a, b

    def read(o: Bag) -> int:
        return o.a * 10 + o.b

    specialized = guards.specialize(max_entries=1)(read)
    for a in range(3):  # the first misses compile their check and front
        assert specialized(Bag(a, 1)) == a * 10 + 1
    compiled_texts.clear()
    for a in range(3, 6):
        bag = Bag(a, 2)
        assert specialized(bag) == a * 10 + 2 and specialized(bag) == a * 10 + 2
    assert specialized.cache.info().misses == 6 and specialized.cache.info().hits == 3
    # The check's text is the same at every miss.  The front's names are taken again
    # once the body that used them is gone (dispatcher.py): a body still running at a
    # miss (the call itself) makes one more set of names, and one more text, once.
    assert not [name for name in compiled_texts if name.startswith("<guards check")]
    assert len(compiled_texts) <= 1
    [entry] = specialized.cache.entries
    assert not entry.check.check({"o": Bag(4, 2)}) and entry.check.check({"o": Bag(5, 2)})
    assert entry.check.filename in linecache.cache
