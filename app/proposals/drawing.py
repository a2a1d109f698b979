"""The picture of an exchange: an SVG drawn on the server, no JavaScript.

Organisations are labelled boxes around a circle, in giving order, clockwise
from the top; each leg is a curved arrow from giver to receiver labelled with
its currency and quantity. A chain starts at the gift (top, marked "gift") and
does not close. Curves bulge to the left of their direction of travel, so the
two arrows of a reciprocal exchange never overlap. Every text is escaped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

BOX_W, BOX_H = 168, 46
LABEL_ROOM = 150
LINE_CHARS = 22


@dataclass(frozen=True)
class Node:
    key: int
    name: str
    note: str = ""


@dataclass(frozen=True)
class Arrow:
    giver: int
    receiver: int
    label: str
    confirmed: bool = False
    gift: bool = False


def _wrap(name: str, width: int = LINE_CHARS, lines: int = 2) -> list[str]:
    words, out, line = name.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if len(candidate) <= width:
            line = candidate
            continue
        if line:
            out.append(line)
        line = word
    if line:
        out.append(line)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1].rstrip() + "…"
    return [text if len(text) <= width else text[: width - 1] + "…" for text in out] or [""]


def _f(value: float) -> str:
    return f"{value:.1f}"


def draw_exchange(nodes: list[Node], arrows: list[Arrow], *, kind: str = "cycle",
                  title: str = "Exchange", uid: str = "x") -> Markup:
    """An SVG of the exchange. `arrows` refer to nodes by `key`."""
    n = max(len(nodes), 1)
    # Neighbours on the circle sit a box width plus room for an arrow apart.
    radius = max(130.0, (BOX_W + 130) / (2 * math.sin(math.pi / n))) if n > 1 else 130.0
    # Side margins leave room for arrow labels, which sit outside the curves.
    width = 2 * radius + BOX_W + 2 * LABEL_ROOM
    # A reciprocal pair sits side by side: no need for the circle's full height.
    side_by_side = n == 2 and kind == "cycle"
    height = BOX_H + 160 if side_by_side else 2 * radius + BOX_H + 90
    cx, cy = width / 2, height / 2 + (0 if side_by_side else 10)
    start = math.pi if side_by_side else -math.pi / 2
    positions: dict[int, tuple[float, float]] = {}
    for i, node in enumerate(nodes):
        angle = start + 2 * math.pi * i / n
        positions[node.key] = (cx + radius * math.cos(angle), cy + radius * math.sin(angle))

    marker, marker_ok = f"arrow-{uid}", f"arrow-ok-{uid}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="exchange-drawing" role="img" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" width="{_f(width)}" height="{_f(height)}" '
        f'aria-labelledby="t-{uid} d-{uid}">',
        f'<title id="t-{uid}">{escape(title)}</title>',
        f'<desc id="d-{uid}">{escape(_describe(nodes, arrows))}</desc>',
        "<defs>",
        f'<marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#0b5cad"/></marker>',
        f'<marker id="{marker_ok}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#1e7a3c"/></marker>',
        "</defs>",
    ]
    for arrow in arrows:
        if arrow.giver not in positions or arrow.receiver not in positions:
            continue
        parts.append(_arrow(positions[arrow.giver], positions[arrow.receiver], arrow,
                            marker_ok if arrow.confirmed else marker))
    for i, node in enumerate(nodes):
        x, y = positions[node.key]
        gift_start = kind == "chain" and i == 0
        fill, stroke = ("#fff7e0", "#a15c00") if gift_start else ("#ffffff", "#1d2733")
        parts.append(
            f'<g class="node" data-organisation="{node.key}"><title>{escape(node.name)}</title>'
            f'<rect x="{_f(x - BOX_W / 2)}" y="{_f(y - BOX_H / 2)}" width="{BOX_W}" '
            f'height="{BOX_H}" rx="8" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
        )
        lines = _wrap(node.name)
        top = y - (len(lines) - 1) * 7 + 4
        for j, line in enumerate(lines):
            parts.append(f'<text x="{_f(x)}" y="{_f(top + j * 14)}" text-anchor="middle" '
                         f'font-size="12" fill="#1d2733">{escape(line)}</text>')
        note = "gift" if gift_start else node.note
        if note:
            parts.append(f'<text x="{_f(x)}" y="{_f(y - BOX_H / 2 - 6)}" text-anchor="middle" '
                         f'font-size="11" font-weight="600" fill="#a15c00">{escape(note)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


LABEL_GAP = 6.0


def _edge_point(center: tuple[float, float], toward: tuple[float, float]) -> tuple[float, float]:
    """Where the segment from a box's centre toward `toward` leaves the box."""
    dx, dy = toward[0] - center[0], toward[1] - center[1]
    if dx == 0 and dy == 0:
        return center
    half_w, half_h = BOX_W / 2 + 4, BOX_H / 2 + 4
    t = min(half_w / abs(dx) if dx else math.inf, half_h / abs(dy) if dy else math.inf)
    return center[0] + dx * t, center[1] + dy * t


