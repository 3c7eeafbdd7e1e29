"""The import graph keeps one direction: apps import only the layers below them, and nothing cycles.

Read from the source with `ast` (no app is imported): every `import` counts, at module level or
inside a function, except those under `if TYPE_CHECKING:`, which never run. See README,
"Architecture", for the layers and where a new module goes.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Lowest first. An app may import only apps on an earlier layer; two apps on one layer may not
# import each other. What must flow upwards is an event or an interface declared below and
# registered above in AppConfig.ready().
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cpo_portal",),
    ("partners",),
    ("tariffs",),
    ("locations",),
    ("sessions",),
    ("payments", "chargers"),
    ("ocpi_api",),
    ("pushes",),
    ("finance", "demo", "backoffice"),
)
LAYER_OF: dict[str, int] = {app: index for index, apps in enumerate(LAYERS) for app in apps}
PORTAL_APPS = frozenset(LAYER_OF)
SIMULATOR = "ptp_simulator"
PACKAGES = (*PORTAL_APPS, SIMULATOR)


@dataclass(frozen=True)
class Import:
    """One import statement, resolved to the module of ours it loads."""

    source: str
    target: str
    line: int

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} ({module_path(self.source)}:{self.line})"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the portal's apps and of the simulator, by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        directory = ROOT / package
        if directory.is_dir():
            for path in sorted(directory.rglob("*.py")):
                found[module_name(path)] = path
    return found


def module_path(name: str) -> str:
    return str(modules()[name].relative_to(ROOT))


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def statements(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import in the tree, nested ones too, skipping the bodies of `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and is_type_checking(node.test):
            for child in node.orelse:
                yield from statements(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from statements(node)


def ours(dotted: str) -> str | None:
    """The deepest module of ours that `dotted` names (a package's `__init__` if no deeper one)."""
    known = modules()
    parts = dotted.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def imports_of(name: str) -> list[Import]:
    path = modules()[name]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []
    for node in statements(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            # `from package import module` loads the module; `from module import name` the module.
            targets = [f"{base}.{alias.name}" for alias in node.names]
        for dotted in targets:
            target = ours(dotted)
            if target is not None and target != name:
                found.append(Import(name, target, node.lineno))
    return found


@cache
def graph() -> tuple[Import, ...]:
    # One edge per line and target (`from x import a, b` is one arrow).
    return tuple(dict.fromkeys(edge for name in modules() for edge in imports_of(name)))


def app_of(module: str) -> str:
    return module.partition(".")[0]


def cycles(nodes: set[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(edges.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
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

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return found


def report(title: str, lines: list[str]) -> str:
    return f"{title} ({len(lines)}):\n  " + "\n  ".join(lines)


def test_the_graph_is_read_from_every_app() -> None:
    # A guard for the guard: if the walk found nothing, every other test here would pass vacuously.
    apps_seen = {app_of(name) for name in modules()}
    assert apps_seen >= PORTAL_APPS | {SIMULATOR}
    assert any(edge.source == "sessions.models" and app_of(edge.target) == "locations" for edge in graph())


def test_every_app_of_ours_has_a_layer() -> None:
    # An app left out of LAYERS would not be checked at all: a new app must choose its layer.
    apps_on_disk = {path.parent.name for path in ROOT.glob("*/apps.py")}
    assert apps_on_disk <= PORTAL_APPS, f"apps without a layer: {sorted(apps_on_disk - PORTAL_APPS)}"


def test_apps_import_only_the_layers_below_them() -> None:
    against = [
        f"{edge}: {app_of(edge.source)} (layer {LAYER_OF[app_of(edge.source)]}) may not import "
        f"{app_of(edge.target)} (layer {LAYER_OF[app_of(edge.target)]})"
        for edge in graph()
        if app_of(edge.source) in PORTAL_APPS
        and app_of(edge.target) in PORTAL_APPS
        and app_of(edge.source) != app_of(edge.target)
        and LAYER_OF[app_of(edge.target)] >= LAYER_OF[app_of(edge.source)]
    ]
    assert not against, report("Imports against the layer order", against)


def test_no_apps_import_each_other_in_a_cycle() -> None:
    edges: dict[str, set[str]] = {}
    for edge in graph():
        source, target = app_of(edge.source), app_of(edge.target)
        if source != target:
            edges.setdefault(source, set()).add(target)
    found = cycles(set(PACKAGES), edges)
    assert not found, report("Cycles between apps", [" <-> ".join(cycle) for cycle in found])


def test_no_modules_import_each_other_in_a_cycle() -> None:
    edges: dict[str, set[str]] = {}
    for edge in graph():
        edges.setdefault(edge.source, set()).add(edge.target)
    found = cycles(set(modules()), edges)
    lines = []
    for cycle in found:
        members = set(cycle)
        arrows = [str(edge) for edge in graph() if edge.source in members and edge.target in members]
        lines.append(" <-> ".join(cycle) + "\n      " + "\n      ".join(arrows))
    assert not found, report("Cycles between modules", lines)


def test_the_simulator_imports_nothing_of_the_portal() -> None:
    leaks = [
        str(edge) for edge in graph() if app_of(edge.source) == SIMULATOR and app_of(edge.target) != SIMULATOR
    ]
    assert not leaks, report("Simulator imports of the portal", leaks)


def test_the_walk_sees_function_level_imports_and_skips_type_checking_ones() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from pushes import services\n"
        "else:\n"
        "    import chargers\n"
        "def later():\n"
        "    from ocpi_api import formatting\n"
    )
    seen = [
        alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
        for node in statements(tree)
        for alias in node.names
    ]
    assert seen == ["typing.TYPE_CHECKING", "chargers", "ocpi_api.formatting"]


def private_uses(name: str) -> list[str]:
    """`_private` names of another module of ours that module ``name`` imports or reaches into."""
    path = modules()[name]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    bound: dict[str, str] = {}  # local name -> module of ours it stands for
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if ours(alias.name) == alias.name:
                    bound[alias.asname or alias.name.partition(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            for alias in node.names:
                dotted = f"{base}.{alias.name}"
                if ours(dotted) == dotted:
                    bound[alias.asname or alias.name] = dotted
                elif ours(base) is not None and ours(base) != name and alias.name.startswith("_"):
                    found.append(f"{module_path(name)}:{node.lineno} imports {base}.{alias.name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
            and bound[node.value.id] != name
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{module_path(name)}:{node.lineno} uses {bound[node.value.id]}.{node.attr}")
    return found


def test_no_module_calls_another_modules_private_names() -> None:
    found = [use for name in modules() for use in private_uses(name)]
    assert not found, report("Uses of another module's _private names", found)
