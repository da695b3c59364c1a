"""From inventory to lab nodes (``ksm_provision.lab.planner``), against the repository's inventories."""

from __future__ import annotations

import doctest
from collections import Counter
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from ksm_provision.errors import LabError
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.lab import planner
from ksm_provision.lab.planner import plan_lab
from ksm_provision.lab.state import NodeKind

pytestmark = [pytest.mark.lab]

INVENTORIES = Path(__file__).resolve().parents[2] / "inventories"


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    if not (INVENTORIES / "ksm.yml").exists():
        pytest.fail("no inventories/ in this checkout")
    return load_inventory(INVENTORIES)


def test_every_network_device_gets_a_stand_in_of_its_platform(inventory: Inventory) -> None:
    plan = plan_lab(inventory)
    by_name = {s.hostname: s for s in plan.specs if s.kind is not NodeKind.GATEWAY}
    for device in inventory.devices:
        spec = by_name[device.hostname]
        expected = NodeKind.ROUTER if device.model.platform.value == "frr" else NodeKind.SWITCH
        assert spec.kind is expected
        assert spec.represents == (device.hostname,)
        if expected is NodeKind.ROUTER:
            assert spec.interfaces == tuple(i.name for i in device.model.interfaces)


def test_hosts_are_one_per_role_or_profile_and_capped(inventory: Inventory) -> None:
    plan = plan_lab(inventory, hosts_per_authority=3)
    hosts = [s for s in plan.specs if s.kind is NodeKind.HOST]
    per_authority = Counter(s.authority for s in hosts)
    assert all(n <= 3 for n in per_authority.values())
    represented = [h for s in hosts for h in s.represents]
    assert len(represented) == len(set(represented)), "an inventory host has two stand-ins"
    by_name = inventory.hosts_by_name
    for spec in hosts:
        assert len({by_name[h].group_key for h in spec.represents}) == 1
        assert spec.hostname == spec.represents[0]
    # Nothing falls through the cracks: each host is represented or reported.
    assert set(represented) | set(plan.unrepresented) == set(by_name)


def test_addresses_are_unique_loopback_and_follow_the_plan(inventory: Inventory) -> None:
    plan = plan_lab(inventory)
    addresses = [s.address for s in plan.specs]
    assert len(addresses) == len(set(addresses))
    assert all(IPv4Address(a) in IPv4Network("127.0.0.0/8") for a in addresses)
    octet = {NodeKind.HOST: 100, NodeKind.ROUTER: 101, NodeKind.SWITCH: 102, NodeKind.GATEWAY: 103}
    index = {**planner.authority_indexes(inventory), planner.PROVIDER: planner.PROVIDER_INDEX}
    for spec in plan.specs:
        _, second, third, _ = spec.address.split(".")
        assert int(second) == octet[spec.kind]
        assert int(third) == index[spec.authority]


def test_instance_shifts_addresses(inventory: Inventory) -> None:
    plan = plan_lab(inventory, instance=9)
    assert {s.address.split(".")[1] for s in plan.specs} <= {"190", "191", "192", "193"}


def test_every_frr_router_gets_a_gateway_in_its_namespace(inventory: Inventory) -> None:
    plan = plan_lab(inventory)
    specs = {s.name: s for s in plan.specs}
    gateways = [s for s in plan.specs if s.kind is NodeKind.GATEWAY]
    routers = [d.hostname for d in inventory.devices if d.model.platform.value == "frr"]
    assert sorted(g.hostname for g in gateways) == sorted(routers)
    for gateway in gateways:
        assert gateway.router is not None
        router = specs[gateway.router]
        assert router.kind is NodeKind.ROUTER and router.hostname == gateway.hostname
        assert gateway.represents == (router.hostname,) and gateway.address != router.address


def test_authority_selection(inventory: Inventory) -> None:
    first = next(iter(inventory.authorities))
    plan = plan_lab(inventory, [first])
    # the provider's core router comes along: it is the authority's way out
    assert {s.authority for s in plan.specs} == {first, planner.PROVIDER}
    assert [s.name for s in plan.specs if s.authority == planner.PROVIDER] == ["ksm-core-rt01"]
    with pytest.raises(LabError, match="unknown authority"):
        plan_lab(inventory, ["atlantis"])


def test_zero_hosts_per_authority_plans_devices_only(inventory: Inventory) -> None:
    plan = plan_lab(inventory, hosts_per_authority=0)
    assert all(s.kind is not NodeKind.HOST for s in plan.specs)
    assert len(plan.unrepresented) == len(inventory.hosts)


def test_doctests() -> None:
    assert doctest.testmod(planner).failed == 0
