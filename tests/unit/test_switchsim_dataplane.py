"""Switch simulator data plane: which VLAN bridge each cabled link belongs in, from the running-config."""

from __future__ import annotations

from ksm_switchsim.config_tree import ConfigTree
from ksm_switchsim.dataplane import PortLinks, wanted_state

PORTS = {
    "GigabitEthernet1/0/1": PortLinks(access="gi1-0-1"),
    "GigabitEthernet1/1/1": PortLinks(trunk={210: "gi1-1-1.210", 220: "gi1-1-1.220"}),
}


def tree_with(*text: str) -> ConfigTree:
    from ksm_switchsim.config_commands import replay

    tree = ConfigTree.factory_default("sw1")
    assert replay(tree, "\n".join(text) + "\n") == []
    return tree


CONFIGURED = (
    "vlan 210",
    " name CLIENTS",
    "vlan 220",
    " name SERVERS",
    "interface GigabitEthernet1/0/1",
    " switchport mode access",
    " switchport access vlan 220",
    "interface GigabitEthernet1/1/1",
    " switchport mode trunk",
    " switchport trunk allowed vlan 210,220",
)


def test_factory_default_puts_access_ports_in_vlan_1_and_carries_no_trunk_vlan() -> None:
    wanted = wanted_state(ConfigTree.factory_default("sw1"), PORTS, "v")
    assert wanted == {"gi1-0-1": "v1", "gi1-1-1.210": None, "gi1-1-1.220": None}


def test_configured_ports_join_their_vlans() -> None:
    wanted = wanted_state(tree_with(*CONFIGURED), PORTS, "v")
    assert wanted == {"gi1-0-1": "v220", "gi1-1-1.210": "v210", "gi1-1-1.220": "v220"}


def test_a_vlan_removed_from_the_trunk_is_cut() -> None:
    tree = tree_with(
        *CONFIGURED, "interface GigabitEthernet1/1/1", " switchport trunk allowed vlan remove 210"
    )
    assert wanted_state(tree, PORTS, "v")["gi1-1-1.210"] is None
    assert wanted_state(tree, PORTS, "v")["gi1-1-1.220"] == "v220"


def test_a_vlan_that_does_not_exist_forwards_nothing() -> None:
    tree = tree_with(*CONFIGURED, "no vlan 220")
    wanted = wanted_state(tree, PORTS, "v")
    assert wanted["gi1-0-1"] is None  # access port in a missing VLAN: inactive, as on IOS
    assert wanted["gi1-1-1.220"] is None


def test_shutdown_detaches_every_link_of_the_port() -> None:
    tree = tree_with(*CONFIGURED, "interface GigabitEthernet1/1/1", " shutdown")
    wanted = wanted_state(tree, PORTS, "v")
    assert wanted["gi1-1-1.210"] is None and wanted["gi1-1-1.220"] is None
    assert wanted["gi1-0-1"] == "v220"


def test_the_management_svi_and_default_gateway_come_from_the_config() -> None:
    from ksm_switchsim.dataplane import wanted_addresses

    tree = tree_with(
        "vlan 291",
        "interface Vlan291",
        " ip address 10.42.31.11 255.255.255.0",
        "ip default-gateway 10.42.31.1",
    )
    assert wanted_addresses(tree, "v") == ({"v291": "10.42.31.11/24"}, "10.42.31.1")
    shut = tree_with("interface Vlan291", " ip address 10.42.31.11 255.255.255.0", " shutdown")
    assert wanted_addresses(shut, "v") == ({}, None)
