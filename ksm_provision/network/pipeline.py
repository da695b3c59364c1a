"""Plan, apply and back up the network devices of an inventory, in parallel.

The inventory passed in is already scoped to the authorities of the run (``Inventory.select``):
only its devices are rendered, only its authorities' vaults are opened (each device gets its own
authority's secrets), and in lab mode every stand-in must belong to the device's authority. All
addresses pass the lab-only guard before the first session opens.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

from ksm_provision.digests import digest_key
from ksm_provision.errors import UsageError
from ksm_provision.hostkeys import Node, require_host_keys
from ksm_provision.inventory.hosts import Device
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.select import matches
from ksm_provision.network.backup import write_backup
from ksm_provision.network.intended import render_device
from ksm_provision.network.push import (
    BackupHook,
    DeviceJob,
    SessionFactory,
    apply_device,
    plan_device,
)
from ksm_provision.network.results import (
    ApplyStatus,
    DeviceApply,
    DevicePlan,
    NetworkApply,
    NetworkPlan,
    PlanStatus,
)
from ksm_provision.network.reviewed import ReviewedRemediation
from ksm_provision.network.secrets import ConfigRedactor
from ksm_provision.network.session import DeviceSession, Endpoint, Timeouts
from ksm_provision.results import FrozenResult, ProgressCallback
from ksm_provision.targets import Target, TargetResolver
from ksm_provision.vault import NetworkSecrets, network_secrets, vault_access

#: Device sessions wait on the device, not the CPU: 16 in parallel measured 10x faster than one at a time
#: for 50 lab devices on 2 cores (README: Performance); 8 gave 7.2x.
DEFAULT_WORKERS = 16
J = TypeVar("J")
R = TypeVar("R")


@runtime_checkable
class DeviceProgress(Protocol):
    """A :data:`ProgressCallback` that also hears how many devices a run has and each one's result.

    The callback itself hears ``(device, step, "start")`` when a device's turn comes and
    ``(device, step, status)`` when it is done; :meth:`device_finished` then gets a line to show.
    """

    def __call__(self, node: str, step: str, status: str) -> None: ...

    def devices_started(self, devices: Sequence[str]) -> None: ...

    def device_finished(self, device: str, summary: str, failed: bool, seconds: float) -> None: ...


@dataclass(frozen=True)
class DeviceRunOptions:
    """How plan, apply and backup run over the devices in scope (the same for all three).

    >>> DeviceRunOptions(limit="sn-rh-*").workers
    16
    """

    #: Comma-separated shell patterns of device names (``--limit``); None: every device in scope.
    limit: str | None = None
    #: Devices worked on in parallel.
    workers: int = DEFAULT_WORKERS
    timeouts: Timeouts = field(default_factory=Timeouts)
    #: Called as ``(device, step, "start")`` when a device's turn comes and ``(device, step, status)``
    #: when it is done; a :class:`DeviceProgress` also hears the device count and result lines.
    progress: ProgressCallback | None = None
    #: Vault password files by authority (``--vault-password-file ID=FILE``).
    explicit_vaults: dict[str, Path] | None = None
    #: How a session is opened (tests and benchmarks may count or wrap sessions).
    connect: SessionFactory = DeviceSession
    #: apply of a reviewed plan: each device's reviewed remediation by name. A device gets exactly
    #: it or nothing (a device missing here was reviewed as unchanged). None: no plan, push what is due.
    reviewed: Mapping[str, ReviewedRemediation] | None = None


@dataclass(frozen=True)
class DeviceScope:
    """The devices of a run with their intended configs and endpoints, ready to connect."""

    jobs: tuple[DeviceJob, ...]
    redact: ConfigRedactor
    target: Target


def scoped_devices(inventory: Inventory, limit: str | None = None) -> list[Device]:
    devices = [d for d in inventory.devices if matches(d.hostname, limit)]
    if limit and not devices:
        raise UsageError(
            f"--limit {limit!r} matches no network device in scope",
            "see `ksm inventory list` for device names",
        )
    return devices


def authority_secrets(
    inventory: Inventory, authorities: Sequence[str], explicit_vaults: dict[str, Path] | None = None
) -> dict[str, NetworkSecrets]:
    """Each authority's network secrets, from its own vault only."""
    if not authorities:
        return {}
    accesses = vault_access(inventory.select(authorities), explicit_vaults)
    return {
        a.authority: network_secrets(inventory.authorities[a.authority].network_settings, a) for a in accesses
    }


