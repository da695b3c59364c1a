"""What each host must look like, derived from the same variables the roles receive.

One :class:`Check` per fact; the testinfra module (``testinfra_checks.py``) knows how to test each
``kind``. Keeping expectations as plain data makes them easy to read in JUnit and JSON output.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from ksm_provision.inventory.hosts import Host
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.render.gateway_vars import ansible_host_vars
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


def checks_for(variables: dict[str, Any]) -> list[Check]:
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
    ]
    for account in variables["base_admin_accounts"]:
        checks.append(Check(kind="admin", name=f"admin {account['name']}", params=account))
    if variables.get("base_log_host"):
        checks.append(
            Check(kind="syslog", name="log forwarding", params={"host": variables["base_log_host"]})
        )
    for package in variables.get("workplace_packages", []):
        checks.append(Check(kind="package", name=f"package {package}", params={"name": package}))
    for share in variables.get("fileserver_shares", []):
        checks.append(Check(kind="share", name=f"share {share['name']}", params=share))
    if variables.get("dhcp_subnets"):
        checks.append(_dhcp_check(variables))
    for service in variables.get("fachverfahren_hosted", []):
        checks.append(
            Check(
                kind="fv_server",
                name=f"fachverfahren {service['id']} server",
                params={"id": service["id"], "port": service["port"]},
            )
        )
    for service in variables.get("fachverfahren_consumed", []):
        checks.append(Check(kind="fv_client", name=f"fachverfahren {service['id']} client", params=service))
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
