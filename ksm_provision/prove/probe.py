"""Where probes start and how they are made: a TCP connect or an SMB listing from inside a netns.

:class:`ProbeSource` is what the lab hands out (``Lab.probe_sources()``, keyed ``authority/network``):
a network namespace holding an address of that network, cabled like a client of it. A probe runs
*in* that namespace, so what it sees is the twin's data plane (switch VLANs, router filters, routes),
never the controller's 127.x management shortcut.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
import sys
from typing import Protocol

from pydantic import Field, field_validator

from ksm_provision.prove.model import Observation
from ksm_provision.results import FrozenResult

#: A probe's connect timeout (s); blocked cells wait this long, so keep it short.
DEFAULT_TIMEOUT = 2.0
#: What the process around a probe may take on top of the probe's own timeout (interpreter start...).
_SLACK = 5.0
_NETNS = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


class ProbeSource(FrozenResult):
    """A stand-in client of one network: its namespace and its address there."""

    authority: str
    network: str
    site: str
    netns: str = Field(pattern=_NETNS.pattern, description="name under /run/netns")
    address: str = Field(description="the source's IPv4 address in the network")

    @field_validator("address")
    @classmethod
    def _ipv4(cls, value: str) -> str:
        return checked_address(value)

    @property
    def key(self) -> str:
        return f"{self.authority}/{self.network}"


class Prober(Protocol):
    def tcp(
        self, source: ProbeSource, address: str, port: int, timeout: float = DEFAULT_TIMEOUT
    ) -> Observation:
        """Connect to *address*:*port* from *source*."""
        ...

    def smb_share_listable(
        self, source: ProbeSource, address: str, share_hint: str | None, timeout: float = DEFAULT_TIMEOUT
    ) -> Observation:
        """List the SMB shares of *address* anonymously from *source*."""
        ...


def checked_address(address: str) -> str:
    """*address* as a canonical IPv4 address, or ValueError (it goes into an argv, never a shell).

    >>> checked_address("10.41.8.10")
    '10.41.8.10'
    """
    return str(ipaddress.IPv4Address(address))


def checked_port(port: int) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"not a TCP port: {port!r}")
    return port


def checked_netns(name: str) -> str:
    if not _NETNS.match(name):
        raise ValueError(f"not a network namespace name: {name!r}")
    return name


# Runs inside the namespace as `python -c CONNECT ADDRESS PORT TIMEOUT`; prints one word (and errno).
CONNECT = """\
import errno, socket, sys
address, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(timeout)
try:
    s.connect((address, port))
except socket.timeout:
    print("timeout")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print("oserror", errno.errorcode.get(e.errno, str(e.errno)))
else:
    print("connected")
finally:
    s.close()
