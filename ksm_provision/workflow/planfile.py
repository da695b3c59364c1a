"""Plan files: ``ksm plan --out plan.json`` records what will change, ``ksm apply plan.json`` applies it.

A plan file holds the hosts and devices planned (with the changed task names and diffs, or the
remediation lines, all redacted, each with a keyed digest of its unredacted form, see
:mod:`ksm_provision.digests`), and a hash of every input. Apply recomputes the hashes and refuses
with :class:`StalePlanError` when anything changed since the plan was made; it then plans again and
refuses when a host or device would now change differently from the plan (:mod:`.exact_plan`).

Format versions: 1 had no digests; this ksm reads only format 2 and refuses others with a clear
"plan again" (a plan without digests cannot promise that apply does exactly what was reviewed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from ksm_provision.errors import KsmError, SafetyError, relative_path
from ksm_provision.fileio import write_atomic
from ksm_provision.results import FrozenResult
from ksm_provision.targets import Target
from ksm_provision.workflow.inputs import MISSING, TOOLKIT_KEY, plan_hash
from ksm_provision.workflow.records import utc_now

PLAN_VERSION = 2
#: Diffs longer than this many lines per task are cut in the plan file (the summary says so).
MAX_DIFF_LINES = 400

Redact = Callable[[str], str]


class PlanFileError(KsmError):
    """A plan file is missing, unreadable, corrupt or of another format version."""


class StalePlanError(SafetyError):
    """An input of the plan changed after the plan was made."""


class PlannedTask(FrozenResult):
    task: str
    action: str = ""
    diff: str = ""
    #: Keyed digest of the unredacted, uncut change (:class:`~ksm_provision.playbook.results.TaskChange`).
    digest: str = ""


class RecordedHostPlan(FrozenResult):
    """A host as a plan file records it: the changed tasks with their (redacted, cut) diffs."""

    name: str
    authority: str
    changes: list[PlannedTask] = Field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


class RecordedDevicePlan(FrozenResult):
    """A device as a plan file records it: name, authority, platform and the (redacted) remediation.

    Not :class:`ksm_provision.network.results.DevicePlan`: that is the live result of planning a
    device (status, rollback, messages, timing) and changes shape with the pipeline; this is the
    reviewed record that ``ksm apply PLAN`` applies and ``ksm show`` prints, part of the plan file
    format (``PLAN_VERSION``), so it keeps its own small, stable set of fields.
    """

    name: str
    authority: str
    platform: str = ""
    remediation: list[str] = Field(default_factory=list)
    #: Keyed digest of the unredacted remediation: apply sends exactly these lines or nothing.
    digest: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.remediation)


def _cut(diff: str) -> str:
    lines = diff.splitlines()
    if len(lines) <= MAX_DIFF_LINES:
        return diff
    return "\n".join(
        [*lines[:MAX_DIFF_LINES], f"... {len(lines) - MAX_DIFF_LINES} more diff lines not shown"]
    )


#: A changed task as the run reports it: ``(task, action, diff)`` or ``(task, action, diff, digest)``.
TaskTuple = tuple[str, str, str] | tuple[str, str, str, str]


def planned_task(change: TaskTuple, redact: Redact) -> PlannedTask:
    """One changed task as a plan file records it: names and diff redacted, the diff cut."""
    task, action, diff = change[:3]
    digest = change[3] if len(change) > 3 else ""
    return PlannedTask(task=redact(task), action=action, diff=_cut(redact(diff)), digest=digest)


def host_plan(name: str, authority: str, tasks: Iterable[TaskTuple], redact: Redact) -> RecordedHostPlan:
    """A host's plan from ``(task, action, diff[, digest])``, diffs redacted and cut to a readable size."""
    changes = [planned_task(change, redact) for change in tasks]
    return RecordedHostPlan(name=name, authority=authority, changes=changes)


def device_plan(
    name: str, authority: str, platform: str, remediation: Iterable[str], redact: Redact, digest: str = ""
) -> RecordedDevicePlan:
    return RecordedDevicePlan(
        name=name,
        authority=authority,
        platform=platform,
        remediation=[redact(line) for line in remediation],
        digest=digest,
    )


