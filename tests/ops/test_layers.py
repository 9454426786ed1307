"""The import map of the project's own packages: no cycle between modules, no import upward.

Every module's imports are read from its source (``ast``: module level, inside functions and
under ``TYPE_CHECKING`` alike, relative ones resolved), so an import that only runs in one
branch counts as much as one at the top. The layers, highest first (DESIGN.md, README
"Layout"); a package imports its own layer or lower ones only:

    deployments/   the deployments (serve, prefect.yaml's specs)
    cli/           the `aural` command
    flows/         the @flow modules and what only they use
    runtime/       Prefect plumbing that is no flow: local servers, runners, offline handling
    tasks/, demo_corpus/
    storage/
    aural_core/    pure: no Prefect either

Modules stay small: one over ``LONG_MODULE_LINES`` lines says why on its first line
(``# Over 350 lines: <reason>``).

The checker's own tests give it a small tree with a cycle, an upward import and a long module,
so that a checker that finds nothing cannot pass unnoticed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = (("aural_core",), ("storage",), ("tasks", "demo_corpus"), ("runtime",), ("flows",), ("cli",),
          ("deployments",))
# Third-party packages a layer must not import (aural_core is the domain logic, Prefect-free).
FORBIDDEN_EXTERNAL = {"aural_core": ("prefect", "prefect_dask", "distributed")}
NOT_LAYERED = {"tests", "benchmarks"}  # they may import any layer
LONG_MODULE_LINES = 350
LONG_REASON = "# Over 350 lines: "


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    imported: str  # dotted name as written (resolved when relative)
    line: int

    def where(self, root: Path) -> str:
        return f"{module_path(root, self.importer).relative_to(root)}:{self.line}"


def packages(root: Path) -> list[str]:
    """Top-level packages of the project under ``root`` (a folder with ``__init__.py``)."""
    return sorted(p.parent.name for p in root.glob("*/__init__.py") if p.parent.name not in NOT_LAYERED)


def modules(root: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of every layered package."""
    found = {}
    for package in packages(root):
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def module_path(root: Path, name: str) -> Path:
    return modules(root)[name]


def imports_of(name: str, path: Path) -> list[Import]:
    """Every import statement of the module ``name`` (file ``path``), relative ones resolved."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(name, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            # ``from package import module`` imports the module; ``from module import name`` the module
            found += [Import(name, f"{target}.{alias.name}", node.lineno) for alias in node.names]
    return found


def resolve(imported: str, known: dict[str, Path]) -> str | None:
    """The project module an import loads (its longest known prefix), None for a third party."""
    parts = imported.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def import_graph(root: Path) -> tuple[dict[str, set[str]], list[Import]]:
    """Module -> project modules it imports (a package's own ``__init__`` left out: importing a
    module of a package always runs it), and every import statement."""
    known = modules(root)
    graph: dict[str, set[str]] = {name: set() for name in known}
    statements = []
    for name, path in known.items():
        for imp in imports_of(name, path):
            statements.append(imp)
            target = resolve(imp.imported, known)
            if target is not None and target != name and not name.startswith(target + "."):
                graph[name].add(target)
    return graph, statements


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def layer(package: str) -> int:
    return next(i for i, names in enumerate(LAYERS) if package in names)


def upward_imports(root: Path) -> list[str]:
    """Each import that points to a higher layer, or to a third party its layer must not use."""
    known = modules(root)
    problems = []
    for imp in import_graph(root)[1]:
        importer_package = imp.importer.split(".")[0]
        target = resolve(imp.imported, known)
        if target is None:
            if imp.imported.split(".")[0] in FORBIDDEN_EXTERNAL.get(importer_package, ()):
                problems.append(f"{imp.where(root)}: {imp.importer} imports {imp.imported} "
                                f"({importer_package} must not import it)")
            continue
        target_package = target.split(".")[0]
        if layer(target_package) > layer(importer_package):
            problems.append(f"{imp.where(root)}: {imp.importer} imports {target} "
                            f"({importer_package} is below {target_package})")
    return problems


def long_modules_without_reason(root: Path) -> list[str]:
    """Modules over ``LONG_MODULE_LINES`` lines whose first line does not say why."""
    found = []
    for path in modules(root).values():
        lines = path.read_text().splitlines()
        says_why = lines and lines[0].startswith(LONG_REASON) and lines[0][len(LONG_REASON):].strip()
        if len(lines) > LONG_MODULE_LINES and not says_why:
            found.append(f"{path.relative_to(root)} ({len(lines)} lines)")
    return sorted(found)


def test_every_package_has_a_layer():
    unplaced = [p for p in packages(ROOT) if not any(p in names for names in LAYERS)]
    assert not unplaced, f"place the new package(s) {unplaced} in LAYERS (and DESIGN.md's layers)"


def test_no_import_cycle():
    graph = import_graph(ROOT)[0]
    assert len(graph) > 100, "the project's modules were not found"
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_no_import_points_upward():
    problems = upward_imports(ROOT)
    assert not problems, "imports across the layers the wrong way:\n" + "\n".join(problems)


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_checker_finds_a_cycle_through_a_function_level_import(tmp_path):
    root = _tree(tmp_path, {
        "flows/__init__.py": "", "runtime/__init__.py": "",
        "runtime/runners.py": "def make():\n    from .dask_runner import Runner\n",
        "runtime/dask_runner.py": "from runtime.runners import make\n",
        "runtime/workers.py": "from . import runners\n",
    })
    assert cycles(import_graph(root)[0]) == [["runtime.dask_runner", "runtime.runners"]]


def test_the_checker_finds_upward_and_forbidden_imports(tmp_path):
    root = _tree(tmp_path, {
        "aural_core/__init__.py": "", "storage/__init__.py": "", "flows/__init__.py": "",
        "cli/__init__.py": "", "deployments/__init__.py": "",
        "aural_core/pure.py": "import numpy\n\ndef f():\n    import prefect.flows\n",
        "storage/layout.py": "from aural_core import pure\n",
        "flows/watch.py": "from deployments.specs import EVENT\nfrom storage.layout import X\n",
        "deployments/specs.py": "EVENT = 'x'\n",
        "cli/main.py": "from flows import watch\n",
    })
    problems = upward_imports(root)
    assert len(problems) == 2, problems
    assert problems[0].startswith("aural_core/pure.py:4: aural_core.pure imports prefect.flows")
    assert problems[1] == "flows/watch.py:1: flows.watch imports deployments.specs (flows is below deployments)"


def test_long_modules_say_why():
    found = long_modules_without_reason(ROOT)
    assert not found, (f"split these modules, or give the reason on their first line ({LONG_REASON}<why>):\n"
                       + "\n".join(found))


def test_the_checker_finds_a_long_module_without_a_reason(tmp_path):
    body = "x = 1\n" * (LONG_MODULE_LINES + 1)
    root = _tree(tmp_path, {"storage/__init__.py": "", "storage/short.py": body[:LONG_MODULE_LINES * 6],
                            "storage/long.py": body, "storage/said.py": LONG_REASON + "one contract\n" + body,
                            "storage/empty_reason.py": LONG_REASON + "\n" + body})
    assert long_modules_without_reason(root) == [f"storage/empty_reason.py ({LONG_MODULE_LINES + 2} lines)",
                                                f"storage/long.py ({LONG_MODULE_LINES + 1} lines)"]
