"""apply_device's outcomes with scripted sessions: exactly the commands typed, every rollback
attempt, failed_untouched vs failed_state_unknown; the plan shows the rollback method; IOS default
objects and two-part port names are never removed."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import cast

import pytest

from ksm_provision.errors import ConnectionFailedError
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.network.platforms import PLATFORMS, is_physical_port
from ksm_provision.network.push import DeviceJob, SessionFactory, apply_device, plan_device
from ksm_provision.network.results import ApplyStatus, PlanStatus, RollbackOutcome
from ksm_provision.network.secrets import ConfigRedactor
from ksm_provision.network.session import DeviceRefusedError, Endpoint, SessionLostError, Timeouts
from ksm_provision.report import labels
from ksm_provision.targets import DeviceEndpoint
from ksm_provision.workflow.records import ApplyResult
from tests.conftest import REPO

SWITCH = "lup-pch-sw02"
RUNNING = (
    "hostname lup-pch-sw02\n!\nvlan 1\n!\nvlan 1002\n name fddi-default\n!\n"
    "interface FastEthernet0/1\n description alt\n!\ninterface GigabitEthernet0/1\n description uplink\n!\n"
    "interface GigabitEthernet0/0\n vrf forwarding Mgmt-vrf\n ip address 192.0.2.5 255.255.255.0\n!\n"
    "ntp server 10.0.0.1\n"
)
INTENDED = "hostname lup-pch-sw02\n!\nntp server 10.0.0.2\n"


class Device:
    """One scripted device shared by every session a job opens."""

    def __init__(self, running: str, *, refuse: str | None = None, free: int | None = 10**9) -> None:
        self.running = running
        self.refuse = refuse
        self.free = free
        self.sessions = 0
        self.fail_sessions_from: int | None = None
        self.replace_fails = False
        self.flash: str | None = None


class Session:
    def __init__(self, device: Device) -> None:
        self.device = device
        self.sent: list[str] = []

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def running_config(self) -> str:
        return self.device.running

    def free_flash(self) -> int | None:
        return self.device.free

    def copy_running_to_flash(self, target: str) -> None:
        self.device.flash = self.device.running

    def configure_replace(self, source: str) -> None:
        if self.device.replace_fails:
            raise DeviceRefusedError("sw: configure replace flash:x failed: %Rollback not successful\nline 2")
        assert self.device.flash is not None
        self.device.running = self.device.flash

    def send_config(self, commands: list[str]) -> str:
        for command in commands:
            self.sent.append(command)
            if command == self.device.refuse:
                raise DeviceRefusedError(f"sw refused a command: `{command}`: No such command: {command}")
            if command.startswith("no ntp server"):
                self.device.running = self.device.running.replace("ntp server 10.0.0.1\n", "")
            if command == "ntp server 10.0.0.1":  # the reverse remediation restores the backup
                self.device.running = RUNNING
        if "ntp server 10.0.0.2" in commands:
            self.device.running = INTENDED
        return ""

    def save(self) -> str:
        return "[OK]"


def factory(device: Device) -> SessionFactory:
    def connect(endpoint: Endpoint, timeouts: Timeouts) -> Session:
        device.sessions += 1
        if device.fail_sessions_from is not None and device.sessions >= device.fail_sessions_from:
            raise ConnectionFailedError("cannot open a session to sw: ConnectionRefusedError: [Errno 111]")
        return Session(device)

    return cast(SessionFactory, connect)


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(REPO / "inventories")


def job(inventory: Inventory, rollback: str = "auto") -> DeviceJob:
    device = inventory.devices_by_name[SWITCH]
    reach = DeviceEndpoint("127.0.0.1", 22, "u", "p", check_host_key=False, rollback=rollback)
    return DeviceJob(device, INTENDED, Endpoint.of(device, reach), ConfigRedactor([]))


def test_default_objects_management_ports_and_two_part_ports_are_never_removed(inventory: Inventory) -> None:
    plan = plan_device(job(inventory), Timeouts(), factory(Device(RUNNING)))
    assert plan.status is PlanStatus.CHANGES, plan.messages
    text = "\n".join(plan.remediation)
    assert "no vlan" not in text
    assert "no interface" not in text
    assert "GigabitEthernet0/0" not in text  # the management port stays as it is
    assert "interface FastEthernet0/1" in plan.remediation and "shutdown" in plan.remediation
    assert plan.rollback_method == "configure_replace"
    assert any("configure replace" in m for m in plan.messages)


@pytest.mark.parametrize(
    ("name", "physical"),
    [
        ("Ethernet0", True),
        ("FastEthernet0/1", True),
        ("GigabitEthernet0/1", True),
        ("GigabitEthernet1/0/1", True),
        ("TenGigabitEthernet1/1/1", True),
        ("TwentyFiveGigE1/1/1", True),
        ("Vlan10", False),
        ("Port-channel1", False),
        ("GigabitEthernet1/0/1.100", False),
    ],
)
def test_physical_ports_in_every_ios_form(name: str, physical: bool) -> None:
    pattern = PLATFORMS[next(iter(PLATFORMS))].fixed_interface_re
    assert pattern is not None
    assert is_physical_port(name) is physical
    assert bool(pattern.match(f"interface {name}")) is physical


def test_refused_command_mid_push_lists_exactly_what_was_typed_and_rolls_back(inventory: Inventory) -> None:
    device = Device(RUNNING, refuse="ntp server 10.0.0.2")
    result = apply_device(job(inventory), Timeouts(), factory(device))
    assert result.status is ApplyStatus.ROLLED_BACK, result.messages
    assert result.commands[-1] == "ntp server 10.0.0.2"  # the push stopped AT the refusal
    planned = plan_device(job(inventory), Timeouts(), factory(Device(RUNNING))).remediation
    assert list(result.commands) == list(planned[: planned.index("ntp server 10.0.0.2") + 1])
    assert [(a.attempt, a.method, a.outcome) for a in result.rollback_attempts] == [
        (1, "configure_replace", RollbackOutcome.CONFIRMED)
    ]
    assert result.rollback_commands == ("configure replace flash:ksm-rollback.cfg force",)
    assert device.running == RUNNING and result.consistent
    assert any("No such command: ntp server 10.0.0.2" in m for m in result.messages)


def test_rollback_that_cannot_be_confirmed_is_failed_state_unknown(inventory: Inventory) -> None:
    device = Device(RUNNING, refuse="ntp server 10.0.0.2")
    device.fail_sessions_from = 2  # the device is gone once the push session has ended
    result = apply_device(job(inventory), Timeouts(), factory(device))
    assert result.status is ApplyStatus.FAILED_STATE_UNKNOWN
    assert not result.consistent
    assert [a.outcome for a in result.rollback_attempts] == [RollbackOutcome.FAILED] * 2
    assert all("ConnectionRefusedError" in a.message for a in result.rollback_attempts)
    assert any(m.startswith("DEVICE STATE UNKNOWN") for m in result.messages)


def test_a_refused_configure_replace_falls_back_to_the_reverse_remediation(inventory: Inventory) -> None:
    device = Device(RUNNING, refuse="ntp server 10.0.0.2")
    device.replace_fails = True
    result = apply_device(job(inventory), Timeouts(), factory(device))
    assert result.status is ApplyStatus.ROLLED_BACK, result.messages
    first, second = result.rollback_attempts
    assert (first.method, first.outcome) == ("configure_replace", RollbackOutcome.FAILED)
    assert "line 2" in first.message  # the device's full message, not just its first line
    assert (second.method, second.outcome) == ("remediation", RollbackOutcome.CONFIRMED)
    assert "ntp server 10.0.0.1" in second.commands


METHODS = [
    (100, "auto", "remediation"),
    (None, "auto", "remediation"),
    (10**9, "remediation", "remediation"),
    (10**9, "auto", "configure_replace"),
]


@pytest.mark.parametrize(("free", "flag", "method"), METHODS)
def test_rollback_method_follows_free_flash_and_the_inventory(
    inventory: Inventory, free: int | None, flag: str, method: str
) -> None:
    plan = plan_device(job(inventory, flag), Timeouts(), factory(Device(RUNNING, free=free)))
    assert plan.rollback_method == method
    device = Device(RUNNING, refuse="ntp server 10.0.0.2", free=free)
    result = apply_device(job(inventory, flag), Timeouts(), factory(device))
    assert result.rollback_method == method
    assert result.status is ApplyStatus.ROLLED_BACK and device.running == RUNNING
    assert (device.flash is not None) is (method == "configure_replace")


def test_not_reached_is_failed_untouched(inventory: Inventory) -> None:
    device = Device(RUNNING)
    device.fail_sessions_from = 1
    result = apply_device(job(inventory), Timeouts(), factory(device))
    assert result.status is ApplyStatus.FAILED_UNTOUCHED
    assert result.commands == () and result.rollback_attempts == () and result.consistent


def test_a_push_that_fails_before_typing_anything_is_failed_untouched(inventory: Inventory) -> None:
    device = Device(RUNNING)

    class Lost(Session):
        def send_config(self, commands: list[str]) -> str:
            raise SessionLostError("sw: the session ended while waiting for the echo of `configure terminal`")

    connect: Callable[[Endpoint, Timeouts], Session] = lambda e, t: Lost(device)  # noqa: E731
    result = apply_device(job(inventory), Timeouts(), cast(SessionFactory, connect))
    assert result.status is ApplyStatus.FAILED_UNTOUCHED, result.messages
    assert result.commands == () and result.rollback_attempts == ()


def test_every_apply_result_has_a_german_label() -> None:
    for result in ApplyResult:
        assert labels.label(labels.APPLY_RESULTS, result.value) != result.value
