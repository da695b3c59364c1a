"""What a DHCP server's variables hold: own and served subnets, pools for range clients, real MACs only.

The rendered files and the real dhcpd are tested in test_dhcp_config.py; the error messages of the
DHCP rules in tests/data/invalid/dhcp-*.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from ksm_provision.inventory.hosts import HostKind
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.render.ansible_vars import host_vars
from ksm_provision.validate import validate_inventory
from ksm_provision.verify.expectations import checks_for

REPO = Path(__file__).resolve().parents[2]
MINIMAL = REPO / "tests" / "data" / "minimal"


@pytest.fixture(scope="module")
def samples() -> Inventory:
    return load_inventory(REPO / "inventories")


def edited_minimal(tmp_path: Path, old: str, new: str) -> Path:
    root = tmp_path / "inv"
    shutil.copytree(MINIMAL, root)
    text = (root / "aa.yml").read_text(encoding="utf-8")
    assert text.count(old) == 1
    (root / "aa.yml").write_text(text.replace(old, new), encoding="utf-8")
    return root


def subnets_by_id(variables: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in variables["dhcp_subnets"]}


def test_range_clients_have_no_invented_mac(samples: Inventory) -> None:
    range_hosts = [h for h in samples.hosts if h.kind is HostKind.CLIENT and h.loc[0] == "client_ranges"]
    assert range_hosts and all(h.mac is None for h in range_hosts)
    assert samples.hosts_by_name["lup-pch-kfz01"].mac == "52:54:00:41:01:0a"


def test_served_networks_get_pool_and_client_ranges_as_ranges(samples: Inventory) -> None:
    subnets = subnets_by_id(host_vars(samples, samples.hosts_by_name["lup-pch-dhcp01"]))
    assert list(subnets) == ["pch-clients", "pch-servers", "hgw-clients", "ils-clients"]  # file order
    pch = subnets["pch-clients"]
    assert pch["served"] is True and pch["gateway"] == "10.41.0.1"
    # the range pch-verwaltung: 250 hosts from 10.41.0.20; then the network's own pool
    assert pch["ranges"] == [
        {"start": "10.41.0.20", "end": "10.41.1.13"},
        {"start": "10.41.2.0", "end": "10.41.3.250"},
    ]
    # hgw-clients has no pool: its client range alone is what the server hands out
    assert subnets["hgw-clients"]["ranges"] == [{"start": "10.41.32.20", "end": "10.41.32.43"}]


def test_own_network_is_declared_but_not_served(samples: Inventory) -> None:
    own = subnets_by_id(host_vars(samples, samples.hosts_by_name["sn-rh-dhcp01"]))["rh-servers"]
    assert own == {"id": "rh-servers", "network": "10.42.8.0", "netmask": "255.255.255.0", "served": False}


def test_reservations_only_for_clients_with_a_mac(samples: Inventory) -> None:
    variables = host_vars(samples, samples.hosts_by_name["lup-pch-dhcp01"])
    assert variables["dhcp_reservations"] == [
        {"hostname": "lup-pch-kfz01", "mac": "52:54:00:41:01:0a", "address": "10.41.1.100"},
        {"hostname": "lup-pch-kfz02", "mac": "52:54:00:41:01:0b", "address": "10.41.1.101"},
    ]
    assert host_vars(samples, samples.hosts_by_name["lup-lwl-dhcp01"])["dhcp_reservations"] == []


def test_server_serving_its_own_network_declares_it_once_and_reserves_no_server(tmp_path: Path) -> None:
    """Servers are configured statically: even with a MAC in a served network they get no reservation."""
    root = edited_minimal(
        tmp_path,
        "      serves: [hq-clients]\n",
        "      serves: [hq-clients, hq-servers]\n",
    )
    # hq-servers needs something to hand out: a pool above the servers
    text = (root / "aa.yml").read_text(encoding="utf-8")
    text = text.replace(
        "    gateway: 10.41.8.1\n    purpose: servers\n",
        "    gateway: 10.41.8.1\n    purpose: servers\n    dhcp: {start: 10.41.8.100, end: 10.41.8.199}\n",
    )
    (root / "aa.yml").write_text(text, encoding="utf-8")
    inventory = load_inventory(root)
    assert validate_inventory(inventory) == []
    variables = host_vars(inventory, inventory.hosts_by_name["aa-dhcp01"])
    assert [s["id"] for s in variables["dhcp_subnets"]] == ["hq-clients", "hq-servers"]
    assert subnets_by_id(variables)["hq-servers"]["served"] is True
    assert [r["hostname"] for r in variables["dhcp_reservations"]] == ["aa-hq-pc01"]


def test_verify_expects_subnets_ranges_and_reservations(samples: Inventory) -> None:
    checks = checks_for(host_vars(samples, samples.hosts_by_name["lup-pch-dhcp01"]))
    (dhcp,) = [c for c in checks if c.kind == "dhcp"]
    assert [(s["network"], s["ranges"]) for s in dhcp.params["subnets"]] == [
        ("10.41.0.0", [["10.41.0.20", "10.41.1.13"], ["10.41.2.0", "10.41.3.250"]]),
        ("10.41.8.0", []),
        ("10.41.32.0", [["10.41.32.20", "10.41.32.43"]]),
        ("10.41.48.0", [["10.41.48.20", "10.41.48.27"]]),
    ]
    assert [r["hostname"] for r in dhcp.params["reservations"]] == ["lup-pch-kfz01", "lup-pch-kfz02"]


def test_hint_for_a_network_with_nothing_to_hand_out_fixes_it(tmp_path: Path) -> None:
    """The example pool of the hint lies in free space: writing it in makes the inventory valid."""
    root = edited_minimal(tmp_path, "      serves: [hq-clients]\n", "      serves: [hq-clients, hq-mgmt]\n")
    (problem,) = validate_inventory(load_inventory(root))
    match = re.search(r"dhcp: (\{start: \S+, end: \S+\})", problem.hint)
    assert match, problem.hint
    text = (root / "aa.yml").read_text(encoding="utf-8")
    text = text.replace(
        "    gateway: 10.41.15.1\n    purpose: management\n",
        f"    gateway: 10.41.15.1\n    purpose: management\n    dhcp: {match[1]}\n",
    )
    (root / "aa.yml").write_text(text, encoding="utf-8")
    assert validate_inventory(load_inventory(root)) == []


def test_hint_names_a_dhcp_server_to_serve_an_unserved_pool(tmp_path: Path) -> None:
    root = edited_minimal(tmp_path, "      serves: [hq-clients]\n", "      serves: [hub-clients]\n")
    (problem,) = validate_inventory(load_inventory(root))
    assert "add it to a server's dhcp.serves, e.g. server 'aa-dhcp01'" in problem.hint
