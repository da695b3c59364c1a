"""``ksm lab up|status|down``: the lab twin from the command line.

The lab lives in ``$KSM_LAB_DIR`` (default /var/lib/ksm-provision/lab); ``$KSM_LAB_INSTANCE``
(default 0) keeps a second lab on the same machine apart. Exit codes: 0 when every node is healthy,
1 otherwise (and for ``status`` when there is no lab).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from ksm_provision.commands.common import (
    CliContext,
    authority_option,
    console,
    echo,
    json_option,
    pass_context,
    print_json,
)
from ksm_provision.errors import EXIT_FAILURE, LabError
from ksm_provision.lab import rootfs, topology
from ksm_provision.lab.config import LabConfig
from ksm_provision.lab.manager import Lab, LabStatus
from ksm_provision.lab.planner import DEFAULT_HOSTS_PER_AUTHORITY, plan_lab
from ksm_provision.lab.state import NodeKind
from ksm_provision.pull import lab as pull_lab

lab_dir_option = click.option(
    "--lab-dir",
    envvar="KSM_LAB_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory of the lab's state (default $KSM_LAB_DIR or /var/lib/ksm-provision/lab).",
)


def _lab(lab_dir: Path | None) -> Lab:
    config = LabConfig.from_env()
    if lab_dir is not None:
        config = LabConfig(lab_dir=lab_dir, instance=config.instance, ssh_port=config.ssh_port)
    return Lab(config)


def _show(status: LabStatus, unrepresented: tuple[str, ...] = ()) -> None:
    out = console()
    if not status.exists:
        out.print(f"no lab in {status.lab_dir}")
        return
    table = Table(title=f"lab {status.lab_dir} (instance {status.instance})")
    table.add_column("node", no_wrap=True)
    for column in ("kind", "authority", "address", "login", "stands in for", "state"):
        table.add_column(column, overflow="fold")
    for node in status.nodes:
        stands_in = node.represents[0] if len(node.represents) == 1 else f"{len(node.represents)} hosts"
        state = "up" if node.healthy else "; ".join(node.problems)
        table.add_row(
            node.name,
            node.kind.value,
            node.authority,
            node.address if node.port == 22 else f"{node.address}:{node.port}",
            node.username or "-",
            stands_in if node.represents else "-",
            state,
        )
    out.print(table)
    if unrepresented:
        out.print(
            f"{len(unrepresented)} inventory hosts have no stand-in (raise --hosts-per-authority to add more)"
        )


@click.group("lab")
def lab_group() -> None:
    """The lab twin: stand-ins for hosts, routers and switches on 127.0.0.0/8 (needs root)."""


@lab_group.command("up")
@authority_option
@click.option(
    "--hosts-per-authority",
    type=click.IntRange(0, 254),
    default=DEFAULT_HOSTS_PER_AUTHORITY,
    show_default=True,
    help="At most this many lab hosts per authority (one per server role / client profile).",
)
@lab_dir_option
@json_option
@pass_context
def up(
    ctx: CliContext,
    authorities: tuple[str, ...],
    hosts_per_authority: int,
    lab_dir: Path | None,
    as_json: bool,
) -> None:
    """Build or repair the lab for the inventory (all authorities, or --authority ID ...)."""
    lab = _lab(lab_dir)
    inventory = ctx.scoped(authorities)
    plan = plan_lab(
        inventory,
        hosts_per_authority=hosts_per_authority,
        instance=lab.config.instance,
        port=lab.config.ssh_port,
    )
    if any(s.kind is NodeKind.HOST for s in plan.specs) and not rootfs.is_current(rootfs.rootfs_path()):
        click.echo(
            "Building the Debian base image for lab hosts (first run only, about a minute)...", err=True
        )
    status = lab.up(plan.specs, topology=topology.derive(inventory, plan.specs))
    if as_json:
        print_json({**status.model_dump(mode="json"), "unrepresented": list(plan.unrepresented)})
    else:
        _show(status, plan.unrepresented)
    if not status.healthy:
        raise click.exceptions.Exit(EXIT_FAILURE)


@lab_group.command("status")
@lab_dir_option
@json_option
def status(lab_dir: Path | None, as_json: bool) -> None:
    """Health of every lab node, checked now."""
    result = _lab(lab_dir).status()
    if as_json:
        print_json(result)
    else:
        _show(result)
    if not result.healthy:
        raise click.exceptions.Exit(EXIT_FAILURE)


@lab_group.command("down")
@lab_dir_option
@json_option
def down(lab_dir: Path | None, as_json: bool) -> None:
    """Remove the lab: every process, mount, namespace, user and file it created."""
    lab = _lab(lab_dir)
    # first what `ksm pull enable --target lab` started beside the lab (its forwarders hold the
    # clients' namespaces open); nothing to do when pull mode never ran in this lab
    pull_problem = _stop_pull(lab.config)
    removed = lab.down()
    if as_json:
        print_json({"lab_dir": str(lab.config.lab_dir), "removed": list(removed)})
    else:
        echo(f"removed {len(removed)} lab nodes from {lab.config.lab_dir}")
    if pull_problem is not None:
        echo(f"error: {pull_problem}", err=True)
        raise click.exceptions.Exit(EXIT_FAILURE)


def _stop_pull(config: LabConfig) -> str | None:
    """Stop the lab's pull server and reverse forwarders; what went wrong, or None."""
    try:
        pull_lab.stop(config)
    except (LabError, OSError) as exc:  # the lab still comes down; the exit code tells
        return f"could not stop the lab's pull-mode processes: {exc}"
    return None
