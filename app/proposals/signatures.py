"""Exchange signatures: the canonical name of an exchange, whatever its rotation.

Invariant: the same set of (offer, need) pairs always has the same signature;
a declined signature is never proposed again and at most one proposal per
signature is open (a partial unique index backs it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable


def canonical_signature(pairs: Iterable[Iterable]) -> str:
    """The stored form of an exchange's signature: its (offer, need) id pairs as
    strings, sorted, as compact JSON. The same exchange has the same signature
    whatever its rotation, and it is what the engine's `declined` setting takes."""
    normal = sorted([str(offer), str(need)] for offer, need in pairs)
    return json.dumps(normal, separators=(",", ":"))


def signature_pairs(signature: str) -> list[list[str]]:
    return json.loads(signature)
