"""Lab hosts: a Debian system per host, as an overlay of the cached root filesystem.

Per host: an overlayfs mount (lower = cached rootfs, upper/work in the node directory), its own
mount, UTS and PID namespaces (``unshare --mount --uts --pid --fork``), its hostname, a chroot with
its own /proc, /dev, /run, and ``sshd`` as PID 1 bound to the host's own 127.x address only. Root
logs in with the lab's key. There is no systemd inside.

A *gateway* (a router's Linux side) is such a host with one difference: the router's network
namespace file is bind-mounted into its chroot (``/run/ksm-netns``) and root's login shell enters
that namespace before it runs anything (``nsenter --net``). sshd itself stays in this machine's
namespace on its 127.x address, but every command that arrives over SSH (Ansible's, testinfra's, an
engineer's) acts on the router's interfaces, so an nftables ruleset can never reach this machine's
own network. The shell refuses to run anything when the namespace it would enter is this machine's.
"""

from __future__ import annotations

import shlex
import uuid
from pathlib import Path

from ksm_provision.errors import LabError
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


#: Inside a gateway's chroot: the bind-mounted network namespace of its router.
NETNS_FILE = "/run/ksm-netns"
#: Inside a gateway's chroot: root's login shell, which enters that namespace.
NETNS_SHELL = "/usr/local/sbin/ksm-lab-netns-shell"


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


def _netns_shell() -> str:
    """Root's login shell on a gateway: ``shell -c command`` runs in the router's network namespace."""
    return (
        "#!/bin/sh\n"
        "# Login shell of a ksm lab gateway: every command runs in its router's network namespace.\n"
        f"ns={NETNS_FILE}\n"
        "own=$(stat -L -c %i /proc/1/ns/net) || exit 111\n"
        'target=$(stat -L -c %i "$ns" 2>/dev/null) || { echo "ksm lab: $ns is missing" >&2; exit 111; }\n'
        'if [ "$own" = "$target" ]; then\n'
        '    echo "ksm lab: $ns is the lab machine\'s own network namespace: refusing" >&2; exit 111\n'
        "fi\n"
        'exec nsenter --net="$ns" -- /bin/bash "$@"\n'
    )


def _set_root_shell(merged: Path, shell: str) -> None:
    passwd = merged / "etc/passwd"
    lines = passwd.read_text().splitlines()
    changed = [
        ":".join([*line.split(":")[:6], shell]) if line.startswith("root:") else line for line in lines
    ]
    if changed != lines:
        passwd.write_text("\n".join(changed) + "\n")


def _provision_netns_login(merged: Path) -> None:
    _write(merged / NETNS_SHELL.lstrip("/"), _netns_shell(), 0o755)
    _set_root_shell(merged, NETNS_SHELL)


def netns_inode(path: Path) -> int | None:
    """Inode of a network namespace file (identifies the namespace), None when it is not there."""
    try:
        return path.stat().st_ino
    except OSError:
        return None


def _gateway_netns_current(node: NodeState, netns_file: Path) -> bool:
    """True when the running gateway's bind mount still holds *netns_file*'s namespace."""
    ref = node.resources.processes.get(PROCESS)
    if ref is None or not system.is_running(ref):
        return False
    # The recorded process is `unshare`; its child, sshd (PID 1 of the gateway's namespaces), has the
    # chroot with the bind mount as its root.
    children = system.descendants(ref.pid)
    if not children:
        return False
    mounted = netns_inode(Path(f"/proc/{children[0].pid}/root") / NETNS_FILE.lstrip("/"))
    return mounted is not None and mounted == netns_inode(netns_file)


def _boot_script(merged: Path, hostname: str, address: str, port: int, netns_file: Path | None = None) -> str:
    """Runs as PID 1 of the host's new namespaces: private mounts, then exec sshd in the chroot."""
    m = shlex.quote(str(merged))
    netns_lines = (
        [f': > "$M{NETNS_FILE}"', f'mount --bind {shlex.quote(str(netns_file))} "$M{NETNS_FILE}"']
        if netns_file is not None
        else []
    )
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
        *netns_lines,
        'exec chroot "$M" /usr/sbin/sshd -D -e'
        f" -o ListenAddress={address}:{port}"
        f" -o HostKey=/{_HOST_KEY}"
        " -o UsePAM=no -o PermitRootLogin=prohibit-password -o PasswordAuthentication=no"
        " -o KbdInteractiveAuthentication=no -o PidFile=/run/sshd.pid -o MaxStartups=50:30:200"
        " -o MaxSessions=50 -o UseDNS=no",
    ]
    return "\n".join(lines) + "\n"


def ensure_host(node: ResourceLog, *, rootfs: Path, key_file: Path, netns_file: Path | None = None) -> None:
    """Build or repair one host: overlay mounted, identity written, sshd answering.

    With *netns_file* (a router's ``/run/netns/<name>``) the host is that router's gateway: its
    login runs every command in that network namespace (rebuilt when the namespace was replaced).
    """
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
    if netns_file is not None:
        if netns_inode(netns_file) is None:
            raise LabError(
                f"lab gateway {spec.name}: the router's network namespace {netns_file} does not exist",
                hint="its router is not up: run 'ksm lab up' again",
            )
        _provision_netns_login(merged)

    fresh = netns_file is None or _gateway_netns_current(node.node, netns_file)
    if (
        fresh
        and system.is_running(current)
        and system.tcp_ready(spec.address, spec.port, timeout=2, banner=b"SSH-")
    ):
        return
    system.stop_tree(current)
    node.drop_process(PROCESS)
    system.require_port_free(f"lab host {spec.name}", spec.address, spec.port)
    boot = node_dir / "boot.sh"
    boot.write_text(_boot_script(merged, spec.hostname, spec.address, spec.port, netns_file))
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


def host_problems(node: NodeState, netns_file: Path | None = None) -> list[str]:
    """What is wrong with a host (or, with *netns_file*, a gateway) right now (empty when healthy)."""
    problems: list[str] = []
    if netns_file is not None and not _gateway_netns_current(node, netns_file):
        problems.append(f"the login does not run in the router's network namespace {netns_file}")
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
