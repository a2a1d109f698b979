"""SVG pictures of the trust record, drawn on the server (no script, no CDN).

`network_svg` draws each group of linked organisations in its own cell (a
ring, or networkx's spring layout with a fixed seed for big groups, so the
same record always gives the same picture): node area grows with the
exchanges an organisation completed, edge width with the exchanges a pair
completed together. Every label is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import networkx as nx
from markupsafe import Markup, escape

from app.ledger.trust import Network

WIDTH = 900
CELL_HEIGHT = 300
LABEL_CHARS = 22


def _layout(network: Network) -> tuple[dict[int, tuple[float, float]],
                                        dict[int, tuple[float, float]], int]:
    """Node positions, the centre of each node's cell, and the picture's height.

    Each group of organisations linked by exchanges (a connected component)
    gets its own cell of a grid, biggest first, so a small group is not
    squeezed into a corner by a big one: a ring for up to eight organisations,
    networkx's spring layout (weighted, fixed seed) for more.
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
        if len(group) <= 8:
            for i, node in enumerate(group):
                angle = -math.pi / 2 + 2 * math.pi * i / len(group)
                positions[node] = (cx + radius * math.cos(angle), cy + radius * math.sin(angle))
        else:
            raw = nx.spring_layout(graph.subgraph(group), seed=7, weight="weight")
            for node, (px, py) in raw.items():
                positions[node] = (cx + px * (width / 2 - 80), cy + py * (height / 2 - 50))
        centres.update(dict.fromkeys(group, (cx, cy)))
        if span == 3:
            y += height
        else:
            x_slot += 1
    total = y + (CELL_HEIGHT if x_slot else 0)
    return positions, centres, int(total) or CELL_HEIGHT


def _label(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[:LABEL_CHARS - 1] + "…"


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
        f'role="img" aria-label="Trust network: {len(network.nodes)} organisations, '
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
        # Labels point away from the group's centre: above or below, sideways only
        # for nodes level with it (cells sit side by side, so sideways is tight).
        cx, cy = centres[org_id]
        if abs(y - cy) >= 0.35 * abs(x - cx):
            lx, ly, anchor = x, (y - radius - 6 if y < cy else y + radius + 14), "middle"
        else:
            lx, ly, anchor = x + (radius + 5 if x > cx else -radius - 5), y + 4, (
                "start" if x > cx else "end")
        circle = (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="#e7f5ec" '
                  f'stroke="#1e7a3c" stroke-width="2"><title>{escape(name)}: {exchanges} '
                  f"exchange{'s' if exchanges != 1 else ''} completed</title></circle>"
                  f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="12" text-anchor="{anchor}" '
                  f'fill="#1d2733">{escape(_label(name))}</text>')
        if link is not None:
            circle = f'<a href="{escape(link(org_id))}">{circle}</a>'
        parts.append(circle)
    parts.append("</g></svg>")
    return Markup("".join(parts))
