"""One ansible-vault per authority: find its password, decrypt it once, redact its values everywhere.

Both stages that need secrets use this module: the hosts path (every vault value is redacted from
Ansible's output; a value holding template syntax is refused before Ansible starts) and the devices
path (device logins, SNMPv3 keys, redaction of configs). There is one decryptor
(:func:`read_vault`) and one error mapping: a missing vault file or password file, an unreadable
password file, a wrong password and a vault that is not a YAML mapping all end as
:class:`VaultError`, naming the authority and how to fix it.

Password files are looked up, in order: ``--vault-password-file ID=FILE`` on the command line,
``$KSM_VAULT_PASSWORDS_DIR/<id>.pass``, ``~/.config/ksm/vault/<id>.pass``. Only the authorities in
scope need one, so an engineer holding only Schwerin's key can plan and apply Schwerin. Secret
values live in memory only and are replaced by ``********`` in everything ksm prints or writes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ksm_provision.errors import InventoryError, Problem, UsageError, relative_path
from ksm_provision.inventory.files import read_vault_file
from ksm_provision.inventory.inventory import Inventory
from ksm_provision.inventory.models import NetworkSettings

#: Shortest vault value that is redacted (shorter ones would mask ordinary words).
MIN_REDACTED = 4
_MIN_SNMP_KEY = 8
_TEMPLATE_MARKS = ("{{", "{%", "{#")


class VaultError(UsageError):
    """An authority's vault cannot be opened or does not hold what is needed; names the authority."""


@dataclass(frozen=True)
class VaultAccess:
    authority: str
    vault_id: str
    vault_file: Path
    password_file: Path

    @property
    def cli_argument(self) -> str:
        return f"{self.vault_id}@{self.password_file}"

    @property
    def edit_hint(self) -> str:
        return f"`ansible-vault edit --vault-id {self.vault_id}@prompt {relative_path(self.vault_file)}`"


# --------------------------------------------------------------------------- finding the password


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
            raise VaultError(
                f"vault file {relative_path(vault_file)} of authority '{aid}' does not exist",
                "create it with `ansible-vault create --vault-id "
                f"{authority.vault.vault_id}@prompt {relative_path(vault_file)}`",
            )
        password = explicit.get(aid) or next(
            (d / f"{aid}.pass" for d in _search_dirs() if (d / f"{aid}.pass").exists()), None
        )
        if password is None:
            raise VaultError(
                f"no vault password for authority '{aid}'",
                f"pass --vault-password-file {aid}=FILE or put it in $KSM_VAULT_PASSWORDS_DIR/{aid}.pass; "
                "you can only plan and apply authorities whose key you hold",
            )
        found.append(VaultAccess(aid, authority.vault.vault_id, vault_file, Path(password)))
    return found


# --------------------------------------------------------------------------- the one decryptor


def _decrypt(access: VaultAccess) -> str:
    """The plain text of the vault of *access*; every failure is a :class:`VaultError`."""
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import VaultLib, VaultSecret

    who = f"authority '{access.authority}'"
    try:
        password = access.password_file.read_bytes().strip()
    except OSError as exc:
        raise VaultError(
            f"cannot read the vault password file {access.password_file} of {who} "
            f"({exc.strerror or type(exc).__name__})",
            f"check the file, or pass --vault-password-file {access.authority}=FILE",
        ) from None
    if not password:
        raise VaultError(
            f"the vault password file {access.password_file} of {who} is empty",
            f"put the password of vault id '{access.vault_id}' in it",
        )
    encrypted = read_vault_file(access.vault_file)  # refuses links and special files, names the file
    try:
        plain: bytes = VaultLib([(access.vault_id, VaultSecret(password))]).decrypt(encrypted)
    except AnsibleError:
        raise VaultError(
            f"cannot decrypt the vault {relative_path(access.vault_file)} of {who}: wrong password, or "
            f"not a vault of id '{access.vault_id}'",
            f"check the password file {access.password_file} (vault id '{access.vault_id}')",
        ) from None
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise VaultError(
            f"the decrypted vault {relative_path(access.vault_file)} of {who} is not UTF-8 text",
            f"fix it with {access.edit_hint}",
        ) from None


