"""Device templates: every sample device renders, values land where they belong, bad input fails clearly."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import inspect
from pathlib import Path

import pytest

from ksm_provision.inventory.hosts import Device
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.network import filters
from ksm_provision.network.intended import RenderError, render_all, render_device
from ksm_provision.network.jinja_env import FILTERS, environment
from ksm_provision.vault import MASK, NetworkSecrets

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(REPO / "inventories")


@pytest.fixture(scope="module")
def configs(inventory: Inventory) -> dict[str, str]:
    return render_all(inventory)


def _secrets(authority: str) -> NetworkSecrets:
    return NetworkSecrets(authority, f"{authority}-auth-key", f"{authority}-priv-key", "pw-x", "en-x")


def _lines(text: str) -> list[str]:
    return text.splitlines()


# --------------------------------------------------------------------------- registry and filters


def test_every_public_filter_is_registered() -> None:
    public = {
        name
        for name, fn in inspect.getmembers(filters, inspect.isfunction)
        if not name.startswith("_") and fn.__module__ == filters.__name__
    }
    registered = {fn.__name__ for fn in FILTERS.values()}
    assert public - registered == set(), "register these in ksm_provision.network.jinja_env.FILTERS"
    assert set(environment().filters) >= set(FILTERS)


@pytest.mark.parametrize(
    "module",
    ["filters", "secrets", "session", "intended", "platforms"],
)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"ksm_provision.network.{module}"))
    assert result.failed == 0


@pytest.mark.parametrize("bad", [[], [0], [4095], ["10"]])
def test_vlan_list_refuses_what_is_not_a_vlan_list(bad: list[object]) -> None:
    with pytest.raises(filters.TemplateValueError, match=r"e\.g\. \[10, 20, 30\]"):
        filters.vlan_list(bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the sample devices


def test_every_sample_device_renders(inventory: Inventory, configs: dict[str, str]) -> None:
    assert set(configs) == {d.hostname for d in inventory.devices}
    for device in inventory.devices:
        text = configs[device.hostname]
        assert f"hostname {device.hostname}" in text
        assert text.endswith("end\n")
        assert "None" not in text


def test_switch_has_the_sites_vlans_ports_and_management(configs: dict[str, str]) -> None:
    lines = _lines(configs["lup-pch-sw02"])
    for vlan, name in ((110, "PCH-CLIENTS"), (120, "PCH-SERVER"), (130, "PCH-DRUCKER"), (190, "PCH-MGMT")):
        assert lines[lines.index(f"vlan {vlan}") + 1] == f" name {name}"
    assert "vlan 111" not in lines  # Ludwigslust's VLAN is not at this site
    port = lines.index("interface GigabitEthernet1/0/10")
    assert lines[port + 1 : port + 4] == [
        " description Drucker Flur 2",
        " switchport access vlan 130",
        " switchport mode access",
    ]
    spare = lines.index("interface GigabitEthernet1/0/24")
    assert " shutdown" in lines[spare : spare + 6]
    uplink = lines.index("interface GigabitEthernet1/1/1")
    assert lines[uplink + 2 : uplink + 5] == [
        " switchport trunk native vlan 3998",
        " switchport trunk allowed vlan 110,130,190",
        " switchport mode trunk",
    ]
    svi = lines.index("interface Vlan190")
    assert lines[svi + 2] == " ip address 10.41.15.12 255.255.255.0"
    assert "ip default-gateway 10.41.15.1" in lines


def test_core_switch_is_spanning_tree_root(configs: dict[str, str]) -> None:
    assert "spanning-tree vlan 110,120,130,190 priority 24576" in _lines(configs["lup-pch-sw01"])
    assert not any(line.startswith("spanning-tree vlan") for line in _lines(configs["lup-pch-sw02"]))


def test_ntp_and_syslog_follow_provider_authority_site_precedence(configs: dict[str, str]) -> None:
    parchim = _lines(configs["lup-pch-sw02"])
    assert [x for x in parchim if x.startswith("ntp server")] == [
        "ntp server 10.40.0.123",
        "ntp server 10.40.1.123",
    ]
    ludwigslust = _lines(configs["lup-lwl-sw01"])  # the site overrides the provider default
    assert [x for x in ludwigslust if x.startswith("ntp server")] == [
        "ntp server 10.41.24.1",
        "ntp server 10.40.0.123",
    ]
    assert "logging host 10.41.8.30" in parchim
    assert "logging host 10.42.8.30" in _lines(configs["sn-sh-sw01"])


def test_snmpv3_aaa_and_banner(inventory: Inventory) -> None:
    device = inventory.devices_by_name["sn-sh-sw01"]
    lines = _lines(render_device(inventory, device, _secrets("schwerin")))
    assert "snmp-server group KSM-MONITORING v3 priv" in lines
    user = "snmp-server user ksm-monitoring KSM-MONITORING v3"
    assert f"{user} auth sha schwerin-auth-key priv aes 128 schwerin-priv-key" in lines
    assert "aaa new-model" in lines
    assert any(x.startswith("banner login ^CZugriff nur fuer berechtigte Personen.") for x in lines)
    # local login credentials are not managed by the templates
    assert not any(x.startswith(("username ", "enable secret", "enable password")) for x in lines)
    assert "pw-x" not in "\n".join(lines) and "en-x" not in "\n".join(lines)


def test_review_render_holds_masks_not_secrets(configs: dict[str, str]) -> None:
    assert f"auth sha {MASK} priv aes 128 {MASK}" in configs["lup-pch-sw01"]


def test_router_interfaces_ospf_and_static_routes(configs: dict[str, str]) -> None:
    lines = _lines(configs["lup-pch-rt01"])
    wan1 = lines.index("interface wan1")
    assert lines[wan1 + 1 : wan1 + 6] == [
        " description Standortkopplung Ludwigslust",
        " ip address 10.41.255.1/30",
        " ip ospf area 0",
        " ip ospf network point-to-point",
        "exit",
    ]
    clients = lines.index("interface vlan110")
    assert " ip ospf passive" in lines[clients : clients + 6]  # no hellos towards clients
    mgmt = lines.index("interface vlan190")
    assert not any("ospf" in x for x in lines[mgmt : mgmt + 4])  # ospf: false in the inventory
    assert "ip route 10.41.47.0/24 10.41.8.254" in lines
    assert "router ospf" in lines and " ospf router-id 10.41.15.1" in lines


def test_bgp_only_lets_the_authoritys_prefixes_out(configs: dict[str, str]) -> None:
    lines = _lines(configs["sn-rh-rt01"])
    assert "router bgp 65102" in lines
    assert "  neighbor 10.40.102.1 prefix-list SCHWERIN-TO-CORE out" in lines
    assert "  neighbor 10.40.102.1 prefix-list SCHWERIN-FROM-CORE in" in lines
    outbound = [x for x in lines if x.startswith("ip prefix-list SCHWERIN-TO-CORE")]
    assert outbound == ["ip prefix-list SCHWERIN-TO-CORE seq 10 permit 10.42.0.0/16"]
    assert "ip route 10.42.0.0/16 blackhole 254" in lines  # anchors the aggregate in the RIB
    assert not any(line.startswith("router bgp") for line in _lines(configs["sn-sh-rt01"]))


# --------------------------------------------------------------------------- failures


def _with_device(inventory: Inventory, hostname: str, **changes: object) -> tuple[Inventory, Device]:
    """The inventory with one device changed *without* validation (as if it slipped past the models)."""
    device = inventory.devices_by_name[hostname]
    authority = inventory.authorities[device.authority]
    devices = [
        d.model_copy(update=changes) if d.hostname == hostname else d for d in authority.network_devices
    ]
    changed = dataclasses.replace(
        inventory,
        authorities={
            **inventory.authorities,
            device.authority: authority.model_copy(update={"network_devices": devices}),
        },
    )
    return changed, changed.devices_by_name[hostname]


def test_a_newline_in_a_value_cannot_inject_a_command(inventory: Inventory) -> None:
    changed, device = _with_device(inventory, "lup-pch-rt01", model="x")
    interfaces = list(device.model.interfaces)
    interfaces[0] = interfaces[0].model_copy(update={"description": "Uplink\nno router bgp 65101"})
    changed, device = _with_device(changed, "lup-pch-rt01", interfaces=interfaces)
    with pytest.raises(RenderError, match=r"lup\.yml:\d+: device 'lup-pch-rt01'.*control character"):
        render_device(changed, device, NetworkSecrets.placeholder("lup"))


def test_a_secret_with_a_space_is_refused(inventory: Inventory) -> None:
    device = inventory.devices_by_name["lup-pch-sw02"]
    secrets = NetworkSecrets("lup", "two words", "x" * 10, "p", "e")
    with pytest.raises(RenderError, match="must be one word"):
        render_device(inventory, device, secrets)


def test_undefined_values_fail_with_device_and_template(inventory: Inventory, tmp_path: Path) -> None:
    (tmp_path / "frr").mkdir()
    (tmp_path / "frr" / "router.j2").write_text(
        "hostname {{ device.hostname }}\n{{ device.no_such_field }}\n"
    )
    device = inventory.devices_by_name["lup-lwl-rt01"]
    with pytest.raises(RenderError, match=r"lup-lwl-rt01.*frr/router\.j2.*undefined.*no_such_field"):
        render_device(inventory, device, NetworkSecrets.placeholder("lup"), templates=tmp_path)


def test_a_role_without_template_names_the_file_to_add(inventory: Inventory, tmp_path: Path) -> None:
    device = inventory.devices_by_name["lup-pch-sw02"]
    with pytest.raises(RenderError, match=r"add templates/cisco_ios/access_switch\.j2"):
        render_device(inventory, device, NetworkSecrets.placeholder("lup"), templates=tmp_path)


def test_a_device_never_gets_another_authoritys_secrets(inventory: Inventory) -> None:
    device = inventory.devices_by_name["lup-pch-sw02"]
    with pytest.raises(RenderError, match="own authority's vault"):
        render_device(inventory, device, _secrets("schwerin"))
