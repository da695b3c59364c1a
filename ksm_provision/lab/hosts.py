"""Lab hosts: a Debian system per host, booted by systemd, as an overlay of the cached root filesystem.

Per host: an overlayfs mount (lower = cached rootfs, upper/work in the node directory), its own
network namespace, and ``systemd-nspawn --boot`` of the merged tree in that namespace: systemd is
PID 1, units are enabled, started and restarted as on a real server, ``ssh.service`` listens on
port 22 inside the namespace. Root logs in with the lab's key.

The controller never leaves 127.0.0.0/8: a forwarder (:mod:`ksm_provision.lab.forwarder`) listens on
the host's own 127.x address in this machine's namespace and connects to port 22 inside the host's.

A *gateway* (a router's Linux side) is such a host booted in its router's network namespace instead
of its own, so nftables and the DHCP relay run as systemd units on the router's interfaces and can
never reach this machine's own network.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

from ksm_provision.errors import LabError
from ksm_provision.lab import credentials, forwarder, system
from ksm_provision.lab.standins import write_fachverfahren_standins
from ksm_provision.lab.state import CredentialRef, NodeState, ResourceLog

#: The recorded processes: the container (systemd-nspawn) and the management forwarder.
PROCESS = "nspawn"
FORWARDER = "forwarder"
_HOST_KEY = "etc/ssh/ssh_host_ed25519_key"


def merged_dir(node_dir: Path) -> Path:
    return node_dir / "merged"


def _mount_overlay(node_dir: Path, rootfs: Path, log: ResourceLog) -> Path:
    upper, work, merged = node_dir / "upper", node_dir / "work", merged_dir(node_dir)
    for directory in (upper, work, merged):
        directory.mkdir(parents=True, exist_ok=True)
    if not system.is_mounted(merged):
        log.add_mount(merged)
        options = f"lowerdir={rootfs},upperdir={upper},workdir={work}"
        system.run(["mount", "-t", "overlay", "overlay", "-o", options, str(merged)])
    return merged


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    path.chmod(mode)


def _provision(merged: Path, hostname: str, pubkey: str) -> None:
    """Identity of this host inside its own file system (idempotent)."""
    short = hostname.split(".", 1)[0]
    _write(merged / "etc/hostname", f"{hostname}\n")
    _write(merged / "etc/hosts", f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname} {short}\n")
    ssh_dir = merged / "root/.ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    _write(ssh_dir / "authorized_keys", pubkey + "\n", 0o600)
    machine_id = merged / "etc/machine-id"
    if not machine_id.exists() or not machine_id.read_text().strip():
        machine_id.write_text(uuid.uuid4().hex + "\n")
    if not (merged / _HOST_KEY).exists():
        system.run(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                f"root@{short}",
                "-f",
                str(merged / _HOST_KEY),
            ]
        )


def netns_inode(path: Path) -> int | None:
    """Inode of a network namespace file (identifies the namespace), None when it is not there."""
    try:
        return path.stat().st_ino
    except OSError:
        return None


def _container_netns_current(node: NodeState, netns_file: Path) -> bool:
    """True when the running container's PID 1 lives in *netns_file*'s network namespace."""
    ref = node.resources.processes.get(PROCESS)
    if ref is None or not system.is_running(ref):
        return False
    children = system.descendants(ref.pid)  # the first is the container's systemd
    if not children:
        return False
    wanted = netns_inode(netns_file)
    return wanted is not None and netns_inode(Path(f"/proc/{children[0].pid}/ns/net")) == wanted


def _refuse_own_namespace(what: str, netns_file: Path) -> None:
    """A lab host must never boot in (or forward into) this machine's own network namespace."""
    if netns_inode(netns_file) is None:
        raise LabError(
            f"{what}: network namespace {netns_file} does not exist", hint="run 'ksm lab up' again"
        )
    if netns_inode(netns_file) == netns_inode(Path("/proc/self/ns/net")):
        raise LabError(f"{what}: {netns_file} is this machine's own network namespace: refusing")


