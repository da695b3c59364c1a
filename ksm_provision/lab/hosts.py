"""Lab hosts: a Debian system per host, as an overlay of the cached root filesystem.

Per host: an overlayfs mount (lower = cached rootfs, upper/work in the node directory), its own
mount, UTS and PID namespaces (``unshare --mount --uts --pid --fork``), its hostname, a chroot with
its own /proc, /dev, /run, and ``sshd`` as PID 1 bound to the host's own 127.x address only. Root
logs in with the lab's key. There is no systemd inside.
"""

from __future__ import annotations

import shlex
import uuid
from pathlib import Path

from ksm_provision.lab import credentials, system
from ksm_provision.lab.state import CredentialRef, NodeState, ResourceLog

PROCESS = "sshd"
_HOST_KEY = "etc/ssh/ssh_host_ed25519_key"
_DEV_NODES = (
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
)


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


def _boot_script(merged: Path, hostname: str, address: str, port: int) -> str:
    """Runs as PID 1 of the host's new namespaces: private mounts, then exec sshd in the chroot."""
    m = shlex.quote(str(merged))
    lines = [
        "set -eu",
        f"M={m}",
        f"hostname {shlex.quote(hostname)}",
        'mount -t proc -o nosuid,nodev,noexec proc "$M/proc"',
        'mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$M/sys" || true',
        'mount -t tmpfs -o mode=0755,size=8m,nosuid tmpfs "$M/dev"',
        *[f'mknod -m 0666 "$M/dev/{name}" c {major} {minor}' for name, major, minor in _DEV_NODES],
        'mkdir -p "$M/dev/pts" "$M/dev/shm"',
        'mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$M/dev/pts"',
        'ln -s pts/ptmx "$M/dev/ptmx"',
        'ln -s /proc/self/fd "$M/dev/fd"',
        'ln -s /proc/self/fd/0 "$M/dev/stdin"',
        'ln -s /proc/self/fd/1 "$M/dev/stdout"',
        'ln -s /proc/self/fd/2 "$M/dev/stderr"',
        'mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$M/dev/shm"',
        'mount -t tmpfs -o mode=0755,size=64m,nosuid,nodev tmpfs "$M/run"',
        'mkdir -p "$M/run/sshd" "$M/run/lock"',
        'exec chroot "$M" /usr/sbin/sshd -D -e'
        f" -o ListenAddress={address}:{port}"
        f" -o HostKey=/{_HOST_KEY}"
        " -o UsePAM=no -o PermitRootLogin=prohibit-password -o PasswordAuthentication=no"
        " -o KbdInteractiveAuthentication=no -o PidFile=/run/sshd.pid -o MaxStartups=50:30:200"
        " -o MaxSessions=50 -o UseDNS=no",
    ]
    return "\n".join(lines) + "\n"


def ensure_host(node: ResourceLog, *, rootfs: Path, key_file: Path) -> None:
    """Build or repair one host: overlay mounted, identity written, sshd answering."""
    spec, node_dir = node.node.spec, node.node.node_dir
    node.set_credentials(CredentialRef(username="root", method="key", key_file=key_file))
    current = node.resources.processes.get(PROCESS)
    if not system.is_mounted(merged_dir(node_dir)):
        # A host still running on a lost mount would hold the old overlay's upper dir: stop it first.
        system.stop_tree(current)
        node.drop_process(PROCESS)
        current = None
    merged = _mount_overlay(node_dir, rootfs, node)
    _provision(merged, spec.hostname, credentials.public_key(key_file))

    if system.is_running(current) and system.tcp_ready(spec.address, spec.port, timeout=2, banner=b"SSH-"):
        return
    system.stop_tree(current)
    node.drop_process(PROCESS)
    system.require_port_free(f"lab host {spec.name}", spec.address, spec.port)
    boot = node_dir / "boot.sh"
    boot.write_text(_boot_script(merged, spec.hostname, spec.address, spec.port))
    argv = [
        "unshare",
        "--mount",
        "--uts",
        "--pid",
        "--fork",
        "--kill-child=SIGKILL",
        "--propagation=private",
        "/bin/sh",
        str(boot),
    ]
    ref = system.spawn_detached(
        argv, pidfile=node_dir / "sshd.pid", log=node_dir / "sshd.log", command=f"{spec.name} sshd"
    )
    node.set_process(PROCESS, ref)
    system.wait_for_ssh(
        f"lab {spec.kind} {spec.name}", spec.address, spec.port, log=node_dir / "sshd.log", timeout=15
    )


def host_problems(node: NodeState) -> list[str]:
    """What is wrong with a host right now (empty when healthy)."""
    problems: list[str] = []
    spec = node.spec
    if not system.is_mounted(merged_dir(node.node_dir)):
        problems.append(f"overlay {merged_dir(node.node_dir)} is not mounted")
    if not system.is_running(node.resources.processes.get(PROCESS)):
        problems.append("sshd is not running")
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
