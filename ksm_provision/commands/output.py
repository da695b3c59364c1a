"""Terminal rendering of change runs (plan, apply, drift): hosts and devices."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ksm_provision.commands.common import console
from ksm_provision.network.results import DevicePlan, NetworkPlan
from ksm_provision.playbook.results import PlaybookRun, RunMode
from ksm_provision.terminal import text
from ksm_provision.workflow.orchestrate import ChangeRun

# Everything printed here is data (inventory names, Ansible diffs, device lines): the console shows
# strings literally (no markup, control characters escaped); styles come from Text objects.


def print_host_details(run: PlaybookRun) -> None:
    out = console()
    for host in sorted(run.hosts, key=lambda h: h.host):
        for change in host.changes:
            out.print(Text.assemble(text(host.host, "bold"), text(f" ~ {change.task}")))
            if change.diff:
                out.print(change.diff.rstrip())


def host_table(run: PlaybookRun) -> Table:
    table = Table(
        "host", "authority", "status", "changed", "ok", "problems", title=f"hosts: {len(run.hosts)}"
    )
    for host in sorted(run.hosts, key=lambda h: h.host):
        table.add_row(
            text(host.host),
            text(host.authority),
            text(host.status),
            str(host.changed),
            str(host.ok),
            text("; ".join(host.errors)[:160]),
        )
    return table


def print_device_details(run: ChangeRun) -> None:
    if not isinstance(run.devices, NetworkPlan):
        return
    out = console()
    for device in run.devices.devices:
        if not device.remediation:
            continue
        out.print(Text.assemble(text(device.hostname, "bold"), text(f" ({device.platform}) remediation:")))
        out.print("\n".join(f"  {line}" for line in device.remediation))
        out.print(Text.assemble(text(device.hostname, "bold"), text(" rollback:")))
        out.print("\n".join(f"  {line}" for line in device.rollback) or "  (nothing)")


def device_table(run: ChangeRun) -> Table:
    devices = run.devices.devices
    table = Table(
        "device", "authority", "platform", "status", "commands", "messages", title=f"devices: {len(devices)}"
    )
    for device in devices:
        commands = device.remediation if isinstance(device, DevicePlan) else device.commands
        table.add_row(
            text(device.hostname),
            text(device.authority),
            text(device.platform),
            text(device.status),
            str(len(commands)),
            text("; ".join(device.messages)[:160]),
        )
    return table


def print_change_run(run: ChangeRun, details: bool) -> None:
    out = console()
    if details:
        print_host_details(run.hosts)
        print_device_details(run)
    if run.hosts.hosts:
        out.print(host_table(run.hosts))
    if run.devices.devices:
        out.print(device_table(run))
    verb = "would change" if run.mode is RunMode.PLAN else "changed"
    summary = (
        f"{len(run.changed_hosts)} host(s) and {len(run.changed_devices)} device(s) {verb}, "
        f"{len(run.failed)} failed"
    )
    if run.rolled_back:
        summary += f" (rolled back: {', '.join(run.rolled_back)})"
    out.print(text(summary))
