"""Scrubbing of secrets from device configs (the vault itself is :mod:`ksm_provision.vault`).

Device configs are scrubbed twice: known vault values by :class:`~ksm_provision.vault.Redactor`,
and by pattern (:func:`scrub_config`) for secrets the vault does not know, e.g. an old SNMP key
still on a device or a hashed local password.
"""

from __future__ import annotations

import re

from ksm_provision.vault import MASK, Redactor

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
