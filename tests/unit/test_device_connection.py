"""A device's `connection:` block: parsed and validated, used by the production target, checked by
the lab-only guard (jump host and DNS names too) and by the host-key check before any session."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ksm_provision.errors import SafetyError
from ksm_provision.hostkeys import HostKeyError, device_nodes, require_host_keys
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.inventory.models import DeviceConnection, DeviceRollback
from ksm_provision.network.pipeline import endpoint_nodes
from ksm_provision.network.session import DeviceSession, Endpoint, Timeouts
from ksm_provision.target_resolution import ProductionTargets
from ksm_provision.vault import NetworkSecrets

MINIMAL = Path(__file__).resolve().parents[1] / "data" / "minimal"
SWITCH = "bb-rh-sw01"


def inventory_with(tmp_path: Path, connection: str) -> Inventory:
    root = tmp_path / "inv"
    shutil.copytree(MINIMAL, root)
    path = root / "bb.yml"
    text = path.read_text(encoding="utf-8")
    anchor = "      address: 10.42.15.11\n"
    assert text.count(anchor) == 1
    path.write_text(text.replace(anchor, anchor + connection), encoding="utf-8")
    return load_inventory(root)


JUMP = """    connection:
      host: sw01.mgmt.bb.example
      port: 2222
      jump_host: {host: 10.42.0.2, user: ksm-jump}
      timeouts: {connect: 5, command: 20, keepalive: 3}
      rollback: remediation
"""


def test_defaults_keep_the_management_address_and_port_22() -> None:
    conn = DeviceConnection()
    assert (conn.host, conn.port, conn.jump_host, conn.rollback) == (None, 22, None, DeviceRollback.AUTO)


def test_production_target_uses_the_connection_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KSM_LAB_ONLY", raising=False)
    inventory = inventory_with(tmp_path, JUMP)
    device = inventory.devices_by_name[SWITCH]
    secrets = NetworkSecrets("bb", "a", "b", "Geheim-Passwort-1", "Geheim-Enable-2")
    reach = ProductionTargets().device(inventory, device, secrets)
    assert (reach.address, reach.port, reach.rollback) == ("sw01.mgmt.bb.example", 2222, "remediation")
    assert reach.jump is not None
    assert (reach.jump.address, reach.jump.port, reach.jump.user) == ("10.42.0.2", 22, "ksm-jump")
    assert reach.jump.known_hosts == reach.known_hosts == inventory.root / "known_hosts.d" / "bb"
    timeouts = Timeouts().for_device(reach)
    assert (timeouts.connect, timeouts.command, timeouts.keepalive) == (5, 20, 3)
    assert "Geheim" not in repr(reach)


def test_lab_only_refuses_a_jump_host_and_a_dns_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KSM_LAB_ONLY", "1")
    secrets = NetworkSecrets("bb", "a", "b", "pw", "en")
    only_jump = "    connection:\n      host: 127.0.0.9\n      jump_host: {host: 10.42.0.2, user: j}\n"
    by_name = "    connection: {host: sw01.bb.example}\n"
    for connection, refused in ((JUMP, "10.42.0.2"), (only_jump, "10.42.0.2"), (by_name, "sw01.bb.example")):
        inventory = inventory_with(tmp_path / refused / str(len(connection)), connection)
        with pytest.raises(SafetyError, match=f"KSM_LAB_ONLY=1 refuses .*{re.escape(refused)}"):
            ProductionTargets().device(inventory, inventory.devices_by_name[SWITCH], secrets)


def test_a_session_refuses_a_non_loopback_jump_host_before_any_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KSM_LAB_ONLY", raising=False)
    inventory = inventory_with(tmp_path, JUMP)
    device = inventory.devices_by_name[SWITCH]
    reach = ProductionTargets().device(inventory, device, NetworkSecrets("bb", "a", "b", "pw", "en"))
    monkeypatch.setenv("KSM_LAB_ONLY", "1")
    with pytest.raises(SafetyError, match=r"10\.42\.0\.2"):
        DeviceSession(Endpoint.of(device, reach), Timeouts(connect=1))


def test_the_jump_hosts_key_must_be_known_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KSM_LAB_ONLY", raising=False)
    inventory = inventory_with(tmp_path, JUMP)
    device = inventory.devices_by_name[SWITCH]
    reach = ProductionTargets().device(inventory, device, NetworkSecrets("bb", "a", "b", "pw", "en"))
    nodes = endpoint_nodes(Endpoint.of(device, reach))
    assert [n.ssh_name for n, _ in nodes] == ["10.42.0.2", "[sw01.mgmt.bb.example]:2222"]
    known = inventory.root / "known_hosts.d" / "bb"
    known.parent.mkdir(parents=True, exist_ok=True)
    known.write_text("bb-rh-sw01,[sw01.mgmt.bb.example]:2222 ssh-ed25519 AAAA\n", encoding="utf-8")
    with pytest.raises(HostKeyError, match=r"no host key for jump host of bb-rh-sw01 \(10.42.0.2\)"):
        require_host_keys(nodes)
    scanned = device_nodes(SWITCH, "bb", device.model, known)
    assert [(n.name, n.ssh_name, n.via is not None) for n in scanned] == [
        ("10.42.0.2", "10.42.0.2", False),
        (SWITCH, "[sw01.mgmt.bb.example]:2222", True),
    ]
