"""Network devices end to end on the lab twin: real FRR routers and the IOS switch simulator.

Apply both sample authorities, prove the second apply sends nothing, break pushes on purpose
(dropped session, rejected command, on a switch and on a real FRR router) and check that each
device is back on its backup, that an authority-scoped apply leaves the other authority alone and
that backups hold no secret. Every test leaves the devices as it found them: applied, faults cleared.
"""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ksm_provision.errors import ConnectionFailedError
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.lab import system
from ksm_provision.lab.manager import Lab
from ksm_provision.lab.switches import state_dir
from ksm_provision.lab.targets import LabTargets
from ksm_provision.network.hidden_lines import SNMP_USER_COMMAND, is_hidden
from ksm_provision.network.pipeline import (
    DeviceRunOptions,
    apply_devices,
    backup_devices,
    device_scope,
    plan_devices,
)
from ksm_provision.network.platforms import platform_info
from ksm_provision.network.push import DeviceJob, apply_device
from ksm_provision.network.remediation import parse, remediate
from ksm_provision.network.results import ApplyStatus, NetworkApply, PlanStatus
from ksm_provision.network.session import DeviceSession, Endpoint, Timeouts
from ksm_provision.targets import JumpEndpoint
from ksm_provision.vault import read_vault, vault_access
from ksm_switchsim import Faults, clear_faults, set_faults
from tests.integration.lab_helpers import ksm

pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.integration]

FAST = Timeouts(connect=10, command=10, device=120)
SWITCH = "lup-pch-sw02"
ROUTER = "lup-lwl-rt01"


@dataclasses.dataclass(frozen=True)
class Net:
    inventory: Inventory
    lab: Lab
    env: dict[str, str]
    first_apply: NetworkApply

    def device(self, hostname: str) -> Any:
        return self.inventory.devices_by_name[hostname]

    def endpoint(self, hostname: str) -> Endpoint:
        device = self.device(hostname)
        return Endpoint.of(device, LabTargets(self.lab).stand_in(device))

    def running(self, hostname: str) -> str:
        with DeviceSession(self.endpoint(hostname), FAST) as session:
            return session.running_config()

    def configure(self, hostname: str, commands: list[str]) -> None:
        """A hand edit on the device, as an engineer at the console would make it."""
        with DeviceSession(self.endpoint(hostname), FAST) as session:
            session.send_config(commands)

    def switch_state(self, hostname: str) -> Path:
        state = self.lab.state()
        assert state is not None
        node = next(n for n in state.nodes.values() if hostname in n.spec.represents)
        return Path(state_dir(node))

    def apply(self, inventory: Inventory | None = None, limit: str | None = None) -> NetworkApply:
        return apply_devices(
            inventory or self.inventory, LabTargets(self.lab), DeviceRunOptions(limit=limit, timeouts=FAST)
        )

    def in_sync(self, hostname: str) -> bool:
        plan = plan_devices(
            self.inventory, LabTargets(self.lab), DeviceRunOptions(limit=hostname, timeouts=FAST)
        )
        return plan.devices[0].status is PlanStatus.IN_SYNC


@pytest.fixture(scope="module")
def net(lab_twin: Any) -> Iterator[Net]:
    inventory: Inventory = lab_twin.inventory
    lab: Lab = lab_twin.lab
    first = apply_devices(inventory, LabTargets(lab), DeviceRunOptions(timeouts=Timeouts(command=30)))
    net = Net(inventory, lab, lab_twin.env, first)
    yield net
    clear_faults(net.switch_state(SWITCH))


def _drift(net: Net) -> None:
    """Hand edits on the switch so that the next apply has something to push."""
    net.configure(
        SWITCH,
        ["interface GigabitEthernet1/0/1", "description von Hand", "exit", "no ntp server 10.40.1.123"],
    )


def test_apply_configures_both_authorities_and_the_second_apply_sends_nothing(net: Net) -> None:
    first = net.first_apply
    assert {d.hostname for d in first.devices} == {d.hostname for d in net.inventory.devices}
    assert {d.authority for d in first.devices} == {"lup", "schwerin"}
    assert first.ok, [
        (d.hostname, d.status, d.messages) for d in first.devices if d.status not in ("changed", "unchanged")
    ]

    second = net.apply()
    assert [d.status for d in second.devices] == [ApplyStatus.UNCHANGED] * len(second.devices)
    assert second.commands_sent == 0
    plan = plan_devices(net.inventory, LabTargets(net.lab), DeviceRunOptions(timeouts=FAST))
    assert plan.changed_devices == [] and plan.failed_devices == []


def _snmp_users(net: Net, hostname: str) -> str:
    with DeviceSession(net.endpoint(hostname), FAST) as session:
        return session.exec_command(SNMP_USER_COMMAND)


