"""SSH host keys the project manages: ``<inventory>/known_hosts.d/<authority>``, one file per authority.

Per authority, because authorities are independent: each file is reviewed and committed with its
authority's inventory, and a run scoped to one authority trusts only that authority's keys. Each
entry is plain (not hashed, so a review sees which host changed) and names a host by its inventory
host name *and* the address ssh connects to::

    sn-rh-fs01,10.42.8.10 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA...

Production Ansible runs and device sessions check host keys strictly against these files; a host
missing from its file stops the run before any connection, with the command that fixes it.
``ksm hostkeys scan`` fills the files with ``ssh-keyscan``, ``ksm hostkeys verify`` compares them
with what the hosts present now. The lab twin keeps its own known_hosts (``<lab dir>/ssh/known_hosts``).

Network devices use the same per-authority file, at the address and port of their ``connection:``
block. A device behind a jump host is scanned *through* it, and only once the jump host's own key is
in the file: the first ``ksm hostkeys scan`` records the jump host (compare its fingerprint with the
one its administrator gives you), a second one, after that review, the devices behind it. No key is
ever trusted because another unchecked key vouched for it.
"""

from __future__ import annotations

import base64
import hashlib
import shlex
import shutil
import socket
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ksm_provision.errors import KsmError, SafetyError, relative_path
from ksm_provision.fileio import write_atomic
from ksm_provision.safety import check_address
from ksm_provision.targets import Connection, JumpEndpoint

if TYPE_CHECKING:
    from ksm_provision.inventory.models import NetworkDevice

KNOWN_HOSTS_DIR = "known_hosts.d"
#: Key types asked for by a scan; ssh prefers them in this order.
KEY_TYPES = "ed25519,ecdsa,rsa"
SCAN_TIMEOUT = 5


class HostKeyError(SafetyError):
    """A host key is missing from the managed known_hosts or differs from it."""


def known_hosts_file(inventory_root: Path, authority: str) -> Path:
    """The managed known_hosts of *authority*: ``<inventory>/known_hosts.d/<authority>``."""
    return inventory_root / KNOWN_HOSTS_DIR / authority


def ssh_name(address: str, port: int = 22) -> str:
    """The name ssh looks up in known_hosts for *address*:*port*.

    >>> ssh_name("10.1.2.3"), ssh_name("127.0.0.5", 2222)
    ('10.1.2.3', '[127.0.0.5]:2222')
    """
    return address if port == 22 else f"[{address}]:{port}"


@dataclass(frozen=True, order=True)
class HostKey:
    """One known_hosts line: the names it is valid for, the key type and the base64 key."""

    names: tuple[str, ...]
    key_type: str
    key: str

    @property
    def fingerprint(self) -> str:
        """``SHA256:...`` as ``ssh-keygen -l`` shows it."""
        digest = hashlib.sha256(base64.b64decode(self.key.encode())).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    def line(self) -> str:
        return f"{','.join(self.names)} {self.key_type} {self.key}"

    def same_key(self, other: HostKey) -> bool:
        return (self.key_type, self.key) == (other.key_type, other.key)


def parse_line(line: str) -> HostKey | None:
    """A known_hosts or ssh-keyscan line; None for comments, markers (``@revoked``) and hashed names.

    >>> parse_line("a,10.0.0.1 ssh-ed25519 AAAA comment")
    HostKey(names=('a', '10.0.0.1'), key_type='ssh-ed25519', key='AAAA')
    >>> parse_line("# comment") is None, parse_line("|1|salt|hash ssh-rsa AAAA") is None
    (True, True)
    """
    fields = line.split()
    if len(fields) < 3 or fields[0].startswith(("#", "@", "|")):
        return None
    return HostKey(tuple(fields[0].split(",")), fields[1], fields[2])


