"""Keyed digests of what a plan would do, so that apply can compare secret-bearing text it never stores.

A plan file shows remediation lines and task diffs redacted (``********``). Two plans that differ
only inside a redacted value look the same, so the plan also records, per device and per changed
task, an HMAC-SHA256 of the unredacted text. The key is derived from the secrets of the node's own
authority (its vault values): someone holding the plan file but not the vault cannot test guesses
of a secret against the digest, and apply, which opens the same vault, computes the same key.

>>> key = digest_key(["s3cr3t-one", "s3cr3t-two"])
>>> keyed_digest(key, ["username admin secret A"]) == keyed_digest(key, ["username admin secret B"])
False
>>> keyed_digest(key, ["a"]) == keyed_digest(digest_key(["other"]), ["a"])
False
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable

_CONTEXT = b"ksm-plan-digest-v1\0"


def digest_key(secrets: Iterable[str]) -> bytes:
    """The key of one authority's digests, from its secret values (order and duplicates do not matter)."""
    key = hashlib.sha256(_CONTEXT)
    for value in sorted(set(secrets)):
        key.update(value.encode("utf-8") + b"\0")
    return key.digest()


def keyed_digest(key: bytes, parts: Iterable[str]) -> str:
    """HMAC-SHA256 (hex) of *parts* in order; framed, so ``["ab"]`` and ``["a", "b"]`` differ."""
    message = json.dumps(list(parts), ensure_ascii=False).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()
