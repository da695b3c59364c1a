"""Data on its way to a terminal: never interpreted as rich markup, never as terminal control.

Inventory text, plan files, Ansible and device output and the error messages quoting them are
*data*. Before any of it reaches a terminal, control characters become visible escapes (an ESC
prints as ``\\x1b``, a right-to-left override as ``\\u202e``) and, where a string is parsed as rich
markup, ``[`` is escaped so that ``[/]`` or ``[link=...]`` print as themselves.

Which helper to use:

- :func:`visible` for text that goes out as it is (``click.echo``, rich with markup off);
- :func:`plain` for a value put into a rich markup string (``f"[bold]{plain(name)}[/]"``);
- :func:`text` for a rich :class:`~rich.text.Text` cell or line (never parsed as markup);
- :func:`json_safe` for JSON meant for a terminal: the same data, the dangerous characters as
  ``\\uXXXX`` escapes.
"""

from __future__ import annotations

import re

from rich.markup import escape
from rich.style import Style
from rich.text import Text

#: C0 controls except tab and newline, DEL, C1 controls, and the invisible characters that reorder
#: or split displayed text (bidi embeddings/overrides/isolates and marks, line/paragraph separators).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSAFE_OR_LINE_BREAK = re.compile(f"[\t\n{_UNSAFE.pattern[1:-1]}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(value: object, *, one_line: bool = False) -> str:
    r"""``str(value)`` with every control character shown as an escape; *one_line* also tab and newline.

    >>> visible("aa\x1b[2Jpc\x9b")
    'aa\\x1b[2Jpc\\x9b'
    >>> visible("a\tb\nc\rd")
    'a\tb\nc\\x0dd'
    >>> visible("a\nb", one_line=True)
    'a\\x0ab'
    >>> visible("Schwerin [/] \u202eevil")
    'Schwerin [/] \\u202eevil'
    """
    pattern = _UNSAFE_OR_LINE_BREAK if one_line else _UNSAFE
    return pattern.sub(_escape, str(value))


def plain(value: object) -> str:
    r"""*value* for a rich markup string: shows literally, markup escaped and control characters visible.

    >>> plain("[bold]x [/]\x1b]0;t\x07")
    '\\[bold]x \\[/]\\x1b]0;t\\x07'
    """
    return escape(visible(value))


def text(value: object, style: str | Style = "") -> Text:
    r"""A rich :class:`Text` of *value* (never parsed as markup) with control characters visible.

    >>> text("[red]x\x1b[31m").plain
    '[red]x\\x1b[31m'
    """
    return Text(visible(value), style=style)


def json_safe(document: str) -> str:
    r"""A JSON document with the unsafe characters inside its strings as ``\uXXXX``: same data when parsed.

    JSON already escapes C0 controls; DEL, C1 and the bidi characters it leaves raw.

    >>> import json
    >>> json_safe(json.dumps("\x9b\u202e", ensure_ascii=False))
    '"\\u009b\\u202e"'
    """
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", document)
