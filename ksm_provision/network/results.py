"""Typed results of network plans and applies: one record per device plus an aggregate.

Every command and message in here is already redacted (vault values and secret patterns).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from ksm_provision.results import FrozenResult


class PlanStatus(StrEnum):
    IN_SYNC = "in_sync"
    CHANGES = "changes"
    FAILED = "failed"


class ApplyStatus(StrEnum):
    #: Nothing to do: not a single configuration command was sent.
    UNCHANGED = "unchanged"
    #: Pushed, read back, no remediation left, saved.
    CHANGED = "changed"
    #: The push failed; the device was restored to its backup and that was confirmed.
    ROLLED_BACK = "rolled_back"
    #: Not reached (nothing changed), or the rollback could not be confirmed (see messages).
    FAILED = "failed"
    #: ``ksm apply PLAN``: the running config no longer yields the reviewed remediation; nothing sent.
    REFUSED = "refused"


class DevicePlan(FrozenResult):
    """One device's live plan: its status, remediation and rollback, as computed from its running config.

    A plan file records less of it (see :class:`~ksm_provision.workflow.planfile.RecordedDevicePlan`).
    """

    hostname: str
    authority: str
    platform: str
    role: str
    status: PlanStatus
    #: Commands that turn the running config into the intended one (configuration mode).
    remediation: tuple[str, ...] = ()
    #: Keyed digest of the unredacted remediation (:mod:`ksm_provision.digests`), for ``ksm apply PLAN``.
    remediation_digest: str = ""
    #: Commands that would undo them.
    rollback: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    seconds: float = 0.0


class DeviceApply(FrozenResult):
    hostname: str
    authority: str
    platform: str
    role: str
    status: ApplyStatus
    #: Configuration commands sent to the device (empty when unchanged).
    commands: tuple[str, ...] = ()
    #: Commands sent to restore the backup (IOS: the configure replace; FRR: the reverse remediation).
    rollback_commands: tuple[str, ...] = ()
    #: True when the device is known to run either its backup or the intended config.
    consistent: bool = True
    messages: tuple[str, ...] = ()
    seconds: float = 0.0


_NOT_APPLIED = (ApplyStatus.ROLLED_BACK, ApplyStatus.FAILED, ApplyStatus.REFUSED)


class NetworkPlan(FrozenResult):
    target: str
    devices: tuple[DevicePlan, ...] = Field(default_factory=tuple)

    @property
    def changed_devices(self) -> list[str]:
        return [d.hostname for d in self.devices if d.status is PlanStatus.CHANGES]

    @property
    def failed_devices(self) -> list[str]:
        return [d.hostname for d in self.devices if d.status is PlanStatus.FAILED]


class NetworkApply(FrozenResult):
    target: str
    devices: tuple[DeviceApply, ...] = Field(default_factory=tuple)

    @property
    def changed_devices(self) -> list[str]:
        return [d.hostname for d in self.devices if d.status is ApplyStatus.CHANGED]

    @property
    def rolled_back_devices(self) -> list[str]:
        return [d.hostname for d in self.devices if d.status is ApplyStatus.ROLLED_BACK]

    @property
    def failed_devices(self) -> list[str]:
        """Devices whose apply did not succeed: rolled back, failed or refused."""
        return [d.hostname for d in self.devices if d.status in _NOT_APPLIED]

    @property
    def commands_sent(self) -> int:
        return sum(len(d.commands) for d in self.devices)

    @property
    def ok(self) -> bool:
        return not self.failed_devices
