"""Which Ansible roles the playbooks apply to which host patterns, read from the playbooks themselves.

``playbooks/site.yml`` says, play by play, ``hosts: role_dhcp`` and which roles run there (``roles:``
or ``import_role``/``include_role`` tasks). Role dependencies in ``roles/<r>/meta/main.yml`` pass a
role's hosts on to the roles it depends on. The result maps a role name to host patterns; the change
scope turns those into hosts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

_ROLE_MODULES = {
    "import_role",
    "include_role",
    "ansible.builtin.import_role",
    "ansible.builtin.include_role",
}
_TASK_LISTS = ("pre_tasks", "tasks", "post_tasks", "handlers")
#: The playbooks name ksm's roles by FQCN (``ksm.provision.base``); roles/ holds them as ``base``.
_COLLECTION_PREFIX = "ksm.provision."
_BLOCK_LISTS = ("block", "rescue", "always")


def pattern_terms(pattern: str) -> list[str]:
    """The group or host names of an Ansible host pattern, operators dropped (a safe superset).

    >>> pattern_terms("role_fachverfahren:ksm_fachverfahren,!servers:&clients")
    ['role_fachverfahren', 'ksm_fachverfahren', 'servers', 'clients']
    """
    return [t.lstrip("!&") for t in re.split(r"[:,]", pattern) if t.strip().lstrip("!&")]


def _load(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None


def role_name(name: str) -> str:
    """The directory name below roles/ of a role as a playbook names it.

    >>> role_name("ksm.provision.dhcp"), role_name("dhcp")
    ('dhcp', 'dhcp')
    """
    return name.removeprefix(_COLLECTION_PREFIX)


def _task_roles(tasks: Any) -> Iterator[str]:
    if not isinstance(tasks, list):
        return
    for task in tasks:
        if not isinstance(task, dict):
            continue
        for key in _BLOCK_LISTS:
            yield from _task_roles(task.get(key))
        for module in _ROLE_MODULES & task.keys():
            args = task[module]
            if isinstance(args, dict) and isinstance(args.get("name"), str):
                yield role_name(args["name"])


def _play_roles(play: dict[str, Any]) -> Iterator[str]:
    for entry in play.get("roles") or []:
        if isinstance(entry, str):
            yield role_name(entry)
        elif isinstance(entry, dict):
            name = entry.get("role", entry.get("name"))
            if isinstance(name, str):
                yield role_name(name)
    for key in _TASK_LISTS:
        yield from _task_roles(play.get(key))


def _plays(path: Path, seen: set[Path]) -> Iterator[dict[str, Any]]:
    path = path.resolve()
    if path in seen:
        return
    seen.add(path)
    document = _load(path)
    if not isinstance(document, list):
        return
    for play in document:
        if not isinstance(play, dict):
            continue
        imported = play.get("import_playbook", play.get("ansible.builtin.import_playbook"))
        if isinstance(imported, str):
            yield from _plays(path.parent / imported, seen)
        else:
            yield play


def role_dependencies(roles_dir: Path, role: str) -> list[str]:
    meta = _load(roles_dir / role / "meta" / "main.yml")
    deps = meta.get("dependencies") if isinstance(meta, dict) else None
    names = []
    for dep in deps or []:
        name = dep.get("role", dep.get("name")) if isinstance(dep, dict) else dep
        if isinstance(name, str):
            names.append(role_name(name))
    return names


def role_patterns(playbook: Path, roles_dir: Path) -> dict[str, set[str]]:
    """Role name -> host patterns of the plays that run it, directly or as a dependency."""
    patterns: dict[str, set[str]] = {}
    for play in _plays(playbook, set()):
        hosts = play.get("hosts")
        pattern = ",".join(hosts) if isinstance(hosts, list) else str(hosts or "all")
        for role in _play_roles(play):
            patterns.setdefault(role, set()).add(pattern)
    pending = list(patterns)
    while pending:  # dependencies run wherever the depending role runs
        role = pending.pop()
        for dep in role_dependencies(roles_dir, role):
            before = len(patterns.get(dep, set()))
            patterns.setdefault(dep, set()).update(patterns[role])
            if len(patterns[dep]) != before:
                pending.append(dep)
    return patterns
