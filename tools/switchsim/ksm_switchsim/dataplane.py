"""The switch's forwarding plane: Linux bridges fed from the running-config, as an ASIC would be.

The lab cables each front-panel port the inventory uses as veth links in the switch's own network
namespace: one link for an access port, one link per VLAN for a trunk (this machine's kernel has
neither 802.1Q links nor VLAN-aware bridges). This module keeps them attached exactly as the
running-config says, whoever changed it (ksm, an engineer's session, a fault):

- VLAN *n* is bridge ``v<n>``, and it forwards only while ``vlan n`` exists (VLAN 1 always does);
- an access port's link is in the bridge of its ``switchport access vlan`` (default 1);
- a trunk's link for VLAN *n* is in bridge ``v<n>`` only while *n* is in the trunk's
  ``switchport trunk allowed vlan`` list (default: all);
- a ``shutdown`` port's links are detached and down;
- ``interface Vlan<n>`` with an ``ip address`` puts that address on bridge ``v<n>`` (the switch's
  management SVI), and ``ip default-gateway`` becomes the namespace's default route.

A thread compares the wanted attachment with what it last applied twice a second and re-reads the
kernel's view every few seconds (the lab may re-cable a port).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ksm_switchsim.config_tree import ConfigNode, ConfigTree
from ksm_switchsim.grammar import vlan_list_to_ids

log = logging.getLogger(__name__)
ALL_VLANS = frozenset(range(1, 4095))
#: link -> bridge it must be in (None: detached and down)
Wanted = dict[str, str | None]


class PortLinks(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    access: str | None = None
    trunk: dict[int, str] = {}


class PortMap(BaseModel):
    """``--dataplane FILE``: the switch's namespace and which links belong to which port."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    netns: str
    bridge_prefix: str = "v"
    ports: dict[str, PortLinks]

    @classmethod
    def load(cls, path: Path) -> PortMap:
        return cls.model_validate(json.loads(path.read_text()))


def _existing_vlans(tree: ConfigTree) -> set[int]:
    found = {1}
    for node in tree.root.children:
        if node.text.startswith("vlan ") and node.text.split(" ", 1)[1][:1].isdigit():
            found.update(vlan_list_to_ids(node.text.split(" ", 1)[1]))
    return found


def _setting(section: ConfigNode, prefix: str) -> str | None:
    for child in section.children:
        if child.text.startswith(prefix):
            return child.text[len(prefix) :].strip()
    return None


def _allowed(section: ConfigNode) -> frozenset[int]:
    raw = _setting(section, "switchport trunk allowed vlan ")
    if raw is None or raw == "all":
        return ALL_VLANS
    if raw == "none":
        return frozenset()
    return frozenset(vlan_list_to_ids(raw))


def wanted_state(tree: ConfigTree, ports: Mapping[str, PortLinks], prefix: str) -> Wanted:
    """Which bridge each link belongs in, as the running-config *tree* says."""
    vlans = _existing_vlans(tree)
    wanted: Wanted = {}
    for port, links in ports.items():
        section = tree.root.find(f"interface {port}") or ConfigNode(f"interface {port}")
        shut = any(c.text == "shutdown" for c in section.children)
        trunk = any(c.text == "switchport mode trunk" for c in section.children)
        access_vlan = int(_setting(section, "switchport access vlan ") or 1)
        if trunk:
            native = int(_setting(section, "switchport trunk native vlan ") or 1)
            carried = _allowed(section) & vlans
        else:
            native, carried = access_vlan, frozenset({access_vlan} & vlans)
        if links.access is not None:
            wanted[links.access] = None if shut or native not in vlans else f"{prefix}{native}"
        for vlan, link in links.trunk.items():
            wanted[link] = None if shut or vlan not in carried else f"{prefix}{vlan}"
    return wanted