@dataclass(frozen=True)
class KnownHosts:
    """The entries of one known_hosts file (lines this module does not understand are kept)."""

    path: Path
    keys: tuple[HostKey, ...]
    other_lines: tuple[str, ...] = ()

    @staticmethod
    def read(path: Path) -> KnownHosts:
        if not path.exists():
            return KnownHosts(path, ())
        keys: list[HostKey] = []
        other: list[str] = []
        for raw in path.read_text(encoding="utf-8").splitlines():
            key = parse_line(raw)
            if key is not None:
                keys.append(key)
            elif raw.strip() and not raw.startswith("#"):
                other.append(raw)
        return KnownHosts(path, tuple(keys), tuple(other))

    def keys_for(self, name: str) -> list[HostKey]:
        return [k for k in self.keys if name in k.names]

    def merged(self, scanned: Mapping[str, Sequence[HostKey]]) -> KnownHosts:
        """These entries with every scanned node's keys replaced by *scanned* (node name -> keys)."""
        names = {n for keys in scanned.values() for k in keys for n in k.names}
        kept = [k for k in self.keys if names.isdisjoint(k.names)]
        fresh = [k for keys in scanned.values() for k in keys]
        return KnownHosts(self.path, tuple(sorted({*kept, *fresh})), self.other_lines)

    def write(self) -> Path:
        header = [
            "# SSH host keys managed by ksm (`ksm hostkeys scan`); review changes before committing.",
            "# Format: inventory-name,address key-type key",
        ]
        lines = [*header, *self.other_lines, *(k.line() for k in self.keys)]
        return write_atomic(self.path, "\n".join(lines) + "\n")


@dataclass(frozen=True)
class Node:
    """A host or device as ssh reaches it: inventory name, authority, address and port."""

    name: str
    authority: str
    address: str
    port: int = 22
    #: The jump host in front of it (scanned through it, see :func:`scan_through_jump`).
    via: JumpEndpoint | None = None

    @property
    def ssh_name(self) -> str:
        return ssh_name(self.address, self.port)


def device_nodes(hostname: str, authority: str, device: NetworkDevice, known_hosts: Path) -> list[Node]:
    """A device as ssh reaches it (its ``connection:`` host and port), its jump host first if it has one."""
    conn = device.connection
    address = str(conn.host or device.management.address)
    jump = conn.jump_host
    if jump is None:
        return [Node(hostname, authority, address, conn.port)]
    via = JumpEndpoint(str(jump.host), jump.port, jump.user, known_hosts=known_hosts)
    return [
        Node(str(jump.host), authority, str(jump.host), jump.port),
        Node(hostname, authority, address, conn.port, via=via),
    ]


def _missing(node: Node, file: Path) -> str:
    return (
        f"no host key for {node.name} ({node.ssh_name}) in {relative_path(file)} — run "
        f"`ksm hostkeys scan --authority {node.authority}` and review/commit the file"
    )


def require_host_keys(nodes: Iterable[tuple[Node, Path]]) -> None:
    """Raise :class:`HostKeyError` naming every node whose known_hosts has no key for its address."""
    files: dict[Path, KnownHosts] = {}
    problems = []
    for node, path in nodes:
        known = files.setdefault(path, KnownHosts.read(path))
        if not known.keys_for(node.ssh_name):
            problems.append(_missing(node, path))
    if len(problems) == 1:
        raise HostKeyError(problems[0])
    if problems:
        raise HostKeyError(f"{len(problems)} hosts have no host key:\n  " + "\n  ".join(problems))


def host_key_args(known_hosts: Path | None, check: bool = True) -> str:
    """ssh options for host keys: strict against *known_hosts* (None: ssh's own files); or unchecked.

    >>> host_key_args(Path("/run/known_hosts"))
    '-o StrictHostKeyChecking=yes -o UserKnownHostsFile=/run/known_hosts -o GlobalKnownHostsFile=/dev/null'
    >>> host_key_args(None, check=False)
    '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'
    """
    if not check:
        return "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
    if known_hosts is None:
        return "-o StrictHostKeyChecking=yes"
    return (
        f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={shlex.quote(str(known_hosts))} "
        "-o GlobalKnownHostsFile=/dev/null"
    )


