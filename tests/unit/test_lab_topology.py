"""The lab's data plane as derived from the sample inventories (plain data, nothing is built)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.lab.planner import plan_lab
from ksm_provision.lab.topology import Cable, End, Topology, derive, port_link

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(REPO / "inventories")


@pytest.fixture(scope="module")
def topology(inventory: Inventory) -> Topology:
    return derive(inventory, plan_lab(inventory).specs)


def cabled(topology: Topology, node: str, link: str) -> End:
    """The far end of the cable at *node*/*link*."""
    for cable in topology.cables:
        for near, far in ((cable.a, cable.b), (cable.b, cable.a)):
            if (near.node, near.link) == (node, link):
                return far
    raise AssertionError(f"{node}/{link} is not cabled")


def test_hosts_sit_on_the_switch_port_that_names_them(topology: Topology) -> None:
    assert cabled(topology, "sn-sh-fs01", "eth0") == End("sn-sh-sw01", "gi1-0-1")
    assert cabled(topology, "lup-pch-log01", "eth0") == End("lup-pch-sw01", "gi1-0-4")
    host = next(h for h in topology.hosts if h.node == "sn-sh-fs01")
    assert host.address == ipaddress.IPv4Interface("10.42.24.10/24")
    assert str(host.gateway) == "10.42.24.1"


def test_router_vlans_are_cabled_to_the_trunk_per_vlan(topology: Topology) -> None:
    assert cabled(topology, "sn-rh-rt01", "vlan210") == End("sn-rh-sw01", "gi1-1-1.210")
    # lup-pch-rt01 says in `uplinks:` which switch port its trunk is on; Hagenow's switch names
    # no router, but lup-pch-rt01 is the gateway of its networks
    assert cabled(topology, "lup-pch-rt01", "vlan120") == End("lup-pch-sw01", "gi1-1-1.120")
    assert cabled(topology, "lup-pch-rt01", "vlan112") == End("lup-hgw-sw01", "gi1-1-1.112")
    ports = topology.switch_ports["sn-rh-sw01"]["GigabitEthernet1/1/1"]
    assert ports == {"trunk": {"210": "gi1-1-1.210", "220": "gi1-1-1.220", "290": "gi1-1-1.290"}}


def test_switch_to_switch_trunks_carry_the_vlans_both_ends_list(topology: Topology) -> None:
    assert cabled(topology, "lup-pch-sw02", "gi1-1-1.110") == End("lup-pch-sw01", "gi1-0-48.110")
    assert "GigabitEthernet1/0/48" in topology.switch_ports["lup-pch-sw01"]


def test_a_network_no_switch_carries_is_a_plain_wire_on_its_router(topology: Topology) -> None:
    vlan150 = next(v for v in topology.router_vlans if v.router == "lup-pch-rt01" and v.name == "vlan150")
    assert vlan150.trunk is None
    far = cabled(topology, "lup-ils-elp01", "eth0")
    assert (far.node, far.bridge) == ("lup-pch-rt01", "vlan150")


def test_transfer_links_pair_routers_and_the_core(topology: Topology) -> None:
    assert cabled(topology, "sn-rh-rt01", "wan1") == End("sn-sh-rt01", "wan1")
    assert cabled(topology, "sn-rh-rt01", "wan0") == End("ksm-core-rt01", "tr128")
    assert cabled(topology, "lup-pch-rt01", "wan0") == End("ksm-core-rt01", "tr64")
    assert "ip forwarding" in topology.core_configs["ksm-core-rt01"]


def test_standin_clients_take_free_ports_of_client_networks_and_know_dhcp(topology: Topology) -> None:
    clients = {c.node: c for c in topology.clients}
    sh = clients["sn-sh-sw01-c211"]
    assert (sh.end, sh.dhcp, sh.network) == (End("sn-sh-sw01", "gi1-0-6"), True, "sh-clients")
    assert Cable(End("sn-sh-sw01-c211", "eth0"), sh.end) in topology.cables


def test_fachverfahren_hosts_get_standins(topology: Topology) -> None:
    assert topology.standins["sn-ils-app01"] == [("els", 9443)]
    assert topology.standins["lup-pch-app01"] == [("kfz", 8443)]


def test_only_listed_nodes_are_cabled(inventory: Inventory) -> None:
    specs = plan_lab(inventory, ["schwerin"]).specs
    topology = derive(inventory, specs)
    nodes = {end.node for cable in topology.cables for end in (cable.a, cable.b)}
    assert not any(n.startswith("lup-") for n in nodes)


def test_port_link_names_fit_linux() -> None:
    assert port_link("GigabitEthernet1/0/48") == "gi1-0-48"
    assert len(port_link("TenGigabitEthernet1/1/10")) <= 15
