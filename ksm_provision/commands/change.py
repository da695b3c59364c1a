"""``ksm plan``, ``ksm apply [PLAN]`` and ``ksm drift``: one change run over hosts and devices.

apply takes the authorities' locks, re-checks a plan file's inputs inside them, and writes one
audit record per authority; plan and drift leave status records for ``ksm report``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ksm_provision.commands.common import (
    CliContext,
    all_option,
    authority_option,
    check_exclusive_scope,
    echo,
    json_option,
    pass_context,
    print_json,
)
from ksm_provision.commands.hosts import forks_option, limit_option, parse_vault_files, vault_option
from ksm_provision.commands.output import print_change_run
from ksm_provision.commands.progress import task_progress
from ksm_provision.errors import EXIT_CHANGES_PENDING, EXIT_FAILURE, UsageError
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.network.results import NetworkPlan
from ksm_provision.targets import Target
from ksm_provision.workflow import orchestrate
from ksm_provision.workflow.audit import append_audit, current_user, git_commit, machine_name, new_record_id
from ksm_provision.workflow.changes import changed_scope
from ksm_provision.workflow.inputs import Selection, input_hashes
from ksm_provision.workflow.locks import DEFAULT_TTL, acquire
from ksm_provision.workflow.orchestrate import ChangeRun, RunRequest
from ksm_provision.workflow.planfile import PlanFile, check_inputs, device_plan, host_plan
from ksm_provision.workflow.records import (
    ApplyResult,
    AuditRecord,
    DriftRecord,
    PlanRecord,
    clear_status,
    save_status,
    utc_now,
)

target_choice = click.option(
    "--target",
    type=click.Choice([t.value for t in Target]),
    default=None,
    help="lab: the lab twin's 127.x stand-ins; production (default; for apply PLAN: the plan's target).",
)
workers_option = click.option(
    "--workers", type=click.IntRange(1, 64), default=8, show_default=True, help="Network devices in parallel."
)
only_option = click.option(
    "--only",
    type=click.Choice(["all", "hosts", "devices"]),
    default="all",
    show_default=True,
    help="Limit the run to hosts (Ansible) or network devices.",
)


diff_option = click.option(
    "--diff/--no-diff",
    "show_diff",
    default=True,
    show_default=True,
    help="Show every host diff and device remediation/rollback, or only the summary tables.",
)


@dataclass(frozen=True)
class RunOptions:
    """The options every change command shares (scope, target, parallelism, vaults, output)."""

    authorities: tuple[str, ...]
    all_authorities: bool
    target: str | None
    limit: str | None
    forks: int
    workers: int
    vault_files: tuple[str, ...]
    only: str
    as_json: bool


def run_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add the shared options; the command receives them as one ``options: RunOptions``."""

    @functools.wraps(command)
    def with_options(*args: Any, **kwargs: Any) -> None:
        values = {name: kwargs.pop(name) for name in RunOptions.__dataclass_fields__}
        command(*args, options=RunOptions(**values), **kwargs)

    decorated: Callable[..., None] = with_options
    shared = [authority_option, all_option, target_choice, limit_option, forks_option, workers_option,
              vault_option, only_option, json_option]  # fmt: skip
    for option in reversed(shared):
        decorated = option(decorated)
    return decorated


def _request(
    inventory: Inventory,
    target: Target,
    options: RunOptions,
    limit: str | None,
    only_hosts: frozenset[str] | None = None,
    only_devices: frozenset[str] | None = None,
) -> RunRequest:
    return RunRequest(
        inventory=inventory,
        target=target,
        limit=limit,
        forks=options.forks,
        workers=options.workers,
        explicit_vaults=parse_vault_files(options.vault_files),
        only_hosts=only_hosts,
        only_devices=only_devices,
        include_hosts=options.only in ("all", "hosts"),
        include_devices=options.only in ("all", "devices"),
    )


def _emit(run: ChangeRun, as_json: bool, details: bool) -> None:
    if as_json:
        print_json(run)
    else:
        print_change_run(run, details)


