"""``ksm pull enable``: publish the authority's pull repository and put role ``pull`` on its clients.

Steps, for one authority: choose the clients (all of them the target reaches, or ``--limit``),
refuse any whose variables need the vault, publish the repository with one inventory per enrolled
client, record the enrollment (who pulls, how often, when a client counts as stale), then run role
``pull`` on those clients through ksm's usual Ansible path (host keys, lab-only guard). Each client
gets its own token in a host_vars file that lives only for the run; tokens are redacted from
every output.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from ksm_provision.errors import KsmError
from ksm_provision.inventory.hosts import Host, HostKind
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.playbook.results import PlaybookRun, RunMode
from ksm_provision.playbook.runner import RunSettings, run_playbook
from ksm_provision.pull import repo, tokens
from ksm_provision.render.ansible_inventory import dump_yaml, inventory_document
from ksm_provision.resources import build_dir
from ksm_provision.targets import Connection
from ksm_provision.vault import Redactor
from ksm_provision.workflow.records import (
    PullEnrollment,
    load_pull_enrollment,
    save_pull_enrollment,
    utc_now,
)

PLAYBOOK = """\
---
- name: Enable pull mode (ansible-pull on a systemd timer)
  hosts: all
  gather_facts: false
  roles:
    - role: pull
"""


@dataclass(frozen=True)
class PullSettings:
    server_url: str
    interval_minutes: int = 60
    random_delay_minutes: int = 30
    stale_after_hours: float = 24.0
    run_now: bool = False
    install_packages: bool = True


@dataclass(frozen=True)
class EnableResult:
    authority: str
    commit: str
    hosts: list[str]
    run: PlaybookRun


def choose_clients(
    inventory: Inventory, authority: str, reachable: Collection[str], limit: str | None
) -> list[Host]:
    """The authority's clients the target reaches (matching the glob *limit*, if given)."""
    chosen = [
        h
        for h in inventory.hosts
        if h.authority == authority
        and h.kind is HostKind.CLIENT
        and h.hostname in reachable
        and (limit is None or any(fnmatch(h.hostname, p.strip()) for p in limit.split(",")))
    ]
    if not chosen:
        raise KsmError(
            f"no client of {authority} to enable" + (f" matches --limit {limit}" if limit else ""),
            "check --authority/--limit (and for --target lab: `ksm lab status`)",
        )
    return chosen


def publish_enrolled(
    inventory: Inventory, authority: str, hosts: list[Host], settings: PullSettings, target: str, base: Path
) -> PullEnrollment:
    """Enrollment = the earlier enrolled clients that still exist + *hosts*; repository published."""
    previous = load_pull_enrollment(authority, base)
    names = {h.hostname for h in hosts} | set(previous.hosts if previous else ())
    enrolled = [h for h in inventory.hosts if h.hostname in names and h.authority == authority]
    commit = repo.publish(inventory, authority, enrolled, base)
    enrollment = PullEnrollment(
        authority=authority,
        time=utc_now(),
        target=target,
        server_url=settings.server_url,
        hosts=sorted(h.hostname for h in enrolled),
        interval_minutes=settings.interval_minutes,
        stale_after_hours=settings.stale_after_hours,
        commit=commit,
    )
    save_pull_enrollment(enrollment, base)
    return enrollment


def _pull_vars(authority: str, host: str, token: str, settings: PullSettings) -> dict[str, object]:
    return {
        "pull_server_url": settings.server_url,
        "pull_authority": authority,
        "pull_hostname": host,
        "pull_token": token,
        "pull_interval_minutes": settings.interval_minutes,
        "pull_random_delay_minutes": settings.random_delay_minutes,
        "pull_run_now": settings.run_now,
        "pull_install_packages": settings.install_packages,
    }


def apply_role(
    inventory: Inventory,
    authority: str,
    hosts: list[Host],
    connections: dict[str, Connection],
    settings: PullSettings,
    base: Path,
) -> PlaybookRun:
    """Run role ``pull`` on *hosts* with each one's token (in a host_vars file removed afterwards)."""
    key = tokens.ensure_key(authority, base)
    secrets: list[str] = []
    build = build_dir()
    build.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pull-", dir=build) as tmp:
        out = Path(tmp)
        own = {h.hostname: connections[h.hostname] for h in hosts}
        (out / "host_vars").mkdir()
        (out / "hosts.yml").write_text(dump_yaml(inventory_document(inventory, hosts, own)), encoding="utf-8")
        for host in hosts:
            token = tokens.host_token(key, host.hostname)
            secrets += [token, base64.b64encode(f"{host.hostname}:{token}".encode()).decode()]
            path = out / "host_vars" / f"{host.hostname}.yml"
            path.touch(mode=0o600)
            path.write_text(
                dump_yaml(_pull_vars(authority, host.hostname, token, settings)), encoding="utf-8"
            )
        playbook = out / "enable-pull.yml"
        playbook.write_text(PLAYBOOK, encoding="utf-8")
        return run_playbook(
            out / "hosts.yml",
            {h.hostname: authority for h in hosts},
            RunMode.APPLY,
            [],
            Redactor(secrets),
            RunSettings(),
            playbook_name=str(playbook),
            connections=own,
        )


def enable(
    inventory: Inventory,
    authority: str,
    connections: dict[str, Connection],
    settings: PullSettings,
    *,
    target: str,
    base: Path,
    limit: str | None = None,
) -> EnableResult:
    hosts = choose_clients(inventory, authority, connections, limit)
    for host in hosts:  # refuse before anything is published or touched
        repo.host_inventory(inventory, host)
    enrollment = publish_enrolled(inventory, authority, hosts, settings, target, base)
    run = apply_role(inventory, authority, hosts, connections, settings, base)
    return EnableResult(authority, enrollment.commit or "", [h.hostname for h in hosts], run)
