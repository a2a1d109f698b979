"""The trust network picture stays readable from 16 to 200 organisations: every
label inside the picture, no two labels overlapping, full names in titles, no
links nested inside the image (the page lists the organisations with links)."""

from __future__ import annotations

import random
import time
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from app.reporting.drawing import WIDTH, _box, _overlap, network_svg
from app.reporting.trust import Network, PairTrust

SVG = "{http://www.w3.org/2000/svg}"


def synthetic(n: int, seed: int = 3) -> Network:
    """n organisations with long names, in partnerships of 2–6 and a few links across."""
    rng = random.Random(seed)
    names = {i: f"{rng.choice(['North', 'South', 'East', 'West'])} "
                f"{rng.choice(['County Council', 'NHS Foundation Trust', 'Primary Care Network'])}"
                f" {i}" for i in range(1, n + 1)}
    edges: dict[tuple[int, int], int] = {}
    for i in range(1, n + 1):
        for _ in range(rng.randint(1, 3)):
            j = rng.randint(max(1, i - 6), min(n, i + 6))
            if j != i:
                edges[(min(i, j), max(i, j))] = rng.randint(1, 5)
    count = {i: 0 for i in names}
    for (a, b), k in edges.items():
        count[a] += k
        count[b] += k
    return Network(
        nodes=[(i, names[i], max(1, count[i])) for i in names],
        edges=[PairTrust(a, names[a], b, names[b], k, Decimal("1.00"), Decimal("1.00"))
               for (a, b), k in edges.items()])


@pytest.mark.parametrize("n", [16, 40, 100, 200])
def test_labels_fit_and_never_collide(n):
    network = synthetic(n)
    started = time.perf_counter()
    root = ET.fromstring(str(network_svg(network)))
    assert time.perf_counter() - started < 20  # a sanity bound, not a benchmark
    assert root.get("role") == "img"
    assert root.findall(f".//{SVG}a") == []  # nothing interactive inside the image
    height = float(root.get("viewBox").split()[3])
    circles = root.findall(f".//{SVG}circle")
    assert len(circles) == n
    titles = {c.find(f"{SVG}title").text.split(":")[0] for c in circles}
    assert titles == {name for _, name, _ in network.nodes}  # every full name is there
    boxes = []
    for text in root.find(f".//{SVG}g[@class='labels']"):
        box = _box(float(text.get("x")), float(text.get("y")), text.get("text-anchor"),
                   "".join(text.itertext()).replace(text.find(f"{SVG}title").text, "", 1))
        assert box[0] >= 0 and box[2] <= WIDTH and box[1] >= 0 and box[3] <= height, box
        assert not any(_overlap(box, other) for other in boxes)
        boxes.append(box)
    if n <= 16:
        assert len(boxes) == n  # a partnership-sized network names everyone
    else:
        assert len(boxes) >= n / 2  # a big one still names most, the busiest first


def test_page_lists_every_organisation_with_a_link_beside_the_picture(
        client, login, make_org, make_exchange, coordinator):
    orgs = [make_org(f"Organisation with a rather long name number {i}") for i in range(18)]
    for i in range(0, 18, 3):
        make_exchange(orgs[i:i + 3])
    make_exchange([orgs[0], orgs[5]])
    login(coordinator)
    page = client.get("/trust/network").data.decode()
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert "<a " not in svg and 'role="img"' in svg
    listed = page.split('data-testid="network-organisations"')[1].split("</ol>")[0]
    for org in orgs:
        assert f'href="/trust/organisations/{org.id}"' in listed
        assert org.name in listed
