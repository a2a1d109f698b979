"""The shape of the house, kept by reading every import (those inside functions too).

* The service layer of `app` — every module that is not a page, form, schema, command
  or API module — is made of packages that depend on each other in one order:

      extensions → core → auth → notifications → market → ledger → proposals
                 → reporting → matching

  A package imports only packages before it, so there is no cycle, hidden or not.
* The web layer — each package's `routes.py`, `forms.py`, `schemas.py` and `cli.py`,
  and the packages `api`, `web`, `admin`, `demo`, `main`, `jobs` (the job queue's
  entry points: each job commits once, like a command), the factory (`app/__init__`)
  and the model registry (`app/models.py`) — sits on top: it may import any service
  package, and no service module imports it.
* The matching engine (`matching_engine`) imports nothing of the web app (its own
  purity test, tests/unit/engine/test_engine_purity.py, also runs it in a fresh
  interpreter).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"

ORDER = ("extensions", "core", "auth", "notifications", "market", "ledger", "proposals",
         "reporting", "matching")
WEB_FILES = {"routes.py", "forms.py", "schemas.py", "cli.py"}
WEB_PACKAGES = {"api", "web", "admin", "demo", "main", "jobs"}
WEB_ROOT_MODULES = {"app", "app.models"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in the file, as absolute names. `from a.b
    import c` yields `a.b.c` (c may be a module) as well as `a.b`."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            found.add(origin)
            found.update(f"{origin}.{alias.name}" for alias in node.names)
    return found


def is_web(module: str) -> bool:
    parts = module.split(".")
    if module in WEB_ROOT_MODULES:
        return True
    return len(parts) >= 2 and (parts[1] in WEB_PACKAGES or f"{parts[-1]}.py" in WEB_FILES)


def package_of(module: str) -> str:
    """`app.market.listings` → `market`; `app.extensions` → `extensions`."""
    return module.split(".")[1]


def app_modules() -> dict[str, set[str]]:
    """Module → the app modules it imports (only names that are real modules/packages)."""
    paths = {module_name(path): path for path in APP.rglob("*.py")}
    graph = {}
    for module, path in paths.items():
        graph[module] = {name for name in imports_of(path) if name in paths and name != module}
    return graph


def layering_problems(graph: dict[str, set[str]], order: tuple[str, ...] = ORDER) -> list[str]:
    """What breaks the rules in the module docstring, one line each."""
    rank = {package: i for i, package in enumerate(order)}
    problems = []
    for module, targets in sorted(graph.items()):
        if is_web(module):
            continue
        source = package_of(module)
        if source not in rank:
            problems.append(f"{module}: package {source!r} has no place in the order")
            continue
        for target in sorted(targets):
            if is_web(target):
                problems.append(f"{module} imports the web module {target}")
            elif package_of(target) != source and rank.get(package_of(target), 99) > rank[source]:
                problems.append(f"{module} imports {target}, which comes later in the order")
    return problems


def package_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles among service packages (depth-first search on the package graph)."""
    edges: dict[str, set[str]] = {}
    for module, targets in graph.items():
        if is_web(module):
            continue
        for target in targets:
            if not is_web(target) and package_of(target) != package_of(module):
                edges.setdefault(package_of(module), set()).add(package_of(target))
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return cycles


def test_the_service_layer_follows_one_order_and_never_imports_the_web():
    graph = app_modules()
    assert len(graph) > 60  # the check really reads the app
    assert layering_problems(graph) == []
    assert package_cycles(graph) == []


def test_every_app_package_is_placed():
    packages = {p.name for p in APP.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages - set(ORDER) - WEB_PACKAGES == set()


def test_the_engine_imports_nothing_of_the_web_app():
    for path in (ROOT / "matching_engine").rglob("*.py"):
        roots = {name.split(".")[0] for name in imports_of(path)}
        assert not roots & {"app", "flask", "sqlalchemy", "config"}, path


def test_the_checker_sees_cycles_hidden_in_functions_and_imports_of_the_web(tmp_path):
    module = tmp_path / "app" / "ledger" / "services.py"
    module.parent.mkdir(parents=True)
    module.write_text("def f():\n    from app.proposals import lifecycle\n"
                      "    from ..api import core\n    from . import routes\n")
    names = imports_of_relative(module, tmp_path)
    assert {"app.proposals.lifecycle", "app.api.core", "app.ledger.routes"} <= names
    graph = {
        "app.ledger.services": {"app.proposals.lifecycle", "app.api.core",
                                "app.ledger.routes"},
        "app.proposals.lifecycle": {"app.ledger.services"},
        "app.api.core": set(), "app.ledger.routes": set(),
    }
    problems = layering_problems(graph)
    assert any("later in the order" in p for p in problems)
    assert any("web module app.api.core" in p for p in problems)
    assert any("web module app.ledger.routes" in p for p in problems)
    assert package_cycles(graph) == [["ledger", "proposals", "ledger"]]


def imports_of_relative(path: Path, root: Path) -> set[str]:
    """`imports_of` for a file under another root (the checker's own test)."""
    global ROOT
    saved, ROOT = ROOT, root
    try:
        return imports_of(path)
    finally:
        ROOT = saved
