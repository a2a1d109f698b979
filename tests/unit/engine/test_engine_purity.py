"""The engine stays pure: no Flask, no SQLAlchemy, nothing from the web app (``app``)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import matching_engine as engine

FORBIDDEN_ROOTS = {"app", "flask", "flask_sqlalchemy", "flask_login", "flask_wtf",
                   "flask_migrate", "sqlalchemy", "werkzeug", "config"}
ROOT = Path(__file__).resolve().parents[3]


def imported_modules(path: Path, package: str = "matching_engine") -> list[tuple[str, int]]:
    """Absolute module names imported by ``path`` (relative imports resolved), including
    imports inside functions."""
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
        package = ".".join(("matching_engine",) + path.relative_to(root).parent.parts)
        for name, line in imported_modules(path, package):
            if name.split(".")[0] in FORBIDDEN_ROOTS:
                problems.append(f"{path.name}:{line} imports {name}")
    assert problems == []


def test_the_checker_catches_forbidden_imports(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import flask\nfrom sqlalchemy import select\nfrom app.models import X\n"
                   "def f():\n    from . import highs\n    import app.matching\n")
    names = [name for name, _ in imported_modules(bad)]
    assert names == ["flask", "sqlalchemy", "app.models", "matching_engine", "app.matching"]


def test_importing_and_running_the_engine_loads_no_web_stack(tmp_path):
    """A fresh interpreter: importing the engine, solving a document and running its CLI's
    parser load neither Flask, SQLAlchemy nor the web app."""
    code = (
        "import sys, matching_engine\n"
        "from matching_engine.__main__ import main\n"
        "r = matching_engine.solve({'nodes': [{'id': 'a'}, {'id': 'b'}],"
        " 'arcs': [{'from': 'a', 'to': 'b'}, {'from': 'b', 'to': 'a'}], 'settings': {}})\n"
        "assert r['objective'] == 2, r\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{sorted(FORBIDDEN_ROOTS)!r})\n"
        "print(loaded)\n"
        "assert loaded == [], loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
