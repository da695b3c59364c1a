"""``ksm render ansible``, ``ksm plan``, ``ksm apply``, ``ksm verify`` for client PCs and servers."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import click

from ksm_provision.commands.common import (
    CliContext,
    all_option,
    authority_option,
    console,
    echo,
    json_option,
    pass_context,
    print_json,
    target_option,
)
from ksm_provision.commands.common import limit_option as limit_option  # change.py imports it from here
from ksm_provision.commands.common import parse_vault_files as parse_vault_files  # also imported from here
from ksm_provision.commands.common import vault_option as vault_option  # also imported from here
from ksm_provision.errors import EXIT_FAILURE
from ksm_provision.playbook.pipeline import verify_hosts
from ksm_provision.playbook.scope import host_scope
from ksm_provision.render.ansible_inventory import write_ansible_inventory
from ksm_provision.render.gateway_vars import gateway_hosts
from ksm_provision.target_resolution import resolver_for
from ksm_provision.targets import Target
from ksm_provision.verify.check_ids import check_ids
from ksm_provision.verify.expectations import host_spec
from ksm_provision.verify.runner import VerifyResult
from ksm_provision.workflow.records import (
    CheckOutcome,
    VerifyChecksRecord,
    VerifyRecord,
    save_status,
    utc_now,
)

forks_option = click.option(
    "--forks", type=click.IntRange(1, 64), default=8, show_default=True, help="Hosts worked on in parallel."
)


@click.command("ansible")
@authority_option
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output directory."
)
@pass_context
def render_ansible(ctx: CliContext, authorities: tuple[str, ...], out: Path) -> None:
    """Write a static hosts.yml with host_vars (production addresses) to OUT."""
    inventory = ctx.scoped(authorities)
    hosts_file = write_ansible_inventory(inventory, [*inventory.hosts, *gateway_hosts(inventory)], out)
    echo(f"wrote {hosts_file} with {len(inventory.hosts)} hosts")


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
    scope = host_scope(inventory, resolver_for(Target(target)), limit)
    status: AbstractContextManager[object] = (
        console(stderr=True).status("verifying hosts") if not as_json else nullcontext()
    )
    with status:
        result = verify_hosts(scope, junit, parse_vault_files(vault_files))
    # the same specs verify_hosts checked: they give each result's check id for `ksm compliance`
    ids = check_ids(host_spec(scope.inventory, h, scope.connections[h.hostname]) for h in scope.hosts)
    _record_verification(result, scope.authority_of, target, ids)
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
            echo(f"FAIL {check.host}: {check.check}: {check.message}")
        echo(
            f"{len(result.checks) - len(failed)}/{len(result.checks)} checks passed on "
            f"{len({c.host for c in result.checks})} host(s)"
        )
    if not result.passed:
        raise click.exceptions.Exit(EXIT_FAILURE)


def _record_verification(
    result: VerifyResult, authority_of: dict[str, str], target: str, ids: dict[tuple[str, str], str]
) -> None:
    """Keep each authority's pass rate for `ksm report` and each check's outcome for `ksm compliance`."""
    for authority in sorted(set(authority_of.values())):
        checks = [c for c in result.checks if authority_of.get(c.host) == authority]
        if not checks:
            continue
        failed = sum(not c.passed for c in checks)
        now = utc_now()
        save_status(
            VerifyChecksRecord(
                time=now,
                authority=authority,
                target=target,
                results=[
                    CheckOutcome(
                        host=c.host,
                        check=ids.get((c.host, c.check)),
                        name=c.check,
                        passed=c.passed,
                        message=c.message,
                    )
                    for c in checks
                ],
            )
        )
        save_status(
            VerifyRecord(
                time=now,
                authority=authority,
                target=target,
                passed=failed == 0,
                checks=len(checks),
                failed=failed,
                pass_rate=(len(checks) - failed) / len(checks),
            )
        )
