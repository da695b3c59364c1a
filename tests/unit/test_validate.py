"""Unit tests of the validation rules and their integer-interval helpers."""

from __future__ import annotations

import ipaddress
import shutil
from pathlib import Path

import pytest

from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.validate import validate_inventory
from ksm_provision.validate.authority_rules import RULES as AUTHORITY_RULES
from ksm_provision.validate.authority_rules import choices, enclosing
from ksm_provision.validate.cross_rules import RULES as CROSS_RULES
from ksm_provision.validate.spans import Span, find_overlaps, ip_text, net_bounds, usable
from ksm_provision.validate.view import authority_view, duplicates

REPO = Path(__file__).resolve().parents[2]
MINIMAL = REPO / "tests" / "data" / "minimal"


def edited_minimal(tmp_path: Path, file: str, old: str, new: str, also: tuple[str, ...] = ()) -> list[str]:
    """Problems (as text without hints) of the minimal inventory with *old* replaced by *new* in *file*.

    *also*: files to create first (relative to the inventory), e.g. a vault file the edit points at.
    """
    root = tmp_path / "inv"
    shutil.copytree(MINIMAL, root)
    for extra in also:
        if not (root / extra).exists():
            (root / extra).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / "vault" / "aa.yml", root / extra)
    text = (root / file).read_text(encoding="utf-8")
    assert text.count(old) == 1
    (root / file).write_text(text.replace(old, new), encoding="utf-8")
    return [
        f"{p.file.rsplit('/', 1)[-1]}:{p.line}: {p.message}" for p in validate_inventory(load_inventory(root))
    ]


def span(start: int, end: int, label: str) -> Span:
    return Span(start, end, label, "f.yml", 1)


def test_sample_inventories_are_valid() -> None:
    assert validate_inventory(load_inventory(REPO / "inventories")) == []


def test_every_rule_passes_on_the_minimal_inventory() -> None:
    inventory = load_inventory(MINIMAL)
    views = [authority_view(inventory, aid) for aid in inventory.authorities]
    for view in views:
        for rule in AUTHORITY_RULES:
            assert rule(view) == [], rule.__name__
    for cross_rule in CROSS_RULES:
        assert cross_rule(inventory, views) == [], cross_rule.__name__


def test_find_overlaps_reports_each_conflicting_span_once() -> None:
    spans = [
        span(0, 100, "big"),
        span(10, 10, "a"),
        span(50, 60, "b"),
        span(101, 110, "after"),
        span(10, 10, "a2"),
    ]
    assert [(x.label, y.label) for x, y in find_overlaps(spans)] == [
        ("a", "big"),
        ("a2", "big"),
        ("b", "big"),
    ]


def test_find_overlaps_touching_spans_do_not_overlap() -> None:
    assert find_overlaps([span(0, 9, "x"), span(10, 19, "y")]) == []


def test_find_overlaps_keeps_the_first_of_identical_spans() -> None:
    assert [(x.label, y.label) for x, y in find_overlaps([span(5, 5, "first"), span(5, 5, "second")])] == [
        ("second", "first")
    ]


def test_find_overlaps_scales_n_log_n() -> None:
    spans = [span(i * 4, i * 4 + 3, str(i)) for i in range(200_000)]
    assert find_overlaps(spans) == []


def test_net_bounds_and_usable() -> None:
    bounds = net_bounds(ipaddress.IPv4Network("10.0.0.0/24"))
    assert ip_text(bounds[0]) == "10.0.0.0" and ip_text(bounds[1]) == "10.0.0.255"
    assert usable(bounds[0] + 1, bounds, 24)
    assert not usable(bounds[0], bounds, 24)
    assert not usable(bounds[1], bounds, 24)
    point_to_point = net_bounds(ipaddress.IPv4Network("10.0.0.0/31"))
    assert usable(point_to_point[0], point_to_point, 31)


def test_duplicates_names_first_place() -> None:
    assert list(duplicates([("a", ("x", 0)), ("a", ("x", 1))])) == [("a", ("x", 1), ("x", 0))]


def test_choices_suggests_close_match_or_lists() -> None:
    assert choices("hq-server", ["hq-servers", "hq-mgmt"], "networks") == "did you mean 'hq-servers'?"
    assert choices("zzz", [f"n{i}" for i in range(8)], "networks") == (
        "use one of the networks: n0, n1, n2, n3, n4, n5, ..."
    )


