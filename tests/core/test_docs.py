"""The public API of ``aural_core`` is documented in the librosa (numpydoc) style, and stays so.

Every public function, public method of a public class and hand-written ``__init__`` must have
a one-line summary (then a blank line, or nothing), a ``Parameters`` section naming exactly its
parameters, a ``Returns`` (or ``Yields``) section when it returns a value, and a ``Raises``
section naming every exception it raises itself. Options are keyword-only: a parameter with a
default may not be passed by position. Properties need a summary only.

What counts as "returns a value": a return annotation other than ``None``, or, without one, a
``return <value>`` in the function's own body. "Raises itself": a ``raise Name(...)`` in its own
body (errors of the functions it calls are documented by hand where they matter).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Callable, Iterator

import pytest

import aural_core

# Parameters with a default that stay positional, and why.
POSITIONAL_DEFAULTS = {
    # The one thing these load or pick; ``None`` means the shipped default.
    "aural_core.config.load_config": "path is the data",
    "aural_core.styles.load_style_table": "path is the data",
    "aural_core.hub.pick_device": "device is the data",
    "aural_core.embedders.clap.ClapEmbedder.from_pretrained": "model is the data (audiocraft's get_pretrained)",
    "aural_core.embedders.clap.ClapTagger.from_pretrained": "model is the data",
    "aural_core.render.musicgen.MusicgenRenderer.__init__": "model is the data",
    "aural_core.render.melody.MusicgenMelodyRenderer.__init__": "model is the data",
    # pickle rebuilds an error from positional arguments (``__reduce__``).
    "aural_core.errors.FilesFailedError.__init__": "pickled positionally",
}

SECTIONS = ("Parameters", "Returns", "Yields", "Raises", "See Also", "Notes", "Examples", "Attributes",
            "Other Parameters", "Warns")


@dataclasses.dataclass(frozen=True)
class Item:
    """One documented unit: ``kind`` is "function", "method", "property", "init" or "class"."""

    name: str
    obj: object
    kind: str
    owner: type | None = None


def _unwrap(obj) -> Callable | None:
    """The plain Python function behind a public attribute, or None when it is not one."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if hasattr(obj, "py_func"):  # a numba dispatcher
        obj = obj.py_func
    if isinstance(obj, functools._lru_cache_wrapper):
        obj = obj.__wrapped__
    return obj if inspect.isfunction(obj) else None


def _class_items(cls: type, prefix: str) -> Iterator[Item]:
    yield Item(prefix, cls, "class")
    # The class's own attributes and those of its private bases in aural_core (public bases
    # are checked where they are defined).
    owners = [k for k in cls.__mro__ if k is cls or (k.__module__.startswith("aural_core.")
                                                      and k.__name__.startswith("_"))]
    for klass in owners:
        for name, attr in vars(klass).items():
            if name == "__init__" and _source_defined(attr):
                yield Item(f"{prefix}.__init__", attr, "init", cls)
            if name.startswith("_"):
                continue
            if isinstance(attr, (property, functools.cached_property)):
                yield Item(f"{prefix}.{name}", attr.fget if isinstance(attr, property) else attr.func, "property")
            elif (func := _unwrap(attr)) is not None:
                yield Item(f"{prefix}.{name}", func, "method" if not isinstance(attr, staticmethod) else "function")


def _source_defined(func) -> bool:
    """A function written in aural_core (not one that ``dataclasses`` or ``typing.Protocol`` made)."""
    return (inspect.isfunction(func) and func.__module__.startswith("aural_core")
            and not func.__code__.co_filename.startswith("<"))


def public_items(package=aural_core) -> list[Item]:
    """Every public function, method, property, hand-written ``__init__`` and class of ``package``."""
    items = []
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isclass(obj):
                items.extend(_class_items(obj, f"{module.__name__}.{name}"))
            elif (func := _unwrap(obj)) is not None:
                items.append(Item(f"{module.__name__}.{name}", func, "function"))
    return items


# -- the checker ---------------------------------------------------------------------------------

def _sections(doc: str) -> dict[str, list[str]]:
    """numpydoc sections of a cleaned docstring: header -> its lines."""
    lines = doc.splitlines()
    out: dict[str, list[str]] = {}
    current = None
    for i, line in enumerate(lines):
        underline = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() in SECTIONS and underline.strip() and set(underline.strip()) == {"-"}:
            current = line.strip()
            out[current] = []
        elif current is not None and not (set(line.strip()) == {"-"} and lines[i - 1].strip() == current):
            out[current].append(line)
    return out


def _entry_names(lines: list[str]) -> set[str]:
    """Names of the entries of a Parameters / Raises section (unindented ``a, b : type`` lines)."""
    names = set()
    for line in lines:
        if line.strip() and not line[0].isspace():
            head = line.split(" : ")[0] if " : " in line else line
            names.update(part.strip().lstrip("*") for part in head.split(",") if part.strip())
    return names


