"""Network secrets from one authority's vault, and scrubbing of secrets from device configs.

Only the vault of the device's own authority is ever decrypted for it. Secret values live in memory
only: rendered into intended configs and commands, and replaced by ``********`` (the Redactor's
mask) in everything ksm prints or writes. Device configs are scrubbed twice: known vault values by
:class:`~ksm_provision.playbook.vault.Redactor`, and by pattern (:func:`scrub_config`) for secrets
the vault does not know, e.g. an old SNMP key still on a device or a hashed local password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ksm_provision.errors import UsageError
from ksm_provision.inventory.files import read_vault_file
from ksm_provision.inventory.models import NetworkSettings
from ksm_provision.playbook.vault import Redactor, VaultAccess

MASK = Redactor.MASK
_MIN_SNMP_KEY = 8


def read_vault(access: VaultAccess) -> dict[str, Any]:
    """Decrypt one authority's vault file into a mapping (kept in memory only)."""
    import yaml
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import VaultLib, VaultSecret

    try:
        secret = VaultSecret(access.password_file.read_bytes().strip())
        plain = VaultLib([(access.vault_id, secret)]).decrypt(read_vault_file(access.vault_file))
    except (OSError, AnsibleError) as exc:
        raise UsageError(
            f"cannot decrypt the vault {access.vault_file} of authority '{access.authority}' "
            f"({type(exc).__name__})",
            f"check the password file {access.password_file} (vault id '{access.vault_id}')",
        ) from None
    data = yaml.safe_load(plain) or {}
    if not isinstance(data, dict):
        raise UsageError(
            f"the vault {access.vault_file} of authority '{access.authority}' is not a mapping",
            "a vault holds `name: value` pairs, e.g. `snmp_auth: ...`",
        )
    return data


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
        raise UsageError(
            f"the vault of authority '{access.authority}' has no '{key}' (referenced as {what}: {ref})",
            f"add it with `ansible-vault edit --vault-id {access.vault_id}@prompt {access.vault_file}`",
        )
    value = str(vault[key])
    if not value or any(c.isspace() or not c.isprintable() for c in value):
        raise UsageError(
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
        vault_values=tuple(v for v in _leaves(vault) if len(v) >= 4),
    )
    for name, value in (("snmp_auth", secrets.snmp_auth), ("snmp_priv", secrets.snmp_priv)):
        if len(value) < _MIN_SNMP_KEY:
            raise UsageError(
                f"the SNMPv3 key {name} of authority '{access.authority}' is shorter than {_MIN_SNMP_KEY} "
                "characters",
                "SNMPv3 needs keys of at least 8 characters",
            )
    return secrets


def _leaves(data: object) -> list[str]:
    if isinstance(data, dict):
        return [leaf for value in data.values() for leaf in _leaves(value)]
    if isinstance(data, list):
        return [leaf for value in data for leaf in _leaves(value)]
    if isinstance(data, str | int) and not isinstance(data, bool):
        return [str(data)]
    return []


# Secrets in device configuration lines, whatever their value: (pattern, replacement).
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # snmp-server user NAME GROUP v3 auth sha KEY priv aes 128 KEY
    (re.compile(r"^(\s*snmp-server user \S+ \S+ v3 auth \S+ )\S+"), rf"\g<1>{MASK}"),
    (re.compile(r"^(\s*snmp-server user .* priv (?:aes \d+|3des|des|aes) )\S+"), rf"\g<1>{MASK}"),
    (re.compile(r"^(\s*snmp-server community )\S+"), rf"\g<1>{MASK}"),
    # username NAME [privilege N] secret|password [TYPE] VALUE; enable secret|password [TYPE] VALUE
    (re.compile(r"^(\s*(?:username \S+ .*?|enable )(?:secret|password) (?:\d+ )?)\S+"), rf"\g<1>{MASK}"),
    # line password, FRR "password"/"enable password", BGP neighbour passwords, OSPF keys
    (re.compile(r"^(\s*(?:enable )?password (?:\d+ )?)\S+"), rf"\g<1>{MASK}"),
    (re.compile(r"^(\s*neighbor \S+ password )\S+"), rf"\g<1>{MASK}"),
    (re.compile(r"^(\s*ip ospf (?:authentication-key|message-digest-key \d+ md5) )\S+"), rf"\g<1>{MASK}"),
    (re.compile(r"^(\s*(?:tacacs-server|radius-server) (?:host \S+ )?key (?:\d+ )?)\S+"), rf"\g<1>{MASK}"),
    (re.compile(r"^(\s*key-string (?:\d+ )?)\S+"), rf"\g<1>{MASK}"),
)


def scrub_config(text: str) -> str:
    """Replace every secret-bearing token of a device config by the mask, line by line.

    >>> scrub_config("snmp-server user mon MON v3 auth sha s3cr3t-1 priv aes 128 s3cr3t-2")
    'snmp-server user mon MON v3 auth sha ******** priv aes 128 ********'
    >>> scrub_config("username admin privilege 15 secret 9 $9$abc\\nhostname sw1")
    'username admin privilege 15 secret 9 ********\\nhostname sw1'
    """
    lines = text.split("\n")
    for index, line in enumerate(lines):
        for pattern, replacement in _SECRET_PATTERNS:
            line = pattern.sub(replacement, line)
        lines[index] = line
    return "\n".join(lines)


class ConfigRedactor:
    """Known vault values (of every vault in scope) and secret patterns, applied together."""

    def __init__(self, secrets: list[str]) -> None:
        self._redact = Redactor(secrets)

    def __call__(self, text: str) -> str:
        return scrub_config(self._redact(text))

    def lines(self, lines: list[str] | tuple[str, ...]) -> tuple[str, ...]:
        return tuple(self(line) for line in lines)