def test_snmp_user_hidden_from_the_config_is_checked_and_restored(net: Net) -> None:
    """IOS hides `snmp-server user`: ksm confirms it with `show snmp user`, and a user lost on the
    device is planned and pushed on its own, with no other change to carry it."""
    user = net.inventory.authorities["lup"].network_settings.snmp_user
    assert f"User name: {user}" in _snmp_users(net, SWITCH)
    assert "snmp-server user" not in net.running(SWITCH)
    net.configure(SWITCH, [f"no snmp-server user {user} KSM-MONITORING v3"])
    assert f"User name: {user}" not in _snmp_users(net, SWITCH)
    assert not net.in_sync(SWITCH)
    (result,) = net.apply(limit=SWITCH).devices
    assert result.status is ApplyStatus.CHANGED
    assert [c for c in result.commands if c.startswith("snmp-server user")] and len(result.commands) == 1
    assert f"User name: {user}" in _snmp_users(net, SWITCH)
    assert net.in_sync(SWITCH)


def test_the_pushed_configs_read_back_as_rendered(net: Net) -> None:
    """What the templates produce is what the devices show (order and form), apart from lines the
    device adds itself (version, unused ports at their default)."""
    scope = device_scope(net.inventory, LabTargets(net.lab), limit=f"{ROUTER},{SWITCH}")
    for job in scope.jobs:
        running = net.running(job.hostname)
        # IOS never shows `snmp-server user` (network/hidden_lines.py): the device cannot show it back
        rendered = [
            line
            for line in job.intended.splitlines()
            if line.strip() not in ("!", "") and not is_hidden(line)
        ]
        shown = iter(line for line in running.splitlines() if line.strip() not in ("!", ""))
        missing = [line for line in rendered if not any(line == seen for seen in shown)]
        assert missing == [], f"{job.hostname}: rendered lines missing or in another order on the device"


def test_session_dropped_mid_push_rolls_back_to_the_backup(net: Net) -> None:
    _drift(net)
    before = net.running(SWITCH)
    set_faults(net.switch_state(SWITCH), Faults(drop_after_config_lines=2))
    try:
        result = net.apply(limit=SWITCH).devices[0]
    finally:
        clear_faults(net.switch_state(SWITCH))
    assert result.status is ApplyStatus.ROLLED_BACK, result.messages
    assert result.consistent
    assert any("rolled back" in m for m in result.messages)
    assert net.running(SWITCH) == before
    assert net.apply(limit=SWITCH).devices[0].status is ApplyStatus.CHANGED
    assert net.in_sync(SWITCH)


def test_rejected_command_rolls_back_to_the_backup(net: Net) -> None:
    _drift(net)
    before = net.running(SWITCH)
    set_faults(net.switch_state(SWITCH), Faults(reject_commands=(r"^ntp server",)))
    try:
        result = net.apply(limit=SWITCH).devices[0]
    finally:
        clear_faults(net.switch_state(SWITCH))
    assert result.status is ApplyStatus.ROLLED_BACK
    assert any("refused a command" in m and "ntp server" in m for m in result.messages)
    assert result.rollback_commands == ("configure replace flash:ksm-rollback.cfg force",)
    assert net.running(SWITCH) == before
    assert net.apply(limit=SWITCH).devices[0].status is ApplyStatus.CHANGED


def test_frr_router_rejecting_a_command_is_rolled_back_by_remediation(net: Net) -> None:
    net.configure(ROUTER, ["interface vlan111", "description von Hand", "exit"])
    before = net.running(ROUTER)
    job: DeviceJob = device_scope(net.inventory, LabTargets(net.lab), limit=ROUTER).jobs[0]
    # An intended config the real FRR refuses half-way: the first change lands, the second fails.
    broken = job.intended.replace(
        " ip ospf network point-to-point\n", " ip ospf network point-to-point\n ip ospf no-such-thing 7\n", 1
    )
    result = apply_device(dataclasses.replace(job, intended=broken), FAST)
    assert result.status is ApplyStatus.ROLLED_BACK, result.messages
    assert "description LWL Clients" in result.commands
    assert "description von Hand" in result.rollback_commands
    assert net.running(ROUTER) == before
    assert net.apply(limit=ROUTER).devices[0].status is ApplyStatus.CHANGED


def test_authority_scoped_apply_touches_no_device_of_the_other_authority(net: Net) -> None:
    schwerin = [d.hostname for d in net.inventory.devices if d.authority == "schwerin"]
    net.configure("sn-sh-sw01", ["interface GigabitEthernet1/0/5", "description von Hand", "exit"])
    _drift(net)
    before = {hostname: net.running(hostname) for hostname in schwerin}

    result = net.apply(inventory=net.inventory.select(["lup"]))

    assert {d.authority for d in result.devices} == {"lup"}
    assert result.changed_devices == [SWITCH]
    assert {hostname: net.running(hostname) for hostname in schwerin} == before
    assert not net.in_sync("sn-sh-sw01")  # the hand edit in Schwerin is still there
    assert net.apply(inventory=net.inventory.select(["schwerin"])).changed_devices == ["sn-sh-sw01"]


