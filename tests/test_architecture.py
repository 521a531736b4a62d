"""The pure core stays pure: domain/ does no I/O, reads no clock and no environment.

That is what lets matching, scoring, rules, lifecycle and scheduling be tested in
milliseconds with a fake clock; this test fails the moment that stops being true.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).parents[1] / "src" / "vinyl_detective" / "domain"
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
