"""Layers: data flows one way between bot/'s packages, and only the CLI wiring knows the sandbox.

tools → (pagerduty, analysis); store → tools; present → tools; agent → present, tools, store;
slack → agent, present, tools, store; terminal → agent, present, tools, store, sandbox; ``bot.cli`` →
everything. The graph is read from the source
with :mod:`ast` (no import runs), every ``import`` counted, including the ones inside functions; those
under ``if TYPE_CHECKING:`` are kept apart so a failure says which kind closed the loop.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BOT = Path(__file__).resolve().parents[1] / "bot"

SANDBOX_WIRING = frozenset({"bot.slack.serve", "bot.slack.sandbox_backend"})
"""The only modules of bot/agent and bot/slack that may import bot/sandbox: ``alex serve --sandbox``."""

LOWER_LAYERS = ("bot.pagerduty", "bot.analysis", "bot.tools", "bot.store")
FRONT_DOORS = ("bot.agent", "bot.slack", "bot.terminal", "bot.mcp", "bot.evals", "bot.doctor", "bot.cli")


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    type_checking: bool
    line: int


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    return [source] + [f"{source}.{alias.name}" for alias in node.names]


def _walk(node: ast.AST, type_checking: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement under ``node``, with whether it sits under ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, type_checking
        elif isinstance(child, ast.If) and _is_type_checking(child):
            for stmt in child.body:
                yield from _walk_stmt(stmt, True)
            for stmt in child.orelse:
                yield from _walk_stmt(stmt, type_checking)
        else:
            yield from _walk(child, type_checking)


def _walk_stmt(stmt: ast.stmt, type_checking: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    if isinstance(stmt, ast.Import | ast.ImportFrom):
        yield stmt, type_checking
    else:
        yield from _walk(ast.Module(body=[stmt], type_ignores=[]), type_checking)


def imports(root: Path = BOT) -> list[Import]:
    """Every import of a ``bot`` module by a module under ``root``, resolved to the module it names."""
    modules = {_module_name(p, root): p for p in root.rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in modules:  # ``bot.config.Settings`` names the module ``bot.config``
            name = name.rpartition(".")[0]
        return name or None

    found: list[Import] = []
    for module, path in sorted(modules.items()):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node, type_checking in _walk(tree, False):
            for target in {resolve(t) for t in _targets(node, module, path.name == "__init__.py")}:
                if target is not None and target != module:
                    found.append(Import(module, target, type_checking, node.lineno))
    return found


def package_of(module: str) -> str:
    """``bot.present.kit.blocks`` → ``bot.present``; a top-level module (``bot.cli``) is its own node."""
    parts = module.split(".")
    return ".".join(parts[:2])


def package_cycles(found: list[Import]) -> list[list[str]]:
    """The groups of packages that import each other (strongly connected components of size > 1)."""
    graph: dict[str, set[str]] = {}
    for imp in found:
        a, b = package_of(imp.importer), package_of(imp.imported)
        if a != b and b != "bot":
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while (w := stack.pop()) != v:
                group.append(w)
            group.append(v)
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return cycles


def _explain(found: list[Import], group: list[str]) -> list[str]:
    return sorted({f"{i.importer}:{i.line} imports {i.imported}" + (" (TYPE_CHECKING)" if i.type_checking else "")
                   for i in found if package_of(i.importer) in group and package_of(i.imported) in group
                   and package_of(i.importer) != package_of(i.imported)})


def test_the_graph_sees_the_packages_it_checks() -> None:
    """A guard for the guards: the parser finds imports (an empty graph would pass every check below)."""
    edges = {(package_of(i.importer), package_of(i.imported)) for i in imports()}
    assert ("bot.slack", "bot.agent") in edges
    assert ("bot.terminal", "bot.sandbox") in edges
    assert ("bot.tools", "bot.pagerduty") in edges


def test_no_runtime_import_cycle_between_packages() -> None:
    found = [i for i in imports() if not i.type_checking]
    cycles = package_cycles(found)
    assert cycles == [], [(group, _explain(found, group)) for group in cycles]


def test_no_import_cycle_between_packages_even_for_type_checking() -> None:
    found = imports()
    cycles = package_cycles(found)
    assert cycles == [], [(group, _explain(found, group)) for group in cycles]


def test_lower_layers_never_import_a_front_door() -> None:
    """pagerduty, analysis, tools and store serve every surface; none of them knows one."""
    wrong = sorted(f"{i.importer}:{i.line} imports {i.imported}" for i in imports()
                   if package_of(i.importer) in LOWER_LAYERS and package_of(i.imported) in FRONT_DOORS)
    assert wrong == []


def test_presenters_sit_between_the_tools_and_the_surfaces() -> None:
    """bot/present reads typed results (tools, analysis) and knows no surface, no store, no agent."""
    wrong = sorted(f"{i.importer}:{i.line} imports {i.imported}" for i in imports()
                   if package_of(i.importer) == "bot.present"
                   and package_of(i.imported) not in ("bot.present", "bot.tools", "bot.analysis", "bot"))
    assert wrong == []
    below = sorted(f"{i.importer}:{i.line} imports {i.imported}" for i in imports()
                   if package_of(i.importer) in LOWER_LAYERS and package_of(i.imported) == "bot.present")
    assert below == []


def test_tools_never_import_the_store() -> None:
    """The store implements the tools' protocols (proposals, audit sink); the tools never reach up to it."""
    wrong = sorted(f"{i.importer}:{i.line} imports {i.imported}" for i in imports()
                   if package_of(i.importer) in ("bot.tools", "bot.pagerduty", "bot.analysis")
                   and package_of(i.imported) == "bot.store")
    assert wrong == []


def test_agent_and_slack_import_the_sandbox_only_in_the_cli_wiring() -> None:
    wrong = sorted(f"{i.importer}:{i.line} imports {i.imported}" for i in imports()
                   if package_of(i.importer) in ("bot.agent", "bot.slack") and package_of(i.imported) == "bot.sandbox"
                   and i.importer not in SANDBOX_WIRING)
    assert wrong == []
    assert all((BOT.parent / (m.replace(".", "/") + ".py")).is_file() for m in SANDBOX_WIRING), \
        "a listed wiring module is gone: update SANDBOX_WIRING"
