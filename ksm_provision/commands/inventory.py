"""``ksm validate``, ``ksm inventory list|show``, ``ksm schema``."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from ksm_provision.commands.common import (
    CliContext,
    authority_option,
    complete_node,
    console,
    echo,
    json_option,
    parse_vault_files,
    pass_context,
    print_json,
    vault_option,
)
from ksm_provision.errors import EXIT_FAILURE, Problem, UsageError


@click.command()
@authority_option
@vault_option
@json_option
@pass_context
def validate(
    ctx: CliContext, authorities: tuple[str, ...], vault_files: tuple[str, ...], as_json: bool
) -> None:
    """Check the inventory: types, references, addresses, VLANs, names, across authorities.

    Warnings (e.g. a site without a log host) are printed but do not fail the check.

    With --authority, every file is still loaded and checked: shown are the problems of ksm.yml and
    of the authority's file, every conflict with another authority, and one line for each other file
    with problems (a file that does not load hides its conflicts; any problem stops plan and apply).
    Once the inventory is valid, the vault of every authority in scope whose password is available
    (--vault-password-file, $KSM_VAULT_PASSWORDS_DIR) is decrypted and each vault:KEY reference is
    looked up in it; without a password, the authority's references are reported as not checked.
    """
    from ksm_provision.validate import validate_scope
    from ksm_provision.validate.vault_checks import check_vault_references
    from ksm_provision.validate.warnings import check_warnings

    explicit = parse_vault_files(vault_files)
    result = validate_scope(Path(ctx.inventory_dir), authorities)
    if result.inventory is None:
        _report_problems(result.problems, as_json, {})
    inventory = result.inventory
    references = check_vault_references(inventory, explicit)
    for aid in references.unchecked:
        echo(
            f"note: vault references of '{aid}' not checked (no vault password; pass "
            f"--vault-password-file {aid}=FILE or put it in $KSM_VAULT_PASSWORDS_DIR)",
            err=True,
        )
    status = {aid: str(check) for aid, check in references.status.items()}
    warnings = check_warnings(inventory)
    if not as_json:
        for warning in warnings:
            echo(f"warning: {warning}", err=True)
    if references.problems:
        _report_problems(references.problems, as_json, {"vault_references": status})
    if as_json:
        print_json(
            {
                "valid": True,
                "authorities": list(inventory.authorities),
                "hosts": len(inventory.hosts),
                "devices": len(inventory.devices),
                "problems": [],
                "warnings": [w.as_dict() for w in warnings],
                "vault_references": status,
            }
        )
        return
    echo(
        f"ok: {len(inventory.authorities)} authorities, {len(inventory.hosts)} hosts, "
        f"{len(inventory.devices)} network devices — no problems"
    )
    echo("vault references: " + ", ".join(f"{aid} {check}" for aid, check in status.items()))


def _report_problems(problems: list[Problem], as_json: bool, extra: dict[str, object]) -> NoReturn:
    """Print *problems* (stderr, or JSON on stdout with *extra* fields) and exit with EXIT_FAILURE."""
    if as_json:
        print_json({"valid": False, "problems": [p.as_dict() for p in problems], **extra})
    else:
        for problem in problems:
            echo(problem, err=True)
        echo(f"{len(problems)} problem(s) found.", err=True)
    raise click.exceptions.Exit(EXIT_FAILURE)


@click.group("inventory")
def inventory_group() -> None:
    """Look at the inventory: hosts, devices, effective settings."""


@inventory_group.command("list")
@authority_option
@json_option
@click.option("--kind", type=click.Choice(["all", "hosts", "devices"]), default="all", show_default=True)
@pass_context
def list_command(ctx: CliContext, authorities: tuple[str, ...], as_json: bool, kind: str) -> None:
    """List hosts and network devices, client ranges expanded."""
    inventory = ctx.scoped(authorities)
    rows: list[dict[str, str]] = []
    if kind in ("all", "hosts"):
        rows += [
            {
                "name": h.hostname,
                "authority": h.authority,
                "site": h.site,
                "kind": str(h.kind),
                "address": str(h.address),
                "role": h.profile or ",".join(h.roles) or "-",
            }
            for h in inventory.hosts
        ]
    if kind in ("all", "devices"):
        rows += [
            {
                "name": d.hostname,
                "authority": d.authority,
                "site": d.model.site,
                "kind": str(d.model.platform),
                "address": str(d.model.management.address),
                "role": str(d.model.role),
            }
            for d in inventory.devices
        ]
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(
        "name", "authority", "site", "kind", "address", "role/profile", title=f"{len(rows)} entries"
    )
    for row in rows:
        table.add_row(*row.values())
    console().print(table)


@inventory_group.command("show")
@click.argument("name", shell_complete=complete_node)
@pass_context
def show_command(ctx: CliContext, name: str) -> None:
    """Show one host or device with its effective settings (after precedence)."""
    from ksm_provision.inventory.settings import effective_settings

    inventory = ctx.inventory
    if name in inventory.hosts_by_name:
        host = inventory.hosts_by_name[name]
        source = inventory.source_of(host.authority)
        data = {
            "hostname": host.hostname,
            "authority": host.authority,
            "site": host.site,
            "kind": str(host.kind),
            "address": str(host.address),
            "mac": host.mac,
            "network": host.network,
            "profile": host.profile,
            "roles": list(host.roles),
            "defined_at": f"{source.file}:{source.line_of(host.loc)}",
            "settings": effective_settings(inventory, host).model_dump(mode="json"),
        }
    elif name in inventory.devices_by_name:
        device = inventory.devices_by_name[name]
        source = inventory.source_of(device.authority)
        data = {
            "authority": device.authority,
            "defined_at": f"{source.file}:{source.line_of(device.loc)}",
            **device.model.model_dump(mode="json"),
        }
    else:
        raise UsageError(f"no host or device named '{name}'", "see `ksm inventory list` for the names")
    print_json(data)