def device_scope(
    inventory: Inventory,
    targets: TargetResolver,
    *,
    limit: str | None = None,
    explicit_vaults: dict[str, Path] | None = None,
) -> DeviceScope:
    """Render every device in scope and resolve how *targets* reaches it; no connection is made here."""
    devices = scoped_devices(inventory, limit)
    secrets = authority_secrets(inventory, sorted({d.authority for d in devices}), explicit_vaults)
    redact = ConfigRedactor([value for s in secrets.values() for value in s.values()])
    endpoints = {
        d.hostname: Endpoint.of(d, targets.device(inventory, d, secrets[d.authority])) for d in devices
    }
    # a device (or its jump host) missing from its known_hosts stops the run before any session
    require_host_keys(node for e in endpoints.values() for node in endpoint_nodes(e))
    keys = {authority: digest_key(values.values()) for authority, values in secrets.items()}
    jobs = tuple(
        DeviceJob(
            d,
            render_device(inventory, d, secrets[d.authority]),
            endpoints[d.hostname],
            redact,
            digest_key=keys[d.authority],
        )
        for d in devices
    )
    return DeviceScope(jobs, redact, targets.target)


def endpoint_nodes(endpoint: Endpoint) -> list[tuple[Node, Path]]:
    """The nodes whose host keys a session to *endpoint* checks: its jump host and the device."""
    reach = endpoint.reach
    nodes: list[tuple[Node, Path]] = []
    jump = reach.jump
    if jump is not None and jump.known_hosts is not None:
        nodes.append(
            (
                Node(f"jump host of {endpoint.hostname}", endpoint.authority, jump.address, jump.port),
                jump.known_hosts,
            )
        )
    if reach.check_host_key and reach.known_hosts is not None:
        nodes.append(
            (Node(endpoint.hostname, endpoint.authority, reach.address, reach.port), reach.known_hosts)
        )
    return nodes


def _run_pool(
    jobs: Sequence[J],
    work: Callable[[J], R],
    workers: int,
    name: Callable[[J], str],
    fail: Callable[[J, str], R],
    done: Callable[[R], None] | None = None,
) -> list[R]:
    """Run *work* on every job with a pool of *workers* threads; an unexpected error fails one job only.

    *done* hears every job's result, a failed one's too, as soon as it is there.
    """

    def guarded(job: J) -> R:
        try:
            result = work(job)
        except Exception as exc:  # a bug must not take the other devices down
            result = fail(job, f"internal error on {name(job)}: {type(exc).__name__}: {exc}")
        if done is not None:
            done(result)
        return result

    if workers <= 1 or len(jobs) <= 1:
        return [guarded(j) for j in jobs]
    with ThreadPoolExecutor(max_workers=min(workers, len(jobs)), thread_name_prefix="ksm-net") as pool:
        return list(pool.map(guarded, jobs))


def _report(progress: ProgressCallback | None, hostname: str, step: str, status: str) -> None:
    if progress is not None:
        progress(hostname, step, status)


def _started(progress: ProgressCallback | None, scope: DeviceScope) -> None:
    if isinstance(progress, DeviceProgress):
        progress.devices_started([job.hostname for job in scope.jobs])


def _done(progress: ProgressCallback | None, step: str) -> Callable[[DeviceResult], None]:
    """What a device pool calls with each result: the status to *progress*, and its result line."""

    def done(result: DeviceResult) -> None:
        summary, failed = device_summary(result)
        _report(progress, result.hostname, step, _status(result))
        if isinstance(progress, DeviceProgress):
            progress.device_finished(result.hostname, summary, failed, result.seconds)

    return done


def _status(result: DeviceResult) -> str:
    return ("ok" if result.ok else "failed") if isinstance(result, DeviceBackup) else str(result.status)


def _lines(count: int) -> str:
    return f"{count} line{'' if count == 1 else 's'}"


def device_summary(result: DeviceResult) -> tuple[str, bool]:
    """A device's result in a few words, and whether it failed (for progress lines in logs).

    >>> device_summary(DevicePlan(hostname="sw", authority="a", platform="ios", role="access",
    ...                           status=PlanStatus.CHANGES, remediation=("vlan 10", " name x")))
    ('2 lines to change', False)
    """
    reason = (result.messages[0] if result.messages else "") if not isinstance(result, DeviceBackup) else ""
    if isinstance(result, DevicePlan):
        if result.status is PlanStatus.FAILED:
            return f"FAILED: {reason}", True
        if result.status is PlanStatus.CHANGES:
            return f"{_lines(len(result.remediation))} to change", False
        return "in sync", False
    if isinstance(result, DeviceApply):
        failures = {
            ApplyStatus.ROLLED_BACK: "FAILED, rolled back",
            ApplyStatus.FAILED_UNTOUCHED: "FAILED, untouched",
            ApplyStatus.FAILED_STATE_UNKNOWN: "FAILED, state unknown",
            ApplyStatus.REFUSED: "REFUSED",
        }
        if result.status in failures:
            return f"{failures[result.status]}: {reason}", True
        if result.status is ApplyStatus.CHANGED:
            return f"{_lines(len(result.commands))} changed", False
        return "unchanged", False
    return ("saved", False) if result.ok else (f"FAILED: {result.message}", True)


