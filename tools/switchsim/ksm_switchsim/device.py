"""One simulated switch: its running-config shared by all sessions, and its stored configs."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from ksm_switchsim.config_commands import replay
from ksm_switchsim.config_tree import PHYSICAL_PORTS, ConfigTree
from ksm_switchsim.storage import DeviceStore, write_atomically

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplaceResult:
    """Outcome of ``configure replace``: the lines of the file that did not apply (none on success)."""

    failed_lines: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.failed_lines


class Device:
    """The state of one switch. Sessions hold :attr:`lock` while they read or change it."""

    def __init__(
        self, store: DeviceStore, factory_hostname: str, ports: tuple[str, ...] = PHYSICAL_PORTS
    ) -> None:
        self.store = store
        self.factory_hostname = factory_hostname
        #: The front-panel ports of the simulated model (present in every configuration).
        self.ports = ports
        self.lock = threading.RLock()
        self.booted_at = time.monotonic()
        store.prepare()
        self.running = self._boot()

    def _boot(self) -> ConfigTree:
        tree = ConfigTree.factory_default(self.factory_hostname, self.ports)
        startup = self.store.read_startup_config()
        if startup is not None:
            failed = replay(tree, startup)
            if failed:
                log.warning("startup-config of %s: %d lines did not apply", self.store.state_dir, len(failed))
        tree.snmp_users.update(self.store.read_snmp_users())
        return tree

    @property
    def hostname(self) -> str:
        return self.running.hostname

    def save(self) -> int:
        """``write memory``; returns the size written."""
        with self.lock:
            text = self.running.render()
            users = list(self.running.snmp_users.values())
        self.store.write_startup_config(text)
        # IOS keeps SNMP users outside the startup-config (private NVRAM): they survive a reload.
        self.store.write_snmp_users(users)
        return len(text.encode())

    def copy_running_to_flash(self, name: str) -> int:
        path = self.store.flash_path(name)
        with self.lock:
            text = self.running.render()
        write_atomically(path, text)
        return len(text.encode())

    def merge(self, text: str) -> tuple[str, ...]:
        """``copy <file> running-config``: apply the file's lines on top of the running-config."""
        with self.lock:
            return tuple(replay(self.running, text))

    def replace(self, text: str) -> ReplaceResult:
        """``configure replace``: the running-config becomes exactly the file's configuration.

        The new tree is built aside and swapped in only if every line applied, so a bad file
        leaves the device unchanged. The root node is swapped in place because open sessions hold
        the tree object.
        """
        candidate = ConfigTree.factory_default(self.factory_hostname, self.ports)
        failed = tuple(replay(candidate, text))
        if failed:
            return ReplaceResult(failed)
        with self.lock:
            self.running.root = candidate.root
        return ReplaceResult(())

    def uptime_seconds(self) -> int:
        return int(time.monotonic() - self.booted_at)
