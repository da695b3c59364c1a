"""Plan and apply one device: back up, push the remediation, confirm, save — or roll back.

Apply, per device:

1. read the running config; compute the remediation (hier_config); nothing to do -> ``unchanged``
   and not a single configuration command is sent. Objects the device always has (IOS: VLAN 1 and
   1002-1005, management ports) are never removed (:func:`~.platforms.keep_permanent`). For
   ``ksm apply PLAN`` the remediation must be exactly the reviewed one (:mod:`.reviewed`), else
   -> ``refused`` and nothing is sent;
2. choose the rollback (:func:`rollback_method`): IOS ``configure replace`` of a flash copy when
   the device has room for it (``dir flash:``) and its inventory does not say otherwise, else the
   reverse remediation; back up (IOS: ``copy running-config flash:ksm-rollback.cfg``; always: the
   text). A failure up to here has typed nothing -> ``failed_untouched``;
3. type the remediation one command at a time; the first refusal stops the push AT that command
   (:meth:`~.session.DeviceSession.send_config`). Read the running config again, confirm that no
   remediation remains, then ``write memory`` -> ``changed``. The config is saved only once it is
   confirmed, so a failed change never reaches the startup config;
4. on any error, refusal, dead session or mismatch in 3: if nothing was typed -> ``failed_untouched``;
   else a fresh session rolls back and confirms that the running config equals the backup again ->
   ``rolled_back`` (two attempts, each recorded with its commands and outcome); if that cannot be
   confirmed -> ``failed_state_unknown`` with ``consistent=False``: the device needs a look.

Results record exactly the commands typed (:attr:`~.session.DeviceSession.sent`), not the plan.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ksm_provision.digests import keyed_digest
from ksm_provision.errors import KsmError
from ksm_provision.inventory.hosts import Device
from ksm_provision.network.hidden_lines import SNMP_USER_COMMAND, HiddenState
from ksm_provision.network.platforms import RollbackMethod, keep_permanent
from ksm_provision.network.remediation import ParsedConfig, Remediation, hidden_lines, parse, remediate
from ksm_provision.network.results import (
    ApplyStatus,
    DeviceApply,
    DevicePlan,
    PlanStatus,
    RollbackAttempt,
    RollbackOutcome,
)
from ksm_provision.network.reviewed import ReviewedRemediation, remediation_difference
from ksm_provision.network.secrets import ConfigRedactor
from ksm_provision.network.session import (
    ROLLBACK_FILE,
    DeviceCommandError,
    DeviceSession,
    Endpoint,
    SessionLostError,
    Timeouts,
    describe,
)

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


def _common(job: DeviceJob) -> dict[str, str]:
    model = job.device.model
    return {
        "hostname": job.hostname,
        "authority": job.device.authority,
        "platform": str(model.platform),
        "role": str(model.role),
    }


def _remediate(
    running: ParsedConfig, intended: ParsedConfig, hidden: HiddenState | None = None
) -> Remediation:
    """:func:`remediate`, never removing what the device always has (``vlan 1``, management ports);
    *hidden*: what the device revealed of the lines it hides (:func:`_hidden_state`)."""
    target = keep_permanent(running.info, running.config, intended.config)
    if target is not intended.config:
        intended = ParsedConfig(intended.info, intended.text, target)
    return remediate(running, intended, hidden)


def _hidden_state(session: DeviceSession, intended: ParsedConfig) -> HiddenState | None:
    """``show snmp user`` when the intended config has lines the device never shows, else None.

    Real IOS keeps ``snmp-server user`` out of the running config (:mod:`.hidden_lines`): whether
    the user exists with the intended group and protocols is only visible here.
    """
    if not hidden_lines(intended):
        return None
    return HiddenState.from_device(session.exec_command(SNMP_USER_COMMAND))


def rollback_method(endpoint: Endpoint, session: DeviceSession, backup: str) -> tuple[RollbackMethod, str]:
    """How a failed push of this device is undone, and why (shown in plan and apply results).

    The platform's method, unless the inventory's ``connection.rollback`` chooses; ``auto`` on IOS
    takes ``configure replace`` only when ``dir flash:`` shows room for the rollback copy.
    """
    wanted = endpoint.reach.rollback
    if endpoint.info.rollback is RollbackMethod.REMEDIATION:
        return RollbackMethod.REMEDIATION, "reverse remediation (the platform has no configure replace)"
    if wanted == RollbackMethod.REMEDIATION.value:
        return RollbackMethod.REMEDIATION, "reverse remediation (inventory: connection.rollback: remediation)"
    if wanted == RollbackMethod.CONFIGURE_REPLACE.value:
        return RollbackMethod.CONFIGURE_REPLACE, f"configure replace of {ROLLBACK_FILE} (inventory)"
    free = session.free_flash()
    needed = 2 * len(backup.encode()) + 4096
    if free is None:
        return RollbackMethod.REMEDIATION, "reverse remediation (`dir flash:` shows no free space)"
    if free < needed:
        return (
            RollbackMethod.REMEDIATION,
            f"reverse remediation (flash: has {free} bytes free, the rollback copy needs {needed})",
        )
    return (
        RollbackMethod.CONFIGURE_REPLACE,
        f"configure replace of {ROLLBACK_FILE} ({free} bytes free in flash:)",
    )


def plan_device(job: DeviceJob, timeouts: Timeouts, connect: SessionFactory = DeviceSession) -> DevicePlan:
    """Fetch the running config and compute remediation and rollback; changes nothing."""
    deadline = _Deadline(timeouts.device, job.hostname)
    info = job.endpoint.info
    try:
        intended = parse(info, job.intended)
        with connect(job.endpoint, timeouts) as session:
            text = session.running_config()
            hidden = _hidden_state(session, intended)
            method, why = rollback_method(job.endpoint, session, text)
        result = _remediate(parse(info, text), intended, hidden)
    except Exception as exc:
        return DevicePlan(
            **_common(job),
            status=PlanStatus.FAILED,
            messages=(job.redact(describe(exc)),),
            seconds=deadline.elapsed,
        )
    return DevicePlan(
        **_common(job),
        status=PlanStatus.IN_SYNC if result.empty else PlanStatus.CHANGES,
        remediation=job.redact.lines(result.commands),
        remediation_digest=job.digest(result.commands),
        rollback=job.redact.lines(result.rollback),
        rollback_method=method.value,
        messages=() if result.empty else (f"rollback if the push fails: {why}",),
        seconds=deadline.elapsed,
    )


@dataclass(frozen=True)
class _Prepared:
    backup: ParsedConfig
    plan: Remediation
    method: RollbackMethod
    why: str


class _Results:
    """Builds the :class:`DeviceApply` of one job (redacting every command and message)."""

    def __init__(self, job: DeviceJob, deadline: _Deadline) -> None:
        self.job = job
        self.deadline = deadline

    def __call__(
        self,
        status: ApplyStatus,
        *messages: str,
        commands: Sequence[str] = (),
        attempts: Sequence[RollbackAttempt] = (),
        method: RollbackMethod | None = None,
    ) -> DeviceApply:
        redact = self.job.redact
        attempts = tuple(
            a.model_copy(
                update={"commands": tuple(redact.lines(list(a.commands))), "message": redact(a.message)}
            )
            for a in attempts
        )
        return DeviceApply(
            **_common(self.job),
            status=status,
            commands=tuple(redact.lines(list(commands))),
            rollback_commands=tuple(c for a in attempts for c in a.commands),
            rollback_attempts=attempts,
            rollback_method=method.value if method else "",
            consistent=status is not ApplyStatus.FAILED_STATE_UNKNOWN,
            messages=tuple(redact(m) for m in messages),
            seconds=self.deadline.elapsed,
        )


def apply_device(
    job: DeviceJob,
    timeouts: Timeouts,
    connect: SessionFactory = DeviceSession,
    backup_hook: BackupHook | None = None,
) -> DeviceApply:
    """Bring one device to its intended config, or leave it exactly as it was (see module doc)."""
    deadline = _Deadline(timeouts.device, job.hostname)
    result = _Results(job, deadline)
    try:
        intended = parse(job.endpoint.info, job.intended)
        session = connect(job.endpoint, timeouts)
    except Exception as exc:
        return result(ApplyStatus.FAILED_UNTOUCHED, f"not reached, nothing changed: {describe(exc)}")

    with session:
        before = len(session.sent)
        prepared = _prepare(job, session, intended, backup_hook, deadline, result)
        if isinstance(prepared, DeviceApply):
            return prepared
        failure, save_attempted = _push(job, session, intended, prepared.plan, deadline)
        sent = session.sent[before:]
    if failure is None:
        return result(ApplyStatus.CHANGED, commands=sent, method=prepared.method)
    if not sent:
        return result(
            ApplyStatus.FAILED_UNTOUCHED,
            failure,
            "not a single configuration command was typed: the device is untouched",
            method=prepared.method,
        )
    # Step 4: roll back in a fresh session (the old one may be dead or in an unknown mode).
    status, attempts, messages = _roll_back(job, prepared, timeouts, connect, save_attempted)
    return result(status, failure, *messages, commands=sent, attempts=attempts, method=prepared.method)


def _prepare(
    job: DeviceJob,
    session: DeviceSession,
    intended: ParsedConfig,
    backup_hook: BackupHook | None,
    deadline: _Deadline,
    result: _Results,
) -> _Prepared | DeviceApply:
    """Steps 1-2: read, compute, choose the rollback, back up. A failure here has typed nothing."""
    try:
        backup = parse(job.endpoint.info, session.running_config())
        plan = _remediate(backup, intended, _hidden_state(session, intended))
        if differs := job.unreviewed(plan):
            return result(ApplyStatus.REFUSED, _changed_since_plan(job.hostname, differs))
        if plan.empty:
            return result(ApplyStatus.UNCHANGED)
        method, why = rollback_method(job.endpoint, session, backup.text)
        if backup_hook is not None:
            backup_hook(job.device, backup.text)
        if method is RollbackMethod.CONFIGURE_REPLACE:
            session.copy_running_to_flash(ROLLBACK_FILE)
        deadline.check("the push")
    except Exception as exc:
        return result(ApplyStatus.FAILED_UNTOUCHED, f"nothing changed: {describe(exc)}")
    return _Prepared(backup, plan, method, why)


def _push(
    job: DeviceJob, session: DeviceSession, intended: ParsedConfig, plan: Remediation, deadline: _Deadline
) -> tuple[str | None, bool]:
    """Step 3: type, confirm, save. (failure message or None, whether saving was attempted)."""
    save_attempted = False
    try:
        session.send_config(plan.commands)
        deadline.check("reading the result back")
        left = _remediate(parse(job.endpoint.info, session.running_config()), intended)
        if not left.empty:
            raise PushMismatchError(
                f"{len(left.commands)} line(s) still differ after the push, e.g. {left.commands[0]!r}"
            )
        hidden = _hidden_state(session, intended)
        if hidden is not None and (missing := hidden.unconfirmed(hidden_lines(intended))):
            raise PushMismatchError(
                f"`{SNMP_USER_COMMAND}` does not show {len(missing)} intended SNMP user(s) after the push"
            )
        deadline.check("saving")
        save_attempted = True
        session.save()
    except Exception as exc:
        return f"push failed: {describe(exc)}", save_attempted
    return None, save_attempted


def _changed_since_plan(hostname: str, differences: list[str]) -> str:
    return f"{hostname} changed since the plan, nothing sent: {'; '.join(differences)} — plan again"


def _roll_back(
    job: DeviceJob,
    prepared: _Prepared,
    timeouts: Timeouts,
    connect: SessionFactory,
    save: bool,
) -> tuple[ApplyStatus, list[RollbackAttempt], list[str]]:
    """Two attempts, each in a fresh session; the second falls back to the reverse remediation when
    the device itself refused the first one's ``configure replace``."""
    attempts: list[RollbackAttempt] = []
    messages: list[str] = []
    method = prepared.method
    for number in (1, 2):
        attempt, refused_by_device = _attempt(job, prepared.backup, timeouts, connect, save, method, number)
        attempts.append(attempt)
        if attempt.outcome is RollbackOutcome.CONFIRMED:
            messages.append(
                f"rolled back to the backup and confirmed ({method.value}, attempt {number}): "
                "the device runs its previous config"
            )
            return ApplyStatus.ROLLED_BACK, attempts, messages
        messages.append(f"rollback attempt {number} ({method.value}) failed: {attempt.message}")
        if refused_by_device:
            method = RollbackMethod.REMEDIATION
    where = f" (IOS: {ROLLBACK_FILE})" if prepared.method is RollbackMethod.CONFIGURE_REPLACE else ""
    messages.append(
        "DEVICE STATE UNKNOWN: commands were typed and the rollback could not be confirmed; compare "
        f"the device with its backup{where} by hand before anything else"
    )
    return ApplyStatus.FAILED_STATE_UNKNOWN, attempts, messages


