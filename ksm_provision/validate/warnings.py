"""Findings that do not stop a change but that a reviewer should see: ``ksm validate`` prints them.

Errors (:mod:`authority_rules`, :mod:`cross_rules`, :mod:`intent_rules`) describe a network that
would not work or cannot be rendered; a warning describes one that works but falls short of how the
provider runs sites, e.g. a site whose switches, routers and servers log only locally, a network
whose gateway no router of the inventory holds, or a client range no DHCP server serves.
"""

from __future__ import annotations

import ipaddress

from ksm_provision.errors import Problem
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import AuthorityFile, Site
from ksm_provision.inventory.settings import merge_settings


def _needs_logging(authority: AuthorityFile, site: Site) -> bool:
    """Whether anything at *site* sends syslog: network gear or servers."""
    return any(d.site == site.id for d in authority.network_devices) or any(
        s.site == site.id for s in authority.servers
    )


def _known_addresses(inventory: Inventory) -> set[str]:
    """Every server address of every authority: where a log host can be."""
    return {str(s.address) for a in inventory.authorities.values() for s in a.servers}


def _in_core(inventory: Inventory, value: object) -> bool:
    try:
        return ipaddress.IPv4Address(str(value)) in inventory.provider.address_plan.core
    except ValueError:
        return False  # a host name: resolved at run time, not checked here


def log_host_warnings(inventory: Inventory, aid: str) -> list[Problem]:
    """A site without an effective log host, or one whose log host is no known server.

    The effective log host of a site is the site's, else the authority's, else the provider's
    default (``settings.log_host``); switches get ``logging host`` and hosts forward via rsyslog.
    """
    authority = inventory.authorities[aid]
    source = inventory.source_of(aid)
    servers = _known_addresses(inventory)
    warnings: list[Problem] = []
    for index, site in enumerate(authority.sites):
        if not _needs_logging(authority, site):
            continue
        settings = merge_settings([inventory.provider.defaults, authority.settings, site.settings])
        log_host = settings.log_host
        loc = ("sites", index, "id")
        if log_host is None:
            warnings.append(
                Problem(
                    source.file,
                    source.line_of(loc),
                    f"site '{site.id}' has no log host: its switches, routers and servers keep their "
                    "logs only locally",
                    "set `settings.log_host` of the authority (or of the site) to the address of its "
                    "log server",
                )
            )
        elif str(log_host) not in servers and not _in_core(inventory, log_host):
            warnings.append(
                Problem(
                    source.file,
                    source.line_of(loc),
                    f"site '{site.id}' logs to {log_host}, which is no server of any authority and "
                    "not in the provider core",
                    "point `settings.log_host` at the address of a server listed in `servers:`",
                )
            )
    return warnings


def unrouted_gateway_warnings(inventory: Inventory, aid: str) -> list[Problem]:
    """A network whose gateway no router of the inventory holds: nothing of ksm routes it."""
    authority = inventory.authorities[aid]
    source = inventory.source_of(aid)
    held = {
        iface.address.ip
        for device in authority.network_devices
        for iface in device.interfaces
        if iface.address is not None
    }
    # A subnet a static route sends elsewhere is routed by gear outside ksm on purpose (e.g. a VPN gateway).
    routed_elsewhere = [
        route.prefix
        for device in authority.network_devices
        if device.routing
        for route in device.routing.static_routes
    ]
    return [
        Problem(
            source.file,
            source.line_of(("networks", index, "gateway")),
            f"network '{network.id}': no router of the inventory holds its gateway {network.gateway}, "
            "so its hosts reach nothing beyond their subnet unless gear outside ksm routes it",
            f"add a routed interface with address {network.gateway}/{network.subnet.prefixlen} to the "
            "site's router",
        )
        for index, network in enumerate(authority.networks)
        if network.gateway not in held and not any(network.subnet.subnet_of(r) for r in routed_elsewhere)
    ]


def unserved_range_warnings(inventory: Inventory, aid: str) -> list[Problem]:
    """A client range in a network no DHCP server serves: its members lease from the pool, so none."""
    authority = inventory.authorities[aid]
    source = inventory.source_of(aid)
    served = {net for server in authority.servers if server.dhcp for net in server.dhcp.serves}
    return [
        Problem(
            source.file,
            source.line_of(("client_ranges", index, "network")),
            f"client range '{entry.name}': no DHCP server serves network '{entry.network}', and range "
            "members get their addresses from its DHCP pool",
            f"add '{entry.network}' to `dhcp.serves` of a DHCP server of the authority",
        )
        for index, entry in enumerate(authority.client_ranges)
        if entry.network not in served
    ]


def check_warnings(inventory: Inventory) -> list[Problem]:
    """Every warning about *inventory* (which must have validated), sorted by file and line."""
    rules = (log_host_warnings, unrouted_gateway_warnings, unserved_range_warnings)
    found = [w for aid in inventory.authorities for rule in rules for w in rule(inventory, aid)]
    return sorted(set(found))
