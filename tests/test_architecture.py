"""The architecture rules that import-linter (``lint-imports``, see pyproject.toml) cannot express.

- No import cycle between bot's modules, a package's ``__init__`` included (import-linter's
  ``acyclic_siblings`` contract checks cycles between the children of each package, not a child importing
  its own parent package).
- No private name crosses a module boundary: no ``from module import _name``, no import of another package's
  private module (``a._b``), no ``something._name`` unless this module defines ``_name`` itself.

Static checks (grimp's import graph, the syntax tree): nothing of bot is imported, no model is loaded.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(
    [
        *(path for folder in ("bot", "evals", "bench") for path in (ROOT / folder).rglob("*.py")),
        ROOT / "app.py",
        ROOT / "ingest.py",
    ]
)
# The one import that closes a cycle, allowed: `python -m bot.config` runs the settings-table tool, which
# reads the decision thresholds (bot.answering); the import is inside bot.config's main(), which only that
# command runs. The same exception is in pyproject.toml's import-linter contracts.
ALLOWED_CYCLE_IMPORTS = {("bot.config", "bot.settings_table")}
# Underscore names that are public API by convention (namedtuple's methods).
PUBLIC_UNDERSCORE_NAMES = {"_asdict", "_fields", "_field_defaults", "_make", "_replace"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in PUBLIC_UNDERSCORE_NAMES


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_cycle_finder_finds_a_cycle_and_only_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_bot_modules() -> None:
    imports = grimp.build_graph("bot", cache_dir=None)
    graph = {
        module: {
            imported
            for imported in imports.find_modules_directly_imported_by(module)
            if (module, imported) not in ALLOWED_CYCLE_IMPORTS
        }
        for module in imports.modules
    }
    cycles = _cycles(graph)
    explained = [[f"{a} -> {b}" for a in cycle for b in sorted(graph[a] & set(cycle))] for cycle in cycles]
    assert not cycles, f"import cycles in bot (break each, e.g. by moving a shared type to bot.schema): {explained}"


def _imports_of(tree: ast.Module, module: str, is_package: bool) -> Iterator[tuple[int, str, list[str]]]:
    """``(line, imported module, names)`` for every import, relative ones resolved."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            yield node.lineno, base, [alias.name for alias in node.names]


def _private_import_problems(path: Path, root: Path = ROOT) -> list[str]:
    module = _module_name(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    problems = []
    for line, imported, names in _imports_of(tree, module, path.name == "__init__.py"):
        where = f"{path.relative_to(root)}:{line}"
        parts = imported.split(".")
        for n, part in enumerate(parts):
            owner = ".".join(parts[:n])  # the package a private module belongs to: only it may import it
            if _private(part) and not (module == owner or module.startswith(owner + ".")):
                problems.append(f"{where}: imports the private module {imported}")
        problems += [f"{where}: imports the private name {name} from {imported}" for name in names if _private(name)]
    return problems


def _defined_private_names(tree: ast.Module) -> set[str]:
    """The private names this module defines: functions, classes, assigned names and attributes."""
    defined = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            defined.add(node.attr)
    return {name for name in defined if _private(name)}


def _private_attribute_problems(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    own = _defined_private_names(tree)
    problems = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _private(node.attr)) or node.attr in own:
            continue
        target = node.value
        if isinstance(target, ast.Name) and target.id in ("self", "cls"):
            continue  # an attribute a base class defines, used by its subclass
        if isinstance(target, ast.Call) and isinstance(target.func, ast.Name) and target.func.id == "super":
            continue
        problems.append(f"{path.relative_to(root)}:{node.lineno}: reaches into {ast.unparse(node)}")
    return problems


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_name_is_imported_across_modules(path: Path) -> None:
    problems = _private_import_problems(path)
    assert not problems, "use or add a public name instead:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_attribute_of_another_module_is_used(path: Path) -> None:
    problems = _private_attribute_problems(path)
    assert not problems, "use or add a public name instead:\n" + "\n".join(problems)


def test_the_private_name_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "from langchain_core.indexing.api import _get_document_with_hash\n"
        "from bot.x._inner import thing\n"
        "import collections\n"
        "count = store._collection.count()\n"
        "self._mine = 1\n"
        "other._mine\n"
        "point._replace(x=1)\n",
        encoding="utf-8",
    )
    imports, attributes = _private_import_problems(source, tmp_path), _private_attribute_problems(source, tmp_path)
    assert [p.split(": ", 1)[1] for p in imports] == [
        "imports the private name _get_document_with_hash from langchain_core.indexing.api",
        "imports the private module bot.x._inner",
    ]
    assert [p.split(": ", 1)[1] for p in attributes] == ["reaches into store._collection"]
