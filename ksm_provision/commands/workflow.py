"""``ksm lock list|break`` (the per-authority apply locks) and ``ksm show PLAN`` (a plan file, for review)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Column, Table

from ksm_provision.commands.common import console, echo, json_option, print_json
from ksm_provision.terminal import text
from ksm_provision.workflow.locks import LockStatus, break_lock, list_locks
from ksm_provision.workflow.planfile import PlanFile


def lock_row(status: LockStatus) -> dict[str, object]:
    info = status.info
    return {
        "id": status.id,
        "authority": status.authority,
        "user": info.user if info else None,
        "machine": info.machine if info else None,
        "pid": info.pid if info else None,
        "started": info.started.isoformat() if info else None,
        "expires": info.expires.isoformat() if info else None,
        "command": info.command if info else None,
        "stale": status.stale is not None,
        "stale_reason": status.stale,
    }


@click.group("lock")
def lock_group() -> None:
    """Apply locks per authority: who holds them, and breaking stale ones."""


@lock_group.command("list")
@json_option
def list_command(as_json: bool) -> None:
    """List every lock, held or stale (a stale lock's run is gone or its TTL expired)."""
    locks = list_locks()
    if as_json:
        print_json([lock_row(s) for s in locks])
        return
    if not locks:
        click.echo("no locks held")
        return
    table = Table(
        Column("id", no_wrap=True), Column("authority", no_wrap=True), "holder", "since", "expires", "status"
    )
    for status in locks:
        info = status.info
        table.add_row(  # lock files are data: user, machine and reason print literally
            text(status.id),
            text(status.authority),
            text(f"{info.user}@{info.machine} pid {info.pid}" if info else "?"),
            f"{info.started:%Y-%m-%d %H:%M:%S}" if info else "?",
            f"{info.expires:%Y-%m-%d %H:%M:%S}" if info else "?",
            text(f"stale: {status.stale}" if status.stale else "held"),
        )
    console().print(table)


@lock_group.command("break")
@click.argument("lock_id", metavar="ID")
@click.option(
    "--force", is_flag=True, help="Also break a lock that is not stale (its run may still be going)."
)
def break_command(lock_id: str, force: bool) -> None:
    """Remove the lock ID (or the lock of authority ID); only stale locks unless --force."""
    status = break_lock(lock_id, force=force)
    holder = status.info.holder() if status.info else "an unreadable lock file"
    echo(f"broke lock {status.id} of {status.authority} ({holder})")


@click.command("show")
@click.argument("plan_file", metavar="PLAN", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def show_command(plan_file: Path, as_json: bool) -> None:
    """Show the plan file PLAN (made by `ksm plan --out`): what would change, secrets redacted.

    A plan file is data that may come from anywhere: control characters in it (escape sequences in
    a host name or diff) print as visible escapes such as ``\x1b``, in the summary and in --json.
    """
    plan = PlanFile.load(plan_file)
    if as_json:
        print_json(plan)
    else:
        echo(plan.summary(), nl=False)


def register(group: click.Group) -> None:
    group.add_command(lock_group)
    group.add_command(show_command)