def _attempt(
    job: DeviceJob,
    backup: ParsedConfig,
    timeouts: Timeouts,
    connect: SessionFactory,
    save: bool,
    method: RollbackMethod,
    number: int,
) -> tuple[RollbackAttempt, bool]:
    """One rollback attempt: (its record, whether the device itself refused it in a live session)."""
    info = job.endpoint.info
    typed: list[str] = []
    try:
        with connect(job.endpoint, timeouts) as session:
            before = len(session.sent)
            if method is RollbackMethod.CONFIGURE_REPLACE:
                typed = [f"configure replace {ROLLBACK_FILE} force"]
                session.configure_replace(ROLLBACK_FILE)
            else:
                back = _remediate(parse(info, session.running_config()), backup)
                try:
                    if not back.empty:
                        session.send_config(back.commands)
                finally:
                    typed = session.sent[before:]
            left = _remediate(parse(info, session.running_config()), backup)
            if not left.empty:
                raise PushMismatchError(
                    f"after the rollback {len(left.commands)} line(s) still differ from the backup, "
                    f"e.g. {left.commands[0]!r}"
                )
            if save:
                session.save()
    except Exception as exc:
        refused = isinstance(exc, DeviceCommandError) and not isinstance(exc, SessionLostError)
        failed = RollbackAttempt(
            attempt=number, method=method.value, commands=tuple(typed), outcome=RollbackOutcome.FAILED,
            message=describe(exc),
        )  # fmt: skip
        return failed, refused
    confirmed = RollbackAttempt(
        attempt=number,
        method=method.value,
        commands=tuple(typed),
        outcome=RollbackOutcome.CONFIRMED,
        message="the running config read back equals the backup",
    )
    return confirmed, False
