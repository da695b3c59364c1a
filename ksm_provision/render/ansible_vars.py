"""Host variables and groups for the Ansible roles, computed in-process from the models.

The variable names are the roles' public interface (``roles/*/defaults/main.yml``). Secrets are
passed as Jinja references to variables of the authority's vault file (``vault:x`` becomes
``{{ x }}``), so ksm itself never sees a secret value.

Inventory text is data, never code: every string here reaches Ansible marked unsafe (never
templated), whatever field it came from. The only exception is an :class:`AnsibleTemplate`, which
only :func:`vault_reference` creates from a validated ``vault:name`` reference.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from ksm_provision.inventory.hosts import Host, HostKind
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import AuthorityFile, Network, ServerRole, Settings, SharedService
from ksm_provision.inventory.settings import effective_settings, merge_settings

_VAULT_VARIABLE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class AnsibleTemplate(str):
    """A Jinja expression that ksm itself wrote: the one kind of string Ansible may evaluate."""

    __slots__ = ()


def vault_reference(ref: str) -> AnsibleTemplate:
    """``vault:fv_kfz_db_password`` -> ``{{ fv_kfz_db_password }}`` (resolved by Ansible from the vault).

    >>> vault_reference("vault:snmp_auth")
    '{{ snmp_auth }}'
    >>> vault_reference("vault:x }}{{ lookup('pipe', 'id')")
    Traceback (most recent call last):
    ValueError: not a vault reference: "vault:x }}{{ lookup('pipe', 'id')"
    """
    name = ref.removeprefix("vault:")
    if not ref.startswith("vault:") or not _VAULT_VARIABLE.match(name):
        # the models only accept vault:name; this guards the one place that makes a template
        raise ValueError(f"not a vault reference: {ref!r}")
    return AnsibleTemplate("{{ " + name + " }}")


def group_name(*parts: str) -> str:
    """Ansible group names: letters, digits and underscores.

    >>> group_name("site", "lup", "pch")
    'site_lup_pch'
    """
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts))


def host_groups(inventory: Inventory, host: Host) -> list[str]:
    groups = [
        group_name("authority", host.authority),
        group_name("site", host.authority, host.site),
        group_name("os", host.os),
        "clients" if host.kind is HostKind.CLIENT else "servers",
    ]
    groups += [group_name("role", role) for role in host.roles]
    if host.profile:
        groups.append(group_name("profile", host.profile))
    groups += [group_name("service", s.id) for s in _services_of(inventory, host)]
    return groups


def _services_of(inventory: Inventory, host: Host) -> list[SharedService]:
    """Shared services a host takes part in: hosting it, or a client of a consuming authority."""
    authority = inventory.authorities[host.authority]
    services = []
    for service in inventory.provider.shared_services:
        hosts_it = service.hosted_by.host == host.hostname
        consumes = host.kind is HostKind.CLIENT and service.id in authority.consumes
        if hosts_it or consumes:
            services.append(service)
    return services


def host_vars(inventory: Inventory, host: Host) -> dict[str, Any]:
    authority = inventory.authorities[host.authority]
    settings = effective_settings(inventory, host)
    variables: dict[str, Any] = {
        "ksm_authority": host.authority,
        "ksm_authority_name": authority.authority.name,
        "ksm_site": host.site,
        "ksm_kind": str(host.kind),
        "ksm_address": str(host.address),
        "ksm_roles": list(host.roles),
        "ksm_profile": host.profile,
        "base_hostname": host.hostname,
        "base_domain": authority.authority.domain,
        "base_hosts_entries": [
            {
                "address": str(host.address),
                "names": [f"{host.hostname}.{authority.authority.domain}", host.hostname],
            }
        ],
        "base_timezone": settings.timezone,
        "base_locale": settings.locale,
        "base_ntp_servers": [str(s) for s in settings.ntp_servers or []],
        "base_dns_servers": [str(s) for s in settings.dns_servers or []],
        "base_dns_search": list(settings.dns_search or []),
        "base_log_host": str(settings.log_host) if settings.log_host else "",
        "base_log_port": settings.log_port or 514,
        "base_unattended_upgrades": bool(settings.unattended_upgrades),
        "base_admin_accounts": [a.model_dump(mode="json") for a in settings.admins or []],
    }
    if host.kind is HostKind.CLIENT and host.profile:
        variables.update(_workplace_vars(inventory, authority, host))
    if ServerRole.FILESERVER in host.roles:
        variables.update(_fileserver_vars(host))
    if ServerRole.DHCP in host.roles:
        variables.update(_dhcp_vars(inventory, authority, host, settings))
    variables.update(_fachverfahren_vars(inventory, authority, host))
    return variables


def _workplace_vars(inventory: Inventory, authority: AuthorityFile, host: Host) -> dict[str, Any]:
    profile = inventory.provider.client_profiles[host.profile or ""]
    site = authority.site(host.site)
    return {
        "workplace_profile": host.profile,
        "workplace_packages": list(profile.packages),
        "workplace_browser_homepage": profile.browser_homepage,
        "workplace_browser_policies": dict(profile.browser_policies),
        "workplace_office_policies": dict(profile.office_policies),
        "workplace_print_server": "",
        "workplace_printers": [
            {
                "name": p.name,
                "location": p.location,
                "uri": f"ipp://{p.address}/ipp/print",
                "default": p.default,
            }
            for p in site.printers
        ],
    }


def _fileserver_vars(host: Host) -> dict[str, Any]:
    config = getattr(host.entry, "fileserver", None)
    if config is None:
        return {}
    return {
        "fileserver_workgroup": config.workgroup,
        "fileserver_shares": [
            {
                "name": s.name,
                "path": s.path,
                "comment": s.comment or s.department,
                "group": s.group,
                "writable": s.writable,
                "browseable": s.browseable,
            }
            for s in config.shares
        ],
    }


def _dhcp_vars(
    inventory: Inventory, authority: AuthorityFile, host: Host, settings: Settings
) -> dict[str, Any]:
    """dhcpd.conf of a DHCP server: its own network and every network it serves, in file order.

    dhcpd only starts with a subnet declaration for the network of an interface it listens on, so
    the server's own network is always declared (empty, ``served: false``, unless it serves it too).
    A served network gets its DHCP pool and one dynamic range per client range (range clients have
    no known MAC). Reservations only for ``clients:`` entries, the only hosts with a MAC that take
    their address from DHCP (servers are configured statically).
    """
    config = getattr(host.entry, "dhcp", None)
    served = set(config.serves) if config else set()
    subnets = [
        _dhcp_subnet(inventory, authority, network)
        if network.id in served
        else {
            "id": network.id,
            "network": str(network.subnet.network_address),
            "netmask": str(network.subnet.netmask),
            "served": False,
        }
        for network in authority.networks
        if network.id in served or network.id == host.network
    ]
    reservations = [
        {"hostname": c.hostname, "mac": c.mac, "address": str(c.address)}
        for c in authority.clients
        if c.network in served
    ]
    return {
        "dhcp_domain_name": authority.authority.domain,
        "dhcp_dns_servers": [str(s) for s in settings.dns_servers or []],
        "dhcp_subnets": subnets,
        "dhcp_reservations": reservations,
    }


def _dhcp_subnet(inventory: Inventory, authority: AuthorityFile, network: Network) -> dict[str, Any]:
    """A served network: routers, DNS and domain as its site's hosts get them, and its ranges."""
    site = merge_settings(
        [inventory.provider.defaults, authority.settings, authority.site(network.site).settings]
    )
    spans = [(network.dhcp.start, network.dhcp.end)] if network.dhcp else []
    spans += [
        (entry.first_address, entry.first_address + (entry.count - 1))
        for entry in authority.client_ranges
        if entry.network == network.id
    ]
    return {
        "id": network.id,
        "network": str(network.subnet.network_address),
        "netmask": str(network.subnet.netmask),
        "served": True,
        "gateway": str(network.gateway),
        "domain_name": authority.authority.domain,
        "dns_servers": [str(s) for s in site.dns_servers or []],
        "ranges": [{"start": str(start), "end": str(end)} for start, end in sorted(spans)],
    }


def _fachverfahren_vars(inventory: Inventory, authority: AuthorityFile, host: Host) -> dict[str, Any]:
    hosted = []
    consumed = []
    for service in inventory.provider.shared_services:
        if service.hosted_by.host == host.hostname:
            entry: dict[str, Any] = {
                "id": service.id,
                "name": service.name,
                "port": service.port,
                "consumers": list(service.consumers),
            }
            if service.db_password:
                entry["db_password"] = vault_reference(service.db_password)
            hosted.append(entry)
        elif host.kind is HostKind.CLIENT and service.id in authority.consumes:
            # a provider-level service name: consumers need nothing of the hosting authority's files
            url = f"https://{service.id}.{inventory.provider.provider.domain}:{service.port}/"
            consumed.append({"id": service.id, "name": service.name, "url": url})
    return {"fachverfahren_hosted": hosted, "fachverfahren_consumed": consumed}


def group_members(inventory: Inventory, hosts: list[Host]) -> dict[str, list[str]]:
    members: dict[str, list[str]] = defaultdict(list)
    for host in hosts:
        for group in host_groups(inventory, host):
            members[group].append(host.hostname)
    return dict(members)
