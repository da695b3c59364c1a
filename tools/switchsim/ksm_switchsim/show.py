"""Read-only ``show`` outputs rendered from the configuration tree."""

from __future__ import annotations

import re
from typing import Final

from ksm_switchsim.config_tree import ConfigNode, ConfigTree, SnmpUser
from ksm_switchsim.grammar import vlan_list_to_ids
from ksm_switchsim.storage import FlashFile

_FLASH_TOTAL: Final = 122_185_728
_ACCESS_VLAN: Final = "switchport access vlan "
_BUILTIN_VLANS: Final = (
    (1002, "fddi-default"),
    (1003, "token-ring-default"),
    (1004, "fddinet-default"),
    (1005, "trnet-default"),
)


def short_port(name: str) -> str:
    return name.replace("GigabitEthernet", "Gi", 1)


#: Column where ``show vlan brief`` prints the ports (continuation lines are indented to it).
_PORTS_COLUMN: Final = 48
_ENGINE_ID: Final = "800000090300005E00005301"


def _wrap_ports(members: list[str], width: int) -> list[str]:
    """Port names joined by ", " and wrapped so that no line passes the terminal width, as IOS
    does (80 columns: at most 31 characters, e.g. ``Gi1/0/1, Gi1/0/2, Gi1/0/3``)."""
    room = max((width or 512) - 1 - _PORTS_COLUMN, 8)
    lines: list[str] = []
    current = ""
    for name in members:
        candidate = f"{current}, {name}" if current else name
        if current and len(candidate) > room:
            lines.append(current)
            candidate = name
        current = candidate
    return [*lines, current] if current else [""]


def _vlan_tables(tree: ConfigTree) -> tuple[dict[int, str], dict[int, list[str]]]:
    names: dict[int, str] = {1: "default"}
    ports: dict[int, list[str]] = {1: []}
    for node in tree.root.sorted_children():
        children = [c.text for c in node.children]
        if node.text.startswith("vlan "):
            name = next((c.split(" ", 1)[1] for c in children if c.startswith("name ")), "")
            for vlan_id in vlan_list_to_ids(node.text.split(" ", 1)[1]):
                names[vlan_id] = name or f"VLAN{vlan_id:04d}"
                ports.setdefault(vlan_id, [])
        elif node.text.startswith("interface GigabitEthernet") and "switchport mode trunk" not in children:
            access = next((c.rsplit(" ", 1)[1] for c in children if c.startswith(_ACCESS_VLAN)), "1")
            ports.setdefault(int(access), []).append(short_port(node.text.split(" ", 1)[1]))
    return names, ports


def show_vlan_brief(tree: ConfigTree, width: int = 80) -> str:
    """``show vlan brief``: the layout of the public captures in tests/data/real_ios/."""
    names, ports = _vlan_tables(tree)
    lines = [
        "",
        "VLAN Name                             Status    Ports",
        "---- -------------------------------- --------- -------------------------------",
    ]
    for vlan_id in sorted(names):
        chunks = _wrap_ports(ports[vlan_id], width)
        lines.append(f"{vlan_id:<4} {names[vlan_id]:<32} {'active':<9} {chunks[0]}".rstrip())
        lines.extend(f"{'':{_PORTS_COLUMN}}{chunk}" for chunk in chunks[1:])
    for vlan_id, name in _BUILTIN_VLANS:
        lines.append(f"{vlan_id:<4} {name:<32} act/unsup")
    return "\n".join(lines) + "\n"


def _port_status(node: ConfigNode) -> tuple[str, str, str]:
    children = [c.text for c in node.children]
    description = next((c.split(" ", 1)[1] for c in children if c.startswith("description ")), "")
    status = "disabled" if "shutdown" in children else "notconnect"
    if "switchport mode trunk" in children:
        vlan = "trunk"
    else:
        vlan = next((c.rsplit(" ", 1)[1] for c in children if c.startswith(_ACCESS_VLAN)), "1")
    return description[:18], status, vlan