def refuse_templates(plain: str, vault_file: Path, authority: str = "") -> None:
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
        owner = f" of authority '{authority}'" if authority else ""
        raise VaultError(
            f"the decrypted vault {relative_path(vault_file)}{owner} is not valid YAML",
            "fix it with `ansible-vault edit`; a vault holds `name: value` pairs, e.g. `snmp_auth: ...`",
        ) from None
    if root is not None:
        walk(root, "")
    if problems:
        raise InventoryError(problems)


def read_vault(access: VaultAccess) -> dict[str, Any]:
    """Decrypt one authority's vault into a mapping (kept in memory only), refusing template syntax."""
    import yaml

    plain = _decrypt(access)
    refuse_templates(plain, access.vault_file, access.authority)
    data = yaml.safe_load(plain) or {}
    if not isinstance(data, dict):
        raise VaultError(
            f"the vault {relative_path(access.vault_file)} of authority '{access.authority}' "
            "is not a mapping",
            f"a vault holds `name: value` pairs, e.g. `snmp_auth: ...`; fix it with {access.edit_hint}",
        )
    return data


def _leaves(data: object) -> list[str]:
    if isinstance(data, dict):
        return [leaf for value in data.values() for leaf in _leaves(value)]
    if isinstance(data, list):
        return [leaf for value in data for leaf in _leaves(value)]
    if isinstance(data, str | int) and not isinstance(data, bool):
        return [str(data)]
    return []


def redactable(vault: dict[str, Any]) -> list[str]:
    """The values of a decrypted vault that output must never show (long enough to be secrets)."""
    return [value for value in _leaves(vault) if len(value) >= MIN_REDACTED]


def secret_values(accesses: Iterable[VaultAccess]) -> list[str]:
    """Every string value in the scoped vaults: used only to redact output, never shown."""
    return [value for access in accesses for value in redactable(read_vault(access))]


# --------------------------------------------------------------------------- redaction


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


MASK = Redactor.MASK


# --------------------------------------------------------------------------- device secrets


@dataclass(frozen=True)
class NetworkSecrets:
    """The secrets device templates and sessions need, for one authority. Never printed."""

    authority: str
    snmp_auth: str = field(repr=False)
    snmp_priv: str = field(repr=False)
    password: str = field(repr=False)
    enable_secret: str = field(repr=False)
    #: Every value of the vault (at least 4 characters), for redaction only.
    vault_values: tuple[str, ...] = field(repr=False, default=())

    @classmethod
    def placeholder(cls, authority: str) -> NetworkSecrets:
        """Masks instead of secrets: for rendering configs to review without any vault key."""
        return cls(authority, MASK, MASK, MASK, MASK)

    def values(self) -> list[str]:
        """What must never appear in output: the secrets used and every other value of the vault."""
        return [self.snmp_auth, self.snmp_priv, self.password, self.enable_secret, *self.vault_values]


def _lookup(vault: dict[str, Any], ref: str, access: VaultAccess, what: str) -> str:
    key = ref.removeprefix("vault:")
    if key not in vault:
        raise VaultError(
            f"the vault of authority '{access.authority}' has no '{key}' (referenced as {what}: {ref})",
            f"add it with {access.edit_hint}",
        )
    value = str(vault[key])
    if not value or any(c.isspace() or not c.isprintable() for c in value):
        raise VaultError(
            f"the vault value '{key}' of authority '{access.authority}' must be one word of printable "
            "characters without spaces",
            "device CLIs take it as a single token; choose a value like 'Xk3-9fQ...'",
        )
    return value


def network_secrets(settings: NetworkSettings, access: VaultAccess) -> NetworkSecrets:
    """Resolve the vault references of *settings* in the vault of *access* (its authority only)."""
    vault = read_vault(access)
    secrets = NetworkSecrets(
        authority=access.authority,
        snmp_auth=_lookup(vault, settings.snmp_auth, access, "snmp_auth"),
        snmp_priv=_lookup(vault, settings.snmp_priv, access, "snmp_priv"),
        password=_lookup(vault, settings.password, access, "password"),
        enable_secret=_lookup(vault, settings.enable_secret, access, "enable_secret"),
        vault_values=tuple(redactable(vault)),
    )
    for name, value in (("snmp_auth", secrets.snmp_auth), ("snmp_priv", secrets.snmp_priv)):
        if len(value) < _MIN_SNMP_KEY:
            raise VaultError(
                f"the SNMPv3 key {name} of authority '{access.authority}' is shorter than {_MIN_SNMP_KEY} "
                "characters",
                f"SNMPv3 needs keys of at least 8 characters; change it with {access.edit_hint}",
            )
    return secrets