class PlanFile(FrozenResult):
    """What ``ksm plan --out`` wrote: scope, planned changes, input hashes and their combined hash."""

    version: Literal[2] = 2
    created: datetime = Field(default_factory=utc_now)
    git_commit: str | None = None
    target: Target
    authorities: list[str]
    limit: str | None = None
    changed_since: str | None = None
    hosts: list[RecordedHostPlan] = Field(default_factory=list)
    devices: list[RecordedDevicePlan] = Field(default_factory=list)
    inputs: dict[str, str]
    plan_hash: str

    @staticmethod
    def create(
        *,
        target: Target,
        authorities: Iterable[str],
        inputs: dict[str, str],
        hosts: Iterable[RecordedHostPlan] = (),
        devices: Iterable[RecordedDevicePlan] = (),
        git_commit: str | None = None,
        limit: str | None = None,
        changed_since: str | None = None,
    ) -> PlanFile:
        """A new plan; ``plan_hash`` is computed from *inputs*."""
        return PlanFile(
            git_commit=git_commit,
            target=target,
            authorities=sorted(set(authorities)),
            limit=limit,
            changed_since=changed_since,
            hosts=sorted(hosts, key=lambda h: h.name),
            devices=sorted(devices, key=lambda d: d.name),
            inputs=dict(sorted(inputs.items())),
            plan_hash=plan_hash(inputs),
        )

    # ScopeLike, for input_hashes() at apply time
    @property
    def host_names(self) -> frozenset[str]:
        return frozenset(h.name for h in self.hosts)

    @property
    def device_names(self) -> frozenset[str]:
        return frozenset(d.name for d in self.devices)

    @property
    def changed_hosts(self) -> list[str]:
        return [h.name for h in self.hosts if h.changed]

    @property
    def changed_devices(self) -> list[str]:
        return [d.name for d in self.devices if d.changed]

    @property
    def changes_pending(self) -> bool:
        return bool(self.changed_hosts or self.changed_devices)

    def save(self, path: Path) -> Path:
        """Write atomically (temporary file + rename): a reader never sees half a plan."""
        return write_atomic(path, self.model_dump_json(indent=2) + "\n", mode=0o600)

    @staticmethod
    def load(path: Path) -> PlanFile:
        """Read and check a plan file; :class:`PlanFileError` says what is wrong and how to fix it."""
        shown = relative_path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PlanFileError(
                f"plan file {shown} does not exist",
                "make one with `ksm plan --out FILE` (in CI: fetch the plan job's artifact)",
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PlanFileError(
                f"plan file {shown} is not readable JSON ({exc})",
                "make a new plan with `ksm plan --out FILE`",
            ) from None
        version = raw.get("version") if isinstance(raw, dict) else None
        if version != PLAN_VERSION:
            older = isinstance(version, int) and 0 < version < PLAN_VERSION
            raise PlanFileError(
                f"plan file {shown} has format version {version!r}, this ksm reads {PLAN_VERSION}"
                + (" (older plans cannot prove that apply does exactly what was reviewed)" if older else ""),
                "plan again with this version of ksm (ksm plan --out FILE)",
            )
        try:
            plan = PlanFile.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise PlanFileError(
                f"plan file {shown} is corrupt: {where}: {first['msg']}",
                "make a new plan with `ksm plan --out FILE`; do not edit plan files",
            ) from None
        if plan.plan_hash != plan_hash(plan.inputs):
            raise PlanFileError(
                f"plan file {shown} is corrupt: its plan_hash does not match its inputs",
                "make a new plan with `ksm plan --out FILE`; do not edit plan files",
            )
        return plan

    def summary(self) -> str:
        """The readable plan for reviewers (``plan.txt`` in CI): scope, then every change."""
        lines = [
            f"ksm plan {self.plan_hash[:12]} made {self.created:%Y-%m-%d %H:%M:%S %Z} "
            f"at commit {(self.git_commit or 'unknown')[:12]} for target {self.target.value}",
            f"authorities: {', '.join(self.authorities) or 'none'}"
            + (f"; limit: {self.limit}" if self.limit else "")
            + (f"; changes since {self.changed_since}" if self.changed_since else ""),
            f"{len(self.changed_hosts)} of {len(self.hosts)} host(s) and {len(self.changed_devices)} of "
            f"{len(self.devices)} device(s) would change",
        ]
        for host in self.hosts:
            if host.changed:
                lines += ["", f"host {host.name} ({host.authority}): {len(host.changes)} change(s)"]
                for change in host.changes:
                    lines.append(f"  ~ {change.task}" + (f" [{change.action}]" if change.action else ""))
                    lines += [f"    {line}" for line in change.diff.splitlines()]
        for device in self.devices:
            if device.changed:
                lines += [
                    "",
                    f"device {device.name} ({device.authority}, {device.platform}): "
                    f"{len(device.remediation)} line(s)",
                ]
                lines += [f"  {line}" for line in device.remediation]
        return "\n".join(lines) + "\n"


def _label(key: str) -> str:
    return "the toolkit (ksm_provision code or version)" if key == TOOLKIT_KEY else key


def stale_inputs(planfile: PlanFile, current: dict[str, str]) -> list[str]:
    """One sentence per input that differs between the plan and now, sorted by input name."""
    found = []
    for key in sorted({*planfile.inputs, *current}):
        before, now = planfile.inputs.get(key), current.get(key)
        if before == now:
            continue
        if before is None or before == MISSING:
            found.append(f"{_label(key)} is new")
        elif now is None or now == MISSING:
            found.append(f"{_label(key)} is gone")
        else:
            found.append(f"{_label(key)} changed")
    return found


def check_inputs(planfile: PlanFile, current_hashes: dict[str, str]) -> None:
    """Raise :class:`StalePlanError` naming every input that changed since the plan was made."""
    stale = stale_inputs(planfile, current_hashes)
    if not stale:
        return
    if len(stale) == 1:
        raise StalePlanError(f"{stale[0]} since the plan was made", "plan again (ksm plan ... --out FILE)")
    shown = "; ".join(stale[:10]) + (f"; and {len(stale) - 10} more" if len(stale) > 10 else "")
    raise StalePlanError(
        f"{len(stale)} inputs changed since the plan was made: {shown}",
        "plan again (ksm plan ... --out FILE)",
    )
