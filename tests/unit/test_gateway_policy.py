"""The authorities' traffic policy as data: key rules of the samples, grants, denials, relays, errors."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.inventory.models import NetworkPurpose
from ksm_provision.network.policy import (
    Policy,
    PolicyError,
    Protocol,
    RuleKind,
    authority_policy,
    relays,
    router_policy,
)

REPO = Path(__file__).resolve().parents[2]
TCP, UDP, ICMP = Protocol.TCP, Protocol.UDP, Protocol.ICMP_ECHO

SN_CLIENT = IPv4Address("10.42.0.50")
LUP_CLIENT = IPv4Address("10.41.0.20")
KFZ_HOST = IPv4Address("10.41.8.40")
ELS_HOST = IPv4Address("10.42.49.10")
LUP_SWITCH = IPv4Address("10.41.15.11")
LUP_LOG = IPv4Address("10.41.8.30")
ADMIN = IPv4Address("10.40.10.5")


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(REPO / "inventories")


@pytest.fixture(scope="module")
def lup(inventory: Inventory) -> Policy:
    return authority_policy(inventory, "lup")


@pytest.fixture(scope="module")
def schwerin(inventory: Inventory) -> Policy:
    return authority_policy(inventory, "schwerin")


def _allowed(policy: Policy, src: IPv4Address, dst: IPv4Address, proto: Protocol, port: int | None) -> bool:
    return policy.permits(src, dst, proto, port) is not None


def test_kfz_consumers_reach_the_host_on_its_port_only(lup: Policy, schwerin: Policy) -> None:
    rule = lup.permits(SN_CLIENT, KFZ_HOST, TCP, 8443)
    assert rule is not None and rule.kind is RuleKind.SHARED
    assert rule.sources == (IPv4Network("10.42.0.0/16"),)  # the consumer's block from the address plan
    assert "schwerin" in rule.reason and "kfz" in rule.reason and "lup-pch-app01" in rule.reason
    assert _allowed(schwerin, SN_CLIENT, KFZ_HOST, TCP, 8443)  # the consumer's routers let it out
    assert _allowed(lup, LUP_CLIENT, KFZ_HOST, TCP, 8443)  # the host's own clients consume it too
    assert not _allowed(lup, SN_CLIENT, KFZ_HOST, TCP, 22)
    assert not _allowed(lup, SN_CLIENT, IPv4Address("10.41.8.10"), TCP, 445)


def test_els_is_hosted_by_schwerin_and_consumed_by_lup(lup: Policy, schwerin: Policy) -> None:
    assert _allowed(schwerin, LUP_CLIENT, ELS_HOST, TCP, 9443)
    assert _allowed(lup, LUP_CLIENT, ELS_HOST, TCP, 9443)
    assert not _allowed(schwerin, LUP_CLIENT, ELS_HOST, TCP, 8443)


def test_a_consumer_without_grant_gets_no_rule(inventory: Inventory) -> None:
    services = [
        s.model_copy(update={"consumers": ["lup"]}) if s.id == "kfz" else s
        for s in inventory.provider.shared_services
    ]
    provider = inventory.provider.model_copy(update={"shared_services": services})
    policy = authority_policy(dataclasses.replace(inventory, provider=provider), "lup")
    assert not _allowed(policy, SN_CLIENT, KFZ_HOST, TCP, 8443)
    assert _allowed(policy, LUP_CLIENT, KFZ_HOST, TCP, 8443)


def test_everything_of_the_authority_logs_to_its_log_host(lup: Policy) -> None:
    for source in (LUP_CLIENT, LUP_SWITCH, IPv4Address("10.41.255.2"), IPv4Address("10.41.32.20")):
        for proto in (UDP, TCP):
            rule = lup.permits(source, LUP_LOG, proto, 514)
            assert rule is not None and rule.kind is RuleKind.LOGGING, (source, proto)
    assert not _allowed(lup, SN_CLIENT, LUP_LOG, UDP, 514)
    assert not _allowed(lup, LUP_CLIENT, LUP_LOG, TCP, 22)


def test_management_only_from_the_admin_networks(inventory: Inventory, lup: Policy) -> None:
    assert _allowed(lup, ADMIN, LUP_SWITCH, TCP, 22)
    assert _allowed(lup, ADMIN, LUP_SWITCH, UDP, 161)
    assert _allowed(lup, ADMIN, LUP_CLIENT, ICMP, None)
    assert not _allowed(lup, ADMIN, LUP_CLIENT, UDP, 161)  # SNMP only to management networks
    assert not _allowed(lup, LUP_CLIENT, LUP_SWITCH, TCP, 22)
    assert not _allowed(lup, SN_CLIENT, LUP_SWITCH, TCP, 22)
    assert not _allowed(lup, IPv4Address("10.40.11.5"), LUP_SWITCH, TCP, 22)  # core, but no admin net
    mgmt = [n.subnet for n in inventory.authorities["lup"].networks if n.purpose is NetworkPurpose.MANAGEMENT]
    admin = inventory.provider.address_plan.management
    for rule in lup.rules:
        if any(d.overlaps(m) for d in rule.destinations for m in mgmt):
            assert all(any(s.subnet_of(a) for a in admin) for s in rule.sources), rule.reason


def test_clients_reach_own_servers_printers_and_the_core_but_not_other_authorities(lup: Policy) -> None:
    assert _allowed(lup, LUP_CLIENT, IPv4Address("10.41.8.10"), TCP, 445)
    assert _allowed(lup, LUP_CLIENT, IPv4Address("10.41.9.20"), TCP, 9100)
    assert _allowed(lup, LUP_CLIENT, IPv4Address("10.40.0.53"), UDP, 53)
    assert not _allowed(lup, LUP_CLIENT, IPv4Address("10.41.8.10"), TCP, 22)
    assert not _allowed(lup, LUP_CLIENT, IPv4Address("10.42.15.11"), TCP, 22)
    assert not _allowed(lup, LUP_CLIENT, IPv4Address("10.42.24.10"), TCP, 445)


def test_relays_of_the_samples(inventory: Inventory) -> None:
    found = {
        (r.router, r.client_interface): r for r in (*relays(inventory, "lup"), *relays(inventory, "schwerin"))
    }
    assert sorted(found) == [
        ("lup-lwl-rt01", "vlan111"),
        ("lup-pch-rt01", "vlan110"),
        ("lup-pch-rt01", "vlan112"),
        ("lup-pch-rt01", "vlan150"),
        ("sn-ils-rt01", "vlan250"),
        ("sn-rh-rt01", "vlan210"),
        ("sn-sh-rt01", "vlan211"),
    ]
    assert found["lup-pch-rt01", "vlan112"].upstream == ("vlan120",)
    remote = found["sn-sh-rt01", "vlan211"]
    assert (remote.local, remote.upstream, str(remote.server_address)) == (False, ("wan1",), "10.42.8.20")


def test_relayed_dhcp_crossing_another_router_is_allowed_there(schwerin: Policy) -> None:
    server, giaddr, agent = IPv4Address("10.42.8.20"), IPv4Address("10.42.16.1"), IPv4Address("10.42.255.2")
    assert _allowed(schwerin, agent, server, UDP, 67)
    assert _allowed(schwerin, server, giaddr, UDP, 67)
    assert not _allowed(schwerin, server, IPv4Address("10.42.0.1"), UDP, 67)


def test_router_input(inventory: Inventory) -> None:
    pch = router_policy(inventory, inventory.devices_by_name["lup-pch-rt01"]).input
    assert pch.permits(IPv4Address("10.40.101.1"), IPv4Address("10.40.101.2"), TCP, 179)
    assert not pch.permits(IPv4Address("10.40.101.9"), IPv4Address("10.40.101.2"), TCP, 179)
    assert pch.permits(ADMIN, IPv4Address("10.41.15.1"), TCP, 22)
    assert pch.permits(LUP_SWITCH, IPv4Address("10.41.15.1"), TCP, 22)  # own management network
    assert not pch.permits(LUP_CLIENT, IPv4Address("10.41.0.1"), TCP, 22)
    ospf = pch.permits(IPv4Address("10.41.255.2"), IPv4Address("224.0.0.5"), Protocol.OSPF, None, "wan1")
    assert ospf is not None
    assert not pch.permits(IPv4Address("10.40.101.1"), IPv4Address("224.0.0.5"), Protocol.OSPF, None, "wan0")
    assert pch.permits(LUP_CLIENT, IPv4Address("255.255.255.255"), UDP, 67, "vlan110")
    assert not pch.permits(LUP_CLIENT, IPv4Address("255.255.255.255"), UDP, 67, "vlan130")  # printers
    lwl = router_policy(inventory, inventory.devices_by_name["lup-lwl-rt01"]).input
    assert lwl.permits(IPv4Address("10.41.16.30"), IPv4Address("10.41.24.1"), UDP, 123)  # site NTP on router


def test_a_hosting_server_missing_is_reported_at_file_and_line(inventory: Inventory) -> None:
    services = [
        s.model_copy(update={"hosted_by": s.hosted_by.model_copy(update={"host": "lup-pch-nope"})})
        if s.id == "kfz"
        else s
        for s in inventory.provider.shared_services
    ]
    provider = inventory.provider.model_copy(update={"shared_services": services})
    with pytest.raises(PolicyError, match=r"lup\.yml:\d+: shared service 'kfz' is hosted on 'lup-pch-nope'"):
        authority_policy(dataclasses.replace(inventory, provider=provider), "lup")
