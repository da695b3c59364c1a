"""Faults on a real SSH session: ksm's push against the switch simulator run as its own process.

A refused command mid-push stops the push there and is rolled back (the result lists exactly the
commands typed up to the refusal, and the rollback attempt); a simulator killed mid-push is reported
as ``failed_state_unknown`` with the session's end and the rollback's connection errors — noticed
from the dead session, not from the (long) command timeout. Only 127.0.0.0/8 is used; no root needed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.lab.switches import simulator_command
from ksm_provision.network.push import DeviceJob, SessionFactory, apply_device, plan_device
from ksm_provision.network.results import ApplyStatus, PlanStatus, RollbackOutcome
from ksm_provision.network.secrets import ConfigRedactor
from ksm_provision.network.session import DeviceSession, Endpoint, Timeouts
from ksm_provision.targets import DeviceEndpoint
from ksm_switchsim import Faults, clear_faults, set_faults
from tests.conftest import REPO

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SWITCH = "lup-pch-sw02"
USER, PASSWORD, SECRET = "admin", "sim-password-1", "sim-enable-1"
#: Long on purpose: a dead session must be noticed from the session, not by running into this.
TIMEOUTS = Timeouts(connect=5, command=120, keepalive=2, device=600)
BASE = (
    "hostname lup-pch-sw02\n!\nvlan 20\n name USERS\n!\n"
    "interface GigabitEthernet1/0/1\n description Platz 1\n switchport access vlan 20\n"
    " switchport mode access\n!\n"
    "spanning-tree mode pvst\n!\nntp server 10.0.0.1\n"
)
CHANGED = (
    BASE
    + "ntp server 10.0.0.2\n!\nsnmp-server location Parchim\n!\nvlan 30\n name DRUCKER\n!\n"
    + "ntp server 10.0.0.3\n"
)


def _free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


@dataclass
class Simulator:
    address: str
    port: int
    state: Path
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


def _start(address: str, port: int, state: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KSM_SIM_PASSWORD": PASSWORD, "KSM_SIM_ENABLE_SECRET": SECRET}
    process = subprocess.Popen(
        [simulator_command(), "--listen", address, "--port", str(port), "--username", USER,
         "--state-dir", str(state), "--log-level", "WARNING"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(200):  # wait for the SSH banner (not a timing assertion: the test fails below)
        try:
            with socket.create_connection((address, port), timeout=1) as sock:
                if sock.recv(4).startswith(b"SSH-"):
                    return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("the simulator did not start")


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[Simulator]:
    address = f"127.198.{10 + os.getpid() % 200}.{1 + os.getpid() % 250}"
    port = _free_port(address)
    sim = Simulator(address, port, tmp_path / "state", _start(address, port, tmp_path / "state"))
    yield sim
    if sim.process.poll() is None:
        sim.kill()


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(REPO / "inventories")


def _job(inventory: Inventory, sim: Simulator, intended: str) -> DeviceJob:
    device = inventory.devices_by_name[SWITCH]
    reach = DeviceEndpoint(sim.address, sim.port, USER, PASSWORD, SECRET, check_host_key=False)
    return DeviceJob(device, intended, Endpoint.of(device, reach), ConfigRedactor([PASSWORD, SECRET]))


def _running(job: DeviceJob) -> str:
    with DeviceSession(job.endpoint, TIMEOUTS) as session:
        return session.running_config()


def _prepared(inventory: Inventory, sim: Simulator) -> tuple[DeviceJob, list[str], str]:
    """The simulator at BASE; the job that would bring it to CHANGED and that job's remediation."""
    first = apply_device(_job(inventory, sim, BASE), TIMEOUTS)
    assert first.status is ApplyStatus.CHANGED, first.messages
    job = _job(inventory, sim, CHANGED)
    plan = plan_device(job, TIMEOUTS)
    assert plan.status is PlanStatus.CHANGES and plan.rollback_method == "configure_replace", plan.messages
    return job, list(plan.remediation), _running(job)


@pytest.mark.parametrize("style", ["ios", "foreign"])
def test_a_refused_command_stops_the_push_there_and_is_rolled_back(
    inventory: Inventory, simulator: Simulator, style: str
) -> None:
    job, remediation, before = _prepared(inventory, simulator)
    refused = next(i for i, line in enumerate(remediation) if line.startswith("vlan 30"))
    faults = {"reject_commands": (r"^vlan 30",)} | ({"reject_style": style} if style != "ios" else {})
    set_faults(simulator.state, Faults.model_validate(faults))
    try:
        result = apply_device(job, TIMEOUTS)
    finally:
        clear_faults(simulator.state)
    assert result.status is ApplyStatus.ROLLED_BACK, result.messages
    assert list(result.commands) == remediation[: refused + 1]  # exactly up to the refusal
    assert [(a.attempt, a.method, a.outcome) for a in result.rollback_attempts] == [
        (1, "configure_replace", RollbackOutcome.CONFIRMED)
    ]
    assert result.rollback_commands == ("configure replace flash:ksm-rollback.cfg force",)
    said = "No such command: vlan 30" if style == "foreign" else "% Invalid input detected at '^' marker."
    assert any("refused a command: `vlan 30`" in m and said in m for m in result.messages), result.messages
    assert _running(job) == before
    assert apply_device(job, TIMEOUTS).status is ApplyStatus.CHANGED


def test_a_killed_device_is_failed_state_unknown_with_the_sessions_end(
    inventory: Inventory, simulator: Simulator
) -> None:
    job, remediation, _ = _prepared(inventory, simulator)

    class KilledAfterThree(DeviceSession):
        """The device process dies after the third configuration command of the push."""

        def _write(self, line: str, waiting_for: str) -> None:
            if len(self.sent) == 3 and simulator.process.poll() is None:
                simulator.kill()
                for _ in range(400):  # until the transport has seen the connection go
                    if not self.alive():
                        break
                    time.sleep(0.01)
            super()._write(line, waiting_for)

    result = apply_device(job, TIMEOUTS, cast(SessionFactory, KilledAfterThree))
    assert result.status is ApplyStatus.FAILED_STATE_UNKNOWN, result.messages
    assert not result.consistent
    assert list(result.commands) == remediation[:3]
    assert any("the session ended while waiting for" in m for m in result.messages), result.messages
    assert not any("no reply for" in m for m in result.messages)  # not the command timeout
    assert [a.outcome for a in result.rollback_attempts] == [RollbackOutcome.FAILED] * 2
    assert all("cannot open a session" in a.message and "refused" in a.message.lower()
               for a in result.rollback_attempts), result.rollback_attempts  # fmt: skip
    assert any(m.startswith("DEVICE STATE UNKNOWN") for m in result.messages)
