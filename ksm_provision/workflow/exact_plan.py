"""Reviewed means exact: ``ksm apply PLAN`` does what the plan file shows, or nothing at all.

After the input hashes (:mod:`.planfile`), apply plans the plan's hosts and devices again (hosts:
``--check --diff``; devices: running config -> remediation) and compares the result with the plan
file, with :func:`plan_differences`:

- a device must yield the same remediation lines (redacted, in order) with the same keyed digest
  of the unredacted lines (:mod:`ksm_provision.digests`), so a difference inside a secret counts;
- a host must report the same changed tasks (name, action and keyed digest of diff and items).

Any difference, on any host or device, refuses the whole apply before the first change
(:class:`PlanChangedError`), like Terraform's "saved plan is stale": a plan is reviewed as a whole.
The push then checks each device once more inside its own session, right before the first
command (:mod:`ksm_provision.network.push`), so the lines sent are exactly the reviewed ones. A host
can still change between the check run and the real run; Ansible offers no such check inside a run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ksm_provision.network.results import DevicePlan, NetworkPlan, PlanStatus
from ksm_provision.network.reviewed import ReviewedRemediation, remediation_difference
from ksm_provision.playbook.results import HostRunResult, PlaybookRun
from ksm_provision.workflow.planfile import (
    PlanFile,
    PlannedTask,
    RecordedDevicePlan,
    RecordedHostPlan,
    StalePlanError,
    planned_task,
)

#: Task names shown per direction in a host's difference.
SHOWN_TASKS = 5


@dataclass(frozen=True)
class PlanDifference:
    """One host or device that would now change differently from the plan, and how."""

    kind: str  # "host" or "device"
    name: str
    authority: str
    details: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name} changed since the plan: plan again ({'; '.join(self.details)})"


class PlanChangedError(StalePlanError):
    """A host or device would now change differently from the reviewed plan; nothing was applied."""

    def __init__(self, differences: list[PlanDifference]) -> None:
        self.differences = differences
        if len(differences) == 1:
            message = f"{differences[0]}; nothing was applied"
        else:
            shown = "\n".join(f"  {d}" for d in differences)
            message = (
                f"{len(differences)} hosts/devices changed since the plan; nothing was applied:\n{shown}"
            )
        super().__init__(message, "make a new plan (ksm plan ... --out FILE), review it, and apply that one")


def reviewed_remediations(planfile: PlanFile) -> dict[str, ReviewedRemediation]:
    """Each device's reviewed remediation, for the push (see ``DeviceRunOptions.reviewed``)."""
    return {
        d.name: ReviewedRemediation(lines=tuple(d.remediation), digest=d.digest) for d in planfile.devices
    }


# --------------------------------------------------------------------------- devices


def device_difference(recorded: RecordedDevicePlan, live: DevicePlan) -> list[str]:
    """How the live plan of a device differs from the recorded one ([] if it does not)."""
    if live.status is PlanStatus.FAILED:
        return [f"could not be planned again: {'; '.join(live.messages) or 'no reason given'}"]
    reviewed = ReviewedRemediation(lines=tuple(recorded.remediation), digest=recorded.digest)
    return remediation_difference(reviewed, live.remediation, live.remediation_digest)


def device_differences(recorded: Iterable[RecordedDevicePlan], live: NetworkPlan) -> list[PlanDifference]:
    """Devices planned again whose remediation is not the recorded one (devices not planned: skipped)."""
    plans = {d.name: d for d in recorded}
    found = []
    for device in live.devices:
        plan = plans.get(
            device.hostname, RecordedDevicePlan(name=device.hostname, authority=device.authority)
        )
        details = device_difference(plan, device)
        if details:
            found.append(PlanDifference("device", device.hostname, device.authority, tuple(details)))
    return found


# --------------------------------------------------------------------------- hosts


def _shown(tasks: list[str]) -> str:
    text = ", ".join(repr(t) for t in tasks[:SHOWN_TASKS])
    return text + (f" and {len(tasks) - SHOWN_TASKS} more" if len(tasks) > SHOWN_TASKS else "")


def _key(change: PlannedTask) -> tuple[str, str, str]:
    return (change.task, change.action, change.digest)


def task_difference(recorded: Iterable[PlannedTask], live: Iterable[PlannedTask]) -> list[str]:
    """How a host's changed tasks now differ from the recorded ones (names shown redacted).

    >>> a, b = PlannedTask(task="A", digest="1"), PlannedTask(task="B", digest="2")
    >>> task_difference([a], [a])
    []
    >>> task_difference([a], [a, b])
    ["would now also change 1 task(s): 'B'"]
    >>> task_difference([a, b], [PlannedTask(task="A", digest="9")])
    ["would change 'A' differently from the plan (its diff differs)", "would no longer change 1 task(s): 'B'"]
    """
    before, after = list(recorded), list(live)
    if [_key(c) for c in before] == [_key(c) for c in after]:
        return []
    extra = Counter(_key(c) for c in after) - Counter(_key(c) for c in before)
    missing = Counter(_key(c) for c in before) - Counter(_key(c) for c in after)
    differently = sorted({k[0] for k in extra} & {k[0] for k in missing})
    added = [k[0] for k in extra.elements() if k[0] not in differently]
    removed = [k[0] for k in missing.elements() if k[0] not in differently]
    found = [f"would change {task!r} differently from the plan (its diff differs)" for task in differently]
    if added:
        found.append(f"would now also change {len(added)} task(s): {_shown(added)}")
    if removed:
        found.append(f"would no longer change {len(removed)} task(s): {_shown(removed)}")
    return found or ["would change the reviewed tasks in another order"]


def recorded_tasks(host: HostRunResult) -> list[PlannedTask]:
    """A host's changed tasks as a plan file records them (the run has redacted them already)."""
    return [planned_task((c.task, c.action, c.diff, c.digest), str) for c in host.changes]


def host_difference(recorded: RecordedHostPlan, live: HostRunResult) -> list[str]:
    """How the live check run of a host differs from the recorded plan ([] if it does not)."""
    if live.failed or live.unreachable:
        return [f"could not be checked again: {'; '.join(live.errors) or live.status}"]
    return task_difference(recorded.changes, recorded_tasks(live))


def host_differences(recorded: Iterable[RecordedHostPlan], live: PlaybookRun) -> list[PlanDifference]:
    """Hosts checked again whose changed tasks are not the recorded ones (hosts not checked: skipped)."""
    plans = {h.name: h for h in recorded}
    found = []
    for host in live.hosts:
        plan = plans.get(host.host, RecordedHostPlan(name=host.host, authority=host.authority))
        details = host_difference(plan, host)
        if details:
            found.append(PlanDifference("host", host.host, host.authority, tuple(details)))
    return found


def plan_differences(planfile: PlanFile, hosts: PlaybookRun, devices: NetworkPlan) -> list[PlanDifference]:
    """Every host and device of the new check run that differs from *planfile*, hosts first."""
    return host_differences(planfile.hosts, hosts) + device_differences(planfile.devices, devices)
