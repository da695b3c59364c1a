"""One change run over hosts (Ansible) and network devices (Netmiko) of the authorities in scope.

``plan``/``apply``/``drift`` all come through here, so scoping, the lab-only guard and result
shapes are the same for every command and for CI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ksm_provision.inventory.inventory import Inventory
from ksm_provision.network.pipeline import apply_devices, plan_devices
from ksm_provision.network.results import NetworkApply, NetworkPlan
from ksm_provision.playbook.pipeline import run_hosts
from ksm_provision.playbook.results import PlaybookRun, RunMode
from ksm_provision.playbook.runner import ProgressCallback, RunSettings
from ksm_provision.playbook.scope import host_scope, matches
from ksm_provision.targets import Target


@dataclass(frozen=True)
class RunRequest:
    """What to run: *inventory* is already narrowed to the authorities in scope."""

    inventory: Inventory
    target: Target
    limit: str | None = None
    forks: int = 8
    workers: int = 8
    explicit_vaults: dict[str, Path] = field(default_factory=dict)
    #: Only these inventory hosts / devices (e.g. from a plan file or --changed-since); None: all.
    only_hosts: frozenset[str] | None = None
    only_devices: frozenset[str] | None = None
    include_hosts: bool = True
    include_devices: bool = True

    @property
    def authorities(self) -> list[str]:
        return list(self.inventory.authorities)


class ChangeRun(BaseModel):
    """The result of a plan or apply over hosts and devices."""

    model_config = ConfigDict(extra="forbid")

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


def _device_limit(request: RunRequest) -> str | None:
    """The device names in scope as a --limit pattern; None when no device is in scope."""
    names = [
        d.hostname
        for d in request.inventory.devices
        if matches(d.hostname, request.limit)
        and (request.only_devices is None or d.hostname in request.only_devices)
    ]
    return ",".join(names) if names else None


def _hosts(request: RunRequest, mode: RunMode, progress: ProgressCallback | None) -> PlaybookRun:
    empty = PlaybookRun(mode=mode, hosts=[], return_code=0)
    if not request.include_hosts or (request.only_hosts is not None and not request.only_hosts):
        return empty
    only = set(request.only_hosts) if request.only_hosts is not None else None
    scope = host_scope(request.inventory, request.target, request.limit, only)
    if not scope.hosts:
        return empty
    settings = RunSettings(forks=request.forks)
    return run_hosts(scope, mode, settings, progress, request.explicit_vaults)


def run(request: RunRequest, mode: RunMode, progress: ProgressCallback | None = None) -> ChangeRun:
    """Plan (check+diff, remediation) or apply (real run, push) hosts and devices of the request."""
    hosts = _hosts(request, mode, progress)
    device_limit = _device_limit(request) if request.include_devices else None
    devices: NetworkPlan | NetworkApply
    if device_limit is None:
        devices = (NetworkPlan if mode is RunMode.PLAN else NetworkApply)(
            target=str(request.target), devices=()
        )
    else:
        run_devices = plan_devices if mode is RunMode.PLAN else apply_devices
        devices = run_devices(
            request.inventory,
            request.target,
            limit=device_limit,
            workers=request.workers,
            progress=progress,
            explicit_vaults=request.explicit_vaults,
        )
    return ChangeRun(
        mode=mode, target=str(request.target), authorities=request.authorities, hosts=hosts, devices=devices
    )


def plan(request: RunRequest, progress: ProgressCallback | None = None) -> ChangeRun:
    return run(request, RunMode.PLAN, progress)


def apply(request: RunRequest, progress: ProgressCallback | None = None) -> ChangeRun:
    return run(request, RunMode.APPLY, progress)
