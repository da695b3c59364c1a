"""Tear a node down: everything its state records, in reverse order of creation.

Works from the recorded resources only (never by name patterns), so it removes exactly what this
lab created and nothing of another lab's or the machine's own.
"""

from __future__ import annotations

import contextlib
import pwd
import shutil
from pathlib import Path

from ksm_provision.errors import LabError
from ksm_provision.lab import system
from ksm_provision.lab.config import SHELL_DIR
from ksm_provision.lab.hosts import PROCESS as CONTAINER
from ksm_provision.lab.routers import ACCOUNTS_LOCK
from ksm_provision.lab.state import NodeState


def _netns_pids(netns: str) -> list[system.ProcessRef]:
    proc = system.run(["ip", "netns", "pids", netns], check=False)
    refs = []
    for token in proc.stdout.split():
        start = system.process_start_time(int(token)) if token.isdigit() else None
        if start is not None:
            refs.append(system.ProcessRef(pid=int(token), start_time=start, command=f"in netns {netns}"))
    return refs


def _remove_user(user: str) -> None:
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        return
    system.kill_all(system.processes_of_uid(uid))  # open CLI sessions would block userdel
    with ACCOUNTS_LOCK:
        system.run(["userdel", user])


def remove_path(path: Path) -> None:
    if system.mounts_below(path):
        raise LabError(f"refusing to delete {path}: something is still mounted below it")
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def teardown_node(node: NodeState) -> None:
    """Stop processes, delete namespace and users, unmount, delete files: in that order."""
    res = node.resources
    for key, ref in reversed(list(res.processes.items())):
        # a booted host's container is shut down cleanly (its systemd stops its units) first
        (system.stop_container if key == CONTAINER else system.stop_tree)(ref)
    present = system.run(["ip", "netns", "list"]).stdout.split()
    for netns in (*res.namespaces, *([res.netns] if res.netns else [])):
        system.kill_all(_netns_pids(netns))
        if netns in present:
            system.run(["ip", "netns", "delete", netns])
    for user in res.users:
        _remove_user(user)
    for mount in reversed(res.mounts):
        system.unmount(mount)
    for moved in system.overlays_with_upper(node.node_dir / "upper"):  # mount point renamed under us
        system.unmount(moved)
    for path in reversed(res.paths):
        remove_path(path)
    with contextlib.suppress(OSError):
        SHELL_DIR.rmdir()  # only when no other lab's router shell is left in it
    if node.node_dir.exists():
        remove_path(node.node_dir)
