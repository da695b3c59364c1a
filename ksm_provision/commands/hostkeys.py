"""``ksm hostkeys scan|verify``: the SSH host keys Ansible runs and device sessions check against.

Production keys live in ``<inventory>/known_hosts.d/<authority>`` (one reviewed, committed file per
authority); ``--target lab`` uses the lab twin's own ``<lab dir>/ssh/known_hosts``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import click

from ksm_provision.commands.common import (
    CliContext,
    all_option,
    authority_option,
    echo,
    pass_context,
    target_option,
)
from ksm_provision.errors import EXIT_FAILURE, relative_path
from ksm_provision.hostkeys import KnownHosts, Node, compare, device_nodes, known_hosts_file, scan
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.render.gateway_vars import gateway_hosts
from ksm_provision.target_resolution import host_address
from ksm_provision.targets import Target


def production_nodes(inventory: Inventory) -> list[tuple[Node, Path]]:
    """Every host and device as production reaches it (range members by DNS name; a device at its
    ``connection:`` host and port, behind its jump host), with its authority's managed known_hosts.
    A router's Linux side shares the router's address and key."""
    nodes = [
        (Node(h.hostname, h.authority, host_address(inventory, h)), h.authority) for h in inventory.hosts
    ]
    for d in inventory.devices:
        known_hosts = known_hosts_file(inventory.root, d.authority)
        nodes += [(node, d.authority) for node in device_nodes(d.hostname, d.authority, d.model, known_hosts)]
    return [(node, known_hosts_file(inventory.root, authority)) for node, authority in nodes]


def lab_nodes(inventory: Inventory) -> list[tuple[Node, Path]]:
    """The lab stand-ins of the hosts and devices in scope, with the lab's known_hosts."""
    from ksm_provision.lab.targets import LabTargets

    lab = LabTargets()
    known_hosts = lab.lab.config.known_hosts_file
    authority_of = {h.hostname: h.authority for h in [*inventory.hosts, *gateway_hosts(inventory)]}
    nodes = [Node(name, authority_of[name], c.address, c.port) for name, c in lab.hosts(inventory).items()]
    for device in inventory.devices:
        endpoint = lab.stand_in(device)
        nodes.append(Node(device.hostname, device.authority, endpoint.address, endpoint.port))
    return [(node, known_hosts) for node in nodes]


def _nodes(
    ctx: CliContext, authorities: tuple[str, ...], all_authorities: bool, target: str
) -> list[tuple[Node, Path]]:
    inventory = ctx.scoped(authorities, all_authorities, required=True)
    return lab_nodes(inventory) if Target(target) is Target.LAB else production_nodes(inventory)


@click.group("hostkeys")
def hostkeys_group() -> None:
    """SSH host keys of hosts and devices: known_hosts.d/<authority> beside the inventory."""


@hostkeys_group.command("scan")
@authority_option
@all_option
@target_option
@pass_context
def scan_command(ctx: CliContext, authorities: tuple[str, ...], all_authorities: bool, target: str) -> None:
    """Record the keys the hosts and devices present now (ssh-keyscan), by name and address.

    Replaces the scanned nodes' entries and keeps the others; review the change and commit it.
    """
    nodes = _nodes(ctx, authorities, all_authorities, target)
    result = scan([node for node, _ in nodes])
    per_file: dict[Path, list[Node]] = defaultdict(list)
    for node, path in nodes:
        per_file[path].append(node)
    for path, file_nodes in sorted(per_file.items()):
        scanned = {n.name: result.keys[n.name] for n in file_nodes if n.name in result.keys}
        if not scanned:
            continue
        KnownHosts.read(path).merged(scanned).write()
        echo(f"wrote {len(scanned)} host(s) to {relative_path(path)} — review the change and commit it")
    for name, reason in sorted(result.failed.items()):
        echo(f"FAILED {name}: {reason}", err=True)
    echo(f"{len(result.keys)}/{len(nodes)} host(s) scanned")
    if result.failed:
        raise click.exceptions.Exit(EXIT_FAILURE)


@hostkeys_group.command("verify")
@authority_option
@all_option
@target_option
@pass_context
def verify_command(ctx: CliContext, authorities: tuple[str, ...], all_authorities: bool, target: str) -> None:
    """Scan every host and device and compare with the known_hosts; exit 1 on a mismatch or a missing key."""
    nodes = _nodes(ctx, authorities, all_authorities, target)
    result = scan([node for node, _ in nodes])
    files = {path: KnownHosts.read(path) for path in {path for _, path in nodes}}
    mismatches = compare([(node, files[path]) for node, path in nodes], result)
    for mismatch in mismatches:
        echo(str(mismatch), err=True)
    for name, reason in sorted(result.failed.items()):
        echo(f"FAILED {name}: {reason}", err=True)
    matching = len(result.keys) - len(mismatches)
    echo(f"{matching}/{len(nodes)} host(s) present the keys in the known_hosts")
    if mismatches or result.failed:
        raise click.exceptions.Exit(EXIT_FAILURE)
