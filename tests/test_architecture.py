"""The house rules, checked on the source.

- The pure core stays pure: domain/ does no I/O, reads no clock and no environment. That
  is what lets matching, scoring, rules, lifecycle and scheduling be tested in
  milliseconds with a fake clock.
- No two modules import each other, even through others or only for type checking.
- Each layer imports only the layers below it (LAYERS, lowest first; CONTRIBUTING.md
  explains the arrangement).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).parents[1] / "src"
PACKAGE = SOURCE / "vinyl_detective"
DOMAIN = PACKAGE / "domain"
FORBIDDEN_MODULES = {
    "httpx",
    "sqlalchemy",
    "telegram",
    "apprise",
    "fastapi",
    "aio_pika",
    "uvicorn",
    "requests",
    "socket",
    "subprocess",
    "sqlite3",
    "os",
    "dotenv",
    "asyncio",
}
FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
    ("os", "getenv"),
}
ALLOWED_INTERNAL = ("vinyl_detective.domain", "vinyl_detective.errors")


def _modules() -> list[Path]:
    return sorted(DOMAIN.glob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_domain_module_imports_nothing_that_does_io(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN_MODULES, f"{path.name} imports {name}"
            if name.startswith("vinyl_detective"):
                assert name.startswith(ALLOWED_INTERNAL), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_domain_module_reads_no_clock(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name):
                assert (owner.id, node.func.attr) not in FORBIDDEN_CALLS, (
                    f"{path.name}:{node.lineno} calls {owner.id}.{node.func.attr}(): pass time in"
                )


# The layers, lowest first. A unit is a top-level module or package of vinyl_detective
# ("" is the package's own __init__); it may import its own modules and units of lower
# layers, never a unit of its own layer or above.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"", "errors", "clock", "logs"}),
    frozenset({"domain"}),
    frozenset({"config"}),
    frozenset({"storage", "sources"}),
    frozenset({"notify", "events"}),
    frozenset({"service"}),
    frozenset({"jobs"}),
    frozenset({"explain", "feeds", "activity"}),
    frozenset({"api", "bot_backend"}),
    frozenset({"daemon"}),
    frozenset({"fakes"}),
    frozenset({"demo"}),
    frozenset({"cli"}),
    frozenset({"__main__"}),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imported_names(name: str, path: Path) -> set[str]:
    """Every module `name` imports anywhere: at the top, in functions, for type checking."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    modules: set[str] = set()
    for imported in found:
        while imported and imported not in MODULES:
            imported = imported.rpartition(".")[0]
        if imported and imported != name:
            modules.add(imported)
    return modules


IMPORTS = {name: _imported_names(name, path) for name, path in MODULES.items()}


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _layer(unit: str) -> int:
    for number, units in enumerate(LAYERS):
        if unit in units:
            return number
    raise AssertionError(f"vinyl_detective.{unit} is in no layer: add it to LAYERS")


def _cycle_through(start: str) -> list[str] | None:
    """A path of imports from `start` back to itself, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        module, path = stack.pop()
        for imported in sorted(IMPORTS[module]):
            if imported == start:
                return [*path, start]
            if imported not in seen:
                seen.add(imported)
                stack.append((imported, [*path, imported]))
    return None


def test_the_import_graph_is_read_whole() -> None:
    # The checks below are only as good as the graph: it must see the known edges.
    assert "vinyl_detective.domain.matching" in IMPORTS["vinyl_detective.jobs.pipeline"]
    assert "vinyl_detective.config" in IMPORTS["vinyl_detective.daemon"]
    assert "vinyl_detective.bot_backend" in IMPORTS["vinyl_detective.daemon"]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_itself_through_others(module: str) -> None:
    cycle = _cycle_through(module)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_layer_imports_only_the_layers_below(module: str) -> None:
    unit = _unit(module)
    layer = _layer(unit)
    for imported in sorted(IMPORTS[module]):
        other = _unit(imported)
        if other != unit:
            assert _layer(other) < layer, (
                f"{module} imports {imported}: {other or 'vinyl_detective'} is not below "
                f"{unit} in LAYERS"
            )