def _arrow(a: tuple[float, float], b: tuple[float, float], arrow: Arrow, marker: str) -> str:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy) or 1.0
    # Bulge to the left of travel (screen coordinates): A→B and B→A separate.
    nx, ny = dy / length, -dx / length
    bend = min(60.0, 0.25 * length)
    control = ((a[0] + b[0]) / 2 + nx * bend, (a[1] + b[1]) / 2 + ny * bend)
    p0, p1 = _edge_point(a, control), _edge_point(b, control)
    mid = (0.25 * p0[0] + 0.5 * control[0] + 0.25 * p1[0],
           0.25 * p0[1] + 0.5 * control[1] + 0.25 * p1[1])
    colour = "#1e7a3c" if arrow.confirmed else "#0b5cad"
    dash = ' stroke-dasharray="6 4"' if arrow.gift else ""
    label = escape(arrow.label)
    # The label sits just outside the curve's bulge, anchored away from it, so the
    # line never runs through the words (a halo alone leaves it visible between them).
    lx, ly = mid[0] + nx * LABEL_GAP, mid[1] + ny * LABEL_GAP
    anchor = "start" if nx > 0.5 else "end" if nx < -0.5 else "middle"
    baseline = "hanging" if ny > 0.5 else "auto" if ny < -0.5 else "middle"
    return (
        f'<g class="leg{" confirmed" if arrow.confirmed else ""}">'
        f'<path d="M{_f(p0[0])},{_f(p0[1])} Q{_f(control[0])},{_f(control[1])} '
        f'{_f(p1[0])},{_f(p1[1])}" fill="none" stroke="{colour}" stroke-width="2"{dash} '
        f'marker-end="url(#{marker})"/>'
        f'<text x="{_f(lx)}" y="{_f(ly)}" text-anchor="{anchor}" dominant-baseline="{baseline}" '
        f'font-size="12" fill="{colour}" stroke="#fff" stroke-width="4" paint-order="stroke">'
        f"{label}</text>"
        "</g>"
    )


def _describe(nodes: list[Node], arrows: list[Arrow]) -> str:
    names = {node.key: node.name for node in nodes}
    steps = [f"{names.get(a.giver, '?')} gives {a.label} to {names.get(a.receiver, '?')}"
             + (" (received)" if a.confirmed else "") for a in arrows]
    return "; ".join(steps) + "."


NARROW_W, NARROW_BOX_H, NARROW_GAP = 340, 50, 76


