"""Charts as inline SVG, drawn by small pure functions (no JavaScript, no external resources).

Every text and attribute value is HTML-escaped here, so the returned markup is safe to embed as is.
Sizes are in SVG user units; each chart carries a ``viewBox`` and scales with CSS. Labels are never
cut: a label too long for its column wraps onto further lines and its row grows.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

FONT = "font-family=\"'Segoe UI','DejaVu Sans','Liberation Sans',Arial,sans-serif\""
PRIMARY = "#1f4e79"
FREE = "#e6eaf0"
TEXT = "#1c2733"
MUTED = "#5b6b7c"
OK = "#2e7d32"
WARN = "#e0a100"
CRITICAL = "#c62828"
PALETTE = ("#1f4e79", "#2e86ab", "#6aa84f", "#e0a100", "#8e6c8a", "#c0504d", "#4bacc6", "#7f7f7f")

_CHAR_WIDTH = 6.8  # average glyph width at 12.5px, for layout estimates
_LINE_HEIGHT = 15.0  # between the lines of a wrapped label
_NO_DATA = "keine Daten"


@dataclass(frozen=True)
class Bar:
    """One bar: a label, its value, the text shown next to it, and a colour."""

    label: str
    value: float
    display: str = ""
    color: str = PRIMARY


@dataclass(frozen=True)
class Segment:
    """One part of a stacked bar."""

    label: str
    value: float
    color: str
    display: str = ""


def attr(value: str | float) -> str:
    """An attribute value, escaped; numbers without needless decimals.

    >>> attr(12.0), attr(3.14159), attr('a"b')
    ('12', '3.14', 'a&quot;b')
    """
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return escape(str(value), quote=True)


def wrap(text: str, max_chars: int) -> list[str]:
    """*text* in lines of at most *max_chars*, broken at spaces and hyphens; nothing is left out.

    >>> wrap("Landkreis Ludwigslust-Parchim", 16), wrap("Rathaus", 16)
    (['Landkreis', 'Ludwigslust-', 'Parchim'], ['Rathaus'])
    >>> "".join(wrap("lup-pch-verwaltungsarbeitsplatz0001", 12)) == "lup-pch-verwaltungsarbeitsplatz0001"
    True
    """
    lines = textwrap.wrap(text, max(max_chars, 1), break_long_words=True, break_on_hyphens=True)
    return lines or [text]


def text_width(text: str) -> float:
    """Estimated rendered width of *text* in user units (no font metrics offline).

    >>> text_width("abcd")
    27.2
    """
    return round(len(text) * _CHAR_WIDTH, 2)


def usage_color(fraction: float) -> str:
    """Traffic-light colour of a usage: green below 70 %, amber below 90 %, red above.

    >>> usage_color(0.2) == OK, usage_color(0.8) == WARN, usage_color(0.95) == CRITICAL
    (True, True, True)
    """
    if fraction >= 0.9:
        return CRITICAL
    return WARN if fraction >= 0.7 else OK


def _svg(width: float, height: float, title: str, body: str) -> str:
    return (
        f'<svg class="chart" role="img" width="{attr(width)}" '
        f'height="{attr(height)}" viewBox="0 0 {attr(width)} {attr(height)}" aria-label="{attr(title)}">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "start",
    color: str = TEXT,
    size: float = 12.5,
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{attr(x)}" y="{attr(y)}" text-anchor="{anchor}" fill="{color}" font-size="{attr(size)}" '
        f'font-weight="{weight}" {FONT}>{escape(content)}</text>'
    )


def _lines(x: float, y: float, lines: Sequence[str], *, anchor: str = "start") -> str:
    """Several lines of text, the first with its baseline at *y*."""
    spans = "".join(
        f'<tspan x="{attr(x)}" dy="{attr(0.0 if i == 0 else _LINE_HEIGHT)}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return (
        f'<text x="{attr(x)}" y="{attr(y)}" text-anchor="{anchor}" fill="{TEXT}" font-size="12.5" '
        f'font-weight="normal" {FONT}>{spans}</text>'
    )


def no_data(title: str, width: float = 360, height: float = 40) -> str:
    """A placeholder saying "keine Daten"."""
    return _svg(width, height, title, _text(8, height / 2 + 4, _NO_DATA, color=MUTED))


def bar_chart(
    bars: Sequence[Bar], *, title: str, width: float = 520, row_height: float = 26, label_width: float = 190
) -> str:
    """A horizontal bar chart, one row per bar, values written after the bars.

    A label longer than *label_width* wraps onto further lines (its row grows); none is cut.
    """
    if not bars:
        return no_data(title, width)
    value_width = max(text_width(b.display or f"{b.value:g}") for b in bars) + 12
    track = max(width - label_width - value_width, 20)
    peak = max(b.value for b in bars) or 1
    max_chars = int((label_width - 10) / _CHAR_WIDTH)
    rows = []
    y = 0.0
    for bar in bars:
        lines = wrap(bar.label, max_chars)
        length = track * bar.value / peak
        if bar.value > 0:
            length = max(length, 2)
        rows.append(
            f"<g><title>{escape(bar.label)}: {escape(bar.display or f'{bar.value:g}')}</title>"
            + _lines(label_width - 10, y + row_height / 2 + 4, lines, anchor="end")
            + f'<rect x="{attr(label_width)}" y="{attr(y + 5)}" width="{attr(track)}" '
            f'height="{attr(row_height - 10)}" rx="3" fill="{FREE}"/>'
            + f'<rect x="{attr(label_width)}" y="{attr(y + 5)}" width="{attr(float(length))}" '
            f'height="{attr(row_height - 10)}" rx="3" fill="{attr(bar.color)}"/>'
            + _text(
                label_width + length + 6,
                y + row_height / 2 + 4,
                bar.display or f"{bar.value:g}",
                weight="600",
            )
            + "</g>"
        )
        y += row_height + (len(lines) - 1) * _LINE_HEIGHT
    return _svg(width, y, title, "".join(rows))


def _legend(segments: Sequence[Segment], width: float, top: float) -> tuple[str, float]:
    """Legend items laid out left to right, wrapping; returns the markup and its height."""
    x, y, line = 0.0, top, 20.0
    items = []
    for seg in segments:
        caption = f"{seg.label}: {seg.display}" if seg.display else seg.label
        item_width = 18 + text_width(caption) + 18
        if x > 0 and x + item_width > width:
            x, y = 0.0, y + line
        items.append(
            f'<rect x="{attr(x)}" y="{attr(y + 2)}" width="12" height="12" rx="2" fill="{attr(seg.color)}"/>'
            + _text(x + 18, y + 12.5, caption, color=TEXT, size=12)
        )
        x += item_width
    return "".join(items), y - top + line


def stacked_bar(
    segments: Sequence[Segment],
    capacity: float,
    *,
    title: str,
    width: float = 1000,
    height: float = 30,
    legend: bool = True,
) -> str:
    """One bar of *capacity*, filled left to right by *segments*; the rest shows as free space."""
    if capacity <= 0:
        return no_data(title, width)
    x = 0.0
    parts = [f'<rect x="0" y="0" width="{attr(width)}" height="{attr(height)}" rx="4" fill="{FREE}"/>']
    for seg in segments:
        if seg.value <= 0:
            continue
        seg_width = max(width * seg.value / capacity, 1.5)
        seg_width = min(seg_width, width - x)
        caption = f"{seg.label}: {seg.display}" if seg.display else seg.label
        parts.append(
            f'<rect x="{attr(x)}" y="0" width="{attr(seg_width)}" height="{attr(height)}" '
            f'fill="{attr(seg.color)}"><title>{escape(caption)}</title></rect>'
        )
        x += seg_width
    parts.append(
        f'<rect x="0" y="0" width="{attr(width)}" height="{attr(height)}" rx="4" fill="none" '
        f'stroke="#c5ccd6"/>'
    )
    total_height = height
    if legend:
        markup, legend_height = _legend(segments, width, height + 10)
        parts.append(markup)
        total_height = height + 10 + legend_height
    return _svg(width, total_height, title, "".join(parts))


def meter(fraction: float, *, title: str, width: float = 140, height: float = 12) -> str:
    """A small usage meter coloured by :func:`usage_color`."""
    clamped = min(max(fraction, 0.0), 1.0)
    filled = width * clamped
    if fraction > 0:
        filled = max(filled, 2)
    body = (
        f'<rect x="0" y="0" width="{attr(width)}" height="{attr(height)}" rx="3" fill="{FREE}"/>'
        f'<rect x="0" y="0" width="{attr(float(filled))}" height="{attr(height)}" rx="3" '
        f'fill="{usage_color(fraction)}"/>'
    )
    return _svg(width, height, title, body)


def ring(fraction: float | None, *, title: str, caption: str, size: float = 120) -> str:
    """A ring gauge for a rate (e.g. the verification pass rate) with *caption* in the middle."""
    radius, stroke = size / 2 - 9, 14.0
    centre = size / 2
    circumference = 2 * 3.141592653589793 * radius
    parts = [
        f'<circle cx="{attr(centre)}" cy="{attr(centre)}" r="{attr(radius)}" fill="none" '
        f'stroke="{FREE}" stroke-width="{attr(stroke)}"/>'
    ]
    if fraction is not None:
        clamped = min(max(fraction, 0.0), 1.0)
        color = OK if clamped >= 0.95 else WARN if clamped >= 0.8 else CRITICAL
        parts.append(
            f'<circle cx="{attr(centre)}" cy="{attr(centre)}" r="{attr(radius)}" fill="none" '
            f'stroke="{color}" stroke-width="{attr(stroke)}" '
            f'stroke-dasharray="{attr(circumference * clamped)} {attr(circumference)}" '
            f'transform="rotate(-90 {attr(centre)} {attr(centre)})"/>'
        )
    parts.append(
        _text(
            centre,
            centre + 6,
            caption,
            anchor="middle",
            size=17 if fraction is not None else 12,
            weight="700" if fraction is not None else "normal",
            color=TEXT if fraction is not None else MUTED,
        )
    )
    return _svg(size, size, title, "".join(parts))
