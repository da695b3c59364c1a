"""Host variables, groups and the static Ansible inventory computed from the sample inventory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.render.ansible_inventory import write_ansible_inventory
from ksm_provision.render.ansible_vars import host_groups, host_vars

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(REPO / "inventories")


def test_client_gets_profile_site_printers_and_consumed_services(inventory: Inventory) -> None:
    host = inventory.hosts_by_name["lup-pch-ws001"]
    variables = host_vars(inventory, host)
    assert variables["workplace_profile"] == "verwaltung"
    assert variables["workplace_packages"] == ["cups-client", "hunspell-de-de"]
    assert [p["name"] for p in variables["workplace_printers"]] == ["PCH-Flur2-MFP", "PCH-Zulassung"]
    assert {s["id"] for s in variables["fachverfahren_consumed"]} == {"kfz", "els"}
    assert variables["base_ntp_servers"] == ["10.40.0.123", "10.40.1.123"]
    assert [a["name"] for a in variables["base_admin_accounts"]] == ["ksm-ops", "lup-admin"]


def test_site_setting_overrides_provider_default(inventory: Inventory) -> None:
    variables = host_vars(inventory, inventory.hosts_by_name["lup-lwl-ws001"])
    assert variables["base_ntp_servers"] == ["10.41.24.1", "10.40.0.123"]


def test_host_setting_overrides_profile_and_authority(inventory: Inventory) -> None:
    assert host_vars(inventory, inventory.hosts_by_name["sn-rh-ob01"])["base_unattended_upgrades"] is False
    assert host_vars(inventory, inventory.hosts_by_name["sn-rh-ws001"])["base_unattended_upgrades"] is True


def test_profile_setting_overrides_authority(inventory: Inventory) -> None:
    assert host_vars(inventory, inventory.hosts_by_name["lup-ils-elp01"])["base_unattended_upgrades"] is False


def test_secrets_are_vault_references_not_values(inventory: Inventory) -> None:
    variables = host_vars(inventory, inventory.hosts_by_name["lup-pch-app01"])
    assert variables["fachverfahren_hosted"][0]["db_password"] == "{{ fv_kfz_db_password }}"


def test_dhcp_reservations_only_for_real_macs(inventory: Inventory) -> None:
    """Reservations for the clients with a MAC in the inventory; range members lease from pools."""
    variables = host_vars(inventory, inventory.hosts_by_name["lup-pch-dhcp01"])
    names = {r["hostname"] for r in variables["dhcp_reservations"]}
    assert names == {"lup-pch-kfz01", "lup-pch-kfz02"}


def test_groups(inventory: Inventory) -> None:
    assert host_groups(inventory, inventory.hosts_by_name["sn-sh-fs01"]) == [
        "authority_schwerin",
        "site_schwerin_sh",
        "os_debian12",
        "servers",
        "role_fileserver",
    ]
    assert "service_kfz" in host_groups(inventory, inventory.hosts_by_name["lup-pch-app01"])


def test_scoped_render_contains_no_other_authority(inventory: Inventory, tmp_path: Path) -> None:
    scoped = inventory.select(["schwerin"])
    hosts_file = write_ansible_inventory(scoped, scoped.hosts, tmp_path / "out")
    text = hosts_file.read_text() + "".join(p.read_text() for p in (tmp_path / "out" / "host_vars").iterdir())
    assert "lup-" not in text and "10.41." not in text and "Ludwigslust" not in text
    document = yaml.safe_load(hosts_file.read_text())
    assert len(document["all"]["hosts"]) == len(scoped.hosts)


def test_ansible_inventory_plugin_lists_groups() -> None:
    """The real ansible-inventory with the shipped plugin, as AWX would use it."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", "inventories/ksm.yml", "--list"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(result.stdout)
    assert "lup-pch-fs01" in data["role_fileserver"]["hosts"]
    assert len(data["profile_verwaltung"]["hosts"]) == 250 + 180 + 1 + 150 + 220
    hosted = data["_meta"]["hostvars"]["sn-ils-app01"]["fachverfahren_hosted"][0]
    # inventory text is untrusted data: ansible-core 2.19 lists it marked so, for AWX to keep it so
    assert hosted["id"] == {"__ansible_unsafe": "els"}
    # ksm's own vault reference is the one trusted template
    assert hosted["db_password"] == "{{ fv_els_db_password }}"