def _save_plan_file(
    out: Path, run: ChangeRun, inventory: Inventory, limit: str | None, since: str | None
) -> None:
    hosts = [
        host_plan(h.host, h.authority, [(c.task, c.action, c.diff) for c in h.changes], str)
        for h in run.hosts.hosts
    ]
    planned = run.devices.devices if isinstance(run.devices, NetworkPlan) else ()
    devices = [device_plan(d.hostname, d.authority, d.platform, d.remediation, str) for d in planned]
    selection = Selection.of(run.authorities, [h.name for h in hosts], [d.name for d in devices])
    PlanFile.create(
        target=Target(run.target),
        authorities=run.authorities,
        inputs=input_hashes(inventory, selection),
        hosts=hosts,
        devices=devices,
        git_commit=git_commit(Path.cwd()),
        limit=limit,
        changed_since=since,
    ).save(out)


def _record_plan(run: ChangeRun) -> None:
    for authority in run.authorities:
        hosts, devices, _ = run.for_authority(authority)
        save_status(
            PlanRecord(
                time=utc_now(),
                authority=authority,
                target=run.target,
                changes_pending=len(hosts) + len(devices),
                hosts=hosts,
                devices=devices,
            )
        )


@click.command()
@run_options
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0: nothing to do, 2: changes pending, 1: error."
)
@click.option(
    "--changed-since", metavar="REF", help="Only what changed since git revision REF (scope from git)."
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write a plan file for `ksm apply`."
)
@diff_option
@pass_context
def plan(
    ctx: CliContext,
    options: RunOptions,
    detailed_exitcode: bool,
    changed_since: str | None,
    out: Path | None,
    show_diff: bool,
) -> None:
    """Show what apply would change: hosts (check+diff) and devices (remediation, rollback)."""
    only_hosts = only_devices = None
    if changed_since:
        check_exclusive_scope(options.authorities, options.all_authorities)
        change = changed_scope(ctx.inventory, changed_since, Path.cwd())
        for line in change.summary():
            echo(line, err=True)
        ids = [a for a in change.authorities if not options.authorities or a in options.authorities]
        inventory = ctx.inventory.select(ids)
        if not change.everything:
            only_hosts, only_devices = change.host_names, change.device_names
    else:
        inventory = ctx.scoped(options.authorities, options.all_authorities, required=True)
    target = Target(options.target or Target.PRODUCTION)
    request = _request(inventory, target, options, options.limit, only_hosts, only_devices)
    with task_progress("plan", not options.as_json) as progress:
        run = orchestrate.plan(request, progress)
    _record_plan(run)
    if out is not None:
        _save_plan_file(out, run, ctx.inventory, options.limit, changed_since)
    _emit(run, options.as_json, details=show_diff)
    if run.failed:
        raise click.exceptions.Exit(EXIT_FAILURE)
    if detailed_exitcode and run.changes_pending:
        raise click.exceptions.Exit(EXIT_CHANGES_PENDING)


def _audit(run: ChangeRun, plan_hash: str | None) -> None:
    commit = git_commit(Path.cwd())
    for authority in run.authorities:
        hosts, devices, failed = run.for_authority(authority)
        rolled_back = [d for d in run.rolled_back if d in failed]
        if set(failed) - set(rolled_back):
            result = ApplyResult.FAILED
        else:
            result = ApplyResult.ROLLED_BACK if rolled_back else ApplyResult.SUCCESS
        append_audit(
            AuditRecord(
                id=new_record_id(),
                time=utc_now(),
                user=current_user(),
                machine=machine_name(),
                authority=authority,
                target=run.target,
                git_commit=commit,
                plan_hash=plan_hash,
                changed_hosts=hosts,
                changed_devices=devices,
                failed=failed,
                changed_tasks=sum(h.changed for h in run.hosts.hosts if h.authority == authority),
                hosts=sum(1 for h in run.hosts.hosts if h.authority == authority),
                devices=sum(1 for d in run.devices.devices if d.authority == authority),
                result=result,
            )
        )
        if result is ApplyResult.SUCCESS:
            clear_status(PlanRecord, authority)