def draw_exchange_narrow(nodes: list[Node], arrows: list[Arrow], *, kind: str = "cycle",
                         title: str = "Exchange", uid: str = "x") -> Markup:
    """The same exchange drawn top to bottom for phone screens: one box per organisation
    in giving order, a straight arrow down for each leg with its label beside it, and a
    cycle ends with its first organisation again ("back to the start"), so the words stay
    at their real size on a 320-px screen instead of shrinking with a wide circle."""
    names = {node.key: node.name for node in nodes}
    order = [arrows[0].giver] + [arrow.receiver for arrow in arrows] if arrows else \
        [node.key for node in nodes]
    top = 28
    height = top + len(order) * NARROW_BOX_H + (len(order) - 1) * NARROW_GAP + 30
    box_w = NARROW_W - 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="exchange-drawing narrow" role="img" '
        f'viewBox="0 0 {NARROW_W} {height}" width="{NARROW_W}" height="{height}" '
        f'aria-labelledby="tn-{uid} dn-{uid}">',
        f'<title id="tn-{uid}">{escape(title)}</title>',
        f'<desc id="dn-{uid}">{escape(_describe(nodes, arrows))}</desc>',
        "<defs>",
        f'<marker id="arrow-n-{uid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#0b5cad"/></marker>',
        f'<marker id="arrow-n-ok-{uid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#1e7a3c"/></marker>',
        "</defs>",
    ]
    for i, key in enumerate(order):
        y = top + i * (NARROW_BOX_H + NARROW_GAP)
        again = i > 0 and key == order[0]
        gift_start = kind == "chain" and i == 0
        fill, stroke = ("#fff7e0", "#a15c00") if gift_start else ("#ffffff", "#1d2733")
        dash = ' stroke-dasharray="5 4"' if again else ""
        parts.append(f'<g class="node" data-organisation="{key}"><rect x="12" y="{y}" '
                     f'width="{box_w}" height="{NARROW_BOX_H}" rx="8" fill="{fill}" '
                     f'stroke="{stroke}" stroke-width="1.5"{dash}/>')
        lines = _wrap(names.get(key, "?"), width=36)
        first = y + NARROW_BOX_H / 2 - (len(lines) - 1) * 8 + 5
        for j, line in enumerate(lines):
            parts.append(f'<text x="{NARROW_W / 2}" y="{_f(first + j * 16)}" '
                         f'text-anchor="middle" font-size="14" fill="#1d2733">'
                         f"{escape(line)}</text>")
        note = "gives a gift" if gift_start else "back to the start" if again else ""
        if note:
            note_y = y - 8 if gift_start else y + NARROW_BOX_H + 18
            parts.append(f'<text x="{NARROW_W / 2}" y="{note_y}" text-anchor="middle" '
                         f'font-size="13" font-weight="600" fill="#a15c00">{note}</text>')
        parts.append("</g>")
    for i, arrow in enumerate(arrows):
        y0 = top + i * (NARROW_BOX_H + NARROW_GAP) + NARROW_BOX_H + 4
        y1 = y0 + NARROW_GAP - 8
        colour = "#1e7a3c" if arrow.confirmed else "#0b5cad"
        marker = f"arrow-n-ok-{uid}" if arrow.confirmed else f"arrow-n-{uid}"
        dash = ' stroke-dasharray="6 4"' if arrow.gift else ""
        currency, _, quantity = arrow.label.partition(": ")
        words = [currency, quantity + (" — received" if arrow.confirmed else "")]
        parts.append(f'<g class="leg{" confirmed" if arrow.confirmed else ""}">'
                     f'<path d="M44,{y0} L44,{y1}" stroke="{colour}" stroke-width="2.5" '
                     f'fill="none"{dash} marker-end="url(#{marker})"/>')
        for j, word in enumerate(w for w in words if w):
            parts.append(f'<text x="60" y="{_f((y0 + y1) / 2 - 4 + j * 17)}" font-size="13" '
                         f'fill="{colour}">{escape(word)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def proposal_pictures(proposal) -> Markup:
    """Both drawings of a proposal for its page: the wide circle and the phone-width
    column; the stylesheet shows one of them (a hidden one is hidden from screen readers
    too, so each is announced once)."""
    nodes, arrows, kind, title = _proposal_parts(proposal)
    uid = str(proposal.id)
    wide = draw_exchange(nodes, arrows, kind=kind, title=title, uid=uid)
    narrow = draw_exchange_narrow(nodes, arrows, kind=kind, title=title, uid=uid)
    return Markup(f'<div class="drawing-wide">{wide}</div>'
                  f'<div class="drawing-narrow">{narrow}</div>')


def proposal_svg(proposal) -> Markup:
    """The drawing of a stored proposal (participants in giving order, its legs)."""
    nodes, arrows, kind, title = _proposal_parts(proposal)
    return draw_exchange(nodes, arrows, kind=kind, title=title, uid=str(proposal.id))


def _proposal_parts(proposal) -> tuple[list[Node], list[Arrow], str, str]:
    from app.proposals.models import ExchangeKind

    nodes = [Node(p.organisation_id, p.organisation.name) for p in proposal.participants]
    arrows = []
    for leg in proposal.legs:
        currency = leg.currency
        label = f"{currency.name}: {leg.quantity} × {currency.unit}"
        gift = proposal.kind == ExchangeKind.CHAIN and leg.position == 0
        arrows.append(Arrow(leg.giver_id, leg.receiver_id, label,
                            confirmed=leg.confirmed_at is not None, gift=gift))
    kind_label = "Chain" if proposal.kind == ExchangeKind.CHAIN else "Cycle"
    return nodes, arrows, proposal.kind, f"{kind_label} of proposal #{proposal.id}"
