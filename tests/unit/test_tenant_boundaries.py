"""Tenant boundaries: what an authority configures stays inside its block and its own core links.

The golden cases ``tests/data/invalid/tenant-*`` pin the exact messages of each reach into another
authority; these tests pin what stays legitimate, the checks against the own territory, the
authorities a problem involves, and the size of the estate the rule handles.
"""

from __future__ import annotations

import doctest
import shutil
from pathlib import Path

import pytest

from ksm_provision.errors import Problem
from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.validate import spans, validate_inventory
from ksm_provision.validate.cross_rules import tenant_boundaries
from ksm_provision.validate.spans import Span, SpanIndex
from ksm_provision.validate.view import authority_view
from tests.unit.test_invalid_inventories import DATA, MINIMAL, apply_edit, build_case

ROUTING = "      router_id: 10.41.15.1\n"


def routed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, routing: str) -> list[Problem]:
    """The problems of the minimal inventory with *routing* (YAML lines) under aa-hq-rt01's routing."""
    root = tmp_path / "inv"
    shutil.copytree(MINIMAL, root)
    apply_edit(root, {"file": "aa.yml", "replace": ROUTING, "with": ROUTING + routing})
    monkeypatch.chdir(root)
    return validate_inventory(load_inventory(Path()))


def messages(problems: list[Problem]) -> list[str]:
    return [f"{p.file}:{p.line}: {p.message}" for p in problems]


def test_spans_doctests() -> None:
    assert doctest.testmod(spans).failed == 0


def test_legitimate_routing_towards_the_core_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BGP with the core over the own core link, the own block advertised, a static default and a
    route to the core via the core link, and a route inside the own block."""
    problems = routed(
        tmp_path,
        monkeypatch,
        "      bgp_neighbors:\n"
        "        - {address: 10.40.101.1, remote_as: 65000, description: Kern}\n"
        "      advertise: [10.41.0.0/16, 10.41.48.0/24]\n"
        "      static_routes:\n"
        "        - {prefix: 0.0.0.0/0, next_hop: 10.40.101.1}\n"
        "        - {prefix: 10.40.0.0/16, next_hop: 10.40.101.1}\n"
        "        - {prefix: 10.40.0.53/32, next_hop: 10.40.101.1}\n"
        "        - {prefix: 10.41.47.0/24, next_hop: 10.41.8.254}\n",
    )
    assert problems == []


def test_sample_inventories_stay_valid() -> None:
    inventory = load_inventory(Path(__file__).resolve().parents[2] / "inventories")
    views = [authority_view(inventory, aid) for aid in inventory.authorities]
    assert tenant_boundaries(inventory, views) == []


@pytest.mark.parametrize(
    ("routing", "expected"),
    [
        (
            "      static_routes:\n        - {prefix: 192.168.7.0/24, next_hop: 10.41.8.254}\n",
            "static route 192.168.7.0/24 lies outside the authority's block 10.41.0.0/16 and the provider "
            "core",
        ),
        (
            "      static_routes:\n        - {prefix: 0.0.0.0/0, next_hop: 10.40.7.1}\n",
            "static route 0.0.0.0/0: next hop 10.40.7.1 lies outside its block 10.41.0.0/16 and its links "
            "to the core (10.40.101.0–10.40.101.3)",
        ),
        (
            "      bgp_neighbors:\n        - {address: 10.40.0.1, remote_as: 65000}\n",
            "BGP neighbour 10.40.0.1 lies outside its block 10.41.0.0/16 and its links to the core",
        ),
        (
            "      advertise: [10.40.0.0/16]\n",
            "advertises 10.40.0.0/16, outside the authority's block 10.41.0.0/16",
        ),
    ],
    ids=[
        "static-prefix-elsewhere",
        "next-hop-in-core-not-own-link",
        "bgp-in-core-not-own-link",
        "advertise-core",
    ],
)
def test_routing_outside_the_own_territory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, routing: str, expected: str
) -> None:
    problems = routed(tmp_path, monkeypatch, routing)
    assert len(problems) == 1, messages(problems)
    assert problems[0].file == "aa.yml"
    assert expected in problems[0].message
    assert problems[0].hint
    assert problems[0].involves == {"aa"}


def test_printer_outside_the_own_block_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "inv"
    shutil.copytree(MINIMAL, root)
    apply_edit(
        root,
        {
            "file": "aa.yml",
            "replace": "    address: Markt 1\n",
            "with": "    address: Markt 1\n    printers:\n      - {name: Weg, address: 172.16.0.5}\n",
        },
    )
    monkeypatch.chdir(root)
    assert messages(validate_inventory(load_inventory(Path()))) == [
        "aa.yml:24: site 'hq' printer 'Weg': address 172.16.0.5 lies outside the authority's block "
        "10.41.0.0/16"
    ]


@pytest.mark.parametrize(
    "case",
    sorted(p.name for p in (DATA / "invalid").iterdir() if p.name.startswith("tenant-")),
)
def test_reach_involves_both_authorities_and_names_both_files(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = build_case(DATA / "invalid" / case, tmp_path / "inv")
    monkeypatch.chdir(root)
    problems = validate_inventory(load_inventory(Path()))
    reaches = [p for p in problems if p.involves == {"aa", "bb"}]
    assert reaches, messages(problems)
    for problem in reaches:
        assert problem.hint
        other = "aa.yml" if problem.file == "bb.yml" else "bb.yml"
        assert other in problem.message


def test_span_index_finds_every_overlap_even_among_overlapping_spans() -> None:
    wide = Span(0, 100, "wide", "f", 1)
    index = SpanIndex(
        [wide, Span(10, 20, "a", "f", 2), Span(30, 40, "b", "f", 3), Span(150, 160, "c", "f", 4)]
    )
    assert [s.label for s in index.overlapping(50, 60)] == ["wide"]
    assert [s.label for s in index.overlapping(15, 35)] == ["b", "a", "wide"]
    assert list(index.overlapping(101, 149)) == []


def test_index_finds_exactly_one_block_per_query_among_many() -> None:
    """1,000 disjoint blocks, 10,000 queries: each finds exactly its one block (speed is for benchmarks)."""
    blocks = [Span(i << 16, (i << 16) + 0xFFFF, f"b{i}", "ksm.yml", i, f"a{i}") for i in range(1000)]
    index = SpanIndex(blocks)
    found = 0
    for q in range(10_000):
        value = ((q * 7919) % 1000 << 16) + 5
        found += sum(1 for s in index.overlapping(value, value) if s.owner != "x")
    assert found == 10_000