"""

#: errno of a failed connect that means "the network did not let it through".
_UNREACHABLE = {
    "EHOSTUNREACH": "host unreachable (no answer to ARP, or ICMP unreachable)",
    "ENETUNREACH": "network unreachable (no route)",
    "EACCES": "refused by a local filter",
    "EPERM": "refused by a local filter",
    "ETIMEDOUT": "no answer (dropped)",
}


def classify_connect(output: str, timeout: float) -> Observation:
    """The observation for the connect script's *output*.

    >>> classify_connect("refused", 2).result, classify_connect("timeout", 2).result
    ('reached', 'blocked')
    >>> classify_connect("oserror ENETUNREACH", 2).detail
    'network unreachable (no route)'
    """
    words = output.split()
    match words:
        case ["connected"]:
            return Observation(result="reached", detail="connected")
        case ["refused"]:
            # nftables here drops, it never rejects: an RST comes from the target itself
            return Observation(result="reached", detail="refused by the target (RST): nothing listens")
        case ["timeout"]:
            return Observation(
                result="blocked", detail=f"no answer within {timeout:g} s (dropped, or nobody there)"
            )
        case ["oserror", name] if name in _UNREACHABLE:
            return Observation(result="blocked", detail=_UNREACHABLE[name])
    return Observation(result="error", detail=f"unexpected probe output: {output.strip()[:200]!r}")


_SMB_REACHED = {
    "NT_STATUS_ACCESS_DENIED": "SMB answered; anonymous listing refused (access denied)",
    "NT_STATUS_LOGON_FAILURE": "SMB answered; anonymous logon refused",
}
_SMB_BLOCKED = {
    "NT_STATUS_IO_TIMEOUT": "no answer (dropped)",
    "NT_STATUS_HOST_UNREACHABLE": "host unreachable",
    "NT_STATUS_NETWORK_UNREACHABLE": "network unreachable",
    "NT_STATUS_CONNECTION_REFUSED": "connection refused: no SMB server listens",
}


def classify_listing(returncode: int, output: str, share_hint: str | None) -> Observation:
    """The observation for ``smbclient -N -L //ADDR -g``'s exit code and output (stdout + stderr).

    ``reached`` means an SMB server answered: it listed its shares, or refused the anonymous listing.

    >>> classify_listing(0, "Disk|Bauamt|\\nIPC|IPC$|IPC Service\\n", "Bauamt").detail
    'listed 1 share(s), Bauamt among them'
    >>> classify_listing(1, "session setup failed: NT_STATUS_ACCESS_DENIED", None).result
    'reached'
    """
    for status, detail in _SMB_REACHED.items():
        if status in output:
            return Observation(result="reached", detail=detail)
    for status, detail in _SMB_BLOCKED.items():
        if status in output:
            return Observation(result="blocked", detail=detail)
    if returncode != 0:
        last = output.strip().splitlines()[-1:] or ["no output"]
        return Observation(result="error", detail=f"smbclient failed: {last[0][:200]}")
    shares = [
        fields[1] for fields in (line.split("|") for line in output.splitlines()) if fields[0] == "Disk"
    ]
    if share_hint is None:
        return Observation(result="reached", detail=f"listed {len(shares)} share(s)")
    seen = "among them" if share_hint in shares else "missing from the list"
    return Observation(result="reached", detail=f"listed {len(shares)} share(s), {share_hint} {seen}")


class NetnsProber:
    """Probes run with ``ip netns exec`` (needs root), argv lists only."""

    def __init__(self, ip: str = "ip", smbclient: str = "smbclient") -> None:
        self.ip = ip
        self.smbclient = smbclient

    def _run(self, source: ProbeSource, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        command = [self.ip, "netns", "exec", checked_netns(source.netns), *argv]
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout + _SLACK,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def tcp(
        self, source: ProbeSource, address: str, port: int, timeout: float = DEFAULT_TIMEOUT
    ) -> Observation:
        argv = [
            sys.executable,
            "-I",
            "-c",
            CONNECT,
            checked_address(address),
            str(checked_port(port)),
            f"{timeout:g}",
        ]
        try:
            done = self._run(source, argv, timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Observation(result="error", detail=f"probe did not run: {exc}")
        if done.returncode != 0:
            return Observation(result="error", detail=_failure(done))
        return classify_connect(done.stdout, timeout)

    def smb_share_listable(
        self, source: ProbeSource, address: str, share_hint: str | None, timeout: float = DEFAULT_TIMEOUT
    ) -> Observation:
        if shutil.which(self.smbclient) is None:
            return Observation(
                result="error", detail="smbclient is not installed (apt-get install smbclient)"
            )
        # -N: anonymous; -g: one "type|name|comment" line per share; -t: per-request timeout
        argv = [
            self.smbclient,
            "-p",
            "445",
            "-N",
            "-g",
            "-t",
            str(max(1, round(timeout))),
            "-L",
            f"//{checked_address(address)}",
        ]
        try:
            done = self._run(source, argv, timeout)
        except subprocess.TimeoutExpired:
            return Observation(result="blocked", detail="no SMB answer in time (dropped)")
        except OSError as exc:
            return Observation(result="error", detail=f"probe did not run: {exc}")
        if "Cannot open network namespace" in done.stderr:
            return Observation(result="error", detail=_failure(done))
        return classify_listing(done.returncode, done.stdout + "\n" + done.stderr, share_hint)


def _failure(done: subprocess.CompletedProcess[str]) -> str:
    """Why ``ip netns exec`` failed, in one line (its stderr names the namespace, never a secret)."""
    last = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
    return f"probe did not run: {last[0][:200]}"
