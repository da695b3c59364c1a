"""The authorities' vaults: each vault file exists, and holds every key the inventory refers to.

Two checks of different cost:

- :func:`missing_vault_files` needs no password: it looks whether each authority's ``vault.file``
  exists below the inventory directory. It is one of the checks of
  :func:`~ksm_provision.validate.validate_inventory`, so every command that loads the inventory
  (render, plan, apply, the Ansible inventory plugin) refuses a missing vault the same way.
- :func:`check_vault_references` decrypts the vault of every authority whose password is available
  (found as plan and apply find it, see :func:`ksm_provision.vault.vault_access`) and reports each
  ``vault:KEY`` reference of that authority that is not a top-level key of its vault: the four
  secrets of ``network_settings`` and the ``db_password`` of the shared services it hosts. Only
  ``ksm validate`` runs it, once the inventory itself is valid; an authority without a password is
  reported as not checked, never as a failure. Problems name keys, never values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ksm_provision.errors import Problem, relative_path
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.source import Loc, SourceMap
from ksm_provision.validate.authority_rules import owns_vault_file
from ksm_provision.vault import VaultAccess, VaultError, read_vault, vault_access

__all__ = [
    "NETWORK_SECRETS",
    "ReferenceCheck",
    "VaultReference",
    "VaultReferences",
    "authority_references",
    "check_vault_references",
    "missing_vault_files",
]

#: The fields of ``network_settings`` that are vault references.
NETWORK_SECRETS = ("password", "enable_secret", "snmp_auth", "snmp_priv")


# --------------------------------------------------------------------------- the vault file exists


def _exists(path: Path) -> bool:
    """Whether *path* is there, without following a link in its last component (like the reader).

    A link, a FIFO or a directory exists: the reader refuses it with its own message when the
    vault is opened. Only "not there" counts here.
    """
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True  # e.g. no permission to look: opening it says why
    return True


def missing_vault_files(inventory: Inventory) -> list[Problem]:
    """A problem at ``vault: file:`` of every authority whose vault file does not exist.

    A file that is not the authority's own is reported by the ``vault_file`` rule instead: fixing
    that changes the path anyway.
    """
    problems: list[Problem] = []
    for aid, authority in inventory.authorities.items():
        vault = authority.vault
        path = inventory.root / vault.file
        if not owns_vault_file(aid, vault.file) or _exists(path):
            continue
        source = inventory.sources[aid]
        keys = ", ".join(dict.fromkeys(ref.key for ref in authority_references(inventory, aid)))
        problems.append(
            Problem(
                source.file,
                source.line_of(("vault", "file")),
                f"vault file '{vault.file}' of authority '{aid}' does not exist",
                f"create it with `ansible-vault create --vault-id {vault.vault_id}@prompt "
                f"{relative_path(path)}`, with the keys {keys}",
            )
        )
    return problems


# --------------------------------------------------------------------------- the references resolve


@dataclass(frozen=True)
class VaultReference:
    """One ``vault:KEY`` of an authority, where it is written."""

    key: str
    file: str
    line: int


class ReferenceCheck(StrEnum):
    """What became of an authority's vault references (as ``ksm validate --json`` shows it)."""

    CHECKED = "checked"
    NO_PASSWORD = "not checked: no vault password"


@dataclass(frozen=True)
class VaultReferences:
    """The outcome of :func:`check_vault_references`: per authority checked or not, and the problems."""

    status: dict[str, ReferenceCheck]
    problems: list[Problem]

    @property
    def unchecked(self) -> list[str]:
        """The authorities whose references were not checked (no vault password)."""
        return [aid for aid, status in self.status.items() if status is ReferenceCheck.NO_PASSWORD]


def _reference(source: SourceMap, loc: Loc, ref: str) -> VaultReference:
    return VaultReference(ref.removeprefix("vault:"), source.file, source.line_of(loc))


def authority_references(inventory: Inventory, aid: str) -> list[VaultReference]:
    """Every vault reference that must resolve in *aid*'s vault: its network secrets and the
    ``db_password`` of every shared service it hosts (in ksm.yml)."""
    source = inventory.sources[aid]
    settings = inventory.authorities[aid].network_settings
    found = [
        _reference(source, ("network_settings", name), getattr(settings, name)) for name in NETWORK_SECRETS
    ]
    found += [
        _reference(inventory.provider_source, ("shared_services", i, "db_password"), service.db_password)
        for i, service in enumerate(inventory.provider.shared_services)
        if service.hosted_by.authority == aid and service.db_password is not None
    ]
    return found


def _password_access(inventory: Inventory, aid: str, explicit: dict[str, Path]) -> VaultAccess | None:
    """The vault access of *aid*, or None when no password file is found for it.

    :func:`~ksm_provision.vault.vault_access` is the one place that looks for passwords; it raises
    for a missing vault file or a missing password. A missing vault file stays an error.
    """
    try:
        (access,) = vault_access(inventory.select([aid]), explicit)
    except VaultError:
        if not _exists(inventory.root / inventory.authorities[aid].vault.file):
            raise
        return None
    return access


def _unresolved(references: list[VaultReference], keys: set[str], access: VaultAccess) -> list[Problem]:
    vault = relative_path(access.vault_file)
    return [
        Problem(
            ref.file,
            ref.line,
            f"vault key '{ref.key}' referenced here does not exist in {vault}",
            f"add it with {access.edit_hint}",
        )
        for ref in references
        if ref.key not in keys
    ]


def check_vault_references(inventory: Inventory, explicit: dict[str, Path] | None = None) -> VaultReferences:
    """Decrypt the vault of every authority of *inventory* whose password is available and report
    each of its references that has no top-level key there.

    *explicit* maps authority ids to password files (``--vault-password-file ID=FILE``). A wrong
    password or an unreadable vault is a :class:`~ksm_provision.vault.VaultError`, as at plan time.
    Run it on a valid inventory: the vault files must exist.
    """
    status: dict[str, ReferenceCheck] = {}
    problems: list[Problem] = []
    for aid in inventory.authorities:
        access = _password_access(inventory, aid, explicit or {})
        if access is None:
            status[aid] = ReferenceCheck.NO_PASSWORD
            continue
        keys = {str(key) for key in read_vault(access)}
        problems += _unresolved(authority_references(inventory, aid), keys, access)
        status[aid] = ReferenceCheck.CHECKED
    return VaultReferences(status, sorted(set(problems)))
