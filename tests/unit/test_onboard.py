"""``ksm onboard``: next free block and VLAN range; a file that validates unchanged; ksm.yml edited."""

from __future__ import annotations

import ipaddress
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from ksm_provision.cli import main
from ksm_provision.errors import KsmError, UsageError
from ksm_provision.inventory.inventory import load_inventory
from ksm_provision.inventory.loader import load_yaml_text
from ksm_provision.inventory.models import AddressPlan
from ksm_provision.onboard import (
    insert_plan_entry,
    next_core_link,
    next_free_block,
    next_vlan_range,
    plan_onboarding,
)
from ksm_provision.validate import validate_inventory

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def inventory_copy(tmp_path: Path) -> Path:
    root = tmp_path / "inventories"
    shutil.copytree(REPO / "inventories", root, ignore=shutil.ignore_patterns("sample-passwords"))
    return root


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 1), out, err


def plan(**overrides: object) -> AddressPlan:
    data: dict[str, object] = {
        "pool": "10.40.0.0/13",
        "core": "10.40.0.0/16",
        "authorities": [
            {"authority": "a", "block": "10.41.0.0/16", "vlans": [100, 199]},
            {"authority": "b", "block": "10.43.0.0/16", "vlans": [300, 399]},
        ],
    }
    data.update(overrides)
    return AddressPlan.model_validate(data)


def test_next_free_block_skips_core_and_blocks_and_fills_gaps() -> None:
    assert next_free_block(plan()) == ipaddress.IPv4Network("10.42.0.0/16")


def test_next_free_block_with_smaller_blocks() -> None:
    assert next_free_block(plan(block_prefix=20)) == ipaddress.IPv4Network("10.42.0.0/20")


def test_no_free_block_left() -> None:
    with pytest.raises(KsmError, match="no free /16 block"):
        next_free_block(
            plan(
                pool="10.40.0.0/15",
                authorities=[{"authority": "a", "block": "10.41.0.0/16", "vlans": [100, 199]}],
            )
        )


def test_next_vlan_range_fills_the_gap() -> None:
    assert next_vlan_range(plan()) == (200, 299)


def test_no_vlan_range_left() -> None:
    with pytest.raises(KsmError, match="no free VLAN range"):
        next_vlan_range(
            plan(
                first_vlan=3900,
                authorities=[{"authority": "a", "block": "10.41.0.0/16", "vlans": [3900, 3999]}],
            )
        )


def test_insert_keeps_comments_and_flow_style() -> None:
    text = (
        "address_plan:  # the plan\n  authorities:\n    - {authority: a, block: 10.41.0.0/16, vlans: [1, 9]}"
        "  # first\n    # keep me\n\n  core: 10.40.0.0/16\n"
    )
    doc = load_yaml_text(text, "ksm.yml")
    result = insert_plan_entry(text, doc.source, 1, "c", ipaddress.IPv4Network("10.44.0.0/16"), (10, 19))
    assert result == text.replace(
        "  # first\n", "  # first\n    - {authority: c, block: 10.44.0.0/16, vlans: [10, 19]}\n"
    )


def test_insert_block_style_entry_with_deeper_comment() -> None:
    text = (
        "x:\n  authorities:\n    - authority: a\n      block: 10.41.0.0/16\n      # note\n"
        "      vlans: [1, 9]\ny: 1"
    )
    doc = load_yaml_text(text, "ksm.yml")
    source = doc.source
    source.lines[("address_plan", "authorities")] = source.lines[("x", "authorities")]
    source.lines[("address_plan", "authorities", 0)] = source.lines[("x", "authorities", 0)]
    result = insert_plan_entry(text, source, 1, "c", ipaddress.IPv4Network("10.44.0.0/16"), (10, 19))
    assert result.endswith(
        "      vlans: [1, 9]\n    - authority: c\n      block: 10.44.0.0/16\n      vlans: [10, 19]\ny: 1"
    )


def create_vault_stand_in(root: Path, authority: str) -> None:
    """The file `ansible-vault create` leaves; its keys are not checked without the authority's key."""
    (root / "vault" / f"{authority}.yml").write_text("$ANSIBLE_VAULT;1.2;AES256;" + authority + "\n")


