"""Inventory text is data, never code: real Ansible runs with a template in every free-text field.

Each free-text value of the sample inventories becomes ``{{ lookup('pipe', 'touch MARKER') }}``
(behind validation's back, see ``injection.py``), then real ``ansible-playbook`` dumps every
host's variables, once through ksm's generated inventory and once through the inventory plugin. The
payloads must come out literally and no marker may exist; ksm's own vault references must still
resolve. A control run proves the marker would appear if anything were evaluated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ksm_provision.inventory.hosts import Host, HostKind
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.render.ansible_inventory import write_ansible_inventory
from tests.integration.injection import hostile_inventory, payload

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
VAULT_VALUE = "vault-value-resolved"

DUMP_PLAYBOOK = """\
- name: Dump every host's variables as Ansible sees them
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the host's variables to a JSON file
      ansible.builtin.copy:
        content: "{{ hostvars[inventory_hostname] | to_nice_json }}"
        dest: "{{ dump_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
      delegate_to: localhost
"""

#: Variables that carry free text from the inventory to the roles, with the field they come from.
EXPECTED_LITERAL = {"ksm_authority_name": "authority.name"}


def sample_hosts(inventory: Inventory) -> list[Host]:
    """Every server and one client per authority and profile: each role's variables appear."""
    chosen: dict[tuple[str, str], Host] = {}
    for host in inventory.hosts:
        key = (host.authority, host.hostname if host.kind is HostKind.SERVER else host.profile or "")
        chosen.setdefault(key, host)
    return list(chosen.values())


def ansible_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(Path(env.get("TMPDIR", "/tmp")) / "ksm-injection-ansible"),
        ANSIBLE_NOCOLOR="1",
        PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
    )
    env.update(extra or {})
    return env


def run_dump(inventory_source: Path, tmp_path: Path, hosts: list[str], env: dict[str, str]) -> dict[str, Any]:
    playbook = tmp_path / "dump.yml"
    playbook.write_text(DUMP_PLAYBOOK, encoding="utf-8")
    dump_dir = tmp_path / "dump"
    dump_dir.mkdir()
    result = subprocess.run(
        [
            str(VENV_BIN / "ansible-playbook"),
            "-i",
            str(inventory_source),
            "-c",
            "local",
            "--limit",
            ",".join(hosts),
            "-e",
            f"dump_dir={dump_dir}",
            "-e",
            f"fv_kfz_db_password={VAULT_VALUE} fv_els_db_password={VAULT_VALUE}",
            str(playbook),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in dump_dir.glob("*.json")}


def assert_literal(dumps: dict[str, Any], marker_dir: Path, hostile: Inventory) -> None:
    assert list(marker_dir.iterdir()) == [], "an inventory value was evaluated as a template"
    text = json.dumps(dumps)
    assert "{{ lookup('pipe', 'touch " in text
    for hostname, variables in dumps.items():
        authority = hostile.hosts_by_name[hostname].authority
        for variable, field in EXPECTED_LITERAL.items():
            where = field if field.startswith("ksm.") else f"{authority}.{field}"
            assert variables[variable] == payload(marker_dir, where), (hostname, variable)
    clients = [v for v in dumps.values() if v["ksm_kind"] == "client"]
    assert clients and all(
        v["workplace_browser_homepage"].startswith("{{ lookup('pipe'")
        for v in clients
        if v["workplace_profile"]
    )
    printers = [p["location"] for v in clients for p in v.get("workplace_printers", [])]
    assert printers and all(p.startswith("{{ lookup('pipe'") for p in printers)
    admins = [a for v in dumps.values() for a in v["base_admin_accounts"]]
    assert admins and all(a["comment"].startswith("{{ lookup") for a in admins)
    assert all(k.startswith("{{ lookup") for a in admins for k in a["ssh_keys"])
    shares = [s for v in dumps.values() for s in v.get("fileserver_shares", [])]
    assert shares and all(s["comment"].startswith("{{ lookup") for s in shares)
    hosted = [s for v in dumps.values() for s in v.get("fachverfahren_hosted", [])]
    assert hosted and all(s["name"].startswith("{{ lookup") for s in hosted)
    # the one kind of template ksm writes itself still works: the vault reference resolved
    assert any(s.get("db_password") == VAULT_VALUE for s in hosted)


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Inventory, Path]:
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    inventory, touched = hostile_inventory(REPO / "inventories", marker_dir)
    assert len(touched) > 50  # every free-text field of the samples, not a handful
    return inventory, marker_dir


def test_generated_inventory_keeps_every_value_literal(
    hostile: tuple[Inventory, Path], tmp_path: Path
) -> None:
    inventory, marker_dir = hostile
    hosts = sample_hosts(inventory)
    hosts_file = write_ansible_inventory(inventory, hosts, tmp_path / "ansible")
    dumps = run_dump(hosts_file, tmp_path, [h.hostname for h in hosts], ansible_env())
    assert set(dumps) == {h.hostname for h in hosts}
    assert_literal(dumps, marker_dir, inventory)


def test_inventory_plugin_keeps_every_value_literal(hostile: tuple[Inventory, Path], tmp_path: Path) -> None:
    """The plugin inside a real ``ansible-playbook`` process, fed the hostile inventory."""
    inventory, marker_dir = hostile
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "from tests.integration.injection import install_in_plugin\ninstall_in_plugin()\n", encoding="utf-8"
    )
    env = ansible_env({"PYTHONPATH": f"{site}:{REPO}", "KSM_TEST_MARKER_DIR": str(marker_dir)})
    hosts = [h.hostname for h in sample_hosts(inventory)]
    dumps = run_dump(REPO / "inventories" / "ksm.yml", tmp_path, hosts, env)
    assert set(dumps) == set(hosts), "the plugin did not provide the hosts (did it fail to load?)"
    assert_literal(dumps, marker_dir, inventory)


def test_the_marker_would_appear_if_a_value_were_evaluated(tmp_path: Path) -> None:
    """Control: the same payload as a trusted extra var is evaluated, so the tests above can fail."""
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    result = subprocess.run(
        [
            str(VENV_BIN / "ansible"),
            "localhost",
            "-c",
            "local",
            "-m",
            "ansible.builtin.debug",
            "-a",
            "var=probe",
            "-e",
            f'probe="{payload(marker_dir, "control")}"',
        ],
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (marker_dir / "control").exists()
