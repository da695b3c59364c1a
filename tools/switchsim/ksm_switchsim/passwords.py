"""How the simulator stores passwords typed in clear text: never in clear, as IOS does.

``secret`` becomes a type 9 (scrypt) hash and ``password`` a type 7 string. The salt is derived from
the input so that replaying a saved configuration gives byte-identical output; this is a lab
stand-in, not a password store.
"""

from __future__ import annotations

import hashlib
from typing import Final

_CISCO_B64: Final = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_TYPE7_KEY: Final = b"dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"


def _cisco_b64(data: bytes) -> str:
    # IOS type 8/9 hashes use this alphabet on a plain big-endian bit stream.
    bits = int.from_bytes(data, "big")
    length = (len(data) * 8 + 5) // 6
    bits <<= length * 6 - len(data) * 8
    return "".join(_CISCO_B64[(bits >> (6 * (length - 1 - i))) & 0x3F] for i in range(length))


def type9(plain: str, context: str) -> str:
    """``$9$salt$hash`` for ``plain``; ``context`` (e.g. the user name) varies the salt."""
    salt = _cisco_b64(hashlib.sha256(f"ksm-sim:{context}:{plain}".encode()).digest())[:14]
    digest = hashlib.scrypt(plain.encode(), salt=salt.encode(), n=16384, r=1, p=1, dklen=32)
    return f"$9${salt}${_cisco_b64(digest)[:43]}"


def type7(plain: str) -> str:
    """The reversible type 7 encoding IOS uses for ``password`` with password-encryption."""
    salt = 2
    encoded = "".join(
        f"{ord(ch) ^ _TYPE7_KEY[(salt + i) % len(_TYPE7_KEY)]:02X}" for i, ch in enumerate(plain)
    )
    return f"{salt:02d}{encoded}"


def hide_clear_secret(words: list[str], keyword: str, context: str) -> list[str]:
    """Replace ``<keyword> [0] CLEAR`` by its hashed form; already hashed forms stay as typed.

    >>> hide_clear_secret(["privilege", "15", "secret", "5", "$1$x$y"], "secret", "u")
    ['privilege', '15', 'secret', '5', '$1$x$y']
    >>> hide_clear_secret(["password", "0", "cisco"], "password", "u")
    ['password', '7', '02050D480809']
    """
    if keyword not in words:
        return words
    at = words.index(keyword)
    rest = words[at + 1 :]
    if len(rest) >= 2 and rest[0] in ("5", "7", "8", "9"):
        return words
    if len(rest) >= 2 and rest[0] == "0":
        rest = rest[1:]
    if not rest:
        return words
    plain = " ".join(rest)
    hidden = ["9", type9(plain, context)] if keyword == "secret" else ["7", type7(plain)]
    return [*words[: at + 1], *hidden]