def test_onboard_then_validate_then_onboard_again(
    inventory_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    provider_before = (inventory_copy / "ksm.yml").read_text(encoding="utf-8")
    code, out, err = run(
        [
            "--inventory",
            str(inventory_copy),
            "onboard",
            "hagenow",
            "--name",
            "Stadt Hagenow",
            "--ags",
            "13076054",
        ],
        capsys,
    )
    assert (code, err) == (0, "")
    assert "ansible-vault create --vault-id hagenow@prompt" in out
    first = (inventory_copy / "hagenow.yml").read_text(encoding="utf-8")
    assert first.startswith("# yaml-language-server: $schema=../schema/authority.schema.json\n")
    assert "vault:network_password" in first
    provider_after = (inventory_copy / "ksm.yml").read_text(encoding="utf-8")
    added = "    - authority: hagenow\n      block: 10.43.0.0/16\n      vlans: [300, 399]\n"
    assert provider_after == provider_before.replace(
        "      vlans: [200, 299]\n", "      vlans: [200, 299]\n" + added
    )

    code, out, err = run(["--inventory", str(inventory_copy), "validate"], capsys)
    assert code == 1 and "vault file 'vault/hagenow.yml' of authority 'hagenow' does not exist" in err
    create_vault_stand_in(inventory_copy, "hagenow")  # next step 1: ansible-vault create
    code, out, err = run(["--inventory", str(inventory_copy), "validate"], capsys)
    assert code == 0 and "3 authorities" in out

    code, out, _ = run(
        ["--inventory", str(inventory_copy), "onboard", "boizenburg", "--name", "Stadt Boizenburg/Elbe"],
        capsys,
    )
    assert code == 0
    create_vault_stand_in(inventory_copy, "boizenburg")
    inventory = load_inventory(inventory_copy)
    assert validate_inventory(inventory) == []
    blocks = {b.authority: (b.block, b.vlans) for b in inventory.provider.address_plan.authorities}
    assert blocks["boizenburg"] == (ipaddress.IPv4Network("10.44.0.0/16"), (400, 499))
    assert blocks["hagenow"] != blocks["boizenburg"]
    assert (
        inventory.authorities["boizenburg"].authority.bgp_asn
        != inventory.authorities["hagenow"].authority.bgp_asn
    )


def test_existing_id_is_refused(inventory_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p.name: p.read_bytes() for p in inventory_copy.glob("*.yml")}
    code, _, err = run(["--inventory", str(inventory_copy), "onboard", "lup", "--name", "Nochmal"], capsys)
    assert code == 1
    assert "authority 'lup' already exists" in err
    assert {p.name: p.read_bytes() for p in inventory_copy.glob("*.yml")} == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["onboard", "Bad_Id", "--name", "X"], "invalid authority id"),
        (["onboard", "neu", "--name", "A\nB"], "control character"),
        (["onboard", "neu", "--name", "Stadt {{ lookup('pipe', 'id') }}"], "template syntax '{{'"),
        (["onboard", "neu", "--name", "Stadt {% raw %}"], "template syntax '{%'"),
        (["onboard", "neu", "--name", "Stadt {# x #}"], "template syntax '{#'"),
        (["onboard", "neu", "--name", "Stadt\x1b[2J"], "control character"),
        (["onboard", "neu", "--name", "S" * 240], "more than the 239 allowed"),
        (["onboard", "neu", "--name", "X", "--ags", "123"], "8-digit"),
        (["onboard", "neu"], "Missing option '--name'"),
    ],
)
def test_bad_arguments_are_usage_errors(
    inventory_copy: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(["--inventory", str(inventory_copy), *argv], capsys)
    assert code == 64
    assert message in err
    assert "Traceback" not in out + err
    assert not (inventory_copy / "neu.yml").exists()


def test_plan_onboarding_is_pure(inventory_copy: Path) -> None:
    inventory = load_inventory(inventory_copy)
    text = (inventory_copy / "ksm.yml").read_text(encoding="utf-8")
    result = plan_onboarding(inventory, text, "neu", "Gemeinde Neu", None)
    assert result.block == ipaddress.IPv4Network("10.43.0.0/16")
    assert 'ags: "00000000"' in result.authority_text
    assert sorted(p.name for p in inventory_copy.iterdir()) == ["ksm.yml", "lup.yml", "schwerin.yml", "vault"]
    assert sorted(p.name for p in (inventory_copy / "vault").iterdir()) == ["lup.yml", "schwerin.yml"]
    with pytest.raises(UsageError):
        plan_onboarding(inventory, text, "9x", "Name", None)


def test_the_longest_accepted_name_gives_a_valid_file(inventory_copy: Path) -> None:
    """The site is named 'Hauptverwaltung NAME': a name at the limit still fits a site name."""
    inventory = load_inventory(inventory_copy)
    text = (inventory_copy / "ksm.yml").read_text(encoding="utf-8")
    result = plan_onboarding(inventory, text, "neu", "S" * 239, None)
    (inventory_copy / "neu.yml").write_text(result.authority_text, encoding="utf-8")
    (inventory_copy / "ksm.yml").write_text(result.provider_text, encoding="utf-8")
    assert validate_inventory(load_inventory(inventory_copy), vault_files=False) == []


def test_onboarding_allocates_the_core_link_and_the_core_gains_the_neighbour(
    inventory_copy: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Onboard into a copy of the samples: the site router peers with the core over the next free
    transfer /30, the core's config gains the neighbour with the new AS and its own prefix list, and
    FRR's parser accepts both configs."""
    from ksm_provision.network.core import render_core
    from ksm_provision.network.intended import render_all
    from tests.unit.test_frr_parser import VTYSH, frr_check

    before = render_core(load_inventory(inventory_copy))["ksm-core-rt01"]
    code, out, err = run(
        ["--inventory", str(inventory_copy), "onboard", "hagenow", "--name", "Stadt Hagenow"], capsys
    )
    assert (code, err) == (0, "")
    assert (
        "core link: transfer network 10.40.100.0/30: core router ksm-core-rt01 at 10.40.100.1 (AS 65000), "
        "site router hagenow-hv-rt01 wan0 at 10.40.100.2/30"
    ) in out
    assert "block 10.43.0.0/16, VLANs 300-399, AS 65103" in out
    create_vault_stand_in(inventory_copy, "hagenow")
    inventory = load_inventory(inventory_copy)
    assert validate_inventory(inventory) == []

    router = inventory.authorities["hagenow"].network_devices[0]
    assert (router.hostname, router.platform, router.role) == ("hagenow-hv-rt01", "frr", "router")
    assert router.routing is not None
    assert [(str(n.address), n.remote_as) for n in router.routing.bgp_neighbors] == [("10.40.100.1", 65000)]
    assert router.routing.advertise == [ipaddress.IPv4Network("10.43.0.0/16")]
    assert str(router.management.address) == "10.43.255.1" == str(router.routing.router_id)

    after = render_core(inventory)["ksm-core-rt01"]
    added = set(after.splitlines()) - set(before.splitlines())
    assert added == {
        "interface tr0",
        " description hagenow hagenow-hv-rt01 wan0",
        " ip address 10.40.100.1/30",
        " neighbor 10.40.100.2 remote-as 65103",
        " neighbor 10.40.100.2 description Stadt Hagenow",
        "  neighbor 10.40.100.2 default-originate",
        "  neighbor 10.40.100.2 prefix-list FROM-HAGENOW in",
        "  neighbor 10.40.100.2 prefix-list TO-AUTHORITIES out",
        "ip prefix-list FROM-HAGENOW seq 10 permit 10.43.0.0/16 le 32",
    }
    assert set(before.splitlines()) <= set(after.splitlines())

    site = render_all(inventory.select(["hagenow"]))["hagenow-hv-rt01"]
    assert " neighbor 10.40.100.1 remote-as 65000" in site.splitlines()
    if VTYSH is None:
        pytest.fail("FRR (vtysh) is not installed: make test installs frr (and runs as root, like CI)")
    for name, text in (("core", after), ("site", site)):
        path = tmp_path / f"{name}.conf"
        path.write_text(text, encoding="utf-8")
        assert frr_check(path) is None


def test_without_a_core_router_onboarding_stops(
    inventory_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (inventory_copy / "ksm.yml").read_text(encoding="utf-8")
    start = text.index("\ncore_routers:")
    (inventory_copy / "ksm.yml").write_text(text[:start] + "\n", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in inventory_copy.glob("*.yml")}
    code, out, err = run(["--inventory", str(inventory_copy), "onboard", "neu", "--name", "Neu"], capsys)
    assert code == 1 and "Traceback" not in out + err
    assert "ksm.yml lists no core router" in err
    assert {p.name: p.read_bytes() for p in inventory_copy.glob("*.yml")} == before


def test_a_full_transfer_range_stops_onboarding(inventory_copy: Path) -> None:
    inventory = load_inventory(inventory_copy)
    full = inventory.provider.core_routers[0].model_copy(
        update={"transfer": ipaddress.IPv4Network("10.40.101.0/30")}
    )
    provider = inventory.provider.model_copy(update={"core_routers": [full]})
    with pytest.raises(KsmError, match="no free transfer /30"):
        next_core_link(replace(inventory, provider=provider))