def _boot_argv(merged: Path, machine: str, netns_file: Path) -> list[str]:
    """``systemd-nspawn --boot``: systemd as PID 1 in the host's tree and network namespace.

    ``--register=no --keep-unit`` because no systemd-machined runs here; resolv.conf and the time
    zone stay the roles' business (nspawn would otherwise copy or bind-mount the machine's own).
    CAP_NET_ADMIN (which nspawn grants only with a private network of its own) lets nftables and
    the DHCP daemons work on the namespace's interfaces, as root on a real server can.
    """
    return [
        "systemd-nspawn",
        "--quiet",
        "--register=no",
        "--keep-unit",
        "--boot",
        f"--directory={merged}",
        f"--machine={machine}",
        f"--network-namespace-path={netns_file}",
        "--resolv-conf=off",
        "--timezone=off",
        "--link-journal=no",
        "--console=read-only",
        "--capability=CAP_NET_ADMIN",
    ]


def ensure_host(
    node: ResourceLog,
    *,
    rootfs: Path,
    key_file: Path,
    netns_file: Path,
    standins: Sequence[tuple[str, int]] = (),
) -> None:
    """Build or repair one host: overlay mounted, identity written, systemd booted, SSH answering.

    *netns_file* is the host's own network namespace (``/run/netns/<name>``, created by the caller)
    or, for a gateway, its router's. A container running in another namespace is rebooted.
    *standins* are the Fachverfahren (id, port) the host serves: the lab runs a stand-in for each.
    """
    spec, node_dir = node.node.spec, node.node.node_dir
    what = f"lab {spec.kind} {spec.name}"
    node.set_credentials(CredentialRef(username="root", method="key", key_file=key_file))
    current = node.resources.processes.get(PROCESS)
    if not system.is_mounted(merged_dir(node_dir)):
        # A container still running on a lost mount would hold the old overlay's upper dir: stop it.
        system.stop_container(current)
        node.drop_process(PROCESS)
        current = None
    merged = _mount_overlay(node_dir, rootfs, node)
    _provision(merged, spec.hostname, credentials.public_key(key_file))
    if standins:
        write_fachverfahren_standins(merged, standins)
    _refuse_own_namespace(what, netns_file)

    if not (system.is_running(current) and _container_netns_current(node.node, netns_file)):
        system.stop_container(current)
        node.drop_process(PROCESS)
        ref = system.spawn_detached(
            _boot_argv(merged, spec.name, netns_file),
            pidfile=node_dir / "nspawn.pid",
            log=node_dir / "console.log",
            command=f"{spec.name} systemd-nspawn",
        )
        node.set_process(PROCESS, ref)
    relay = node.resources.processes.get(FORWARDER)
    if not (system.is_running(relay) and relay is not None and forwarder.forwards_into(relay, netns_file)):
        system.stop_tree(relay)  # e.g. still holding a namespace that was deleted and made anew
        node.drop_process(FORWARDER)
        system.require_port_free(what, spec.address, spec.port)
        relay = forwarder.start_forwarder(
            listen_address=spec.address,
            listen_port=spec.port,
            netns_file=netns_file,
            node_dir=node_dir,
            name=spec.name,
        )
        node.set_process(FORWARDER, relay)
    system.wait_for_ssh(what, spec.address, spec.port, log=node_dir / "console.log", timeout=60)


def host_problems(node: NodeState, netns_file: Path) -> list[str]:
    """What is wrong with a host (or gateway) right now (empty when healthy)."""
    problems: list[str] = []
    spec = node.spec
    if not system.is_mounted(merged_dir(node.node_dir)):
        problems.append(f"overlay {merged_dir(node.node_dir)} is not mounted")
    if not system.is_running(node.resources.processes.get(PROCESS)):
        problems.append("the container (systemd-nspawn) is not running")
    elif not _container_netns_current(node, netns_file):
        problems.append(f"the container does not run in the network namespace {netns_file}")
    relay = node.resources.processes.get(FORWARDER)
    if relay is None or not system.is_running(relay):
        problems.append(f"the management forwarder on {spec.address}:{spec.port} is not running")
    elif not forwarder.forwards_into(relay, netns_file):
        problems.append(f"the management forwarder does not lead into {netns_file}")
    elif not system.tcp_ready(spec.address, spec.port, timeout=2, banner=b"SSH-"):
        problems.append(f"sshd does not answer on {spec.address}:{spec.port}")
    return problems


def host_public_key(node: NodeState) -> str | None:
    """The host's SSH host key (for a known_hosts file), if the host has been built."""
    path = merged_dir(node.node_dir) / (_HOST_KEY + ".pub")
    # Read from the upper layer: it exists even while the overlay is unmounted.
    upper = node.node_dir / "upper" / (_HOST_KEY + ".pub")
    for candidate in (upper, path):
        if candidate.exists():
            return candidate.read_text().strip()
    return None
