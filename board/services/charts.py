"""Small server-rendered SVG charts (no JavaScript). Each chart is an ``<svg role="img">``
with a title and a description; the page puts its numbers in a table beside it.

Texts come in already translated; every one is escaped here. Only presentation attributes
are used (no ``style``), so the charts follow the page's fonts and need no inline CSS.
"""

from __future__ import annotations

from markupsafe import Markup, escape

#: Colours of the series, in order (the board's blue, then amber, green, grey).
COLOURS = ("#0b5cad", "#c77800", "#2f9e5d", "#6b7785")
INK = "#1d2733"
MUTED = "#5b6878"
TRACK = "#e8eef5"

WIDTH = 420  # viewBox units; the SVG scales to its container
FONT = 13
BAR = 16


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def text_width(s: str, size: float = FONT) -> float:
    """About how wide a text is drawn: CJK characters a full em, others a bit over half."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.58 for ch in s)


def _frame(chart_id: str, title: str, desc: str, height: float, body: list[str]) -> Markup:
    t, d = f"{chart_id}-title", f"{chart_id}-desc"
    # Every text is escaped in this module; numbers are formatted by _num, colours are constants.
    return Markup(  # nosec B704
        f'<svg class="chart-svg" id="{escape(chart_id)}" role="img" aria-labelledby="{escape(t)} {escape(d)}" '
        f'viewBox="0 0 {WIDTH} {_num(height)}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{escape(t)}">{escape(title)}</title><desc id="{escape(d)}">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _text(x, y, s, *, anchor="start", fill=INK, size=FONT, weight=None) -> str:
    w = f' font-weight="{weight}"' if weight else ""
    return (f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" fill="{fill}" '
            f'text-anchor="{anchor}"{w}>{escape(s)}</text>')


def _rect(x, y, w, h, fill, rx=3) -> str:
    return f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(max(w, 0))}" height="{_num(h)}" rx="{rx}" fill="{fill}"/>'


def hbars(chart_id: str, rows: list[tuple[str, float, str]], *, title: str, desc: str,
          colour: str = COLOURS[0]) -> Markup:
    """Horizontal bars, one per row of (label, value, value as shown): the label above its
    bar, the value at the bar's end. Suits a funnel (rows in stage order)."""
    return grouped_hbars(chart_id, [r[0] for r in rows], [("", [(r[1], r[2]) for r in rows])],
                         title=title, desc=desc, colours=(colour,))


def grouped_hbars(chart_id: str, labels: list[str], series: list[tuple[str, list[tuple[float, str]]]],
                  *, title: str, desc: str, colours=COLOURS) -> Markup:
    """Groups of horizontal bars: one group per label, one bar per series (name, values);
    a legend names the series when there are several."""
    top = 4
    body: list[str] = []
    named = len(series) > 1
    if named:  # legend
        x = 0
        for i, (name, _) in enumerate(series):
            body.append(_rect(x, top, 12, 12, colours[i % len(colours)], rx=2))
            body.append(_text(x + 17, top + 11, name, size=12))
            x += 30 + text_width(name, 12)
        top += 26
    biggest = max((v for _, vals in series for v, _ in vals), default=0) or 1
    value_room = 56
    track = WIDTH - value_room
    y = top
    for g, label in enumerate(labels):
        body.append(_text(0, y + FONT, label))
        y += FONT + 6
        for i, (_, vals) in enumerate(series):
            value, shown = vals[g]
            w = track * (value / biggest)
            body.append(_rect(0, y, track, BAR, TRACK))
            body.append(_rect(0, y, w, BAR, colours[i % len(colours)]))
            body.append(_text(w + 6, y + BAR - 3, shown, fill=MUTED, size=12))
            y += BAR + 4
        y += 10
    return _frame(chart_id, title, desc, y, body)


def columns(chart_id: str, rows: list[tuple[str, float, str]], *, title: str, desc: str,
            colour: str = COLOURS[2]) -> Markup:
    """Vertical columns over time, one per row of (label, value, value as shown); with many
    columns only some labels are written under the axis."""
    height, base, top, pad = 180, 150, 16, 24  # pad: room for the outer labels
    n = max(len(rows), 1)
    slot = (WIDTH - 2 * pad) / n
    w = min(36, slot * 0.7)
    biggest = max((r[1] for r in rows), default=0) or 1
    every = max(1, -(-n // 6))  # at most six labels under the axis
    body = [f'<line x1="0" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="{MUTED}" stroke-width="1"/>']
    for i, (label, value, shown) in enumerate(rows):
        h = (base - top) * (value / biggest)
        x = pad + i * slot + (slot - w) / 2
        body.append(_rect(x, base - h, w, h, colour, rx=2))
        if value:
            body.append(_text(x + w / 2, base - h - 4, shown, anchor="middle", fill=MUTED, size=11))
        if i % every == 0 or i == n - 1 and n <= 6:
            body.append(_text(x + w / 2, base + 16, label, anchor="middle", size=11))
    return _frame(chart_id, title, desc, height, body)
