"""``ksm plan``, ``ksm apply [PLAN]`` and ``ksm drift``: parse the options, build one
:class:`~ksm_provision.workflow.request.ChangeRequest`, call
:func:`~ksm_provision.workflow.run.run_change`, print the result and map it to an exit code.

Locks, plan files, audit and status records are the run's business, never this module's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from ksm_provision.commands.common import (
    CliContext,
    all_option,
    authority_option,
    check_exclusive_scope,
    echo,
    json_option,
    limit_option,
    pass_context,
    print_json,
    target_option,
)
from ksm_provision.commands.hosts import forks_option, parse_vault_files, vault_option
from ksm_provision.commands.output import print_change_run
from ksm_provision.commands.progress import task_progress
from ksm_provision.errors import EXIT_CHANGES_PENDING, EXIT_FAILURE
from ksm_provision.network.pipeline import DEFAULT_WORKERS
from ksm_provision.playbook.runner import DEFAULT_STRATEGY, STRATEGIES
from ksm_provision.targets import Target
from ksm_provision.workflow.locks import DEFAULT_TTL
from ksm_provision.workflow.planfile import PlanFile
from ksm_provision.workflow.request import (
    AllAuthorities,
    Authorities,
    ChangedSince,
    ChangeMode,
    ChangeRequest,
    Only,
    ReviewedPlan,
    Scope,
)
from ksm_provision.workflow.run import ChangeResult, run_change

#: ``--only`` as the command line spells it.
ONLY = {"all": Only.BOTH, "hosts": Only.HOSTS, "devices": Only.DEVICES}
#: What the progress line calls each kind of run.
PROGRESS_TITLE = {ChangeMode.PLAN: "plan", ChangeMode.APPLY: "apply", ChangeMode.DRIFT: "drift check"}

workers_option = click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=DEFAULT_WORKERS,
    show_default=True,
    help="Network devices in parallel.",
)
only_option = click.option(
    "--only",
    type=click.Choice(list(ONLY)),
    default="all",
    show_default=True,
    help="Limit the run to hosts (Ansible) or network devices.",
)
verbose_option = click.option(
    "-v",
    "--verbose",
    count=True,
    help="Show Ansible's output (secrets redacted); -vv, -vvv... pass more -v to ansible-playbook.",
)
strategy_option = click.option(
    "--ansible-strategy",
    type=click.Choice(STRATEGIES),
    envvar="KSM_ANSIBLE_STRATEGY",
    default=DEFAULT_STRATEGY,
    show_default=True,
    help="Ansible strategy for hosts: mitogen keeps one Python per host (about 3x faster plans "
    "and re-applies in the lab; README: Performance); linear is Ansible's own.",
)
diff_option = click.option(
    "--diff/--no-diff",
    "show_diff",
    default=True,
    show_default=True,
    help="Show every host diff and device remediation/rollback, or only the summary tables.",
)


@dataclass(frozen=True)
class SharedOptions:
    """The options every change command shares, as click parsed them (see :meth:`request`)."""

    authorities: tuple[str, ...]
    all_authorities: bool
    target: str | None
    limit: str | None
    forks: int
    workers: int
    vault_files: tuple[str, ...]
    only: str
    as_json: bool
    verbose: int
    ansible_strategy: str

    def authority_scope(self) -> Authorities | AllAuthorities:
        check_exclusive_scope(self.authorities, self.all_authorities)
        return AllAuthorities() if self.all_authorities else Authorities(self.authorities)

    def request(
        self,
        ctx: CliContext,
        mode: ChangeMode,
        scope: Scope,
        *,
        plan_out: Path | None = None,
        lock_wait: float = 0.0,
        lock_ttl: float = DEFAULT_TTL,
    ) -> ChangeRequest:
        """The typed request of these options plus the command's own (plan file, locks)."""
        return ChangeRequest(
            mode=mode,
            inventory=ctx.inventory,
            scope=scope,
            target=Target(self.target) if self.target else None,
            only=ONLY[self.only],
            limit=self.limit,
            forks=self.forks,
            workers=self.workers,
            ansible_strategy=self.ansible_strategy,
            explicit_vaults=parse_vault_files(self.vault_files),
            plan_out=plan_out,
            lock_wait=lock_wait,
            lock_ttl=lock_ttl,
        )