def _plan_request(ctx: CliContext, planfile: PlanFile, options: RunOptions) -> RunRequest | None:
    """The run a reviewed plan file asks for; None when it has nothing to apply."""
    check_inputs(planfile, input_hashes(ctx.inventory, planfile))
    if options.all_authorities or any(a not in planfile.authorities for a in options.authorities):
        raise UsageError(
            f"the plan covers {', '.join(planfile.authorities) or 'no authority'}; it cannot widen the scope",
            "apply the plan as it is, or make a new plan",
        )
    if options.target and options.target != planfile.target.value:
        raise UsageError(
            f"the plan was made for --target {planfile.target.value}", "plan again for this target"
        )
    if not planfile.changes_pending:
        return None
    return _request(
        ctx.inventory.select(planfile.authorities),
        planfile.target,
        options,
        planfile.limit,
        frozenset(planfile.changed_hosts),
        frozenset(planfile.changed_devices),
    )


@click.command()
@click.argument(
    "plan_file", metavar="[PLAN]", required=False, type=click.Path(dir_okay=False, path_type=Path)
)
@run_options
@click.option(
    "--lock-wait", type=float, default=0.0, show_default=True, help="Seconds to wait for a held lock."
)
@click.option(
    "--lock-ttl", type=float, default=DEFAULT_TTL, show_default=True, help="Seconds until a lock is stale."
)
@pass_context
def apply(
    ctx: CliContext, plan_file: Path | None, options: RunOptions, lock_wait: float, lock_ttl: float
) -> None:
    """Apply hosts and devices: --authority ID / --all, or exactly the reviewed PLAN file."""
    planfile = PlanFile.load(plan_file) if plan_file is not None else None
    if planfile is not None:
        maybe_request = _plan_request(ctx, planfile, options)
        if maybe_request is None:
            click.echo("the plan has no changes: nothing to apply")
            return
        request = maybe_request
    else:
        inventory = ctx.scoped(options.authorities, options.all_authorities, required=True)
        request = _request(inventory, Target(options.target or Target.PRODUCTION), options, options.limit)
    with acquire(request.authorities, lock_ttl, wait=lock_wait, command="ksm apply"):
        if planfile is not None:  # the inputs may have changed while we waited for the lock
            check_inputs(planfile, input_hashes(ctx.inventory, planfile))
        with task_progress("apply", not options.as_json) as progress:
            run = orchestrate.apply(request, progress)
        _audit(run, planfile.plan_hash if planfile else None)
    _emit(run, options.as_json, details=False)
    if run.failed:
        raise click.exceptions.Exit(EXIT_FAILURE)


@click.command()
@run_options
@diff_option
@pass_context
def drift(ctx: CliContext, options: RunOptions, show_diff: bool) -> None:
    """Compare live hosts and devices with the files; exit 2 when they differ (drift)."""
    inventory = ctx.scoped(options.authorities, options.all_authorities, required=True)
    request = _request(inventory, Target(options.target or Target.PRODUCTION), options, options.limit)
    with task_progress("drift check", not options.as_json) as progress:
        run = orchestrate.plan(request, progress)
    for authority in run.authorities:
        hosts, devices, _ = run.for_authority(authority)
        save_status(
            DriftRecord(
                time=utc_now(),
                authority=authority,
                target=run.target,
                drifted=bool(hosts or devices),
                hosts=hosts,
                devices=devices,
            )
        )
    _emit(run, options.as_json, details=show_diff)
    if run.failed:
        raise click.exceptions.Exit(EXIT_FAILURE)
    if run.changes_pending:
        if not options.as_json:
            click.echo("drift: live state differs from the files", err=True)
        raise click.exceptions.Exit(EXIT_CHANGES_PENDING)


def register(group: click.Group) -> None:
    group.add_command(plan)
    group.add_command(apply)
    group.add_command(drift)