def test_backup_is_stable_and_holds_no_secret(net: Net, tmp_path: Path) -> None:
    first = backup_devices(
        net.inventory, LabTargets(net.lab), tmp_path / "a", DeviceRunOptions(timeouts=FAST)
    )
    second = backup_devices(
        net.inventory, LabTargets(net.lab), tmp_path / "b", DeviceRunOptions(timeouts=FAST)
    )
    assert not first.failed_devices and not second.failed_devices
    secrets = [
        str(v)
        for access in vault_access(net.inventory)
        for v in read_vault(access).values()
        if len(str(v)) >= 4
    ]
    for device in net.inventory.devices:
        a = (tmp_path / "a" / device.authority / f"{device.hostname}.conf").read_text()
        assert a == (tmp_path / "b" / device.authority / f"{device.hostname}.conf").read_text()
        assert f"hostname {device.hostname}" in a
        assert "Current configuration" not in a and "Building configuration" not in a
        assert not [s for s in secrets if s in a], (
            f"a vault value leaked into the backup of {device.hostname}"
        )
        if device.model.platform == "cisco_ios":
            assert "snmp-server user" not in a  # IOS never shows it (network/hidden_lines.py)


def test_backup_compares_with_the_render(net: Net, tmp_path: Path) -> None:
    """`ksm render network` and `ksm network backup` write the same layout; a device's backup
    parses to the same config as its render (secrets masked on both sides)."""
    ksm(net.env, "render", "network", "--out", str(tmp_path / "render"))
    ksm(net.env, "network", "backup", "--target", "lab", "--out", str(tmp_path / "backup"))
    for device in net.inventory.devices:
        info = platform_info(device.model.platform)
        relative = Path(device.authority) / f"{device.hostname}.conf"
        rendered = parse(info, (tmp_path / "render" / relative).read_text())
        backed_up = parse(info, (tmp_path / "backup" / relative).read_text())
        assert remediate(backed_up, rendered).empty, device.hostname


def test_cli_plan_reports_nothing_to_do(net: Net) -> None:
    result = ksm(
        net.env, "plan", "--only", "devices", "--target", "lab", "--all", "--detailed-exitcode", "--json"
    )
    assert '"status": "in_sync"' in result.stdout and '"status": "changes"' not in result.stdout


#: A jump host of this machine's namespace: lab hosts live in namespaces of their own now, where
#: 127.x is their own loopback, so they cannot reach the switch simulators' management addresses.
JUMP_ADDRESS, JUMP_PORT = "127.254.250.1", 2299


@contextlib.contextmanager
def machine_jump_host(tmp_path: Path) -> Iterator[JumpEndpoint]:
    """A throwaway sshd on a loopback address that allows TCP forwarding (``direct-tcpip``)."""
    for name in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / name)], check=True
        )
    (tmp_path / "authorized_keys").write_text((tmp_path / "client_key.pub").read_text())
    config = tmp_path / "sshd_config"
    config.write_text(
        f"ListenAddress {JUMP_ADDRESS}:{JUMP_PORT}\nHostKey {tmp_path / 'host_key'}\n"
        f"PidFile {tmp_path / 'sshd.pid'}\nAuthorizedKeysFile {tmp_path / 'authorized_keys'}\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\nPermitRootLogin prohibit-password\n"
        "AllowTcpForwarding yes\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    daemon = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
    try:
        assert system.tcp_ready(JUMP_ADDRESS, JUMP_PORT, timeout=10, banner=b"SSH-"), (
            "jump sshd did not start"
        )
        known = tmp_path / "jump_known_hosts"
        host_key = " ".join((tmp_path / "host_key.pub").read_text().split()[:2])
        known.write_text(f"[{JUMP_ADDRESS}]:{JUMP_PORT} {host_key}\n")
        yield JumpEndpoint(
            JUMP_ADDRESS, JUMP_PORT, "root", known_hosts=known, key_file=tmp_path / "client_key"
        )
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


def test_a_session_through_a_jump_host_checks_the_jump_hosts_key(net: Net, tmp_path: Path) -> None:
    """ProxyJump the ksm way: the switch reached through an sshd (direct-tcpip); the jump host's
    key must be in the given known_hosts, else the session is refused with ssh's reason."""
    with machine_jump_host(tmp_path) as jump:
        _through_jump_host(net, jump, tmp_path)


def _through_jump_host(net: Net, jump: JumpEndpoint, tmp_path: Path) -> None:
    switch = net.endpoint(SWITCH)
    through = dataclasses.replace(switch, reach=dataclasses.replace(switch.reach, jump=jump))
    with DeviceSession(through, FAST) as session:
        assert f"hostname {SWITCH}" in session.running_config()
    (tmp_path / "known_hosts").write_text("", encoding="utf-8")
    unknown = dataclasses.replace(jump, known_hosts=tmp_path / "known_hosts")
    refused = dataclasses.replace(switch, reach=dataclasses.replace(switch.reach, jump=unknown))
    with pytest.raises(ConnectionFailedError, match="not found in known_hosts") as caught:
        DeviceSession(refused, FAST)
    assert "ksm hostkeys scan" in caught.value.hint
