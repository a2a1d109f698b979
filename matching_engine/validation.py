"""Strict readers for JSON-shaped input: every helper either returns a clean value or raises
``InputError`` naming where in the document the problem is (e.g. ``listings[3].quantity``)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

from .errors import InputError

#: Limits on the caps and the time limit (cycles 2..6, chains 0..10 transfers).
MAX_CYCLE_RANGE = (2, 6)
MAX_CHAIN_RANGE = (0, 10)
TIME_LIMIT_RANGE = (0.0, 86_400.0)
#: Absurd numbers are rejected rather than silently accepted (STYLE: quantities ≤ 1,000,000).
MAX_QUANTITY = 1_000_000
MAX_VALUE = 1e9
MAX_WEIGHT = 1e9


def mapping(
    value: Any, where: str, *, allowed: Iterable[str], required: Iterable[str] = ()
) -> dict:
    """``value`` as a dict, after checking it has only ``allowed`` keys and every ``required``."""
    if not isinstance(value, dict):
        raise InputError(f"{where} must be an object")
    allowed = set(allowed)
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise InputError(f"{where}: unknown field(s) {', '.join(unknown)}")
    for key in required:
        if key not in value:
            raise InputError(f"{where}: missing field {key}")
    return value


def array(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise InputError(f"{where} must be a list")
    return value


def ident(value: Any, where: str) -> str:
    """An id: a non-empty string (callers turn database ids into strings)."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where} must be a non-empty string id")
    if len(value) > 200:
        raise InputError(f"{where} is longer than 200 characters")
    return value


def text(value: Any, where: str, *, nullable: bool = False) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise InputError(f"{where} must be a string" + (" or null" if nullable else ""))
    if len(value) > 1000:
        raise InputError(f"{where} is longer than 1000 characters")
    return value


def strings(value: Any, where: str) -> list[str]:
    items = array(value, where)
    return [text(item, f"{where}[{i}]") for i, item in enumerate(items)]  # type: ignore[misc]


def boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{where} must be true or false")
    return value


def number(
    value: Any,
    where: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    nullable: bool = False,
) -> float | int | None:
    """A finite JSON number (booleans are not numbers here) within [low, high] (or (low, high])."""
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where} must be a number" + (" or null" if nullable else ""))
    if not math.isfinite(value):
        raise InputError(f"{where} must be a finite number")
    if low is not None and (value <= low if low_open else value < low):
        raise InputError(f"{where} must be {'>' if low_open else '>='} {low:g} (got {value!r})")
    if high is not None and value > high:
        raise InputError(f"{where} must be <= {high:g} (got {value!r})")
    return value


def integer(value: Any, where: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        # 3.0 from a JSON writer that prints floats is still an integer cap.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InputError(f"{where} must be an integer")
    if not low <= value <= high:
        raise InputError(f"{where} must be between {low} and {high} (got {value})")
    return value


def date(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{where} must be an ISO date YYYY-MM-DD or null")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{where} must be an ISO date YYYY-MM-DD (got {value!r})") from None


def unique(ids: Iterable[str], where: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise InputError(f"{where}: duplicate id {item!r}")
        seen.add(item)


def caps(max_cycle: Any, max_chain: Any, time_limit: Any, where: str) -> tuple[int, int, float]:
    """Validate the three caps every document kind shares (and the keyword overrides)."""
    return (
        integer(max_cycle, f"{where}.max_cycle", low=MAX_CYCLE_RANGE[0], high=MAX_CYCLE_RANGE[1]),
        integer(max_chain, f"{where}.max_chain", low=MAX_CHAIN_RANGE[0], high=MAX_CHAIN_RANGE[1]),
        float(
            number(
                time_limit, f"{where}.time_limit", low=TIME_LIMIT_RANGE[0], low_open=True,
                high=TIME_LIMIT_RANGE[1],
            )
        ),
    )


def id_sort_key(value: str) -> tuple:
    """Order ids naturally ("2" before "10") and deterministically."""
    return (0, int(value), value) if value.isdigit() else (1, 0, value)
