"""Throw-away labs for test suites, safe when several suites run on one machine at once.

Each test lab claims a free lab *instance* (its own addresses, namespace and user names) with a lock
file held for as long as it lives, and keeps its state in ``/var/tmp/ksm-lab-tests/instance-<k>/``
(``$KSM_TEST_LAB_ROOT``), outside pytest's rotating temp dirs. A lab left behind by a crashed run is
torn down by the next run that claims the same instance. Instance 0 (an engineer's lab) is never
used.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from ksm_provision.errors import LabError
from ksm_provision.lab import system
from ksm_provision.lab.config import LabConfig
from ksm_provision.lab.manager import Lab

DEFAULT_ROOT = Path("/var/tmp/ksm-lab-tests")
CANDIDATES = tuple(range(15, 4, -1))


def tests_root() -> Path:
    return Path(os.environ.get("KSM_TEST_LAB_ROOT") or DEFAULT_ROOT)


def _foreign_resources(instance: int) -> bool:
    """True when another lab (not a test lab) uses this instance's names."""
    probe = LabConfig(lab_dir=tests_root(), instance=instance)
    netns = system.run(["ip", "netns", "list"], check=False).stdout.split()
    users = [line.split(":", 1)[0] for line in Path("/etc/passwd").read_text().splitlines()]
    return any(n.startswith(probe.netns("")) for n in netns) or any(
        u.startswith(probe.user_prefix) for u in users
    )


@contextlib.contextmanager
def _claimed_instance() -> Iterator[int]:
    root = tests_root()
    root.mkdir(parents=True, exist_ok=True)
    for instance in CANDIDATES:
        with (root / f"instance-{instance}.lock").open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            # Ours now: first remove what a crashed run holding this instance left behind.
            for state in sorted((root / f"instance-{instance}").glob("*/state.json")):
                Lab(LabConfig(lab_dir=state.parent, instance=instance)).down()
            if _foreign_resources(instance):
                continue
            yield instance
            return
    raise LabError(
        f"no free lab instance for tests ({CANDIDATES[-1]}..{CANDIDATES[0]} are all in use)",
        hint=f"wait for other test runs, or remove leftovers with 'ksm lab down' (see {root})",
    )


@contextlib.contextmanager
def throwaway_lab(name: str) -> Iterator[Lab]:
    """A fresh, empty lab named *name* on a claimed instance; torn down on exit, whatever happens."""
    with _claimed_instance() as instance:
        port = int(os.environ.get("KSM_LAB_SSH_PORT") or 22)
        lab = Lab(
            LabConfig(lab_dir=tests_root() / f"instance-{instance}" / name, instance=instance, ssh_port=port)
        )
        try:
            yield lab
        finally:
            lab.down()
            with contextlib.suppress(OSError):
                lab.config.lab_dir.parent.rmdir()
