"""Plan and apply one device: back up, push the remediation, confirm, save — or roll back.

Apply, per device:

1. read the running config; compute the remediation (hier_config); nothing to do -> ``unchanged``
   and not a single configuration command is sent. For ``ksm apply PLAN`` the remediation must be
   exactly the reviewed one (:mod:`.reviewed`), else -> ``refused`` and nothing is sent;
2. back up: IOS copies the running config to ``flash:ksm-rollback.cfg``; FRR keeps it as text;
3. send the remediation (a refused command raises at once), read the running config again and
   confirm that no remediation remains, then ``write memory`` -> ``changed``. The config is saved
   only once it is confirmed, so a failed change never reaches the startup config;
4. on any error, timeout or mismatch in 3: a fresh session rolls back (IOS ``configure replace``;
   FRR the remediation from the current config back to the backup), confirms that the running
   config equals the backup again -> ``rolled_back``; if that cannot be confirmed -> ``failed``
   with ``consistent=False`` and a message that the device needs a look.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ksm_provision.digests import keyed_digest
from ksm_provision.errors import KsmError
from ksm_provision.inventory.hosts import Device
from ksm_provision.network.platforms import RollbackMethod
from ksm_provision.network.remediation import ParsedConfig, Remediation, parse, remediate
from ksm_provision.network.results import ApplyStatus, DeviceApply, DevicePlan, PlanStatus
from ksm_provision.network.reviewed import ReviewedRemediation, remediation_difference
from ksm_provision.network.secrets import ConfigRedactor
from ksm_provision.network.session import ROLLBACK_FILE, DeviceSession, Endpoint, Timeouts

#: Opens a session; tests and benchmarks may wrap it, production uses :class:`DeviceSession`.
SessionFactory = Callable[[Endpoint, Timeouts], DeviceSession]
#: Called with (hostname, running config text) before a push, e.g. to write a git-friendly backup.
BackupHook = Callable[[Device, str], None]


class DeviceTimeoutError(KsmError):
    """A device job ran past its time budget."""


class PushMismatchError(KsmError):
    """After the push the running config still differs from the intended one."""


@dataclass(frozen=True)
class DeviceJob:
    """Everything needed to plan or apply one device. ``intended`` holds secrets: memory only."""

    device: Device
    intended: str
    endpoint: Endpoint
    redact: ConfigRedactor
    #: Key of the remediation digest: derived from the device's own authority's secrets.
    digest_key: bytes = b""
    #: ``ksm apply PLAN``: the remediation that was reviewed; apply sends exactly it, or nothing.
    reviewed: ReviewedRemediation | None = None

    @property
    def hostname(self) -> str:
        return self.device.hostname

    def digest(self, commands: list[str]) -> str:
        """Keyed digest of the unredacted *commands* (see :mod:`ksm_provision.digests`)."""
        return keyed_digest(self.digest_key, commands)

    def unreviewed(self, plan: Remediation) -> list[str]:
        """How *plan* differs from the reviewed remediation ([] without one, or when it is the same)."""
        if self.reviewed is None:
            return []
        return remediation_difference(
            self.reviewed, self.redact.lines(plan.commands), self.digest(plan.commands)
        )


class _Deadline:
    def __init__(self, seconds: float, hostname: str) -> None:
        self.started = time.monotonic()
        self.until = self.started + seconds
        self.seconds = seconds
        self.hostname = hostname

    def check(self, step: str) -> None:
        if time.monotonic() > self.until:
            raise DeviceTimeoutError(
                f"{self.hostname}: time budget of {self.seconds:.0f} s used up before {step}"
            )

    @property
    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 3)


def _describe(exc: BaseException) -> str:
    """One line about *exc* (Netmiko appends paragraphs of advice to its timeouts)."""
    text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
    return text if isinstance(exc, KsmError) else f"{type(exc).__name__}: {text}"


def _common(job: DeviceJob) -> dict[str, str]:
    model = job.device.model
    return {
        "hostname": job.hostname,
        "authority": job.device.authority,
        "platform": str(model.platform),
        "role": str(model.role),
    }


def plan_device(job: DeviceJob, timeouts: Timeouts, connect: SessionFactory = DeviceSession) -> DevicePlan:
    """Fetch the running config and compute remediation and rollback; changes nothing."""
    deadline = _Deadline(timeouts.device, job.hostname)
    info = job.endpoint.info
    try:
        intended = parse(info, job.intended)
        with connect(job.endpoint, timeouts) as session:
            running = parse(info, session.running_config())
        result = remediate(running, intended)
    except Exception as exc:
        return DevicePlan(
            **_common(job),
            status=PlanStatus.FAILED,
            messages=(job.redact(_describe(exc)),),
            seconds=deadline.elapsed,
        )
    return DevicePlan(
        **_common(job),
        status=PlanStatus.IN_SYNC if result.empty else PlanStatus.CHANGES,
        remediation=job.redact.lines(result.commands),
        remediation_digest=job.digest(result.commands),
        rollback=job.redact.lines(result.rollback),
        seconds=deadline.elapsed,
    )


def apply_device(
    job: DeviceJob,
    timeouts: Timeouts,
    connect: SessionFactory = DeviceSession,
    backup_hook: BackupHook | None = None,
) -> DeviceApply:
    """Bring one device to its intended config, or leave it exactly as it was (see module doc)."""
    deadline = _Deadline(timeouts.device, job.hostname)
    info = job.endpoint.info
    common = _common(job)

    def result(
        status: ApplyStatus,
        *messages: str,
        commands: tuple[str, ...] = (),
        rollback_commands: tuple[str, ...] = (),
        consistent: bool = True,
    ) -> DeviceApply:
        return DeviceApply(
            **common,
            status=status,
            commands=commands,
            rollback_commands=rollback_commands,
            consistent=consistent,
            messages=tuple(job.redact(m) for m in messages),
            seconds=deadline.elapsed,
        )

    try:
        intended = parse(info, job.intended)
        session = connect(job.endpoint, timeouts)
    except Exception as exc:
        return result(ApplyStatus.FAILED, f"not reached, nothing changed: {_describe(exc)}")

    commands: list[str] = []
    save_attempted = False
    with session:
        # Steps 1-2: read, compute, back up. A failure here has changed nothing.
        try:
            backup = parse(info, session.running_config())
            plan: Remediation = remediate(backup, intended)
            if differs := job.unreviewed(plan):
                return result(ApplyStatus.REFUSED, _changed_since_plan(job.hostname, differs))
            if plan.empty:
                return result(ApplyStatus.UNCHANGED)
            commands = plan.commands
            if backup_hook is not None:
                backup_hook(job.device, backup.text)
            if info.rollback is RollbackMethod.CONFIGURE_REPLACE:
                session.copy_running_to_flash(ROLLBACK_FILE)
            deadline.check("the push")
        except Exception as exc:
            return result(ApplyStatus.FAILED, f"nothing changed: {_describe(exc)}")
        # Step 3: push, confirm, save. From here on the device may be changed.
        try:
            session.send_config(commands)
            deadline.check("reading the result back")
            left = remediate(parse(info, session.running_config()), intended)
            if not left.empty:
                raise PushMismatchError(
                    f"{len(left.commands)} line(s) still differ after the push, e.g. {left.commands[0]!r}"
                )
            deadline.check("saving")
            save_attempted = True
            session.save()
            return result(ApplyStatus.CHANGED, commands=job.redact.lines(commands))
        except Exception as exc:
            failure = f"push failed: {_describe(exc)}"
    # Step 4: roll back in a fresh session (the old one may be dead or in an unknown mode).
    status, rollback_commands, messages = _roll_back(job, backup, timeouts, connect, save_attempted)
    return result(
        status,
        failure,
        *messages,
        commands=job.redact.lines(commands),
        rollback_commands=job.redact.lines(rollback_commands),
        consistent=status is ApplyStatus.ROLLED_BACK,
    )


def _changed_since_plan(hostname: str, differences: list[str]) -> str:
    return f"{hostname} changed since the plan, nothing sent: {'; '.join(differences)} — plan again"


def _roll_back(
    job: DeviceJob,
    backup: ParsedConfig,
    timeouts: Timeouts,
    connect: SessionFactory,
    save: bool,
) -> tuple[ApplyStatus, list[str], list[str]]:
    info = job.endpoint.info
    messages: list[str] = []
    sent: list[str] = []
    for attempt in (1, 2):
        try:
            with connect(job.endpoint, timeouts) as session:
                if info.rollback is RollbackMethod.CONFIGURE_REPLACE:
                    sent = [f"configure replace {ROLLBACK_FILE} force"]
                    session.configure_replace(ROLLBACK_FILE)
                else:
                    back = remediate(parse(info, session.running_config()), backup)
                    sent = back.commands
                    if not back.empty:
                        session.send_config(sent)
                left = remediate(parse(info, session.running_config()), backup)
                if not left.empty:
                    raise PushMismatchError(
                        f"after the rollback {len(left.commands)} line(s) still differ from the backup, "
                        f"e.g. {left.commands[0]!r}"
                    )
                if save:
                    session.save()
            messages.append("rolled back to the backup and confirmed: the device runs its previous config")
            return ApplyStatus.ROLLED_BACK, sent, messages
        except Exception as exc:
            messages.append(f"rollback attempt {attempt} failed: {_describe(exc)}")
    messages.append(
        "DEVICE STATE UNKNOWN: the rollback could not be confirmed; compare it with the backup "
        f"(IOS: {ROLLBACK_FILE}) by hand before anything else"
    )
    return ApplyStatus.FAILED, sent, messages