def test_all_problems_are_reported_in_one_run(tmp_path: Path) -> None:
    root = tmp_path / "inv"
    shutil.copytree(MINIMAL, root)
    text = (root / "aa.yml").read_text(encoding="utf-8")
    text = text.replace("    vlan: 150\n", "    vlan: 350\n").replace(
        "    profile: counter\n", "    profile: kiosk\n"
    )
    (root / "aa.yml").write_text(text, encoding="utf-8")
    problems = validate_inventory(load_inventory(root))
    assert len(problems) == 2
    assert all(p.hint for p in problems)
    assert problems == sorted(problems)


def test_problems_carry_a_hint_with_an_example(tmp_path: Path) -> None:
    root = tmp_path / "inv"
    shutil.copytree(MINIMAL, root)
    text = (
        (root / "aa.yml")
        .read_text(encoding="utf-8")
        .replace("    address: 10.41.0.10\n", "    address: 10.41.0.210\n")
    )
    (root / "aa.yml").write_text(text, encoding="utf-8")
    (problem,) = validate_inventory(load_inventory(root))
    assert problem.hint == "fixed addresses must stay outside the pool, e.g. 10.41.0.10"
    assert " — " in str(problem)


@pytest.mark.slow
def test_synthetic_estate_validates(tmp_path: Path) -> None:
    """The benchmark estate is valid (its speed is measured by `make bench`, not asserted here)."""
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    from generate_estate import generate

    generate(tmp_path / "estate", authorities=10)
    inventory = load_inventory(tmp_path / "estate")
    assert validate_inventory(inventory) == []
    assert len(inventory.hosts) == 10_000


@pytest.mark.parametrize("path", ["vault/aa.yml", "vault/aa.yaml", "vault/aa/network.yml"])
def test_an_authority_may_use_its_own_vault_files(tmp_path: Path, path: str) -> None:
    found = edited_minimal(tmp_path, "aa.yml", "  file: vault/aa.yml\n", f"  file: {path}\n", also=(path,))
    assert found == []


@pytest.mark.parametrize("path", ["vault/bb.yml", "vault/bb/aa.yml", "vault/aa.yml.yml", "vault/common.yml"])
def test_an_authority_may_not_use_another_vault(tmp_path: Path, path: str) -> None:
    (problem,) = edited_minimal(tmp_path, "aa.yml", "  file: vault/aa.yml\n", f"  file: {path}\n")
    assert problem.startswith(f"aa.yml:11: vault file '{path}' is not the vault of authority 'aa'")


def test_another_authoritys_vault_names_its_file(tmp_path: Path) -> None:
    (problem,) = edited_minimal(tmp_path, "aa.yml", "  file: vault/aa.yml\n", "  file: vault/bb/x.yml\n")
    assert "it is the vault of authority 'bb' (" in problem and problem.endswith("bb.yml)")


def test_vault_id_is_the_authority_id(tmp_path: Path) -> None:
    assert edited_minimal(tmp_path, "bb.yml", "  vault_id: bb\n", "  vault_id: bbb\n") == [
        "bb.yml:10: vault_id 'bbb' is not the authority's id 'bb'"
    ]


def test_mac_duplicates_between_servers(tmp_path: Path) -> None:
    problems = edited_minimal(
        tmp_path,
        "aa.yml",
        "    roles: [fachverfahren]\n",
        "    mac: 52:54:00:41:08:14\n    roles: [fachverfahren]\n",
    )
    assert problems == [
        "aa.yml:96: server 'aa-dhcp01': MAC 52:54:00:41:08:14 is already used by server 'aa-app01' (line 89)"
    ]


def test_enclosing_share_directory() -> None:
    paths = {"/srv/shares/a": 0, "/srv/shares/a-b": 1, "/srv/shares/c/d": 2}
    assert enclosing("/srv/shares/a/x/y", paths) == 0
    assert enclosing("/srv/shares/c/d/e", paths) == 2
    assert enclosing("/srv/shares/a", paths) is None
    assert enclosing("/srv/shares/ab", paths) is None
    assert enclosing("/srv/shares/c", paths) is None