def _own_nodes(func) -> list[ast.AST]:
    """AST nodes of ``func``'s own body (not of functions or classes nested in it)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return []
    root = next(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    nodes, stack = [], list(root.body)
    while stack:
        node = stack.pop()
        nodes.append(node)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))
    return nodes


def _returns_value(func) -> bool:
    annotation = inspect.signature(func).return_annotation
    if annotation is not inspect.Signature.empty:
        return annotation not in (None, "None")
    return any(isinstance(n, ast.Return) and n.value is not None
               and not (isinstance(n.value, ast.Constant) and n.value.value is None) for n in _own_nodes(func))


def _raised(func) -> set[str]:
    """Exception classes ``func`` raises by name in its own body."""
    names = set()
    for node in _own_nodes(func):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = exc.attr if isinstance(exc, ast.Attribute) else getattr(exc, "id", "")
            if name[:1].isupper():
                names.add(name)
    return names


def _doc(obj) -> str:
    doc = obj.__doc__ or ""
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj) and doc.startswith(obj.__name__ + "("):
        return ""  # the signature dataclasses writes when a class has no docstring
    return inspect.cleandoc(doc)


def _summary_problems(doc: str) -> list[str]:
    lines = doc.splitlines()
    if not lines or not lines[0].strip():
        return ["no docstring summary"]
    if len(lines) > 1 and lines[1].strip():
        return ["summary is not one line followed by a blank line"]
    return []


def check(item: Item) -> list[str]:
    """What is wrong with ``item``'s docstring and signature (empty when nothing is)."""
    if item.kind == "init":
        doc, func = _doc(item.owner), item.obj
    else:
        doc, func = _doc(item.obj), item.obj
    if item.kind in ("class", "property"):
        return _summary_problems(doc)
    problems = [] if item.kind == "init" else _summary_problems(doc)
    sections = _sections(doc)
    params = list(inspect.signature(func).parameters.values())
    if item.kind in ("method", "init"):
        params = params[1:]  # self / cls
    names = {p.name for p in params}
    documented = _entry_names(sections.get("Parameters", []))
    if names and "Parameters" not in sections:
        problems.append(f"no Parameters section for {sorted(names)}")
    elif names != documented:
        if names - documented:
            problems.append(f"Parameters misses {sorted(names - documented)}")
        if documented - names:
            problems.append(f"Parameters names {sorted(documented - names)}, which the signature lacks")
    if item.kind != "init" and _returns_value(func) and not ({"Returns", "Yields"} & sections.keys()):
        problems.append("returns a value but has no Returns section")
    missing = _raised(func) - _entry_names(sections.get("Raises", []))
    if missing:
        problems.append(f"Raises does not name {sorted(missing)}")
    positional = [p.name for p in params if p.default is not p.empty and p.kind is p.POSITIONAL_OR_KEYWORD]
    if positional and item.name not in POSITIONAL_DEFAULTS:
        problems.append(f"options {positional} are not keyword-only")
    return problems


# -- the tests -----------------------------------------------------------------------------------

ITEMS = public_items()


def test_the_walk_finds_the_public_api():
    names = {i.name for i in ITEMS}
    # A few of each kind, so that a broken walk cannot pass by finding nothing.
    assert {"aural_core.key.estimate_key", "aural_core.audio.load_audio", "aural_core._median.sliding_median_rows",
            "aural_core.features.extractor_fingerprint", "aural_core.config.FeatureConfig.config_hash",
            "aural_core.embedders.clap.ClapEmbedder.from_pretrained", "aural_core.render.musicgen.MusicgenRenderer",
            "aural_core.render.musicgen.MusicgenRenderer.__init__", "aural_core.spectral.SpectralAnalysis.f0",
            "aural_core.render.whole.loop_bars", "aural_core.agreement.scores.key_agreement",
            "aural_core.heads.TempoHead.forward", "aural_core.render.whole.Piece.total_bars",
            } <= names
    assert len(ITEMS) > 150


@pytest.mark.parametrize("item", ITEMS, ids=lambda i: i.name)
def test_public_api_is_documented(item):
    assert check(item) == []


def test_exemptions_name_real_functions():
    by_name = {i.name: i for i in ITEMS}
    assert set(POSITIONAL_DEFAULTS) <= set(by_name)
    # An exemption whose function no longer has a positional option is stale: drop it.
    for name in POSITIONAL_DEFAULTS:
        params = inspect.signature(by_name[name].obj).parameters.values()
        assert any(p.default is not p.empty and p.kind is p.POSITIONAL_OR_KEYWORD for p in params), name


# -- the checker fails where it should ------------------------------------------------------------

def _good(y, *, sr=22050):
    """Scale a signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int
        Sample rate (Hz).

    Returns
    -------
    np.ndarray [shape=(n,)]

    Raises
    ------
    ValueError
        When ``sr`` is not positive.
    """
    if sr <= 0:
        raise ValueError(sr)
    return y * sr


def _no_doc():
    pass


def _long_summary(y):
    """Scale a signal, with a summary
    that runs over two lines.

    Parameters
    ----------
    y : np.ndarray
    """


def _missing_param(y, *, sr):
    """Do nothing.

    Parameters
    ----------
    y : np.ndarray
    """


def _drifted_param(y):
    """Do nothing.

    Parameters
    ----------
    y, hop_length : np.ndarray
    """


def _no_returns(y):
    """Scale a signal.

    Parameters
    ----------
    y : np.ndarray
    """
    return 2 * y


def _annotated_no_returns(y) -> float:
    """Scale a signal.

    Parameters
    ----------
    y : np.ndarray
    """
    ...


def _undocumented_raise(y):
    """Check a signal.

    Parameters
    ----------
    y : np.ndarray
    """
    if y is None:
        raise ValueError("y is None")


def _positional_option(y, sr=22050):
    """Scale a signal.

    Parameters
    ----------
    y : np.ndarray
    sr : int
    """


@pytest.mark.parametrize(("func", "problem"), [
    (_no_doc, "no docstring summary"),
    (_long_summary, "summary is not one line"),
    (_missing_param, "Parameters misses ['sr']"),
    (_drifted_param, "Parameters names ['hop_length']"),
    (_no_returns, "no Returns section"),
    (_annotated_no_returns, "no Returns section"),
    (_undocumented_raise, "Raises does not name ['ValueError']"),
    (_positional_option, "options ['sr'] are not keyword-only"),
])
def test_checker_finds_each_problem(func, problem):
    assert check(Item(func.__name__, _good, "function")) == []
    problems = check(Item(func.__name__, func, "function"))
    assert len(problems) == 1 and problem in problems[0], problems
