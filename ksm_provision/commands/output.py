"""Terminal rendering of change runs (plan, apply, drift): hosts and devices."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ksm_provision.commands.common import console, table
from ksm_provision.network.results import DeviceApply, DevicePlan, NetworkApply
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
    grid = table(
        *("host", "authority", "status", "changed", "ok", "problems"),
        title=f"hosts: {len(run.hosts)}",
        whole=("host",),
    )
    for host in sorted(run.hosts, key=lambda h: h.host):
        grid.add_row(
            text(host.host),
            text(host.authority),
            text(host.status),
            str(host.changed),
            str(host.ok),
            text("; ".join(host.errors)[:160]),
        )
    return grid


def print_device_details(run: ChangeRun) -> None:
    if isinstance(run.devices, NetworkApply):
        for applied in run.devices.devices:
            print_apply_details(applied)
        return
    out = console()
    for device in run.devices.devices:
        if not device.remediation:
            continue
        out.print(Text.assemble(text(device.hostname, "bold"), text(f" ({device.platform}) remediation:")))
        out.print(text("\n".join(f"  {line}" for line in device.remediation)))
        method = f" (if the push fails: {device.rollback_method})" if device.rollback_method else ""
        out.print(Text.assemble(text(device.hostname, "bold"), text(f" rollback{method}:")))
        out.print(text("\n".join(f"  {line}" for line in device.rollback) or "  (nothing)"))


def print_apply_details(device: DeviceApply) -> None:
    """What was typed on *device* and every rollback attempt with the device's own words."""
    if not device.commands and not device.rollback_attempts:
        return
    out = console()
    out.print(Text.assemble(text(device.hostname, "bold"), text(f" ({device.platform}) typed:")))
    out.print(text("\n".join(f"  {line}" for line in device.commands) or "  (nothing)"))
    for attempt in device.rollback_attempts:
        head = f" rollback attempt {attempt.attempt} ({attempt.method}): {attempt.outcome}"
        out.print(Text.assemble(text(device.hostname, "bold"), text(head)))
        out.print(text("\n".join(f"  {line}" for line in attempt.commands) or "  (no command typed)"))
        if attempt.message:
            out.print(text(f"  {attempt.message}"))


def device_table(run: ChangeRun) -> Table:
    devices = run.devices.devices
    grid = table(
        *("device", "authority", "platform", "status", "commands", "messages"),
        title=f"devices: {len(devices)}",
        whole=("device",),
    )
    for device in devices:
        commands = device.remediation if isinstance(device, DevicePlan) else device.commands
        grid.add_row(
            text(device.hostname),
            text(device.authority),
            text(device.platform),
            text(device.status),
            str(len(commands)),
            text(_first_words("; ".join(device.messages))),
        )
    return grid


def _first_words(message: str, limit: int = 160) -> str:
    """A table cell's share of *message*; the full text follows the table (:func:`print_messages`)."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def print_device_messages(run: ChangeRun) -> None:
    """The full messages of every device that did not end well: the device's own words, uncut."""
    out = console()
    for device in run.devices.devices:
        if device.messages and str(device.status) not in ("unchanged", "changed", "in_sync", "changes"):
            out.print(Text.assemble(text(device.hostname, "bold"), text(f" {device.status}:")))
            out.print(text("\n".join(f"  {message}" for message in device.messages)))


def print_change_run(run: ChangeRun, details: bool) -> None:
    out = console()
    if details:
        print_host_details(run.hosts)
        print_device_details(run)
    if run.hosts.hosts:
        out.print(host_table(run.hosts))
    if run.devices.devices:
        out.print(device_table(run))
        print_device_messages(run)
    verb = "would change" if run.mode is RunMode.PLAN else "changed"
    summary = (
        f"{len(run.changed_hosts)} host(s) and {len(run.changed_devices)} device(s) {verb}, "
        f"{len(run.failed)} failed"
    )
    if run.rolled_back:
        summary += f" (rolled back: {', '.join(run.rolled_back)})"
    out.print(text(summary))
