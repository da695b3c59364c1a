"""Real DHCP for the lab's stand-in clients: ISC ``dhclient`` inside the client's namespace.

The request is broadcast on the client's VLAN, the router's relay (isc-dhcp-relay, configured by
the gateway role) forwards it to the authority's DHCP server (isc-dhcp-server, configured by the
dhcp role), and the answer comes back the same way. ``dhclient`` runs with ``-sf /bin/true``: its
usual script would rewrite this machine's /etc/resolv.conf (not namespaced); the lab reads the lease
file instead and sets the address and default route itself.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from ksm_provision.errors import LabError
from ksm_provision.lab import system
from ksm_provision.lab.state import LabModel

#: How long one DHCP exchange may take (DISCOVER ... ACK through the relay).
LEASE_TIMEOUT = 20
_OPTION = re.compile(r"^\s*(fixed-address|option [a-z-]+)\s+(.+?);\s*$")


class Lease(LabModel):
    address: str
    prefix: int
    routers: tuple[str, ...] = ()
    dns_servers: tuple[str, ...] = ()
    server: str = ""
    domain_search: str = ""


def parse_lease(text: str) -> Lease | None:
    """The last ``lease { ... }`` block of a dhclient lease file.

    >>> lease = parse_lease('lease {\\n  fixed-address 10.0.0.5;\\n  option subnet-mask 255.255.255.0;\\n'
    ...             '  option routers 10.0.0.1;\\n  option domain-name-servers 10.9.0.53,10.9.1.53;\\n}\\n')
    >>> lease.address, lease.prefix, lease.routers, lease.dns_servers
    ('10.0.0.5', 24, ('10.0.0.1',), ('10.9.0.53', '10.9.1.53'))
    """
    blocks = re.findall(r"lease \{(.*?)\n\}", text, flags=re.S)
    if not blocks:
        return None
    values: dict[str, str] = {}
    for line in blocks[-1].splitlines():
        match = _OPTION.match(line)
        if match:
            values[match.group(1)] = match.group(2)
    if "fixed-address" not in values:
        return None
    mask = values.get("option subnet-mask", "255.255.255.255")
    prefix = ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen

    def split(key: str) -> tuple[str, ...]:
        return tuple(v.strip() for v in values.get(key, "").split(",") if v.strip())

    return Lease(
        address=values["fixed-address"],
        prefix=prefix,
        routers=split("option routers"),
        dns_servers=split("option domain-name-servers"),
        server=values.get("option dhcp-server-identifier", ""),
        domain_search=values.get("option domain-search", "").replace('"', ""),
    )


def _config(work: Path) -> Path:
    path = work / "dhclient.conf"
    path.write_text(
        f"timeout {LEASE_TIMEOUT};\nretry 1;\n"
        "request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, domain-search;\n"
    )
    return path


def acquire(netns: str, link: str, work: Path) -> Lease:
    """Ask for a lease on *link* in *netns* (old lease forgotten first); configure it; return it."""
    work.mkdir(parents=True, exist_ok=True)
    lease_file, pid_file = work / "dhclient.leases", work / "dhclient.pid"
    lease_file.unlink(missing_ok=True)
    system.run(["ip", "-n", netns, "address", "flush", "dev", link])
    system.run(["ip", "-n", netns, "link", "set", link, "up"])
    proc = system.run(
        [
            "ip", "netns", "exec", netns,
            "dhclient", "-1", "-4", "-sf", "/bin/true", "-cf", str(_config(work)),
            "-lf", str(lease_file), "-pf", str(pid_file), link,
        ],
        timeout=LEASE_TIMEOUT + 15,
        check=False,
    )  # fmt: skip
    # -1: one try, then exit; the daemon it leaves behind (for renewals) is not needed in the lab
    running = system.read_pidfile(pid_file, f"dhclient in {netns}")
    system.stop(running)
    lease = parse_lease(lease_file.read_text()) if lease_file.exists() else None
    if lease is None:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise LabError(f"no DHCP lease in {netns}: " + " / ".join(detail), hint="is the DHCP server applied?")
    address = ipaddress.IPv4Interface(f"{lease.address}/{lease.prefix}")
    system.run(["ip", "-n", netns, "address", "replace", str(address), "dev", link])
    if lease.routers:
        system.run(["ip", "-n", netns, "route", "replace", "default", "via", lease.routers[0], "dev", link])
    return lease


def set_static(
    netns: str, link: str, address: ipaddress.IPv4Interface, gateway: ipaddress.IPv4Address
) -> None:
    system.run(["ip", "-n", netns, "address", "flush", "dev", link])
    system.run(["ip", "-n", netns, "address", "replace", str(address), "dev", link])
    system.run(["ip", "-n", netns, "link", "set", link, "up"])
    system.run(["ip", "-n", netns, "route", "replace", "default", "via", str(gateway), "dev", link])
