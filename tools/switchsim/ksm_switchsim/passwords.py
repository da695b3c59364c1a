"""How the simulator stores passwords typed in clear text: never in clear, as IOS does.

What IOS 15.x shows for a clear-text value (see tests/data/real_ios/README.md for the captures):

- ``enable secret X`` / ``username U secret X``: ``secret 5 $1$salt$hash`` (MD5-crypt, the IOS 15
  default); with ``algorithm-type scrypt`` ``secret 9 $9$...``, with ``algorithm-type sha256``
  ``secret 8 $8$...``; the ``algorithm-type`` words are not shown.
- ``username U password X`` and a line's ``password X``: shown in clear (``password 0 X`` for a
  user, ``password X`` on a line) unless ``service password-encryption`` is on; then as type 7.
  Turning the service on encrypts what is already there; turning it off decrypts nothing.

Salts are derived from the input so that replaying a saved configuration gives byte-identical
output; this is a lab stand-in, not a password store.
"""

from __future__ import annotations

import hashlib
from typing import Final

_CISCO_B64: Final = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_TYPE7_KEY: Final = b"dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"
#: ``algorithm-type`` word -> IOS secret type.
ALGORITHM_TYPES: Final = {"md5": "5", "sha256": "8", "scrypt": "9"}


def _cisco_b64(data: bytes) -> str:
    # IOS type 8/9 hashes use this alphabet on a plain big-endian bit stream.
    bits = int.from_bytes(data, "big")
    length = (len(data) * 8 + 5) // 6
    bits <<= length * 6 - len(data) * 8
    return "".join(_CISCO_B64[(bits >> (6 * (length - 1 - i))) & 0x3F] for i in range(length))


def _salt(plain: str, context: str, length: int) -> str:
    return _cisco_b64(hashlib.sha256(f"ksm-sim:{context}:{plain}".encode()).digest())[:length]


def type9(plain: str, context: str) -> str:
    """``$9$salt$hash`` for ``plain``; ``context`` (e.g. the user name) varies the salt."""
    salt = _salt(plain, context, 14)
    digest = hashlib.scrypt(plain.encode(), salt=salt.encode(), n=16384, r=1, p=1, dklen=32)
    return f"$9${salt}${_cisco_b64(digest)[:43]}"


def type8(plain: str, context: str) -> str:
    """``$8$salt$hash`` (PBKDF2-SHA256, 20000 rounds) for ``plain``."""
    salt = _salt(plain, context, 14)
    digest = hashlib.pbkdf2_hmac("sha256", plain.encode(), salt.encode(), 20000, dklen=32)
    return f"$8${salt}${_cisco_b64(digest)[:43]}"


def _md5crypt_b64(value: int, count: int) -> str:
    out = ""
    for _ in range(count):
        out += _CISCO_B64[value & 0x3F]
        value >>= 6
    return out


def type5(plain: str, context: str) -> str:
    """``$1$salt$hash``: the MD5-crypt IOS 15 uses for ``secret`` (4-character salt)."""
    salt, password = _salt(plain, context, 4).encode(), plain.encode()
    alternate = hashlib.md5(password + salt + password).digest()
    ctx = hashlib.md5(password + b"$1$" + salt)
    for i in range(len(password)):
        ctx.update(alternate[i % 16 : i % 16 + 1])
    length = len(password)
    while length:
        ctx.update(b"\x00" if length & 1 else password[:1])
        length >>= 1
    final = ctx.digest()
    for i in range(1000):
        step = hashlib.md5(
            (password if i & 1 else final) + (salt if i % 3 else b"") + (password if i % 7 else b"")
        )
        step.update(final if i & 1 else password)
        final = step.digest()
    groups = ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5))
    text = "".join(_md5crypt_b64((final[a] << 16) | (final[b] << 8) | final[c], 4) for a, b, c in groups)
    text += _md5crypt_b64(final[11], 2)
    return f"$1${salt.decode()}${text}"


def type7(plain: str) -> str:
    """The reversible type 7 encoding IOS uses for ``password`` with password-encryption."""
    salt = 2
    encoded = "".join(
        f"{ord(ch) ^ _TYPE7_KEY[(salt + i) % len(_TYPE7_KEY)]:02X}" for i, ch in enumerate(plain)
    )
    return f"{salt:02d}{encoded}"


def _split_algorithm(words: list[str]) -> tuple[list[str], str]:
    if "algorithm-type" in words:
        at = words.index("algorithm-type")
        if at + 1 < len(words) and words[at + 1] in ALGORITHM_TYPES:
            return [*words[:at], *words[at + 2 :]], ALGORITHM_TYPES[words[at + 1]]
    return words, "5"


def hash_secret(words: list[str], context: str) -> list[str]:
    """``... secret [0] CLEAR`` -> ``... secret 5 $1$...`` (or 8/9 with ``algorithm-type``).

    >>> hash_secret(["privilege", "15", "secret", "5", "$1$x$y"], "u")
    ['privilege', '15', 'secret', '5', '$1$x$y']
    >>> hash_secret(["algorithm-type", "scrypt", "secret", "pw"], "u")[:2]
    ['secret', '9']
    """
    words, kind = _split_algorithm(words)
    if "secret" not in words:
        return words
    at = words.index("secret")
    rest = words[at + 1 :]
    if len(rest) >= 2 and rest[0] in ("4", "5", "8", "9"):
        return words
    if len(rest) >= 2 and rest[0] == "0":
        rest = rest[1:]
    if not rest:
        return words
    plain = " ".join(rest)
    hashed = {"5": type5, "8": type8, "9": type9}[kind](plain, context)
    return [*words[: at + 1], kind, hashed]


def show_password(words: list[str], *, encrypt: bool, explicit_zero: bool) -> list[str]:
    """``... password [0|7] VALUE`` as IOS shows it: type 7 with ``service password-encryption``,
    else in clear (``password 0 X`` where IOS writes the 0: user names, not lines).

    >>> show_password(["password", "cisco"], encrypt=False, explicit_zero=True)
    ['password', '0', 'cisco']
    >>> show_password(["password", "0", "cisco"], encrypt=True, explicit_zero=False)
    ['password', '7', '02050D480809']
    """
    if "password" not in words:
        return words
    at = words.index("password")
    rest = words[at + 1 :]
    if len(rest) >= 2 and rest[0] == "7":
        return words
    if len(rest) >= 2 and rest[0] == "0":
        rest = rest[1:]
    if not rest:
        return words
    plain = " ".join(rest)
    if encrypt:
        return [*words[: at + 1], "7", type7(plain)]
    return [*words[: at + 1], *(["0"] if explicit_zero else []), plain]


def secrets_digest(*values: str) -> str:
    """A digest standing in for the localized keys IOS derives from SNMP secrets."""
    return hashlib.sha256("\0".join(values).encode()).hexdigest()[:16]