def _device_scope(inventory: Inventory, targets: TargetResolver, options: DeviceRunOptions) -> DeviceScope:
    scope = device_scope(inventory, targets, limit=options.limit, explicit_vaults=options.explicit_vaults)
    reviewed = options.reviewed
    if reviewed is None:
        return scope
    jobs = tuple(
        dataclasses.replace(job, reviewed=reviewed.get(job.hostname, ReviewedRemediation()))
        for job in scope.jobs
    )
    return dataclasses.replace(scope, jobs=jobs)


def plan_devices(
    inventory: Inventory, targets: TargetResolver, options: DeviceRunOptions | None = None
) -> NetworkPlan:
    """Per device: the remediation that turns its running config into the intended one, and the rollback."""
    options = options or DeviceRunOptions()
    scope = _device_scope(inventory, targets, options)
    _started(options.progress, scope)

    def work(job: DeviceJob) -> DevicePlan:
        _report(options.progress, job.hostname, "network plan", "start")
        return plan_device(job, options.timeouts, options.connect)

    def fail(job: DeviceJob, message: str) -> DevicePlan:
        return DevicePlan(
            hostname=job.hostname,
            authority=job.device.authority,
            platform=str(job.device.model.platform),
            role=str(job.device.model.role),
            status=PlanStatus.FAILED,
            messages=(scope.redact(message),),
        )

    done = _done(options.progress, "network plan")
    results = _run_pool(scope.jobs, work, options.workers, lambda j: j.hostname, fail, done)
    return NetworkPlan(target=str(targets.target), devices=tuple(sorted(results, key=_order)))


def apply_devices(
    inventory: Inventory,
    targets: TargetResolver,
    options: DeviceRunOptions | None = None,
    *,
    backup_dir: Path | None = None,
) -> NetworkApply:
    """Push every device's remediation with backup, confirmation and rollback (see ``push``).

    With *backup_dir*, each device's running config before the push is also stored there.
    """
    options = options or DeviceRunOptions()
    scope = _device_scope(inventory, targets, options)
    _started(options.progress, scope)
    hook: BackupHook | None = None
    if backup_dir is not None:
        out = backup_dir

        def hook(device: Device, running: str) -> None:
            write_backup(out, device, running, scope.redact)

    def work(job: DeviceJob) -> DeviceApply:
        _report(options.progress, job.hostname, "network apply", "start")
        return apply_device(job, options.timeouts, options.connect, hook)

    def fail(job: DeviceJob, message: str) -> DeviceApply:
        return DeviceApply(
            hostname=job.hostname,
            authority=job.device.authority,
            platform=str(job.device.model.platform),
            role=str(job.device.model.role),
            status=ApplyStatus.FAILED_STATE_UNKNOWN,
            consistent=False,
            messages=(scope.redact(message), "the device may have been changed: check it against its backup"),
        )

    done = _done(options.progress, "network apply")
    results = _run_pool(scope.jobs, work, options.workers, lambda j: j.hostname, fail, done)
    return NetworkApply(target=str(targets.target), devices=tuple(sorted(results, key=_order)))


# --------------------------------------------------------------------------- backup


class DeviceBackup(FrozenResult):
    hostname: str
    authority: str
    path: str | None = None
    ok: bool
    message: str = ""
    seconds: float = 0.0


class NetworkBackup(FrozenResult):
    target: str
    out: str
    devices: tuple[DeviceBackup, ...] = ()

    @property
    def failed_devices(self) -> list[str]:
        return [d.hostname for d in self.devices if not d.ok]


def backup_devices(
    inventory: Inventory,
    targets: TargetResolver,
    out: Path,
    options: DeviceRunOptions | None = None,
) -> NetworkBackup:
    """Store each device's running config under ``out/<authority>/<device>.conf``, secrets stripped."""
    options = options or DeviceRunOptions()
    scope = _device_scope(inventory, targets, options)
    _started(options.progress, scope)

    def work(job: DeviceJob) -> DeviceBackup:
        _report(options.progress, job.hostname, "network backup", "start")
        started = time.monotonic()
        try:
            with options.connect(job.endpoint, options.timeouts) as session:
                running = session.running_config()
            path = write_backup(out, job.device, running, scope.redact)
            result = DeviceBackup(
                hostname=job.hostname,
                authority=job.device.authority,
                path=str(path),
                ok=True,
                seconds=round(time.monotonic() - started, 3),
            )
        except Exception as exc:
            result = fail(job, scope.redact(f"{type(exc).__name__}: {exc}"))
        return result

    def fail(job: DeviceJob, message: str) -> DeviceBackup:
        return DeviceBackup(hostname=job.hostname, authority=job.device.authority, ok=False, message=message)

    done = _done(options.progress, "network backup")
    results = _run_pool(scope.jobs, work, options.workers, lambda j: j.hostname, fail, done)
    return NetworkBackup(target=str(targets.target), out=str(out), devices=tuple(sorted(results, key=_order)))


#: One device's result in a plan, apply or backup.
DeviceResult = DevicePlan | DeviceApply | DeviceBackup


def _order(result: DeviceResult) -> tuple[str, str]:
    return (result.authority, result.hostname)
