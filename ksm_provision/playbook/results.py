"""Typed results of an Ansible run, per host (plan = check+diff, apply = real run)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from ksm_provision.results import ResultModel


class RunMode(StrEnum):
    PLAN = "plan"
    APPLY = "apply"


class TaskChange(ResultModel):
    task: str
    action: str
    #: Redacted, as shown; a loop task shows the diffs of its changed items.
    diff: str = ""
    #: Keyed digest of the unredacted change (task, action, diff, changed items), see
    #: :mod:`ksm_provision.digests`: ``ksm apply PLAN`` compares it with the reviewed one.
    digest: str = ""


class HostRunResult(ResultModel):
    host: str
    authority: str
    ok: int = 0
    changed: int = 0
    skipped: int = 0
    failed: bool = False
    unreachable: bool = False
    changes: list[TaskChange] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)

    @property
    def status(self) -> str:
        if self.unreachable:
            return "unreachable"
        if self.failed:
            return "failed"
        return "changed" if self.changed else "unchanged"


class PlaybookRun(ResultModel):
    mode: RunMode
    hosts: list[HostRunResult]
    return_code: int

    @property
    def failed_hosts(self) -> list[str]:
        return [h.host for h in self.hosts if h.failed or h.unreachable]

    @property
    def changed_hosts(self) -> list[str]:
        return [h.host for h in self.hosts if h.changed]

    @property
    def total_changed(self) -> int:
        return sum(h.changed for h in self.hosts)
