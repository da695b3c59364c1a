"""Reviewed means exact: comparing a new check run with the plan file, and the push's own last check.

Pure data (plan records, live results) and one device apply against a fake session that records
what would have been sent: a device whose remediation is no longer the reviewed one gets nothing.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import cast

import pytest

from ksm_provision.digests import digest_key, keyed_digest
from ksm_provision.inventory.inventory import Inventory, load_inventory
from ksm_provision.network.push import DeviceJob, SessionFactory, apply_device, plan_device
from ksm_provision.network.results import ApplyStatus, DevicePlan, NetworkPlan, PlanStatus
from ksm_provision.network.reviewed import ReviewedRemediation, remediation_difference
from ksm_provision.network.secrets import ConfigRedactor
from ksm_provision.network.session import Endpoint, Timeouts
from ksm_provision.playbook.results import HostRunResult, PlaybookRun, RunMode, TaskChange
from ksm_provision.playbook.runner import _EventCollector
from ksm_provision.targets import DeviceEndpoint, Target
from ksm_provision.vault import Redactor
from ksm_provision.workflow.exact_plan import (
    PlanChangedError,
    PlanDifference,
    device_differences,
    host_differences,
    plan_differences,
    reviewed_remediations,
    task_difference,
)
from ksm_provision.workflow.planfile import (
    PlanFile,
    PlannedTask,
    RecordedDevicePlan,
    RecordedHostPlan,
    device_plan,
)

REPO = Path(__file__).resolve().parents[2]
ROUTER = "sn-rh-rt01"
SECRET = "s3cr3t-Passw0rd"
KEY = digest_key([SECRET])
REVIEWED = ["interface lo", "description Loopback", "exit"]
HAND_ROUTE = "no ip route 192.0.2.0/24 Null0"


def live_device(lines: list[str], status: PlanStatus = PlanStatus.CHANGES, *messages: str) -> DevicePlan:
    return DevicePlan(
        hostname=ROUTER,
        authority="schwerin",
        platform="frr",
        role="router",
        status=status,
        remediation=tuple(lines),
        remediation_digest=keyed_digest(KEY, lines),
        messages=messages,
    )


def recorded_device(lines: list[str]) -> list[RecordedDevicePlan]:
    return [device_plan(ROUTER, "schwerin", "frr", lines, str, keyed_digest(KEY, lines))]


# --------------------------------------------------------------------------- devices


def test_the_same_remediation_is_no_difference() -> None:
    live = NetworkPlan(target="lab", devices=(live_device(REVIEWED),))
    assert device_differences(recorded_device(REVIEWED), live) == []


def test_a_line_added_by_hand_is_named() -> None:
    live = NetworkPlan(target="lab", devices=(live_device([*REVIEWED, HAND_ROUTE]),))
    (difference,) = device_differences(recorded_device(REVIEWED), live)
    assert (difference.kind, difference.name, difference.authority) == ("device", ROUTER, "schwerin")
    assert str(difference) == (
        f"{ROUTER} changed since the plan: plan again (would now also send 1 line(s): '{HAND_ROUTE}')"
    )


def test_lines_no_longer_sent_and_another_order_are_differences() -> None:
    now_in_sync = NetworkPlan(target="lab", devices=(live_device([], PlanStatus.IN_SYNC),))
    (gone,) = device_differences(recorded_device(REVIEWED), now_in_sync)
    assert gone.details == ("would no longer send 3 line(s): 'interface lo', 'description Loopback', 'exit'",)
    reordered = NetworkPlan(target="lab", devices=(live_device(list(reversed(REVIEWED))),))
    (order,) = device_differences(recorded_device(REVIEWED), reordered)
    assert order.details == ("would send the reviewed lines in another order",)


def test_a_device_that_cannot_be_planned_again_is_a_difference() -> None:
    failed = NetworkPlan(target="lab", devices=(live_device([], PlanStatus.FAILED, "not reachable"),))
    (difference,) = device_differences(recorded_device(REVIEWED), failed)
    assert difference.details == ("could not be planned again: not reachable",)


def test_a_difference_inside_a_secret_counts_without_showing_it() -> None:
    shown = ["username admin secret ********"]
    reviewed = ReviewedRemediation(
        lines=tuple(shown), digest=keyed_digest(KEY, [f"username admin secret {SECRET}"])
    )
    assert (
        remediation_difference(reviewed, shown, keyed_digest(KEY, [f"username admin secret {SECRET}"])) == []
    )
    (detail,) = remediation_difference(reviewed, shown, keyed_digest(KEY, ["username admin secret other-1"]))
    assert "secret differs" in detail and SECRET not in detail and "other-1" not in detail


def test_digests_are_keyed_by_the_authoritys_secrets() -> None:
    lines = ["snmp-server community guess-me"]
    assert keyed_digest(KEY, lines) == keyed_digest(digest_key([SECRET, SECRET]), lines)
    assert keyed_digest(KEY, lines) != keyed_digest(digest_key(["another authority's secret"]), lines)
    assert keyed_digest(KEY, ["a", "b"]) != keyed_digest(KEY, ["ab"])


def test_many_lines_are_counted_and_cut() -> None:
    reviewed = ReviewedRemediation(lines=(), digest="")
    (detail,) = remediation_difference(reviewed, [f"ip route 192.0.2.{i}/32 Null0" for i in range(8)], "x")
    assert detail.startswith("would now also send 8 line(s): 'ip route 192.0.2.0/32 Null0'")
    assert detail.endswith("and 3 more")


# --------------------------------------------------------------------------- hosts


def task(name: str, digest: str, action: str = "ansible.builtin.template") -> PlannedTask:
    return PlannedTask(task=name, action=action, diff="-a\n+b\n", digest=digest)


def host_run(*changes: TaskChange, failed: bool = False, errors: tuple[str, ...] = ()) -> PlaybookRun:
    host = HostRunResult(
        host="sn-sh-fs01",
        authority="schwerin",
        changed=len(changes),
        failed=failed,
        changes=list(changes),
        errors=list(errors),
    )
    return PlaybookRun(mode=RunMode.PLAN, hosts=[host], return_code=0)


def test_host_tasks_compare_by_name_action_and_digest() -> None:
    resolv, motd = task("Configure DNS", "1"), task("Set the motd", "2")
    assert task_difference([resolv], [resolv]) == []
    assert task_difference([resolv], [resolv, motd]) == ["would now also change 1 task(s): 'Set the motd'"]
    assert task_difference([resolv, motd], [motd]) == ["would no longer change 1 task(s): 'Configure DNS'"]
    assert task_difference([resolv], [task("Configure DNS", "9")]) == [
        "would change 'Configure DNS' differently from the plan (its diff differs)"
    ]
    assert task_difference([resolv, motd], [motd, resolv]) == [
        "would change the reviewed tasks in another order"
    ]


def test_a_host_with_more_changes_than_reviewed_is_named() -> None:
    recorded = [
        RecordedHostPlan(name="sn-sh-fs01", authority="schwerin", changes=[task("Configure DNS", "1")])
    ]
    same = host_run(
        TaskChange(task="Configure DNS", action="ansible.builtin.template", diff="-a\n+b\n", digest="1")
    )
    assert host_differences(recorded, same) == []
    more = host_run(
        TaskChange(task="Configure DNS", action="ansible.builtin.template", diff="-a\n+b\n", digest="1"),
        TaskChange(task="Set the motd", action="ansible.builtin.copy", diff="", digest="2"),
    )
    (difference,) = host_differences(recorded, more)
    assert str(difference) == (
        "sn-sh-fs01 changed since the plan: plan again (would now also change 1 task(s): 'Set the motd')"
    )
    (broken,) = host_differences(recorded, host_run(failed=True, errors=("unreachable: timed out",)))
    assert broken.details == ("could not be checked again: unreachable: timed out",)


def test_the_collector_digests_the_unredacted_change_and_loop_items() -> None:
    def changed(item: str, after: str) -> _EventCollector:
        collect = _EventCollector({"h1": "lup"}, Redactor([SECRET, "other-s3cret"]), None, {"lup": KEY})
        result = {"changed": True, "item": item, "diff": {"before": "", "after": after}}
        res = {"changed": True, "results": [result, {"changed": False, "item": "same"}]}
        data = {"host": "h1", "task": "Ensure users", "task_action": "ansible.builtin.user", "res": res}
        collect({"event": "runner_on_ok", "event_data": data})
        return collect

    first, same = changed("alice", f"pw={SECRET}\n"), changed("alice", f"pw={SECRET}\n")
    other_secret, other_item = changed("alice", "pw=other-s3cret\n"), changed("bob", f"pw={SECRET}\n")
    (change,) = first.results["h1"].changes
    assert change.diff.endswith("+pw=********\n") and SECRET not in change.diff  # loop diffs are shown
    assert change.digest == same.results["h1"].changes[0].digest
    assert other_secret.results["h1"].changes[0].diff == change.diff  # looks the same...
    assert other_secret.results["h1"].changes[0].digest != change.digest  # ...but is not
    assert other_item.results["h1"].changes[0].digest != change.digest


def test_the_digest_ignores_temporary_file_names_that_the_shown_diff_keeps() -> None:
    def template_run(source: str) -> TaskChange:
        collect = _EventCollector({"h1": "lup"}, Redactor([]), None, {"lup": KEY})
        diff = {"before": "a\n", "after": "b\n", "before_header": "/etc/x", "after_header": source}
        res = {"changed": True, "diff": diff}
        data = {"host": "h1", "task": "Ensure x", "task_action": "ansible.builtin.template", "res": res}
        collect({"event": "runner_on_ok", "event_data": data})
        return collect.results["h1"].changes[0]

    first, second = template_run("/root/.ansible/tmp/a1/x.j2"), template_run("/root/.ansible/tmp/b2/x.j2")
    assert "+++ /root/.ansible/tmp/a1/x.j2" in first.diff
    assert first.digest == second.digest


# --------------------------------------------------------------------------- whole plans


def test_plan_differences_cover_hosts_and_devices_and_the_error_lists_them() -> None:
    plan = PlanFile.create(
        target=Target.LAB,
        authorities=["schwerin"],
        inputs={"x": "1"},
        hosts=[
            RecordedHostPlan(name="sn-sh-fs01", authority="schwerin", changes=[task("Configure DNS", "1")])
        ],
        devices=recorded_device(REVIEWED),
    )
    assert reviewed_remediations(plan) == {
        ROUTER: ReviewedRemediation(lines=tuple(REVIEWED), digest=keyed_digest(KEY, REVIEWED))
    }
    hosts = host_run(TaskChange(task="Configure DNS", action="ansible.builtin.template", digest="1"))
    devices = NetworkPlan(target="lab", devices=(live_device([*REVIEWED, HAND_ROUTE]),))
    (difference,) = plan_differences(plan, hosts, devices)
    error = PlanChangedError([difference])
    assert str(error).startswith(f"{ROUTER} changed since the plan: plan again (would now also send")
    assert "nothing was applied" in str(error) and "ksm plan" in error.hint
    two = PlanChangedError([difference, PlanDifference("host", "sn-sh-fs01", "schwerin", ("x",))])
    assert str(two).splitlines()[0] == "2 hosts/devices changed since the plan; nothing was applied:"


# --------------------------------------------------------------------------- the push's own check


class FakeSession:
    """A device that only records what it is sent."""

    def __init__(self, running: str) -> None:
        self.running = running
        self.sent: list[str] = []

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def running_config(self) -> str:
        return self.running

    def send_config(self, commands: list[str]) -> str:
        self.sent += commands
        self.running = INTENDED
        return ""

    def save(self) -> str:
        return ""


def connect(session: FakeSession) -> SessionFactory:
    return cast(SessionFactory, lambda endpoint, timeouts: session)


INTENDED = "frr version 8.4.4\nhostname sn-rh-rt01\n!\ninterface lo\n description Loopback\nexit\n!\n"
RUNNING = "frr version 8.4.4\nhostname sn-rh-rt01\n!\ninterface lo\n description von Hand\nexit\n!\n"


@pytest.fixture
def inventory() -> Inventory:
    return load_inventory(REPO / "inventories")


def job(inventory: Inventory, reviewed: ReviewedRemediation | None) -> DeviceJob:
    device = inventory.devices_by_name[ROUTER]
    endpoint = Endpoint.of(device, DeviceEndpoint("127.0.0.1", 22, "u", "p", check_host_key=False))
    return DeviceJob(device, INTENDED, endpoint, ConfigRedactor([SECRET]), digest_key=KEY, reviewed=reviewed)


def test_the_push_sends_exactly_the_reviewed_lines_or_nothing(inventory: Inventory) -> None:
    session = FakeSession(RUNNING)
    planned = plan_device(job(inventory, None), Timeouts(), connect(session))
    assert planned.status is PlanStatus.CHANGES and session.sent == []
    recorded = device_plan(ROUTER, "schwerin", "frr", planned.remediation, str, planned.remediation_digest)
    reviewed = reviewed_remediations(
        PlanFile.create(target=Target.LAB, authorities=["schwerin"], inputs={}, devices=[recorded])
    )[ROUTER]

    session.running = RUNNING + "ip route 192.0.2.0/24 Null0\n!\n"  # a hand edit after the plan
    refused = apply_device(job(inventory, reviewed), Timeouts(), connect(session))
    assert refused.status is ApplyStatus.REFUSED and session.sent == []
    assert f"{ROUTER} changed since the plan, nothing sent" in refused.messages[0]
    assert HAND_ROUTE in refused.messages[0]

    session.running = RUNNING  # as planned: exactly the reviewed lines go out
    applied = apply_device(job(inventory, reviewed), Timeouts(), connect(session))
    assert applied.status is ApplyStatus.CHANGED, applied.messages
    assert list(applied.commands) == recorded.remediation == session.sent


def test_without_a_plan_the_push_sends_what_is_due(inventory: Inventory) -> None:
    session = FakeSession(RUNNING + "ip route 192.0.2.0/24 Null0\n!\n")
    applied = apply_device(job(inventory, None), Timeouts(), connect(session))
    assert applied.status is ApplyStatus.CHANGED and HAND_ROUTE in session.sent
