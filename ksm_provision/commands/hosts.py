"""``ksm render ansible``, ``ksm plan``, ``ksm apply``, ``ksm verify`` for client PCs and servers."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import click
from rich.table import Table

from ksm_provision.commands.common import (
    CliContext,
    all_option,
    authority_option,
    console,
    json_option,
    pass_context,
    print_json,
    target_option,
)
from ksm_provision.commands.progress import task_progress
from ksm_provision.errors import EXIT_CHANGES_PENDING, EXIT_FAILURE, UsageError
from ksm_provision.playbook.pipeline import run_hosts, verify_hosts
from ksm_provision.playbook.results import PlaybookRun, RunMode
from ksm_provision.playbook.runner import RunSettings
from ksm_provision.playbook.scope import host_scope
from ksm_provision.render.ansible_inventory import write_ansible_inventory
from ksm_provision.targets import Target

limit_option = click.option(
    "--limit", metavar="PATTERN", help="Only hosts matching these patterns (comma-separated)."
)
forks_option = click.option(
    "--forks", type=click.IntRange(1, 64), default=8, show_default=True, help="Hosts worked on in parallel."
)
vault_option = click.option(
    "--vault-password-file",
    "vault_files",
    multiple=True,
    metavar="ID=FILE",
    help="Vault password file of an authority (repeatable); default $KSM_VAULT_PASSWORDS_DIR/ID.pass.",
)


def parse_vault_files(values: tuple[str, ...]) -> dict[str, Path]:
    parsed: dict[str, Path] = {}
    for value in values:
        authority, sep, path = value.partition("=")
        if not sep or not authority or not path:
            raise UsageError(
                f"--vault-password-file {value!r} is not ID=FILE", "e.g. --vault-password-file lup=~/lup.pass"
            )
        parsed[authority] = Path(path).expanduser()
    return parsed


@click.group("render")
def render_group() -> None:
    """Write generated artefacts for inspection."""


@render_group.command("ansible")
@authority_option
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output directory."
)
@pass_context
def render_ansible(ctx: CliContext, authorities: tuple[str, ...], out: Path) -> None:
    """Write a static hosts.yml with host_vars (production addresses) to OUT."""
    inventory = ctx.scoped(authorities)
    hosts_file = write_ansible_inventory(inventory, inventory.hosts, out)
    click.echo(f"wrote {hosts_file} with {len(inventory.hosts)} hosts")


def print_run(run: PlaybookRun, show_diffs: bool) -> None:
    table = Table(
        "host",
        "authority",
        "status",
        "changed",
        "ok",
        "failed/unreachable",
        title=f"{run.mode.value}: {len(run.hosts)} hosts",
    )
    for host in sorted(run.hosts, key=lambda h: h.host):
        table.add_row(
            host.host,
            host.authority,
            host.status,
            str(host.changed),
            str(host.ok),
            "; ".join(host.errors)[:120],
        )
    out = console()
    if show_diffs:
        for host in run.hosts:
            for change in host.changes:
                out.print(f"[bold]{host.host}[/bold] ~ {change.task}")
                if change.diff:
                    out.print(change.diff.rstrip(), markup=False)
    out.print(table)
    verb = "would change" if run.mode is RunMode.PLAN else "changed"
    out.print(
        f"{len(run.changed_hosts)} host(s) {verb} ({run.total_changed} task(s)), "
        f"{len(run.failed_hosts)} failed"
    )


@click.command()
@authority_option
@all_option
@target_option
@limit_option
@forks_option
@vault_option
@json_option
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0: nothing to do, 2: changes pending, 1: error."
)
@pass_context
def plan(
    ctx: CliContext,
    authorities: tuple[str, ...],
    all_authorities: bool,
    target: str,
    limit: str | None,
    forks: int,
    vault_files: tuple[str, ...],
    as_json: bool,
    detailed_exitcode: bool,
) -> None:
    """Show what apply would change (Ansible check+diff), secrets redacted."""
    inventory = ctx.scoped(authorities, all_authorities, required=True)
    scope = host_scope(inventory, Target(target), limit)
    with task_progress("plan", not as_json) as progress:
        run = run_hosts(
            scope, RunMode.PLAN, RunSettings(forks=forks), progress, parse_vault_files(vault_files)
        )
    if as_json:
        print_json(run)
    else:
        print_run(run, show_diffs=True)
    if run.failed_hosts:
        raise click.exceptions.Exit(EXIT_FAILURE)
    if detailed_exitcode and run.changed_hosts:
        raise click.exceptions.Exit(EXIT_CHANGES_PENDING)


@click.command()
@authority_option
@all_option
@target_option
@limit_option
@forks_option
@vault_option
@json_option
@pass_context
def apply(
    ctx: CliContext,
    authorities: tuple[str, ...],
    all_authorities: bool,
    target: str,
    limit: str | None,
    forks: int,
    vault_files: tuple[str, ...],
    as_json: bool,
) -> None:
    """Apply the inventory to hosts (needs --authority ID or --all)."""
    inventory = ctx.scoped(authorities, all_authorities, required=True)
    scope = host_scope(inventory, Target(target), limit)
    with task_progress("apply", not as_json) as progress:
        run = run_hosts(
            scope, RunMode.APPLY, RunSettings(forks=forks), progress, parse_vault_files(vault_files)
        )
    if as_json:
        print_json(run)
    else:
        print_run(run, show_diffs=False)
    if run.failed_hosts:
        raise click.exceptions.Exit(EXIT_FAILURE)


@click.command()
@authority_option
@all_option
@target_option
@limit_option
@vault_option
@json_option
@click.option(
    "--junit", type=click.Path(dir_okay=False, path_type=Path), help="Also write a JUnit XML report."
)
@pass_context
def verify(
    ctx: CliContext,
    authorities: tuple[str, ...],
    all_authorities: bool,
    target: str,
    limit: str | None,
    vault_files: tuple[str, ...],
    as_json: bool,
    junit: Path | None,
) -> None:
    """Prove hosts match the inventory (pytest-testinfra checks generated from it)."""
    inventory = ctx.scoped(authorities, all_authorities, required=True)
    scope = host_scope(inventory, Target(target), limit)
    status: AbstractContextManager[object] = (
        console(stderr=True).status("verifying hosts") if not as_json else nullcontext()
    )
    with status:
        result = verify_hosts(scope, junit, parse_vault_files(vault_files))
    if as_json:
        print_json(
            {
                "passed": result.passed,
                "pass_rate": result.pass_rate,
                "checks": [c.model_dump() for c in result.checks],
            }
        )
    else:
        failed = [c for c in result.checks if not c.passed]
        for check in failed:
            click.echo(f"FAIL {check.host}: {check.check}: {check.message}")
        click.echo(
            f"{len(result.checks) - len(failed)}/{len(result.checks)} checks passed on "
            f"{len({c.host for c in result.checks})} host(s)"
        )
    if not result.passed:
        raise click.exceptions.Exit(EXIT_FAILURE)


def register(group: click.Group) -> None:
    group.add_command(render_group)
    group.add_command(plan)
    group.add_command(apply)
    group.add_command(verify)
