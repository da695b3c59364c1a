"""``ksm onboard ID --name NAME``: scaffold a new commune; also registers ``ksm schema``."""

from __future__ import annotations

from pathlib import Path

import click

from ksm_provision.commands.common import CliContext, pass_context
from ksm_provision.errors import KsmError, Problem, relative_path
from ksm_provision.inventory.inventory import PROVIDER_FILE, load_inventory
from ksm_provision.onboard import check_request, plan_onboarding, vault_path, write_onboarding
from ksm_provision.validate import validate_inventory


def _problems(root: Path) -> list[Problem]:
    """Problems of the inventory with the new file; its vault is the engineer's next step (not yet there)."""
    return validate_inventory(load_inventory(root), vault_files=False)


@click.command()
@click.argument("authority_id", metavar="ID")
@click.option("--name", required=True, help="Official name, e.g. 'Stadt Hagenow'.")
@click.option(
    "--ags", default=None, metavar="AGS", help="Amtlicher Gemeindeschlüssel (8 digits), e.g. 13076054."
)
@pass_context
def onboard(ctx: CliContext, authority_id: str, name: str, ags: str | None) -> None:
    """Write ID.yml for a new commune: next free address block, VLAN range, AS and core link.

    The file holds a site router on the next free transfer /30 of the provider core with its BGP
    peering to the core; the core router's side follows from it.

    Also adds the authority to address_plan.authorities in ksm.yml (one entry inserted, the rest of
    the file untouched). The new file passes `ksm validate` as it is.
    """
    check_request(authority_id, name, ags)
    root = Path(ctx.inventory_dir)
    target = root / f"{authority_id}.yml"
    if target.exists():
        raise KsmError(
            f"authority '{authority_id}' already exists: {relative_path(target)}",
            "choose another id; edit the existing file to change that authority",
        )
    inventory = ctx.inventory  # the current inventory must load and validate first
    provider_text = (root / PROVIDER_FILE).read_text(encoding="utf-8")
    onboarding = plan_onboarding(inventory, provider_text, authority_id, name, ags)
    written = write_onboarding(root, onboarding, _problems)
    link = onboarding.link
    click.echo(
        f"wrote {relative_path(written)}: block {onboarding.block}, VLANs "
        f"{onboarding.vlans[0]}-{onboarding.vlans[1]}, "
        f"AS {onboarding.asn}\n"
        f"core link: transfer network {link.network}: core router {link.core} at {link.core_address} "
        f"(AS {link.provider_asn}), site router {onboarding.router} wan0 at {link.router_address}\n"
        f"added '{authority_id}' to address_plan.authorities in {relative_path(root / PROVIDER_FILE)}\n"
        f"the core router's config gains the neighbour {link.router_address.ip} (AS {onboarding.asn}): "
        "see `ksm render network`\n"
        "next steps:\n"
        f"  1. ansible-vault create --vault-id {authority_id}@prompt {vault_path(root, authority_id)}\n"
        "     (keys: network_password, network_enable_secret, snmp_auth, snmp_priv)\n"
        + ("" if ags else "  2. set the AGS (Amtlicher Gemeindeschlüssel) in the file\n")
        + f"  {'2' if ags else '3'}. add sites, networks, clients, servers and devices; run `ksm validate`\n"
        f"  {'3' if ags else '4'}. open a merge request with both files"
    )
