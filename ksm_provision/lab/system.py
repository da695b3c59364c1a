"""Thin, typed wrappers around the operating system calls the lab makes.

Commands, detached processes (recorded by pid *and* start time, so a recycled pid is never
mistaken for ours), mounts as the kernel reports them, and TCP readiness on loopback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ksm_provision.errors import LabError

_TAIL = 800


class ProcessRef(BaseModel):
    """A process the lab started: pid plus its start time in clock ticks since boot."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pid: int
    start_time: int
    command: str


def run(
    argv: Sequence[str],
    *,
    stdin: str | None = None,
    timeout: float = 120.0,
    check: bool = True,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run *argv*, capture its output, and raise :class:`LabError` with the tail of stderr on failure.

    *stdin* is passed on the pipe, never on the command line (so secrets do not show in ``ps``).
    """
    try:
        proc = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=dict(env) if env is not None else None,
        )
    except FileNotFoundError as exc:
        raise LabError(
            f"command not found: {argv[0]}", hint="install the Debian package that provides it"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"command timed out after {timeout:.0f} s: {' '.join(argv[:4])} ...") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()[-_TAIL:]
        raise LabError(f"command failed (exit {proc.returncode}): {' '.join(argv)}\n{detail}")
    return proc


def process_start_time(pid: int) -> int | None:
    """Start time of *pid* (field 22 of /proc/PID/stat), or None when it is gone or a zombie."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def process_ref(pid: int, command: str) -> ProcessRef:
    start = process_start_time(pid)
    if start is None:
        raise LabError(f"{command} (pid {pid}) exited right after it started")
    return ProcessRef(pid=pid, start_time=start, command=command)


def is_running(ref: ProcessRef | None) -> bool:
    """True when *ref* still names the very process the lab started."""
    return ref is not None and process_start_time(ref.pid) == ref.start_time


def reap(pid: int) -> None:
    """Collect *pid* if it is our own child (no zombies left in a long-lived caller such as pytest)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop(ref: ProcessRef | None, *, grace: float = 3.0) -> None:
    """SIGTERM, wait up to *grace* seconds, then SIGKILL. Does nothing if the process is gone."""
    if ref is None or not is_running(ref):
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.kill(ref.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            reap(ref.pid)
            if not is_running(ref):
                return
            time.sleep(0.05)
    raise LabError(f"could not stop {ref.command} (pid {ref.pid})")


def spawn_detached(
    argv: Sequence[str],
    *,
    pidfile: Path,
    log: Path,
    command: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> ProcessRef:
    """Start *argv* as a daemon that outlives the caller (own session, reparented to init).

    ``setsid --fork`` detaches it; a tiny shell writes its own pid to *pidfile* and then execs
    *argv*, so the pid recorded is the daemon's. stdout/stderr go to *log*.
    """
    pidfile.unlink(missing_ok=True)
    launcher = ["setsid", "--fork", "/bin/sh", "-c", 'echo $$ > "$0"; exec "$@"', str(pidfile), *argv]
    with log.open("ab") as out:
        proc = subprocess.run(
            launcher,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            check=False,
            timeout=timeout,
        )
    if proc.returncode != 0:
        raise LabError(f"could not start {command}: setsid exited {proc.returncode}; see {log}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = pidfile.read_text().strip() if pidfile.exists() else ""
        if text.isdigit():
            return process_ref(int(text), command)
        time.sleep(0.02)
    raise LabError(f"{command} did not start within {timeout:.0f} s; see {log}")


def read_pidfile(path: Path, command: str) -> ProcessRef | None:
    """The process named in *path* (a daemon's own pid file), or None when absent or dead."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if not text.isdigit():
        return None
    start = process_start_time(int(text))
    return None if start is None else ProcessRef(pid=int(text), start_time=start, command=command)


def _unescape_mount_field(field: str) -> str:
    r"""Decode the octal escapes the kernel uses in /proc/self/mountinfo (``\040`` = space)."""
    return field.encode().decode("unicode_escape").encode("latin-1").decode()


def mount_points() -> list[Path]:
    """Every mount point in this mount namespace, in mount order."""
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return [Path(_unescape_mount_field(line.split()[4])) for line in lines]


def is_mounted(path: Path) -> bool:
    return path in mount_points()


def mounts_below(path: Path) -> list[Path]:
    """Mount points at or below *path* (deepest first, ready for unmounting)."""
    inside = [m for m in mount_points() if m == path or path in m.parents]
    return sorted(set(inside), key=lambda p: len(p.parts), reverse=True)


def overlays_with_upper(upper: Path) -> list[Path]:
    """Mount points of overlays whose upper layer is *upper*, wherever they are mounted now.

    Found by the ``upperdir=`` option, so a mount is found even if its mount point was renamed.
    """
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        options = fields[-1].split(",")
        if fields[fields.index("-") + 1] == "overlay" and f"upperdir={upper}" in options:
            found.append(Path(_unescape_mount_field(fields[4])))
    return found


def unmount(path: Path) -> None:
    """Unmount *path* and everything below it; lazily if something still holds it busy."""
    for mount in mounts_below(path):
        if run(["umount", str(mount)], check=False).returncode != 0:
            run(["umount", "--lazy", str(mount)])


def tcp_ready(address: str, port: int, *, timeout: float = 10.0, banner: bytes = b"") -> bool:
    """Wait until *address*:*port* accepts a connection (and sends *banner*, if given)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=1.0) as sock:
                if not banner:
                    return True
                sock.settimeout(max(0.2, deadline - time.monotonic()))
                if sock.recv(64).startswith(banner):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def wait_for_ssh(what: str, address: str, port: int, *, log: Path, timeout: float = 15.0) -> None:
    """Wait for an SSH banner on *address*:*port*; on timeout raise with the tail of *log*."""
    if not tcp_ready(address, port, timeout=timeout, banner=b"SSH-"):
        tail = log.read_text(errors="replace")[-_TAIL:] if log.exists() else ""
        raise LabError(f"{what}: no SSH server answers on {address}:{port}\n{tail}", hint=f"see {log}")


def require_port_free(what: str, address: str, port: int) -> None:
    """Raise a helpful error when *address*:*port* is taken by a process that is not ours."""
    if tcp_port_free(address, port):
        return
    if wildcard_listener(port):
        raise LabError(
            f"{what}: port {port} is taken on every address by a process listening on 0.0.0.0:{port} "
            "(often the machine's own sshd)",
            hint="set KSM_LAB_SSH_PORT to a free port (e.g. 2222), or bind that service to its own address",
        )
    raise LabError(
        f"{what}: {address}:{port} is already in use by another process",
        hint="another lab may run with the same instance: run 'ksm lab down' there, or set KSM_LAB_INSTANCE",
    )


def wildcard_listener(port: int) -> bool:
    """True when some socket listens on 0.0.0.0:*port* (which blocks that port on every address)."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    wanted = f"00000000:{port:04X}"
    return any(line.split()[1] == wanted and line.split()[3] == "0A" for line in lines)


def tcp_port_free(address: str, port: int) -> bool:
    """True when nothing listens on *address*:*port* (so a new daemon can bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _parent_map() -> dict[int, int]:
    """pid -> parent pid for every live process."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> list[ProcessRef]:
    """Every live process below *pid* (children first found, breadth-first)."""
    parents = _parent_map()
    found: list[ProcessRef] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop(0)
        for child, parent in parents.items():
            if parent == current:
                start = process_start_time(child)
                if start is not None:
                    found.append(ProcessRef(pid=child, start_time=start, command=f"child of {current}"))
                frontier.append(child)
    return found


def processes_of_uid(uid: int) -> list[ProcessRef]:
    """Live processes whose real uid is *uid*."""
    found: list[ProcessRef] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            owner = entry.stat().st_uid
        except OSError:
            continue
        start = process_start_time(int(entry.name))
        if owner == uid and start is not None:
            found.append(ProcessRef(pid=int(entry.name), start_time=start, command=f"uid {uid}"))
    return found


def stop_tree(ref: ProcessRef | None, *, grace: float = 3.0) -> None:
    """Stop *ref* and everything it started (e.g. an sshd and its open sessions).

    SIGTERM goes to the whole tree at once (``unshare --fork`` itself ignores SIGTERM, the sshd
    below it does not), SIGKILL to whatever is left after *grace* seconds.
    """
    if ref is None or not is_running(ref):
        return
    tree = [ref, *descendants(ref.pid)]
    for member in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(is_running(m) for m in tree):
        for member in tree:
            reap(member.pid)
        time.sleep(0.02)
    kill_all(tree)


#: systemd in each lab host takes a handful of inotify instances; the kernel default (128 per user,
#: all lab containers run as root) runs out around a dozen hosts ("Failed to create inotify object").
INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
INOTIFY_PER_HOST = 64


def ensure_inotify_instances(hosts: int) -> None:
    """Raise the machine's inotify instance limit so *hosts* systemd containers can boot (never lower)."""
    wanted = 512 + INOTIFY_PER_HOST * hosts
    try:
        current = int(INOTIFY_INSTANCES.read_text())
        if current < wanted:
            INOTIFY_INSTANCES.write_text(f"{wanted}\n")
    except (OSError, ValueError) as exc:
        raise LabError(
            f"cannot raise {INOTIFY_INSTANCES} to {wanted}: {exc}",
            hint=f"sysctl -w fs.inotify.max_user_instances={wanted}",
        ) from exc


def stop_container(ref: ProcessRef | None, *, grace: float = 15.0) -> None:
    """Shut a ``systemd-nspawn --boot`` container down cleanly, then kill whatever is left.

    SIGTERM to nspawn alone makes it ask the container's systemd to power off (SIGTERM to systemd
    itself would only make it re-execute); after *grace* seconds the whole tree is killed.
    """
    if ref is None or not is_running(ref):
        return
    tree = [ref, *descendants(ref.pid)]
    with contextlib.suppress(ProcessLookupError):
        os.kill(ref.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and is_running(ref):
        reap(ref.pid)
        time.sleep(0.05)
    kill_all(tree)


def kill_all(refs: list[ProcessRef]) -> None:
    """SIGKILL each process that is still the one recorded, then wait for them to go."""
    for ref in refs:
        if is_running(ref):
            with contextlib.suppress(ProcessLookupError):
                os.kill(ref.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while any(is_running(r) for r in refs) and time.monotonic() < deadline:
        for ref in refs:
            reap(ref.pid)
        time.sleep(0.05)