def test_generated_yaml_marks_inventory_text_unsafe_and_keeps_only_vault_references() -> None:
    from ksm_provision.render.ansible_inventory import dump_yaml
    from ksm_provision.render.ansible_vars import vault_reference

    text = dump_yaml(
        {
            "name": "{{ lookup('pipe', 'id') }}",
            "policies": {"Homepage": {"URL": "x"}, "{{ key }}": 1},
            "count": 3,
            "empty": "",
            "secret": vault_reference("vault:fv_kfz_db_password"),
        }
    )
    assert "name: !unsafe '{{ lookup(''pipe'', ''id'') }}'" in text
    assert "  Homepage:\n    URL: !unsafe 'x'" in text
    assert "!unsafe '{{ key }}': 1" in text
    assert "count: 3" in text
    assert "empty: ''" in text  # not !unsafe: Ansible would read `!unsafe ''` as null
    assert "secret: '{{ fv_kfz_db_password }}'" in text


# --------------------------------------------------------------------------- routers' Linux side


class _UnsafeLoader(yaml.SafeLoader):
    """Reads the generated files as Ansible does: ``!unsafe`` strings are plain data."""


_UnsafeLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def _plain(value: object) -> object:
    """ansible-inventory's JSON with its unsafe markers removed."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def test_every_frr_router_is_a_gateway_host_at_its_management_address(inventory: Inventory) -> None:
    from ksm_provision.render.gateway_vars import ansible_host_groups, ansible_host_vars, gateway_hosts

    hosts = {h.hostname: h for h in gateway_hosts(inventory)}
    assert set(hosts) == {"lup-pch-rt01", "lup-lwl-rt01", "sn-ils-rt01", "sn-rh-rt01", "sn-sh-rt01"}
    router = inventory.devices_by_name["lup-pch-rt01"]
    assert hosts["lup-pch-rt01"].address == router.model.management.address
    groups = ansible_host_groups(inventory, hosts["lup-pch-rt01"])
    assert {"gateways", "authority_lup", "site_lup_pch", "os_debian12"} <= set(groups)
    assert "servers" not in groups
    variables = ansible_host_vars(inventory, hosts["lup-pch-rt01"])
    assert "table inet ksm {" in variables["gateway_nftables"]
    assert variables["gateway_relay_servers"] == ["10.41.8.20"]
    assert variables["gateway_relay_interfaces"]
    # the base role's effective settings of the router's site, like any server there
    assert variables["base_ntp_servers"] == ["10.40.0.123", "10.40.1.123"]
    assert {a["name"] for a in variables["base_admin_accounts"]} == {"ksm-ops", "lup-admin"}
    assert variables["base_hostname"] == "lup-pch-rt01" and variables["ksm_kind"] == "gateway"
    # an ordinary host gets none of it
    assert "gateway_nftables" not in ansible_host_vars(inventory, inventory.hosts_by_name["lup-pch-fs01"])
    assert "gateways" not in ansible_host_groups(inventory, inventory.hosts_by_name["lup-pch-fs01"])


def test_generated_inventory_and_plugin_agree_on_the_gateways(inventory: Inventory, tmp_path: Path) -> None:
    from ksm_provision.render.gateway_vars import gateway_hosts

    hosts_file = write_ansible_inventory(
        inventory, [*inventory.hosts, *gateway_hosts(inventory)], tmp_path / "o"
    )
    document = yaml.safe_load(hosts_file.read_text().replace("!unsafe ", ""))
    generated_members = set(document["all"]["children"]["gateways"]["hosts"])
    text = (tmp_path / "o" / "host_vars" / "sn-rh-rt01.yml").read_text()
    assert "gateway_nftables: !unsafe " in text  # inventory-derived text stays data
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", "inventories/ksm.yml", "--list"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(result.stdout)
    assert (
        set(data["gateways"]["hosts"]) == generated_members == {h.hostname for h in gateway_hosts(inventory)}
    )
    for name in generated_members:
        generated = yaml.load(
            (tmp_path / "o" / "host_vars" / f"{name}.yml").read_text(), Loader=_UnsafeLoader
        )
        listed = _plain(data["_meta"]["hostvars"][name])
        assert isinstance(listed, dict)
        assert listed.pop("ansible_host") == str(inventory.devices_by_name[name].model.management.address)
        assert listed == generated, name
        assert name not in data["servers"]["hosts"]
        for group, members in document["all"]["children"].items():
            assert (name in members["hosts"]) == (name in data.get(group, {}).get("hosts", [])), (name, group)
