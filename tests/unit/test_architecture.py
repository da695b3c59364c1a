"""Layering of the package, read from the source: stages never import the lab, and no import cycles.

Every ``import`` of every module counts, also those inside functions and ``if TYPE_CHECKING:``
blocks: a lazy import is still a dependency. The nodes of the graph are the subpackages of
``ksm_provision`` (``network``, ``playbook``, ``lab``...) and its top-level modules (``vault``,
``targets``...).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "ksm_provision"

#: Production stages: they reach nodes through a ``TargetResolver`` and never load the lab.
STAGES = ("network", "playbook")

#: Edges that close a cycle today, each with the module that makes it.
#: Edges allowed to close a cycle, with the file that makes them (none left: keep it that way).
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}


def _node(module: str) -> str:
    """``ksm_provision.network.session`` -> ``network``; ``ksm_provision.vault`` -> ``vault``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "<package>"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[str]:
    """Absolute names of the ksm_provision modules *path* imports (relative imports resolved)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base]
        else:
            continue
        yield from (name for name in names if name == "ksm_provision" or name.startswith("ksm_provision."))


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def import_graph() -> dict[tuple[str, str], list[str]]:
    """(from node, to node) -> the files that make the edge."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in _modules():
        source = _node(_module_name(path))
        for imported in _imports(path):
            target = _node(imported)
            if target != source:
                edges[(source, target)].append(str(path.relative_to(PACKAGE.parent)))
    return edges


def find_cycle(edges: set[tuple[str, str]]) -> list[str] | None:
    """One cycle of the directed graph *edges* as a path ``[a, b, ..., a]``, or None."""
    successors: dict[str, list[str]] = defaultdict(list)
    for source, target in sorted(edges):
        successors[source].append(target)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for successor in successors[node]:
            if state.get(successor) == 1:
                return [*path[path.index(successor) :], successor]
            if successor not in state and (cycle := visit(successor)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(successors):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_the_cycle_finder_reports_the_cycle() -> None:
    assert find_cycle({("a", "b"), ("b", "c")}) is None
    assert find_cycle({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == ["a", "b", "c", "a"]


def test_the_stages_never_import_the_lab() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for stage in STAGES
        for path in sorted((PACKAGE / stage).rglob("*.py"))
        for name in _imports(path)
        if name == "ksm_provision.lab" or name.startswith("ksm_provision.lab.")
    ]
    assert not offenders, "reach nodes through a TargetResolver instead:\n" + "\n".join(offenders)


def test_no_import_cycle_between_subpackages() -> None:
    graph = import_graph()
    for edge, file in KNOWN_EXCEPTIONS.items():
        assert file in graph.get(edge, []), f"known exception {edge} is gone: remove it from KNOWN_EXCEPTIONS"
    cycle = find_cycle(set(graph) - set(KNOWN_EXCEPTIONS))
    if cycle is not None:
        made_by = [f"  {a} -> {b}: {', '.join(sorted(set(graph[(a, b)])))}" for a, b in pairwise(cycle)]
        raise AssertionError("import cycle " + " -> ".join(cycle) + "\n" + "\n".join(made_by))


def test_the_layers_named_in_the_design_hold() -> None:
    graph = import_graph()
    for source, target in [("network", "playbook"), ("playbook", "network"), ("verify", "playbook")]:
        assert (source, target) not in graph, (
            f"{source} imports {target}: {sorted(set(graph[(source, target)]))}"
        )
