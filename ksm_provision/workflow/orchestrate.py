"""The two stages of a change run over a resolved scope: hosts (Ansible) and network devices (Netmiko).

Plan, apply and drift all come through :func:`run_stages`, so scoping, the lab-only guard and the
result shape (:class:`ChangeRun`) are the same for every command and for CI. Locks, plan files and
records are the business of :mod:`ksm_provision.workflow.run`, which calls this.
"""

from __future__ import annotations

from collections.abc import Mapping

from ksm_provision.inventory.select import matches
from ksm_provision.network.pipeline import DeviceRunOptions, apply_devices, plan_devices
from ksm_provision.network.results import NetworkApply, NetworkPlan
from ksm_provision.network.reviewed import ReviewedRemediation
from ksm_provision.playbook.pipeline import run_hosts
from ksm_provision.playbook.results import PlaybookRun, RunMode
from ksm_provision.playbook.runner import RunSettings
from ksm_provision.playbook.scope import host_scope
from ksm_provision.results import ProgressCallback, ResultModel
from ksm_provision.target_resolution import resolver_for
from ksm_provision.targets import TargetResolver
from ksm_provision.workflow.request import ChangeRequest, Only
from ksm_provision.workflow.run_scope import RunScope


class ChangeRun(ResultModel):
    """The result of a plan or apply over hosts and devices."""

    mode: RunMode
    target: str
    authorities: list[str]
    hosts: PlaybookRun
    devices: NetworkPlan | NetworkApply

    @property
    def changed_hosts(self) -> list[str]:
        return self.hosts.changed_hosts

    @property
    def changed_devices(self) -> list[str]:
        return self.devices.changed_devices

    @property
    def failed(self) -> list[str]:
        """Hosts and devices that did not succeed (a rolled-back device counts as failed)."""
        return self.hosts.failed_hosts + self.devices.failed_devices

    @property
    def rolled_back(self) -> list[str]:
        return self.devices.rolled_back_devices if isinstance(self.devices, NetworkApply) else []

    @property
    def changes_pending(self) -> int:
        return len(self.changed_hosts) + len(self.changed_devices)

    def for_authority(self, authority: str) -> tuple[list[str], list[str], list[str]]:
        """(changed hosts, changed devices, failed) of one authority."""
        hosts = {h.host for h in self.hosts.hosts if h.authority == authority}
        devices = {d.hostname for d in self.devices.devices if d.authority == authority}
        return (
            [h for h in self.changed_hosts if h in hosts],
            [d for d in self.changed_devices if d in devices],
            [f for f in self.failed if f in hosts or f in devices],
        )


def _device_limit(scope: RunScope) -> str | None:
    """The device names in scope as a --limit pattern; None when no device is in scope."""
    names = [
        d.hostname
        for d in scope.inventory.devices
        if matches(d.hostname, scope.limit) and (scope.devices is None or d.hostname in scope.devices)
    ]
    return ",".join(names) if names else None


def _hosts(
    request: ChangeRequest,
    scope: RunScope,
    targets: TargetResolver,
    mode: RunMode,
    progress: ProgressCallback | None,
) -> PlaybookRun:
    empty = PlaybookRun(mode=mode, hosts=[], return_code=0)
    if Only.HOSTS not in request.only or (scope.hosts is not None and not scope.hosts):
        return empty
    only = set(scope.hosts) if scope.hosts is not None else None
    hosts = host_scope(scope.inventory, targets, scope.limit, only)
    if not hosts.hosts:
        return empty
    settings = RunSettings(forks=request.forks, strategy=request.ansible_strategy)
    return run_hosts(hosts, mode, settings, progress, request.explicit_vaults)


def _devices(
    request: ChangeRequest,
    scope: RunScope,
    targets: TargetResolver,
    mode: RunMode,
    progress: ProgressCallback | None,
    reviewed: Mapping[str, ReviewedRemediation] | None = None,
) -> NetworkPlan | NetworkApply:
    device_limit = _device_limit(scope) if Only.DEVICES in request.only else None
    if device_limit is None:
        return (NetworkPlan if mode is RunMode.PLAN else NetworkApply)(target=str(scope.target), devices=())
    options = DeviceRunOptions(
        limit=device_limit,
        workers=request.workers,
        progress=progress,
        explicit_vaults=request.explicit_vaults,
        reviewed=reviewed,
    )
    run_devices = plan_devices if mode is RunMode.PLAN else apply_devices
    return run_devices(scope.inventory, targets, options)


def run_stages(
    request: ChangeRequest,
    scope: RunScope,
    mode: RunMode,
    progress: ProgressCallback | None = None,
    reviewed: Mapping[str, ReviewedRemediation] | None = None,
) -> ChangeRun:
    """Plan (check+diff, remediation) or apply (real run, push) the hosts and devices of *scope*.

    *reviewed* (apply of a plan file): each device gets exactly its reviewed remediation or nothing.
    """
    targets = resolver_for(scope.target)
    # devices first: a router's interfaces must carry their addresses before its Linux side (the DHCP
    # relay binds to them when it starts) is configured; the lab twin showed relays started too early
    devices = _devices(request, scope, targets, mode, progress, reviewed)
    hosts = _hosts(request, scope, targets, mode, progress)
    return ChangeRun(
        mode=mode, target=str(scope.target), authorities=scope.authorities, hosts=hosts, devices=devices
    )
