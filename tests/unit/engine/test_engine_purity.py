"""The engine stays pure: no Flask, no SQLAlchemy, nothing from ``app.`` outside the engine."""

from __future__ import annotations

import ast
from pathlib import Path

import app.matching.engine as engine

FORBIDDEN_ROOTS = {"flask", "flask_sqlalchemy", "flask_login", "flask_wtf", "flask_migrate",
                   "sqlalchemy", "werkzeug"}


def imported_modules(path: Path) -> list[tuple[str, int]]:
    """Absolute module names imported by ``path`` (relative imports resolved)."""
    package = "app.matching.engine"
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                names.append(((base + "." + node.module) if node.module else base, node.lineno))
            else:
                names.append((node.module or "", node.lineno))
    return names


def test_every_engine_module_imports_only_pure_dependencies():
    root = Path(engine.__file__).parent
    modules = sorted(root.rglob("*.py"))
    assert len(modules) >= 10  # the check really reads the package
    problems = []
    for path in modules:
        for name, line in imported_modules(path):
            top = name.split(".")[0]
            if top in FORBIDDEN_ROOTS or (top == "app" and not (
                    name == "app.matching.engine" or name.startswith("app.matching.engine."))):
                problems.append(f"{path.name}:{line} imports {name}")
    assert problems == []


def test_the_checker_catches_forbidden_imports(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import flask\nfrom sqlalchemy import select\nfrom app.models import X\n"
                   "from .. import errors\nfrom . import highs\n")
    names = [name for name, _ in imported_modules(bad)]
    assert names == ["flask", "sqlalchemy", "app.models", "app.matching", "app.matching.engine"]