def wanted_addresses(tree: ConfigTree, prefix: str) -> tuple[dict[str, str], str | None]:
    """(bridge -> address/prefix of each SVI that is up, the default gateway) from *tree*."""
    addresses: dict[str, str] = {}
    for node in tree.root.children:
        if not node.text.lower().startswith("interface vlan"):
            continue
        vlan = node.text.split("Vlan", 1)[-1].split("vlan", 1)[-1]
        raw = _setting(node, "ip address ")
        if not vlan.isdigit() or raw is None or any(c.text == "shutdown" for c in node.children):
            continue
        address, _, mask = raw.partition(" ")
        try:
            addresses[f"{prefix}{int(vlan)}"] = str(ipaddress.IPv4Interface(f"{address}/{mask}"))
        except ValueError:
            continue
    gateway = tree.root.find_by_key("ip default-gateway")
    return addresses, gateway.text.split()[-1] if gateway is not None else None


def _run(argv: list[str]) -> bool:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=20)
    if proc.returncode != 0:
        log.debug("%s: %s", " ".join(argv), proc.stderr.strip())
    return proc.returncode == 0


class DataPlane:
    """Keeps the namespace's links attached as :func:`wanted_state` says."""

    def __init__(
        self,
        port_map: PortMap,
        read_tree: Callable[[], tuple[Wanted, tuple[dict[str, str], str | None]]],
        *,
        interval: float = 0.5,
        reread: float = 5.0,
    ) -> None:
        self.port_map = port_map
        self._wanted = read_tree
        self._interval = interval
        self._reread = reread
        self._applied: Wanted = {}
        self._svis: dict[str, str] = {}
        self._gateway: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dataplane", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _ip(self, *args: str) -> bool:
        return _run(["ip", "-n", self.port_map.netns, *args])

    def _actual(self) -> Wanted:
        proc = subprocess.run(
            ["ip", "-n", self.port_map.netns, "-j", "link", "show"],
            capture_output=True, text=True, check=False, timeout=20,
        )  # fmt: skip
        if proc.returncode != 0:
            return {}
        entries = json.loads(proc.stdout or "[]")
        return {e["ifname"]: (e.get("master") if "UP" in e.get("flags", []) else None) for e in entries}

    def sync(self, *, reread: bool = False) -> None:
        """Apply what changed since the last call (everything, with *reread*)."""
        wanted, (svis, gateway) = self._wanted()
        if reread:
            self._svis, self._gateway = {}, None
            actual = self._actual()
            self._applied = {link: actual[link] for link in wanted if link in actual}
        for link, bridge in wanted.items():
            if link in self._applied and self._applied[link] == bridge:
                continue
            if bridge is None:
                ok = self._ip("link", "set", link, "nomaster") and self._ip("link", "set", link, "down")
            else:
                self._ip("link", "add", bridge, "type", "bridge")  # fails harmlessly when it exists
                ok = self._ip("link", "set", bridge, "up") and self._ip(
                    "link", "set", link, "master", bridge, "up"
                )
            if ok:
                self._applied[link] = bridge
            else:
                self._applied.pop(link, None)  # the link may not be cabled yet: retry next round
        self._sync_addresses(svis, gateway)

    def _sync_addresses(self, svis: dict[str, str], gateway: str | None) -> None:
        for bridge in set(self._svis) - set(svis):
            self._ip("address", "flush", "dev", bridge)
            self._svis.pop(bridge)
        for bridge, address in svis.items():
            if self._svis.get(bridge) == address:
                continue
            self._ip("link", "add", bridge, "type", "bridge")
            if (
                self._ip("address", "flush", "dev", bridge)
                and self._ip("address", "add", address, "dev", bridge)
                and self._ip("link", "set", bridge, "up")
            ):
                self._svis[bridge] = address
        if (
            gateway is not None
            and gateway != self._gateway
            and self._ip("route", "replace", "default", "via", gateway)
        ):
            self._gateway = gateway

    def _loop(self) -> None:
        last_reread = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                self.sync(reread=now - last_reread >= self._reread)
            except (OSError, subprocess.SubprocessError, ValueError) as exc:
                log.warning("data plane of %s: %s", self.port_map.netns, exc)
            if now - last_reread >= self._reread:
                last_reread = now
            self._stop.wait(self._interval)
