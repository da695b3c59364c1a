"""Which rule each changed file goes to: inventory files, vaults, roles, playbooks, templates, code.

Paths are placed relative to the git work tree: the inventory directory and, when the toolkit is a
checkout inside the same repository, its roles, playbooks, templates and code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

from ksm_provision.errors import UsageError
from ksm_provision.inventory.hosts import Host
from ksm_provision.inventory.inventory import PROVIDER_FILE, Inventory
from ksm_provision.inventory.models import DeviceRole
from ksm_provision.network.gateway import TEMPLATE as GATEWAY_TEMPLATE
from ksm_provision.render.gateway_vars import GATEWAY_GROUP, ansible_host_groups
from ksm_provision.resources import playbook, project_dir, roles_dir
from ksm_provision.workflow.changes.authority_file import AuthorityFileChanges
from ksm_provision.workflow.changes.provider_file import ProviderFileChanges
from ksm_provision.workflow.changes.scope import Collector
from ksm_provision.workflow.changes.versions import FileVersion, parse_version
from ksm_provision.workflow.gitrepo import text_at
from ksm_provision.workflow.role_targets import pattern_terms, role_patterns

#: Groups the playbooks form at run time (``group_by``), as a test on a host's static groups.
DYNAMIC_GROUPS: dict[str, Callable[[list[str]], bool]] = {
    "ksm_fachverfahren": lambda groups: any(g.startswith("service_") for g in groups),
}
_STATIC_GROUP_PREFIXES = ("authority_", "site_", "os_", "role_", "profile_", "service_")


@dataclass(frozen=True)
class RepoLayout:
    """Where, relative to the git work tree's top, the inventory and the toolkit's content live."""

    inventory: PurePosixPath
    project: PurePosixPath | None

    @staticmethod
    def of(inventory: Inventory, top: Path) -> RepoLayout:
        try:
            inv = PurePosixPath(inventory.root.resolve().relative_to(top).as_posix())
        except ValueError:
            raise UsageError(
                f"the inventory '{inventory.root}' is not inside the git repository '{top}'",
                "run ksm from the repository that holds the inventory, or pass --inventory inside it",
            ) from None
        try:
            project: PurePosixPath | None = PurePosixPath(project_dir().resolve().relative_to(top).as_posix())
        except ValueError:
            project = None  # an installed toolkit: its roles and code do not change with this repository
        return RepoLayout(inv, project)

    def toolkit_part(self, path: PurePosixPath) -> PurePosixPath | None:
        if self.project is None:
            return None
        try:
            return path.relative_to(self.project)
        except ValueError:
            return None

    def inventory_part(self, path: PurePosixPath) -> PurePosixPath | None:
        try:
            return path.relative_to(self.inventory)
        except ValueError:
            return None


class FileRouter:
    """Sends each changed file to the rule that knows what depends on it."""

    def __init__(self, collector: Collector, layout: RepoLayout, top: Path, commit: str) -> None:
        self.c = collector
        self.layout = layout
        self.top = top
        self.commit = commit

    @cached_property
    def roles(self) -> dict[str, set[str]]:
        return role_patterns(playbook(), roles_dir())

    @cached_property
    def vault_files(self) -> dict[PurePosixPath, str]:
        return {PurePosixPath(a.vault.file): aid for aid, a in self.c.inventory.authorities.items()}

    def route(self, name: str) -> None:
        path = PurePosixPath(name)
        inv = self.layout.inventory_part(path)
        if inv is not None and self._inventory_file(name, inv):
            return
        part = self.layout.toolkit_part(path)
        if part is None or not part.parts:
            self.c.ignored.append(name)
        elif part.parts[0] == "ksm_provision" or part.as_posix() == "pyproject.toml":
            self.c.everything = True
            self.c.add_everything(f"{name}: toolkit code changed — everything is planned")
        elif part.parts[0] == "roles" and len(part.parts) > 2:
            self._role(name, part.parts[1])
        elif part.parts[0] == "playbooks" or part.as_posix() == "ansible.cfg":
            self.c.add_hosts(f"{name} changed — every host runs the playbooks")
        elif part.parts[0] == "templates" and len(part.parts) > 1:
            self._template(name, part)
        else:
            self.c.ignored.append(name)

    def _inventory_file(self, name: str, inv: PurePosixPath) -> bool:
        if len(inv.parts) == 1 and inv.suffix == ".yml":
            if inv.name == PROVIDER_FILE:
                old, new = self._versions(name)
                if new is None:
                    raise UsageError(
                        f"{name} is missing", "restore the provider file; every inventory needs it"
                    )
                if old is None:
                    self.c.add_everything(f"{name}: new provider file — everything is planned")
                else:
                    ProviderFileChanges(self.c, old, new).run()
                return True
            return self._authority_file(name, inv.stem)
        aid = self.vault_files.get(inv)
        if aid is not None:
            self.c.add_everything(f"{name}: vault of {aid} changed — every host and device of {aid}", [aid])
            return True
        return False

    def _authority_file(self, name: str, aid: str) -> bool:
        if aid not in self.c.inventory.authorities:
            state = "removed" if not (self.top / name).exists() else "outside the selected authorities"
            self.c.notes.append(f"{name}: authority {aid} is {state} — nothing to plan")
            return True
        old, new = self._versions(name)
        if new is None:  # pragma: no cover - the inventory was loaded from this very file
            return True
        if old is None:
            self.c.add_everything(f"{name}: new authority {aid} — every host and device", [aid])
        else:
            AuthorityFileChanges(self.c, aid, old, new).run()
        return True

    def _versions(self, name: str) -> tuple[FileVersion | None, FileVersion | None]:
        before = text_at(self.top, self.commit, name)
        path = self.top / name
        after = path.read_text(encoding="utf-8") if path.exists() else None
        return (None if before is None else parse_version(before, name)), (
            None if after is None else parse_version(after, name)
        )

    def _role(self, name: str, role: str) -> None:
        patterns = self.roles.get(role)
        if not patterns:
            self.c.notes.append(f"{name}: role {role} is not run by {playbook().name} — nothing to plan")
            return
        for pattern in sorted(patterns):
            reason = f"{name} changed — role {role} runs on hosts: {pattern}"
            terms = pattern_terms(pattern)
            if any(t in ("all", "*") for t in terms):
                self.c.add_hosts(reason)
            else:
                self.c.add_hosts(reason, self._pattern_test(terms, name))

    def _pattern_test(self, terms: list[str], name: str) -> Callable[[Host], bool]:
        inventory = self.c.inventory
        unknown = [t for t in terms if not _known_term(t) and t not in inventory.hosts_by_name]
        if unknown:
            self.c.notes.append(
                f"{name}: host pattern term(s) {', '.join(unknown)} unknown to ksm — "
                "planning every host to be safe"
            )
            return lambda _host: True
        wanted = set(terms)

        def test(host: Host) -> bool:
            if host.hostname in wanted:
                return True
            groups = ansible_host_groups(inventory, host)
            if not wanted.isdisjoint(groups):
                return True
            return any(DYNAMIC_GROUPS[t](groups) for t in wanted if t in DYNAMIC_GROUPS)

        return test

    def _template(self, name: str, part: PurePosixPath) -> None:
        if part.relative_to("templates").as_posix() == GATEWAY_TEMPLATE:
            self.c.add_gateways(f"{name} changed — packet filter of every router's Linux side")
            return
        if len(part.parts) < 3:
            self.c.add_devices(f"{name} changed — shared by the templates of every platform")
            return
        platform, stem = part.parts[1], PurePosixPath(part.parts[-1]).stem
        roles = {r.value for r in DeviceRole}
        if len(part.parts) == 3 and part.suffix == ".j2" and stem in roles:
            self.c.add_devices(
                f"{name} changed — template of {platform} {stem}s",
                lambda d: d.platform.value == platform and d.role.value == stem,
            )
        else:
            self.c.add_devices(
                f"{name} changed — used by the {platform} templates", lambda d: d.platform.value == platform
            )


def _known_term(term: str) -> bool:
    return (
        term in ("all", "*", "clients", "servers", GATEWAY_GROUP)
        or term in DYNAMIC_GROUPS
        or term.startswith(_STATIC_GROUP_PREFIXES)
    )
