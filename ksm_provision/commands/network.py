"""``ksm render network``, ``ksm network backup|plan|apply``: switch and router configs.

``ksm plan`` / ``ksm apply`` run hosts and devices together; ``ksm network plan|apply`` are the
device-only variants (same pipeline, same scoping rules).
"""

from __future__ import annotations

from pathlib import Path

import click

from ksm_provision.commands.common import (
    CliContext,
    all_option,
    authority_option,
    echo,
    json_option,
    limit_option,
    pass_context,
    print_json,
    target_option,
)
from ksm_provision.commands.hosts import parse_vault_files, vault_option
from ksm_provision.commands.progress import task_progress
from ksm_provision.errors import EXIT_FAILURE
from ksm_provision.network.backup import backup_path
from ksm_provision.network.core import CORE_DIR, core_config_path, render_core
from ksm_provision.network.intended import render_all
from ksm_provision.network.pipeline import DEFAULT_WORKERS, DeviceRunOptions, backup_devices
from ksm_provision.network.session import Timeouts
from ksm_provision.target_resolution import resolver_for
from ksm_provision.targets import Target

workers_option = click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=DEFAULT_WORKERS,
    show_default=True,
    help="Devices worked on in parallel.",
)
timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(1, 3600),
    default=Timeouts.command,
    show_default=True,
    help="Seconds to wait for one device command (a dead session is noticed after this).",
)


@click.command("network")
@authority_option
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output directory."
)
@pass_context
def render_network(ctx: CliContext, authorities: tuple[str, ...], out: Path) -> None:
    """Write each device's intended config to OUT/<authority>/<device>.conf (secrets as ********).

    Without --authority also each provider core router's to OUT/_core/<router>.conf: it peers with
    every authority, so it is rendered only from the whole inventory (and never pushed by ksm).
    """
    inventory = ctx.scoped(authorities)
    configs = render_all(inventory)
    for device in inventory.devices:
        path = backup_path(out, device)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(configs[device.hostname], encoding="utf-8")
    echo(f"wrote {len(configs)} device configs to {out}")
    if authorities:
        if inventory.provider.core_routers:
            echo(
                "core router configs not written: they peer with every authority (render without --authority)"
            )
        return
    core = render_core(inventory)
    for hostname, text in core.items():
        path = core_config_path(out, hostname)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if core:
        echo(f"wrote {len(core)} core router config(s) to {out / CORE_DIR} (rendered for review, not pushed)")


@click.group("network")
def network_group() -> None:
    """Switches and routers: backup, plan and apply (device-only)."""


@network_group.command("backup")
@authority_option
@all_option
@target_option
@limit_option
@workers_option
@timeout_option
@vault_option
@json_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("backups"),
    show_default=True,
    help="Directory of the backups: OUT/<authority>/<device>.conf.",
)
@pass_context
def backup(
    ctx: CliContext,
    authorities: tuple[str, ...],
    all_authorities: bool,
    target: str,
    limit: str | None,
    workers: int,
    timeout: float,
    vault_files: tuple[str, ...],
    as_json: bool,
    out: Path,
) -> None:
    """Store every device's running config, git-friendly and with secrets stripped."""
    inventory = ctx.scoped(authorities, all_authorities)
    with task_progress("backup", not as_json) as progress:
        run = backup_devices(
            inventory,
            resolver_for(Target(target)),
            out,
            DeviceRunOptions(
                limit=limit,
                workers=workers,
                timeouts=Timeouts(command=timeout),
                progress=progress,
                explicit_vaults=parse_vault_files(vault_files),
            ),
        )
    if as_json:
        print_json(run)
    else:
        for device in run.devices:
            echo(f"{'ok    ' if device.ok else 'FAILED'} {device.hostname}: {device.path or device.message}")
        echo(f"{len(run.devices) - len(run.failed_devices)}/{len(run.devices)} device(s) backed up to {out}")
    if run.failed_devices:
        raise click.exceptions.Exit(EXIT_FAILURE)
