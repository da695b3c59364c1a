"""``ksm validate``, ``ksm inventory list|show``, ``ksm schema``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

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
    table,
    vault_option,
)
from ksm_provision.errors import EXIT_FAILURE, Problem, UsageError

if TYPE_CHECKING:
    from ksm_provision.inventory.provenance import SettingOrigin


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
    from ksm_provision.terminal import text

    headers = ("name", "authority", "site", "kind", "address", "role/profile")
    grid = table(*headers, title=f"{len(rows)} entries", whole=("name", "address"))
    for row in rows:
        grid.add_row(*(text(value) for value in row.values()))
    console().print(grid)


@inventory_group.command("show")
@click.argument("name", shell_complete=complete_node)
@json_option
@pass_context
def show_command(ctx: CliContext, name: str, as_json: bool) -> None:
    """Show one host or device: each effective setting with its level and the FILE:LINE setting it.

    A host's settings follow the precedence, weakest first: provider defaults (ksm.yml) < authority
    < site < client profile (ksm.yml) < host (its clients:/servers: entry or its client range); a
    value no level sets is the built-in default, "default (ksm)". Admin accounts accumulate across
    levels. A device shows its fields and its authority's network_settings; secrets show as their
    vault:KEY references, never as values. --json adds the same under "provenance".
    """
    from ksm_provision.inventory.provenance import device_origins, resolve_host

    inventory = ctx.inventory
    if name in inventory.hosts_by_name:
        host = inventory.hosts_by_name[name]
        source = inventory.source_of(host.authority)
        resolved = resolve_host(inventory, host)
        origins = resolved.origins
        data: dict[str, Any] = {
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
            "settings": resolved.settings.model_dump(mode="json"),
        }
        header = {key: data[key] for key in HOST_HEADER}
    elif name in inventory.devices_by_name:
        device = inventory.devices_by_name[name]
        source = inventory.source_of(device.authority)
        origins = device_origins(inventory, device)
        data = {
            "authority": device.authority,
            "defined_at": f"{source.file}:{source.line_of(device.loc)}",
            **device.model.model_dump(mode="json"),
        }
        header = {
            "hostname": device.hostname,
            "authority": device.authority,
            "site": device.model.site,
            "platform": str(device.model.platform),
            "role": str(device.model.role),
            "model": device.model.model or "-",
            "address": str(device.model.management.address),
            "defined_at": data["defined_at"],
        }
    else:
        raise UsageError(f"no host or device named '{name}'", "see `ksm inventory list` for the names")
    if as_json:
        print_json({**data, "provenance": {o.setting: o.as_dict() for o in origins}})
        return
    print_node(header, origins)


#: The fields above a host's settings table, in this order (the keys of its JSON).
HOST_HEADER: tuple[str, ...] = (
    "hostname",
    "authority",
    "site",
    "kind",
    "address",
    "mac",
    "network",
    "profile",
    "roles",
    "defined_at",
)


def print_node(header: dict[str, Any], origins: list[SettingOrigin]) -> None:
    """*header* as ``field: value`` lines, then one table row per setting: value, level, FILE:LINE.

    Every value is inventory data: shown literally on one line (a banner's newlines as ``\\x0a``),
    control characters visible.
    """
    from rich.text import Text

    from ksm_provision.terminal import visible

    def cell(value: object, style: str = "") -> Text:
        return Text(visible(value, one_line=True), style=style)

    out = console()
    width = max(len(key) for key in header)
    for key, value in header.items():
        out.print(Text.assemble(cell(f"{key}:".ljust(width + 2), "bold"), cell(shown_value(value))))
    grid = table("setting", "value", "level", "FILE:LINE", whole=("level", "FILE:LINE"))
    for origin in origins:
        grid.add_row(
            cell(origin.setting),
            cell(shown_value(origin.value)),
            cell(origin.level.label),
            cell(origin.defined_at or "-"),
        )
    out.print(grid)


def shown_value(value: object) -> str:
    """A JSON value as one would write it in the inventory (lists comma-separated).

    >>> shown_value(["10.40.0.123", "ntp.example"]), shown_value(True), shown_value(None), shown_value([])
    ('10.40.0.123, ntp.example', 'true', '(not set)', '(none)')
    """
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(shown_value(item) for item in value) if value else "(none)"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
