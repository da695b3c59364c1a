"""Read-only ``show`` outputs rendered from the configuration tree."""

from __future__ import annotations

import re
from typing import Final

from ksm_switchsim.config_tree import ConfigTree
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


def _short_port(name: str) -> str:
    return name.replace("GigabitEthernet", "Gi", 1)


def show_vlan_brief(tree: ConfigTree) -> str:
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
            ports.setdefault(int(access), []).append(_short_port(node.text.split(" ", 1)[1]))
    lines = [
        "VLAN Name                             Status    Ports",
        "---- -------------------------------- --------- -------------------------------",
    ]
    for vlan_id in sorted(names):
        members = ports[vlan_id]
        chunks = [", ".join(members[i : i + 4]) for i in range(0, len(members), 4)] or [""]
        lines.append(f"{vlan_id:<4} {names[vlan_id]:<32} {'active':<9} {chunks[0]}".rstrip())
        lines.extend(f"{'':48}{chunk}" for chunk in chunks[1:])
    for vlan_id, name in _BUILTIN_VLANS:
        lines.append(f"{vlan_id:<4} {name:<32} act/unsup")
    return "\n".join(lines) + "\n"


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