def run_known_hosts(connections: Mapping[str, Connection], authority_of: Mapping[str, str]) -> str | None:
    """The known_hosts text of one run: each node's entries from its own file, nothing else.

    None when the connections do not check host keys (lab stand-ins the lab recorded no key for). Raises
    :class:`HostKeyError` before anything connects when a checked node has no entry.
    """
    if not connections or not all(c.check_host_key for c in connections.values()):
        return None  # one run is one target: only lab stand-ins are ever unchecked
    checked = dict(connections)
    missing_file = [name for name, c in checked.items() if c.known_hosts is None]
    if missing_file:
        raise HostKeyError(
            f"no known_hosts file is set for {', '.join(sorted(missing_file))}",
            "this is a bug in how the run's connections were built; report it",
        )
    nodes = [
        (Node(name, authority_of.get(name, "?"), c.address, c.port), Path(str(c.known_hosts)))
        for name, c in sorted(checked.items())
    ]
    require_host_keys(nodes)
    lines = []
    for node, path in nodes:
        lines += [k.line() for k in KnownHosts.read(path).keys_for(node.ssh_name)]
    return "\n".join(dict.fromkeys(lines)) + "\n"


def lab_host_key_known(known_hosts: Path, address: str, port: int) -> bool:
    """Whether the lab's own known_hosts holds a key for this stand-in (then it is checked strictly)."""
    try:
        return bool(KnownHosts.read(known_hosts).keys_for(ssh_name(address, port)))
    except OSError:  # unreadable: the stand-in stays unchecked, as before the lab recorded keys
        return False


