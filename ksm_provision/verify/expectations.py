"""What each host must look like, derived from the same variables the roles receive.

One :class:`Check` per fact; the testinfra module (``testinfra_checks.py``) knows how to test each
``kind``. Keeping expectations as plain data makes them easy to read in JUnit and JSON output.

Besides files, every service a role configures is checked as systemd sees it (running, enabled at
boot, its daemon process alive: Debian's LSB units stay "active" after their daemon died) and by
the sockets it listens on.
"""

from __future__ import annotations

import functools
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from ksm_provision.inventory.hosts import Host
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.render.gateway_vars import ansible_host_vars
from ksm_provision.resources import project_dir
from ksm_provision.targets import Connection


class Check(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    name: str
    params: dict[str, Any]


class HostSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str
    authority: str
    address: str
    port: int
    user: str
    key_file: str | None
    become: bool
    known_hosts: str | None
    check_host_key: bool
    checks: list[Check]


#: Daemon processes of the units the roles configure (``comm`` as ``ps`` shows it); None: a oneshot.
PROCESSES: dict[str, str | None] = {
    "ssh": "sshd",
    "chrony": "chronyd",
    "rsyslog": "rsyslogd",
    "smbd": "smbd",
    "nmbd": "nmbd",
    "isc-dhcp-server": "dhcpd",
    "isc-dhcp-relay": "dhcrelay",
    "nftables": None,
}


def service_check(unit: str, wanted: bool = True) -> Check:
    """*unit* running and enabled (with its daemon process), or stopped and disabled.

    >>> service_check("isc-dhcp-server").name
    'service isc-dhcp-server running and enabled'
    >>> service_check("nmbd", wanted=False).params
    {'unit': 'nmbd', 'wanted': False, 'process': 'nmbd'}
    """
    state = "running and enabled" if wanted else "stopped and disabled"
    return Check(
        kind="service",
        name=f"service {unit} {state}",
        params={"unit": unit, "wanted": wanted, "process": PROCESSES.get(unit)},
    )


def listening_check(what: str, protocol: str, port: int) -> Check:
    """Something listens on *protocol*/*port* (any address).

    >>> listening_check("dhcpd", "udp", 67).name
    'dhcpd listens on udp/67'
    """
    return Check(
        kind="listening",
        name=f"{what} listens on {protocol}/{port}",
        params={"protocol": protocol, "port": port},
    )


@functools.cache
def base_role_defaults() -> dict[str, Any]:
    """The ``base`` role's defaults (``roles/base/defaults/main.yml``): the values a host gets where
    the inventory sets nothing (SSH hardening, update origins), so verify expects what apply wrote."""
    path = project_dir() / "roles" / "base" / "defaults" / "main.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def checks_for(variables: dict[str, Any]) -> list[Check]:
    variables = {**base_role_defaults(), **variables}
    checks = [
        Check(kind="hostname", name="hostname", params={"hostname": variables["base_hostname"]}),
        Check(kind="timezone", name="timezone", params={"timezone": variables["base_timezone"]}),
        Check(kind="ntp", name="ntp servers", params={"servers": variables["base_ntp_servers"]}),
        Check(
            kind="dns",
            name="dns servers",
            params={"servers": variables["base_dns_servers"], "search": variables["base_dns_search"]},
        ),
        Check(kind="sshd", name="sshd hardening", params={}),
        Check(
            kind="sshd_login",
            name="sshd key-only login and session limits",
            params={
                "permit_root_login": variables["base_sshd_permit_root_login"],
                "max_auth_tries": variables["base_sshd_max_auth_tries"],
                "client_alive_interval": variables["base_sshd_client_alive_interval"],
                "client_alive_count_max": variables["base_sshd_client_alive_count_max"],
            },
        ),
        Check(
            kind="sshd_crypto",
            name="sshd ciphers, MACs and key exchange",
            params={
                "ciphers": variables["base_sshd_ciphers"],
                "macs": variables["base_sshd_macs"],
                "kex_algorithms": variables["base_sshd_kex_algorithms"],
            },
        ),
        Check(kind="no_cleartext_remote", name="no telnet, rsh or ftp server", params={}),
        Check(
            kind="unattended_upgrades",
            name="automatic security updates as configured",
            params={
                "enabled": bool(variables["base_unattended_upgrades"]),
                "origins": variables["base_unattended_upgrades_origins"],
            },
        ),
        service_check("ssh"),
        listening_check("sshd", "tcp", 22),
        service_check("chrony"),
        Check(
            kind="ntp_sources",
            name="chrony uses the ntp servers",
            params={"servers": variables["base_ntp_servers"]},
        ),
        service_check("rsyslog"),
    ]
    for account in variables["base_admin_accounts"]:
        checks.append(Check(kind="admin", name=f"admin {account['name']}", params=account))
    if variables.get("base_log_host"):
        checks.append(
            Check(kind="syslog", name="log forwarding", params={"host": variables["base_log_host"]})
        )
        checks.append(
            Check(
                kind="syslog_auth",
                name="log forwarding includes auth and authpriv",
                params={"host": variables["base_log_host"]},
            )
        )
    for package in variables.get("workplace_packages", []):
        checks.append(Check(kind="package", name=f"package {package}", params={"name": package}))
    roles = variables.get("ksm_roles", [])
    if "fileserver" in roles:
        checks += _fileserver_checks(variables)
    if "dhcp" in roles:
        checks.append(_dhcp_check(variables))
        running = bool(variables.get("dhcp_service_enabled", True))
        checks.append(service_check("isc-dhcp-server", running))
        if running:
            checks.append(listening_check("dhcpd", "udp", 67))
    for service in variables.get("fachverfahren_hosted", []):
        checks.append(
            Check(
                kind="fv_server",
                name=f"fachverfahren {service['id']} server",
                params={"id": service["id"], "port": service["port"]},
            )
        )
        checks.append(listening_check(f"fachverfahren {service['id']}", "tcp", int(service["port"])))
    for service in variables.get("fachverfahren_consumed", []):
        checks.append(Check(kind="fv_client", name=f"fachverfahren {service['id']} client", params=service))
    return checks


def _fileserver_checks(variables: dict[str, Any]) -> list[Check]:
    """The shares, smbd serving them on TCP 445, nmbd only with NetBIOS (role default: off)."""
    checks = [
        Check(kind="share", name=f"share {share['name']}", params=share)
        for share in variables.get("fileserver_shares", [])
    ]
    netbios = bool(variables.get("fileserver_netbios", False))
    checks += [service_check("smbd"), listening_check("smbd", "tcp", 445), service_check("nmbd", netbios)]
    return checks


def _dhcp_check(variables: dict[str, Any]) -> Check:
    """dhcpd.conf passes ``dhcpd -t``, declares the own and served subnets with their ranges, and
    holds exactly the inventory's reservations."""
    subnets = [
        {
            "network": s["network"],
            "netmask": s["netmask"],
            "ranges": [[r["start"], r["end"]] for r in s.get("ranges", [])],
        }
        for s in variables["dhcp_subnets"]
    ]
    return Check(
        kind="dhcp",
        name="dhcp config",
        params={"subnets": subnets, "reservations": variables["dhcp_reservations"]},
    )


def host_spec(inventory: Inventory, host: Host, connection: Connection) -> HostSpec:
    from ksm_provision.verify.gateway_checks import gateway_checks  # it imports Check from here

    variables = ansible_host_vars(inventory, host)  # a router's Linux side: with the gateway role's
    return HostSpec(
        host=host.hostname,
        authority=host.authority,
        address=connection.address,
        port=connection.port,
        user=connection.user,
        key_file=connection.key_file,
        become=connection.become,
        known_hosts=connection.known_hosts,
        check_host_key=connection.check_host_key,
        checks=checks_for(variables) + gateway_checks(variables),
    )
