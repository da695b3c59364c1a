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


def test_dhcp_reservations_cover_served_networks_only(inventory: Inventory) -> None:
    variables = host_vars(inventory, inventory.hosts_by_name["lup-pch-dhcp01"])
    names = {r["hostname"] for r in variables["dhcp_reservations"]}
    assert "lup-pch-ws250" in names and "lup-hgw-bb24" in names
    assert not any(n.startswith("lup-lwl-") for n in names)
    assert len(names) == 250 + 2 + 24


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
