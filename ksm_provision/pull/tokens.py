"""Per-client credentials for the pull server: HMAC of the host name under its authority's key.

Each authority has its own random key (``pull/<authority>/token.key``, mode 0600, under the state
dir), so a client's token is worth nothing for another authority, and a key is rotated by deleting
it and running ``ksm pull enable`` again. The server keeps no table of tokens: it recomputes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from ksm_provision.fileio import write_atomic
from ksm_provision.workflow.records import pull_dir

_KEY_BYTES = 32
_CONTEXT = b"ksm-pull-token\x00"


def key_file(authority: str, base: Path | None = None) -> Path:
    return pull_dir(authority, base) / "token.key"


def read_key(authority: str, base: Path | None = None) -> bytes | None:
    try:
        key = bytes.fromhex(key_file(authority, base).read_text(encoding="ascii").strip())
    except (FileNotFoundError, ValueError):
        return None
    return key if len(key) == _KEY_BYTES else None


def ensure_key(authority: str, base: Path | None = None) -> bytes:
    """The authority's key, made on first use."""
    key = read_key(authority, base)
    if key is None:
        key = secrets.token_bytes(_KEY_BYTES)
        write_atomic(key_file(authority, base), key.hex() + "\n", mode=0o600)
    return key


def host_token(key: bytes, host: str) -> str:
    """The token of *host* under *key* (64 hex digits)."""
    return hmac.new(key, _CONTEXT + host.encode("utf-8"), hashlib.sha256).hexdigest()


def token_matches(key: bytes, host: str, token: str) -> bool:
    return hmac.compare_digest(host_token(key, host).encode(), token.encode("utf-8", "replace"))
