"""The SVG picture of an exchange (pure: no database)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from app.proposals.drawing import Arrow, Node, draw_exchange

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))  # well-formed XML, or this raises


def test_cycle_has_a_node_per_organisation_and_a_labelled_arrow_per_leg():
    svg = _parse(draw_exchange(
        [Node(1, "Acute Trust"), Node(2, "County Council"), Node(3, "College")],
        [Arrow(1, 2, "Staff × 5 staff-days"), Arrow(2, 3, "Jobs × 2 placements"),
         Arrow(3, 1, "Training × 4 places", confirmed=True)], title="Cycle", uid="t"))
    assert len(svg.findall(f"{SVG}g[@class='node']")) == 3
    legs = [g for g in svg.iter(f"{SVG}g") if g.get("class", "").startswith("leg")]
    assert [g.find(f"{SVG}text").text for g in legs] == [
        "Staff × 5 staff-days", "Jobs × 2 placements", "Training × 4 places"]
    assert legs[2].get("class") == "leg confirmed"
    assert "Acute Trust gives Staff × 5 staff-days to County Council" in svg.find(
        f"{SVG}desc").text


def test_reciprocal_arrows_curve_to_opposite_sides():
    svg = str(draw_exchange([Node(1, "A"), Node(2, "B")],
                            [Arrow(1, 2, "x"), Arrow(2, 1, "y")], uid="r"))
    controls = [float(y) for y in re.findall(r" Q[\d.]+,([\d.]+) ", svg)]
    assert len(controls) == 2 and controls[0] != controls[1]


def test_chain_starts_at_the_gift_and_names_are_escaped():
    markup = str(draw_exchange(
        [Node(1, "Hospice <b>&</b>"), Node(2, "CVS"), Node(3, "Leisure")],
        [Arrow(1, 2, "Premises × 10", gift=True), Arrow(2, 3, "Staff × 2")],
        kind="chain", uid="c"))
    _parse(markup)
    assert "<b>" not in markup and "&lt;b&gt;&amp;&lt;/b&gt;" in markup
    assert ">gift<" in markup and markup.count("stroke-dasharray") == 1


def test_the_phone_drawing_is_a_column_that_closes_the_cycle_and_marks_the_gift():
    from app.proposals.drawing import draw_exchange_narrow

    cycle = _parse(draw_exchange_narrow(
        [Node(1, "Acute Trust"), Node(2, "County <Council>"), Node(3, "College")],
        [Arrow(1, 2, "Staff time: 5 × staff-day"), Arrow(2, 3, "Jobs: 2 × placement"),
         Arrow(3, 1, "Training: 4 × place", confirmed=True)], title="Cycle", uid="n"))
    assert cycle.get("viewBox").startswith("0 0 340 ")  # phone width, drawn at full size
    nodes = cycle.findall(f"{SVG}g[@class='node']")
    assert [n.get("data-organisation") for n in nodes] == ["1", "2", "3", "1"]
    assert "back to the start" in "".join(nodes[-1].itertext())
    assert "County <Council>" in "".join(nodes[1].itertext())  # escaped, then parsed back
    legs = [g for g in cycle.iter(f"{SVG}g") if g.get("class", "").startswith("leg")]
    assert [[t.text for t in g.findall(f"{SVG}text")] for g in legs] == [
        ["Staff time", "5 × staff-day"], ["Jobs", "2 × placement"],
        ["Training", "4 × place — received"]]
    chain = _parse(draw_exchange_narrow(
        [Node(1, "Hospice"), Node(2, "CVS"), Node(3, "Leisure")],
        [Arrow(1, 2, "Premises: 8 × room-hour", gift=True), Arrow(2, 3, "Staff: 1 × day")],
        kind="chain", uid="c"))
    nodes = chain.findall(f"{SVG}g[@class='node']")
    assert [n.get("data-organisation") for n in nodes] == ["1", "2", "3"]  # no way back
    assert "gives a gift" in "".join(nodes[0].itertext())
