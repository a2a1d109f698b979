"""SVG pictures of the trust record, drawn on the server (no script, no CDN).

`network_svg` draws each group of linked organisations in its own cell (a
ring, or networkx's spring layout with a fixed seed for big groups, so the
same record always gives the same picture): node area grows with the
exchanges an organisation completed, edge width with the exchanges a pair
completed together.

`over_time_svg` draws exchanges over time: one slot per calendar month, bars
for the value exchanged (the whole market) or given and received (one
organisation), the number of exchanges completed above each month, a value
axis with round ticks and the months along the bottom.

Every label is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

import networkx as nx
from markupsafe import Markup, escape

from app.reporting.over_time import MonthFigures
from app.reporting.trust import Network

WIDTH = 900
CELL_HEIGHT = 300
LABEL_CHARS = 22
WIDE_LABEL_CHARS = 30
RING_MAX = 40


def _layout(network: Network) -> tuple[dict[int, tuple[float, float]],
                                        dict[int, tuple[float, float, bool]], int]:
    """Node positions, the centre of each node's cell, and the picture's height.

    Each group of organisations linked by exchanges (a connected component)
    gets its own cell of a grid, biggest first, so a small group is not
    squeezed into a corner by a big one: a ring for up to RING_MAX organisations
    (a partnership's size), networkx's spring layout (weighted, fixed seed) beyond.
    """
    graph = nx.Graph()
    graph.add_nodes_from(org_id for org_id, _name, _n in network.nodes)
    for pair in network.edges:
        graph.add_edge(pair.a_id, pair.b_id, weight=pair.exchanges)
    groups = sorted((sorted(c) for c in nx.connected_components(graph)),
                    key=lambda c: (-len(c), c[0]))
    big = [g for g in groups if len(g) > 8]
    small = [g for g in groups if len(g) <= 8]
    cells: list[tuple[list[int], int]] = [(g, 3) for g in big]  # full-width rows
    columns = 3 if len(small) > 4 else max(1, min(len(small), 2))
    cells += [(g, 1) for g in small]
    positions: dict[int, tuple[float, float]] = {}
    centres: dict[int, tuple[float, float]] = {}
    x_slot, y = 0, 0.0
    for group, span in cells:
        width = WIDTH if span == 3 or columns == 1 else WIDTH / columns
        height = CELL_HEIGHT * (2 if span == 3 else 1)
        if span != 3 and x_slot >= columns:
            x_slot, y = 0, y + CELL_HEIGHT
        left = 0.0 if span == 3 else x_slot * width
        cx, cy = left + width / 2, y + height / 2 - 10
        radius = min(width, height) / 2 - 60
        if len(group) <= RING_MAX:
            # Reverse Cuthill-McKee puts linked organisations next to each other on
            # the ring, so few lines cross it; the order is deterministic.
            order = (list(nx.utils.reverse_cuthill_mckee_ordering(graph.subgraph(group)))
                     if len(group) > 3 else group)
            for i, node in enumerate(order):
                angle = -math.pi / 2 + 2 * math.pi * i / len(group)
                positions[node] = (cx + radius * math.cos(angle), cy + radius * math.sin(angle))
        else:
            raw = nx.spring_layout(graph.subgraph(group), seed=7, weight="weight")
            for node, (px, py) in raw.items():
                positions[node] = (cx + px * (width / 2 - 80), cy + py * (height / 2 - 50))
        centres.update(dict.fromkeys(group, (cx, cy, span == 3)))
        if span == 3:
            y += height
        else:
            x_slot += 1
    total = y + (CELL_HEIGHT if x_slot else 0)
    return positions, centres, int(total) or CELL_HEIGHT


def _label(name: str, chars: int = LABEL_CHARS) -> str:
    return name if len(name) <= chars else name[:chars - 1] + "…"


def network_svg(network: Network, link: Callable[[int], str] | None = None) -> Markup:
    """The trust network as an inline SVG element (Markup, safe to embed)."""
    if not network.nodes:
        return Markup(
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} 80" role="img" '
            'aria-label="Trust network: no completed exchanges yet">'
            '<text x="20" y="45" fill="#5b6775">No completed exchanges yet.</text></svg>')
    where, centres, height = _layout(network)
    most_edge = max((p.exchanges for p in network.edges), default=1)
    most_node = max((n for _, _, n in network.nodes), default=1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="group" aria-label="Trust network: {len(network.nodes)} organisations, '
        f'{len(network.edges)} partnerships" class="trust-network">',
        "<g class=\"edges\">",
    ]
    for pair in network.edges:
        (x1, y1), (x2, y2) = where[pair.a_id], where[pair.b_id]
        width = 1.5 + 8 * pair.exchanges / most_edge
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="#0b5cad" stroke-opacity="0.45" stroke-width="{width:.1f}">'
            f"<title>{escape(pair.a_name)} – {escape(pair.b_name)}: {pair.exchanges} "
            f"exchange{'s' if pair.exchanges != 1 else ''} completed together</title></line>")
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        parts.append(f'<text x="{mx:.1f}" y="{my:.1f}" font-size="11" fill="#1d2733" '
                     f'text-anchor="middle" dy="-3">{pair.exchanges}</text>')
    parts.append('</g><g class="nodes">')
    for org_id, name, exchanges in network.nodes:
        x, y = where[org_id]
        radius = 8 + 14 * math.sqrt(exchanges / most_node)
        # Labels point away from the group's centre. In a full-width cell they go
        # sideways (room on both sides; stacked labels above and below would collide);
        # in narrow side-by-side cells, above or below except level with the centre.
        cx, cy, wide = centres[org_id]
        vertical = abs(x - cx) < 0.25 * abs(y - cy) if wide else (
            abs(y - cy) >= 0.35 * abs(x - cx))
        if vertical:
            lx, ly, anchor = x, (y - radius - 6 if y < cy else y + radius + 14), "middle"
        else:
            lx, ly, anchor = x + (radius + 5 if x > cx else -radius - 5), y + 4, (
                "start" if x > cx else "end")
        label = _label(name, WIDE_LABEL_CHARS if wide else LABEL_CHARS)
        circle = (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="#e7f5ec" '
                  f'stroke="#1e7a3c" stroke-width="2"><title>{escape(name)}: {exchanges} '
                  f"exchange{'s' if exchanges != 1 else ''} completed</title></circle>"
                  f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="12" text-anchor="{anchor}" '
                  f'fill="#1d2733">{escape(label)}</text>')
        if link is not None:
            circle = f'<a href="{escape(link(org_id))}">{circle}</a>'
        parts.append(circle)
    parts.append("</g></svg>")
    return Markup("".join(parts))


# --- exchanges over time ---------------------------------------------------------------------

CHART_HEIGHT = 320
PLOT = {"left": 86, "right": 16, "top": 52, "bottom": 62}
SERIES_COLOURS = {"value": "#0b5cad", "given": "#1e7a3c", "received": "#0b5cad"}
SERIES_LABELS = {"value": "value exchanged (all legs)", "given": "value given",
                 "received": "value received"}


def nice_scale(highest: float, ticks: int = 4) -> tuple[float, float]:
    """(top of the axis, tick step): a round step (1, 2, 2.5 or 5 × 10^k) such
    that `ticks` or fewer steps cover `highest`."""
    if highest <= 0:
        return 1000.0, 250.0
    raw = highest / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return step * math.ceil(highest / step - 1e-9), step


def _credits(value: float | Decimal) -> str:
    return f"{value:,.0f}"


def over_time_svg(months: list[MonthFigures], *, organisation: str | None = None) -> Markup:
    """Exchanges over time as an inline SVG element (Markup, safe to embed).

    Without `organisation`: one bar per month, the value of every leg
    recorded that month. With it (the organisation's name): two bars per
    month, the value it gave and the value it received. Either way the number
    of exchanges completed sits above each month that had any. Bars carry
    `class="bar …"` and `data-month="YYYY-MM"`; empty months draw no bar.
    """
    series = ("given", "received") if organisation is not None else ("value",)
    width = WIDTH
    left, right, top, bottom = PLOT["left"], PLOT["right"], PLOT["top"], PLOT["bottom"]
    plot_width, plot_height = width - left - right, CHART_HEIGHT - top - bottom
    base = top + plot_height
    highest = max((float(getattr(m, name)) for m in months for name in series), default=0.0)
    axis_top, step = nice_scale(highest)
    total = sum(m.exchanges for m in months)
    subject = f" for {organisation}" if organisation is not None else ""
    span = (f"{months[0].month:%B %Y} to {months[-1].month:%B %Y}" if months else "no months")
    label = (f"Exchanges over time{subject}: {total} exchange{'s' if total != 1 else ''} "
             f"completed, {span}")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {CHART_HEIGHT}" '
        f'role="img" aria-label="{escape(label)}" class="over-time">',
        f"<title>{escape(label)}</title>",
    ]
    # Legend.
    x = left
    for name in series:
        parts.append(f'<rect x="{x}" y="14" width="12" height="12" '
                     f'fill="{SERIES_COLOURS[name]}"/>'
                     f'<text x="{x + 17}" y="24" font-size="12" fill="#1d2733">'
                     f"{SERIES_LABELS[name]}</text>")
        x += 30 + 7 * len(SERIES_LABELS[name])
    parts.append(f'<text x="{x}" y="24" font-size="12" fill="#1d2733">'
                 '<tspan font-weight="bold">n</tspan> = exchanges completed that month</text>')
    # Value axis: gridlines, ticks and their labels, and the axis title.
    parts.append('<g class="axis axis-value">')
    tick = 0.0
    while tick <= axis_top + 1e-9:
        y = base - plot_height * tick / axis_top
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                     f'stroke="#d5dbe3" stroke-width="1"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" fill="#5b6775" '
                     f'text-anchor="end">{_credits(tick)}</text>')
        tick += step
    mid = top + plot_height / 2
    parts.append(f'<text x="16" y="{mid:.1f}" font-size="12" fill="#1d2733" '
                 f'text-anchor="middle" transform="rotate(-90 16 {mid:.1f})">'
                 "value (market credits)</text></g>")
    # Months: a slot each, bars, counts and labels.
    slot = plot_width / max(len(months), 1)
    bar = slot * (0.6 if len(series) == 1 else 0.34)
    parts.append('<g class="months">')
    for i, figures in enumerate(months):
        x0 = left + i * slot
        key = f"{figures.month:%Y-%m}"
        start = x0 + (slot - bar * len(series)) / 2
        heights = []
        for j, name in enumerate(series):
            value = getattr(figures, name)
            height = plot_height * float(value) / axis_top
            heights.append(height)
            if value <= 0:
                continue
            what = SERIES_LABELS[name]
            parts.append(
                f'<rect class="bar bar-{name}" data-month="{key}" x="{start + j * bar:.1f}" '
                f'y="{base - height:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'fill="{SERIES_COLOURS[name]}"><title>{figures.month:%B %Y}: '
                f"{_credits(value)} credits {what}{escape(subject)}</title></rect>")
        if figures.exchanges:
            parts.append(
                f'<text class="count" data-month="{key}" x="{x0 + slot / 2:.1f}" '
                f'y="{base - max(heights) - 6:.1f}" font-size="12" font-weight="bold" '
                f'fill="#1d2733" text-anchor="middle">{figures.exchanges}</text>')
        year = f"{figures.month:%Y}" if i == 0 or figures.month.month == 1 else ""
        parts.append(
            f'<text class="month" x="{x0 + slot / 2:.1f}" y="{base + 16}" font-size="11" '
            f'fill="#5b6775" text-anchor="middle">{figures.month:%b}</text>')
        if year:
            parts.append(f'<text x="{x0 + slot / 2:.1f}" y="{base + 30}" font-size="11" '
                         f'fill="#5b6775" text-anchor="middle">{year}</text>')
    parts.append("</g>")
    parts.append(f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" '
                 'stroke="#1d2733" stroke-width="1"/>')
    parts.append(f'<text x="{left + plot_width / 2:.1f}" y="{CHART_HEIGHT - 8}" font-size="12" '
                 'fill="#1d2733" text-anchor="middle">month completed (UTC)</text>')
    if not total:
        parts.append(f'<text x="{left + plot_width / 2:.1f}" y="{mid:.1f}" font-size="13" '
                     'fill="#5b6775" text-anchor="middle">No exchanges completed in these '
                     "months.</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
