"""The provider core: links derived from the authority files, the core router's config, allocation.

The golden file ``tests/data/golden/frr/ksm-core-rt01.cfg`` is the reviewed config of the sample
core router; refresh it on purpose with ``KSM_UPDATE_GOLDEN=1 pytest tests/unit/test_core.py`` and
review the diff. The invalid cases ``tests/data/invalid/core-*`` pin the messages of the core rules.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from pathlib import Path

import pytest

from ksm_provision.cli import main
from ksm_provision.errors import KsmError
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.network.core import (
    CORE_DIR,
    core_links,
    free_transfer_in,
    next_free_transfer,
    render_core,
)
from ksm_provision.network.intended import RenderError

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "data" / "golden" / "frr"
NET = ipaddress.IPv4Network


@pytest.fixture(scope="module")
def samples() -> Inventory:
    return load_inventory(REPO / "inventories")


def golden(name: str, actual: str) -> str:
    path = GOLDEN / name
    if os.environ.get("KSM_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    return path.read_text(encoding="utf-8")


def test_core_config_matches_the_reviewed_file(samples: Inventory) -> None:
    configs = render_core(samples)
    assert list(configs) == ["ksm-core-rt01"]
    assert configs["ksm-core-rt01"] == golden("ksm-core-rt01.cfg", configs["ksm-core-rt01"])


def test_links_are_derived_from_the_authority_routers(samples: Inventory) -> None:
    links = core_links(samples)["ksm-core-rt01"]
    seen = [
        (link.authority, link.router, link.interface, str(link.core_address), str(link.authority_address))
        for link in links
    ]
    assert seen == [
        ("lup", "lup-pch-rt01", "tr64", "10.40.101.1/30", "10.40.101.2"),
        ("schwerin", "sn-rh-rt01", "tr128", "10.40.102.1/30", "10.40.102.2"),
    ]
    assert [(link.authority_asn, link.blocks) for link in links] == [
        (65101, (NET("10.41.0.0/16"),)),
        (65102, (NET("10.42.0.0/16"),)),
    ]
    assert all(len(link.interface) <= 15 for link in links)  # Linux's interface name limit


def test_each_authority_may_announce_only_its_own_block(samples: Inventory) -> None:
    """Tenant safety: the inbound list of a neighbour names that authority's block and nothing else."""
    text = render_core(samples)["ksm-core-rt01"]
    lines = text.splitlines()
    assert "  neighbor 10.40.101.2 prefix-list FROM-LUP in" in lines
    assert "  neighbor 10.40.102.2 prefix-list FROM-SCHWERIN in" in lines
    assert [line for line in lines if line.startswith("ip prefix-list FROM-")] == [
        "ip prefix-list FROM-LUP seq 10 permit 10.41.0.0/16 le 32",
        "ip prefix-list FROM-SCHWERIN seq 10 permit 10.42.0.0/16 le 32",
    ]
    for address in ("10.40.101.2", "10.40.102.2"):
        assert f"  neighbor {address} default-originate" in lines
        assert f"  neighbor {address} prefix-list TO-AUTHORITIES out" in lines
    assert [line for line in lines if line.startswith("ip prefix-list TO-")] == [
        "ip prefix-list TO-AUTHORITIES seq 10 permit 0.0.0.0/0",
        "ip prefix-list TO-AUTHORITIES seq 20 permit 10.40.0.0/16 le 32",
    ]


def test_a_peering_that_is_no_proper_link_is_left_out(samples: Inventory) -> None:
    """Swapped ends are no link (validation reports them); the other authority's link stays."""
    lup = samples.authorities["lup"]
    router = lup.network_devices[0]
    assert router.hostname == "lup-pch-rt01" and router.routing is not None
    wan0 = router.interfaces[0].model_copy(update={"address": ipaddress.IPv4Interface("10.40.101.1/30")})
    neighbour = router.routing.bgp_neighbors[0].model_copy(
        update={"address": ipaddress.IPv4Address("10.40.101.2")}
    )
    swapped = router.model_copy(
        update={
            "interfaces": [wan0, *router.interfaces[1:]],
            "routing": router.routing.model_copy(update={"bgp_neighbors": [neighbour]}),
        }
    )
    changed = lup.model_copy(update={"network_devices": [swapped, *lup.network_devices[1:]]})
    inventory = Inventory(
        samples.root,
        samples.provider,
        samples.provider_source,
        {**samples.authorities, "lup": changed},
        samples.sources,
    )
    assert [link.router for link in core_links(inventory)["ksm-core-rt01"]] == ["sn-rh-rt01"]


def test_free_transfer_skips_what_is_taken() -> None:
    transfer = NET("10.40.100.0/28")
    first = int(transfer.network_address)
    assert free_transfer_in(transfer, []) == NET("10.40.100.0/30")
    assert free_transfer_in(transfer, [(first, first + 3), (first + 6, first + 6)]) == NET("10.40.100.8/30")
    assert free_transfer_in(transfer, [(first, first + 15)]) is None
    assert free_transfer_in(NET("10.40.100.0/31"), []) is None


def test_next_transfer_comes_from_the_first_core_router_with_room(samples: Inventory) -> None:
    found = next_free_transfer(samples)
    assert found is not None and (found[0].hostname, found[1]) == ("ksm-core-rt01", NET("10.40.100.0/30"))
    full = samples.provider.core_routers[0].model_copy(update={"transfer": NET("10.40.101.0/30")})
    second = samples.provider.core_routers[0].model_copy(
        update={"hostname": "ksm-core-rt02", "transfer": NET("10.40.104.0/22")}
    )
    provider = samples.provider.model_copy(update={"core_routers": [full, second]})
    inventory = Inventory(
        samples.root, provider, samples.provider_source, samples.authorities, samples.sources
    )
    found = next_free_transfer(inventory)
    assert found is not None and (found[0].hostname, found[1]) == ("ksm-core-rt02", NET("10.40.104.0/30"))


def test_a_core_router_without_a_core_template_is_a_render_error(samples: Inventory) -> None:
    router = samples.provider.core_routers[0].model_copy(update={"platform": "cisco_ios"})
    provider = samples.provider.model_copy(update={"core_routers": [router]})
    inventory = Inventory(
        samples.root, provider, samples.provider_source, samples.authorities, samples.sources
    )
    with pytest.raises(RenderError) as error:
        render_core(inventory)
    assert isinstance(error.value, KsmError)
    assert "ksm.yml:" in str(error.value)
    assert "no template cisco_ios/core.j2" in str(error.value)


def test_render_network_writes_the_core_only_for_the_whole_inventory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = tmp_path / "inventories"
    shutil.copytree(REPO / "inventories", inventory, ignore=shutil.ignore_patterns("sample-passwords"))
    with pytest.raises(SystemExit) as exit_info:
        main(["--inventory", str(inventory), "render", "network", "--out", str(tmp_path / "all")])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0, err
    core = tmp_path / "all" / CORE_DIR / "ksm-core-rt01.conf"
    assert core.read_text(encoding="utf-8") == (GOLDEN / "ksm-core-rt01.cfg").read_text(encoding="utf-8")
    assert "not pushed" in out

    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "--inventory",
                str(inventory),
                "render",
                "network",
                "--authority",
                "lup",
                "--out",
                str(tmp_path / "lup"),
            ]
        )
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0, err
    assert not (tmp_path / "lup" / CORE_DIR).exists()
    assert "core router configs not written" in out