def tcp_keepalive(sock: socket.socket, seconds: float) -> None:
    """TCP keepalive on *sock*: probes after *seconds* idle; the socket fails after ~2x *seconds*.

    ``TCP_USER_TIMEOUT`` also fails it when sent data (SSH keepalives, commands) stays unacknowledged
    that long, so a peer that vanished without closing is noticed even while ksm waits for a reply.
    """
    idle = max(1, int(seconds))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (
        ("TCP_KEEPIDLE", idle),
        ("TCP_KEEPINTVL", max(1, idle // 2)),
        ("TCP_KEEPCNT", 2),
        ("TCP_USER_TIMEOUT", int(seconds * 2000)),
    ):
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


def tcp_connection(address: str, port: int, connect: float, keepalive: float) -> socket.socket:
    """A TCP connection to *address*:*port* with :func:`tcp_keepalive` on (no lab-only check here)."""
    sock = socket.create_connection((address, port), timeout=connect)
    tcp_keepalive(sock, keepalive)
    return sock


def open_jump(
    jump: JumpEndpoint, address: str, port: int, connect: float, keepalive: float
) -> tuple[Any, Any]:
    """(SSH client of *jump*, channel to *address*:*port* through it); the jump host's key is checked.

    Only a key in the jump host's known_hosts (the authority's file) is accepted.
    """
    import paramiko

    check_address(jump.address, "SSH jump host")
    client = paramiko.SSHClient()
    if jump.known_hosts is None:
        client.load_system_host_keys()
    elif jump.known_hosts.is_file():
        client.get_host_keys().load(str(jump.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            jump.address,
            port=jump.port,
            username=jump.user,
            key_filename=str(jump.key_file) if jump.key_file else None,
            allow_agent=jump.key_file is None,
            look_for_keys=jump.key_file is None,
            sock=tcp_connection(jump.address, jump.port, connect, keepalive),
            timeout=connect,
            banner_timeout=connect,
            auth_timeout=connect,
        )
        transport = client.get_transport()
        if transport is None:  # pragma: no cover - connect() either sets it or raises
            raise KsmError(f"jump host {jump.address}: no SSH transport")
        transport.set_keepalive(max(1, int(keepalive)))
        channel = transport.open_channel("direct-tcpip", (address, port), ("127.0.0.1", 0), timeout=connect)
    except BaseException:
        client.close()
        raise
    return client, channel


# --------------------------------------------------------------------------- scanning


@dataclass(frozen=True)
class ScanResult:
    """Keys per node name; nodes that answered with no key are in *failed* with the reason."""

    keys: dict[str, list[HostKey]]
    failed: dict[str, str]


def scan(nodes: Sequence[Node], timeout: int = SCAN_TIMEOUT) -> ScanResult:
    """Ask every node for its host keys (``ssh-keyscan``); every address passes the lab-only guard first."""
    for node in nodes:
        check_address(node.address, f"host key scan of {node.name}")
    tunnelled = [n for n in nodes if n.via is not None]
    nodes = [n for n in nodes if n.via is None]
    result = _keyscan(nodes, timeout) if nodes else ScanResult({}, {})
    for node in tunnelled:
        assert node.via is not None
        try:
            result.keys[node.name] = scan_through_jump(node, node.via, timeout)
        except Exception as exc:  # unknown jump host key, login refused, device unreachable
            text = " ".join(str(exc).split()) or type(exc).__name__
            result.failed[node.name] = (
                f"no SSH host key from {node.ssh_name} through {node.via.address}: {text}"
            )
    return result


def scan_through_jump(node: Node, jump: JumpEndpoint, timeout: int = SCAN_TIMEOUT) -> list[HostKey]:
    """The host key *node* presents, asked through *jump* (whose own key must be known already)."""
    import paramiko

    client, channel = open_jump(jump, node.address, node.port, timeout, timeout)
    try:
        transport = paramiko.Transport(channel)
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
        transport.close()
    finally:
        client.close()
    return [HostKey((node.name, node.ssh_name), key.get_name(), key.get_base64())]


def _keyscan(nodes: Sequence[Node], timeout: int) -> ScanResult:
    keyscan = shutil.which("ssh-keyscan")
    if keyscan is None:
        raise KsmError("ssh-keyscan is not installed", "install openssh-client")
    by_endpoint: dict[tuple[str, int], list[Node]] = {}
    for node in nodes:
        by_endpoint.setdefault((node.address, node.port), []).append(node)
    ports = sorted({port for _, port in by_endpoint})
    found: dict[str, list[HostKey]] = {}
    for port in ports:
        addresses = sorted({a for a, p in by_endpoint if p == port})
        result = subprocess.run(
            [keyscan, "-T", str(timeout), "-p", str(port), "-t", KEY_TYPES, *addresses],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout * (len(addresses) + 2),
        )
        for line in result.stdout.splitlines():
            key = parse_line(line)
            if key is not None:
                found.setdefault(key.names[0], []).append(key)
    keys: dict[str, list[HostKey]] = {}
    failed: dict[str, str] = {}
    for (address, port), endpoint_nodes in by_endpoint.items():
        answered = found.get(ssh_name(address, port), [])
        for node in endpoint_nodes:
            if answered:
                keys[node.name] = sorted(
                    HostKey((node.name, node.ssh_name), k.key_type, k.key) for k in answered
                )
            else:
                failed[node.name] = f"no SSH host key from {node.ssh_name} (unreachable or no sshd)"
    return ScanResult(keys, failed)


@dataclass(frozen=True)
class Mismatch:
    """A node whose presented keys differ from its known_hosts entries (or that has none there)."""

    node: str
    address: str
    expected: tuple[str, ...]
    found: tuple[str, ...]

    def __str__(self) -> str:
        if not self.expected:
            return f"{self.node} ({self.address}): not in the file; presents {', '.join(self.found)}"
        return (
            f"{self.node} ({self.address}): HOST KEY MISMATCH — file has {', '.join(self.expected)}; "
            f"host presents {', '.join(self.found)}"
        )


def compare(nodes: Sequence[tuple[Node, KnownHosts]], scanned: ScanResult) -> list[Mismatch]:
    """Nodes whose scanned keys are not what their known_hosts holds for them (unscanned ones are skipped).

    A key type present on both sides with different keys is a mismatch; so is a node with no entry
    or with no key in common.
    """
    mismatches = []
    for node, known in nodes:
        found = scanned.keys.get(node.name)
        if found is None:
            continue
        expected = known.keys_for(node.ssh_name)
        expected_by_type = {k.key_type: k for k in expected}
        changed = any(
            k.key_type in expected_by_type and not k.same_key(expected_by_type[k.key_type]) for k in found
        )
        if changed or not any(k.same_key(e) for k in found for e in expected):
            mismatches.append(
                Mismatch(
                    node.name,
                    node.ssh_name,
                    tuple(f"{k.key_type} {k.fingerprint}" for k in expected),
                    tuple(f"{k.key_type} {k.fingerprint}" for k in found),
                )
            )
    return mismatches