def show_interfaces_status(tree: ConfigTree) -> str:
    """``show interfaces status`` of the front-panel ports. No cable is ever plugged into a simulated
    port: a port is ``notconnect`` or, shut, ``disabled``; duplex and speed stay ``auto``. Column
    layout as in ntc-templates' cisco_ios_show_interfaces_status.raw (tests/data/real_ios/)."""
    lines = ["", "Port      Name               Status       Vlan       Duplex  Speed Type"]
    for node in tree.root.sorted_children():
        if not node.text.startswith("interface GigabitEthernet"):
            continue
        name = node.text.split(" ", 1)[1]
        description, status, vlan = _port_status(node)
        kind = "Not Present" if name.startswith("GigabitEthernet1/1/") else "10/100/1000BaseTX"
        port = short_port(name)
        lines.append(f"{port:<9} {description:<18} {status:<12} {vlan:<10} {'auto':>6} {'auto':>6} {kind}")
    return "\n".join(lines) + "\n"


def show_snmp_user(users: list[SnmpUser], name: str | None = None) -> str:
    """``show snmp user [NAME]`` in the layout of ntc-templates' cisco_ios_show_snmp_user.raw."""
    blocks = []
    for user in users:
        if name is not None and user.name != name:
            continue
        access = f" access-list: {user.access_list}" if user.access_list else ""
        blocks.append(
            f"User name: {user.name}\n"
            f"Engine ID: {_ENGINE_ID}\n"
            f"storage-type: nonvolatile        active{access}\n"
            f"Authentication Protocol: {user.auth or 'None'}\n"
            f"Privacy Protocol: {user.priv or 'None'}\n"
            f"Group-name: {user.group}\n"
        )
    return "".join(f"\n{block}" for block in blocks)


def show_version(hostname: str, uptime_seconds: int) -> str:
    minutes, hours, days = uptime_seconds // 60 % 60, uptime_seconds // 3600 % 24, uptime_seconds // 86400
    return f"""\
Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E6, RELEASE SOFTWARE (fc2)
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2022 by Cisco Systems, Inc.
Compiled Wed 12-Jan-22 09:34 by prod_rel_team
(ksm-provision switch simulator: a lab stand-in, not Cisco software)

ROM: Bootstrap program is C2960X boot loader
BOOTLDR: C2960X Boot Loader (C2960X-HBOOT-M) Version 15.2(7r)E, RELEASE SOFTWARE (fc1)

{hostname} uptime is {days} days, {hours} hours, {minutes} minutes
System returned to ROM by power-on
System image file is "flash:c2960x-universalk9-mz.152-7.E6.bin"

cisco WS-C2960X-48TS-L (APM86XXX) processor (revision D0) with 524288K bytes of memory.
Processor board ID KSMSIM00001
52 Gigabit Ethernet interfaces
The password-recovery mechanism is enabled.

512K bytes of flash-simulated non-volatile configuration memory.
Base ethernet MAC Address       : 00:00:5E:00:53:01
Model number                    : WS-C2960X-48TS-L
System serial number            : KSMSIM00001

Configuration register is 0xF
"""


def show_dir(files: list[FlashFile]) -> str:
    lines = ["Directory of flash:/", ""]
    for index, item in enumerate(files, start=2):
        stamp = item.modified.strftime("%b %d %Y %H:%M:%S +00:00")
        lines.append(f"{index:>5}  -rwx  {item.size:>10}  {stamp}  {item.name}")
    used = sum(f.size for f in files)
    lines += ["", f"{_FLASH_TOTAL} bytes total ({_FLASH_TOTAL - used} bytes free)"]
    return "\n".join(lines) + "\n"


def apply_pipe(output: str, pipe: str) -> str | None:
    """``| include|exclude|begin|section REGEX``; None when the filter is not understood."""
    verb, _, pattern = pipe.strip().partition(" ")
    pattern = pattern.strip()
    verbs = ("include", "exclude", "begin", "section")
    chosen = [v for v in verbs if verb and v.startswith(verb.lower())]
    if len(chosen) != 1 or not pattern:
        return None
    try:
        regex = re.compile(pattern)
    except re.error:
        return None
    lines = output.splitlines()
    kept: list[str]
    if chosen[0] == "include":
        kept = [line for line in lines if regex.search(line)]
    elif chosen[0] == "exclude":
        kept = [line for line in lines if not regex.search(line)]
    elif chosen[0] == "begin":
        start = next((i for i, line in enumerate(lines) if regex.search(line)), len(lines))
        kept = lines[start:]
    else:
        kept = []
        in_section = False
        for line in lines:
            if not line.startswith(" "):
                in_section = bool(regex.search(line))
            if in_section:
                kept.append(line)
    return "\n".join(kept) + ("\n" if kept else "")
