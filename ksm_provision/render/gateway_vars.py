"""The Linux side of every FRR router as an Ansible host: group ``gateways``, role ``gateway``.

FRR has no packet filter and no DHCP relay; on a router those are nftables and ``isc-dhcp-relay``
on the Debian system FRR runs on. That system is managed like a server: it is an Ansible host named
after the router, reached at the router's management address, in its authority's, site's and OS
groups plus ``gateways``, with the ``base`` role's variables (the effective settings of its site)
and the ``gateway`` role's, computed by :mod:`ksm_provision.network.gateway`.

A gateway host is a :class:`~ksm_provision.inventory.hosts.Host` record made from the device (kind
server, no server roles, the device's site, management network and address), so everything that
takes hosts (settings precedence, groups, targets, verify) takes it unchanged. It is not in
``Inventory.hosts``: callers that want gateways add :func:`gateway_hosts`.
"""

from __future__ import annotations

from typing import Any

from ksm_provision.inventory.hosts import Device, Host, HostKind, authority_devices
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import Server
from ksm_provision.network.gateway import gateway_config, is_gateway
from ksm_provision.render.ansible_vars import host_groups, host_vars

#: The Ansible group of every router's Linux side (playbooks/site.yml runs role ``gateway`` on it).
GATEWAY_GROUP = "gateways"
#: ``ksm_kind`` of a router's Linux side (ordinary hosts: ``client`` or ``server``).
GATEWAY_KIND = "gateway"
#: The operating system FRR routers run on (group ``os_debian12``, like the servers).
GATEWAY_OS = "debian12"


def is_gateway_device(device: Device) -> bool:
    """FRR routers have a managed Linux side; switches and other platforms do not."""
    return is_gateway(device)


def gateway_host(device: Device) -> Host:
    """The Ansible host of *device*'s Linux side, at its management address."""
    model = device.model
    entry = Server(
        hostname=model.hostname,
        site=model.site,
        network=model.management.network,
        address=model.management.address,
        os=GATEWAY_OS,
    )
    return Host(
        hostname=device.hostname,
        authority=device.authority,
        site=model.site,
        kind=HostKind.SERVER,
        address=model.management.address,
        mac=None,
        network=model.management.network,
        profile=None,
        roles=(),
        os=GATEWAY_OS,
        loc=device.loc,
        entry=entry,
    )


def gateway_hosts(inventory: Inventory) -> list[Host]:
    """Every FRR router's Linux side, in inventory order."""
    return [gateway_host(d) for d in inventory.devices if is_gateway_device(d)]


def authority_gateway_hosts(inventory: Inventory, authority: str) -> list[Host]:
    """The routers' Linux sides of one authority (without expanding any other authority)."""
    return [gateway_host(d) for d in authority_devices(inventory.authorities[authority]) if is_gateway(d)]


def gateway_device(inventory: Inventory, host: Host) -> Device | None:
    """The router whose Linux side *host* is, or None for an ordinary host."""
    device = inventory.devices_by_name.get(host.hostname)
    if device is None or device.authority != host.authority or not is_gateway_device(device):
        return None
    return device


def gateway_vars(inventory: Inventory, device: Device) -> dict[str, Any]:
    """The ``gateway`` role's variables of one router (all text stays data: see ansible_inventory)."""
    config = gateway_config(inventory, device)
    return {
        "ksm_kind": GATEWAY_KIND,
        "gateway_nftables": config.nftables,
        "gateway_relay_servers": list(config.relay_servers),
        "gateway_relay_interfaces": list(config.relay_interfaces),
    }


def ansible_host_vars(inventory: Inventory, host: Host) -> dict[str, Any]:
    """:func:`host_vars` of any host, plus the ``gateway`` role's variables for a router's Linux side."""
    variables = host_vars(inventory, host)
    device = gateway_device(inventory, host)
    if device is not None:
        variables.update(gateway_vars(inventory, device))
    return variables


def ansible_host_groups(inventory: Inventory, host: Host) -> list[str]:
    """:func:`host_groups` of any host; a router's Linux side is in ``gateways`` instead of ``servers``."""
    groups = host_groups(inventory, host)
    if gateway_device(inventory, host) is None:
        return groups
    return [*(g for g in groups if g != "servers"), GATEWAY_GROUP]


def ansible_group_members(inventory: Inventory, hosts: list[Host]) -> dict[str, list[str]]:
    """Group -> member host names, in the order of *hosts* (gateway hosts included)."""
    members: dict[str, list[str]] = {}
    for host in hosts:
        for group in ansible_host_groups(inventory, host):
            members.setdefault(group, []).append(host.hostname)
    return members