def shared_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add the shared options; the command receives them as one ``options: SharedOptions``."""

    @functools.wraps(command)
    def with_options(*args: Any, **kwargs: Any) -> None:
        values = {name: kwargs.pop(name) for name in SharedOptions.__dataclass_fields__}
        if click.get_current_context().get_parameter_source("target") is ParameterSource.DEFAULT:
            values["target"] = None  # not given: production, or for `apply PLAN` the plan's own target
        command(*args, options=SharedOptions(**values), **kwargs)

    decorated: Callable[..., None] = with_options
    shared = [authority_option, all_option, target_option, limit_option, forks_option, workers_option,
              vault_option, only_option, json_option, verbose_option, strategy_option]  # fmt: skip
    for option in reversed(shared):
        decorated = option(decorated)
    return decorated


def _run(request: ChangeRequest, options: SharedOptions) -> ChangeResult:
    """Run *request* with progress on stderr; a failed Ansible run keeps its artifacts (see progress)."""
    with task_progress(
        PROGRESS_TITLE[request.mode],
        not options.as_json,
        verbosity=options.verbose,
        run_name=request.mode.value,
    ) as progress:
        return run_change(request, progress, note=lambda line: echo(line, err=True))


def _emit(result: ChangeResult, as_json: bool, details: bool) -> None:
    """Print the run (JSON or tables) and exit 1 when a host or device failed."""
    if result.run is None:  # a reviewed plan without changes: nothing ran
        click.echo("the plan has no changes: nothing to apply")
        return
    if as_json:
        print_json(result.run)
    else:
        print_change_run(result.run, details)
    if result.failed:
        raise click.exceptions.Exit(EXIT_FAILURE)


@click.command()
@shared_options
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
    options: SharedOptions,
    detailed_exitcode: bool,
    changed_since: str | None,
    out: Path | None,
    show_diff: bool,
) -> None:
    """Show what apply would change: hosts (check+diff) and devices (remediation, rollback)."""
    scope: Scope
    if changed_since:
        check_exclusive_scope(options.authorities, options.all_authorities)
        scope = ChangedSince(changed_since, options.authorities)
    else:
        scope = options.authority_scope()
    result = _run(options.request(ctx, ChangeMode.PLAN, scope, plan_out=out), options)
    _emit(result, options.as_json, details=show_diff)
    if detailed_exitcode and result.changes_pending:
        raise click.exceptions.Exit(EXIT_CHANGES_PENDING)


@click.command()
@click.argument(
    "plan_file", metavar="[PLAN]", required=False, type=click.Path(dir_okay=False, path_type=Path)
)
@shared_options
@click.option(
    "--lock-wait", type=float, default=0.0, show_default=True, help="Seconds to wait for a held lock."
)
@click.option(
    "--lock-ttl", type=float, default=DEFAULT_TTL, show_default=True, help="Seconds until a lock is stale."
)
@pass_context
def apply(
    ctx: CliContext, plan_file: Path | None, options: SharedOptions, lock_wait: float, lock_ttl: float
) -> None:
    """Apply hosts and devices: --authority ID / --all, or exactly the reviewed PLAN file."""
    scope: Scope
    if plan_file is not None:
        scope = ReviewedPlan(PlanFile.load(plan_file), options.authorities, options.all_authorities)
    else:
        scope = options.authority_scope()
    request = options.request(ctx, ChangeMode.APPLY, scope, lock_wait=lock_wait, lock_ttl=lock_ttl)
    _emit(_run(request, options), options.as_json, details=False)


@click.command()
@shared_options
@diff_option
@pass_context
def drift(ctx: CliContext, options: SharedOptions, show_diff: bool) -> None:
    """Compare live hosts and devices with the files; exit 2 when they differ (drift)."""
    result = _run(options.request(ctx, ChangeMode.DRIFT, options.authority_scope()), options)
    _emit(result, options.as_json, details=show_diff)
    if result.changes_pending:
        if not options.as_json:
            click.echo("drift: live state differs from the files", err=True)
        raise click.exceptions.Exit(EXIT_CHANGES_PENDING)


def register(group: click.Group) -> None:
    group.add_command(plan)
    group.add_command(apply)
    group.add_command(drift)
