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
    #: Failed before the first configuration command was typed (not reached, backup failed, ...):
    #: the device is untouched.
    FAILED_UNTOUCHED = "failed_untouched"
    #: Commands were typed and the rollback could not be confirmed: the device may run part of the
    #: change. It needs a look (compare with its backup) before anything else.
    FAILED_STATE_UNKNOWN = "failed_state_unknown"
    #: ``ksm apply PLAN``: the running config no longer yields the reviewed remediation; nothing sent.
    REFUSED = "refused"


class RollbackOutcome(StrEnum):
    #: The running config equals the backup again (read back and compared).
    CONFIRMED = "confirmed"
    FAILED = "failed"


class RollbackAttempt(FrozenResult):
    """One attempt to restore a device's backup, in a fresh session."""

    attempt: int
    #: ``configure_replace`` or ``remediation``.
    method: str
    #: Exactly the commands typed in this attempt (configuration mode; for IOS the EXEC command).
    commands: tuple[str, ...] = ()
    outcome: RollbackOutcome
    #: The device's own words or the transport error (full text), or how it was confirmed.
    message: str = ""


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
    #: How a failed push would be undone: ``configure_replace`` or ``remediation`` (see messages why).
    rollback_method: str = ""
    messages: tuple[str, ...] = ()
    seconds: float = 0.0


class DeviceApply(FrozenResult):
    hostname: str
    authority: str
    platform: str
    role: str
    status: ApplyStatus
    #: Exactly the configuration commands typed, in order, up to and including the one that failed
    #: (empty when unchanged or untouched) — not the planned list.
    commands: tuple[str, ...] = ()
    #: Every command typed to restore the backup, over all attempts (see *rollback_attempts*).
    rollback_commands: tuple[str, ...] = ()
    #: Each rollback attempt with its commands and outcome, in order.
    rollback_attempts: tuple[RollbackAttempt, ...] = ()
    #: ``configure_replace`` or ``remediation`` (empty when nothing was pushed).
    rollback_method: str = ""
    #: True when the device is known to run either its backup or the intended config.
    consistent: bool = True
    messages: tuple[str, ...] = ()
    seconds: float = 0.0


_NOT_APPLIED = (
    ApplyStatus.ROLLED_BACK,
    ApplyStatus.FAILED_UNTOUCHED,
    ApplyStatus.FAILED_STATE_UNKNOWN,
    ApplyStatus.REFUSED,
)


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
    def untouched_devices(self) -> list[str]:
        """Failed before anything was typed: the device runs what it ran before."""
        return [d.hostname for d in self.devices if d.status is ApplyStatus.FAILED_UNTOUCHED]

    @property
    def state_unknown_devices(self) -> list[str]:
        """Something may have been applied and the rollback could not be confirmed."""
        return [d.hostname for d in self.devices if d.status is ApplyStatus.FAILED_STATE_UNKNOWN]

    @property
    def commands_sent(self) -> int:
        return sum(len(d.commands) for d in self.devices)

    @property
    def ok(self) -> bool:
        return not self.failed_devices
