"""One ansible-vault id per authority: find its password file, read its secrets for redaction.

Password files are looked up, in order: ``--vault-password-file ID=FILE`` on the command line,
``$KSM_VAULT_PASSWORDS_DIR/<id>.pass``, ``~/.config/ksm/vault/<id>.pass``. Only the authorities in
scope need one, so an engineer holding only Schwerin's key can plan and apply Schwerin.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ksm_provision.errors import InventoryError, Problem, UsageError, relative_path
from ksm_provision.inventory.files import read_vault_file
from ksm_provision.inventory.inventory import Inventory


@dataclass(frozen=True)
class VaultAccess:
    authority: str
    vault_id: str
    vault_file: Path
    password_file: Path

    @property
    def cli_argument(self) -> str:
        return f"{self.vault_id}@{self.password_file}"


def _search_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("KSM_VAULT_PASSWORDS_DIR"):
        dirs.append(Path(os.environ["KSM_VAULT_PASSWORDS_DIR"]))
    dirs.append(Path.home() / ".config" / "ksm" / "vault")
    return dirs


def vault_access(inventory: Inventory, explicit: dict[str, Path] | None = None) -> list[VaultAccess]:
    """Vault access for every authority of *inventory*; a clear error for each one that is missing."""
    explicit = explicit or {}
    found: list[VaultAccess] = []
    for aid, authority in inventory.authorities.items():
        vault_file = inventory.root / authority.vault.file
        if not vault_file.exists():
            raise UsageError(
                f"vault file {vault_file} of authority '{aid}' does not exist",
                "create it with `ansible-vault create --vault-id "
                f"{authority.vault.vault_id}@prompt {vault_file}`",
            )
        password = explicit.get(aid) or next(
            (d / f"{aid}.pass" for d in _search_dirs() if (d / f"{aid}.pass").exists()), None
        )
        if password is None:
            raise UsageError(
                f"no vault password for authority '{aid}'",
                f"pass --vault-password-file {aid}=FILE or put it in $KSM_VAULT_PASSWORDS_DIR/{aid}.pass; "
                "you can only plan and apply authorities whose key you hold",
            )
        found.append(VaultAccess(aid, authority.vault.vault_id, vault_file, Path(password)))
    return found


def secret_values(accesses: list[VaultAccess]) -> list[str]:
    """Every string value in the scoped vaults: used only to redact output, never shown."""
    import yaml
    from ansible.parsing.vault import VaultLib, VaultSecret

    values: list[str] = []
    for access in accesses:
        secret = VaultSecret(access.password_file.read_bytes().strip())
        plain = VaultLib([(access.vault_id, secret)]).decrypt(read_vault_file(access.vault_file))
        refuse_templates(plain.decode("utf-8", errors="replace"), access.vault_file)
        data = yaml.safe_load(plain) or {}
        values += [str(v) for v in _leaves(data) if isinstance(v, str | int) and len(str(v)) >= 4]
    return values


_TEMPLATE_MARKS = ("{{", "{%", "{#")


def refuse_templates(plain: str, vault_file: Path) -> None:
    """Vault values are data: Ansible would evaluate ``{{ }}`` in them on the controller.

    The vault is the one file an authority writes that Ansible reads directly, so its values are
    checked here; problems name the key and line, never the value.
    """
    import yaml

    problems: list[Problem] = []

    def walk(node: yaml.Node, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, f"{path}.{key.value}" if path else str(key.value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, f"{path}.{index}")
        elif any(mark in str(node.value) for mark in _TEMPLATE_MARKS):
            problems.append(
                Problem(
                    relative_path(vault_file),
                    node.start_mark.line + 1,
                    f"the value of '{path}' contains template syntax ({{{{, {{% or {{#}}); "
                    "vault values are data, never templates",
                    "store the literal secret; Ansible would evaluate a template on the controller",
                )
            )

    try:
        root = yaml.compose(plain, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        raise InventoryError(
            [
                Problem(
                    relative_path(vault_file),
                    0,
                    "the decrypted vault is not valid YAML",
                    "fix it with ansible-vault edit",
                )
            ]
        ) from None
    if root is not None:
        walk(root, "")
    if problems:
        raise InventoryError(problems)


def _leaves(data: object) -> list[object]:
    if isinstance(data, dict):
        return [leaf for v in data.values() for leaf in _leaves(v)]
    if isinstance(data, list):
        return [leaf for v in data for leaf in _leaves(v)]
    return [data]


class Redactor:
    """Replaces known secret values in any text ksm prints or writes."""

    MASK = "********"

    def __init__(self, secrets: list[str]) -> None:
        self._secrets = sorted(set(secrets), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, self.MASK)
        return text
