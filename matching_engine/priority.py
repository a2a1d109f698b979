"""Lowering the solving process's CPU priority (``python -m matching_engine solve --nice N``).

On Linux with automatic process grouping (``/proc/sys/kernel/sched_autogroup_enabled``, on by
default on desktop and server kernels), the scheduler first shares the CPU fairly between
*sessions*, then between the processes of a session by their nice level. A solver in a
session of its own at nice 19 still takes a full session's share: measured on a 2-core
machine, two busy nice-19 processes in their own sessions left two normal processes a third
of the CPU. So the solver lowers both its own nice level and its session group's
(``/proc/self/autogroup``) — the latter only when it leads its session, so that it never
lowers a terminal's or a server's session along with it.
"""

from __future__ import annotations

import contextlib
import os

AUTOGROUP = "/proc/self/autogroup"
MAX_NICE = 19


def lower(nice: int) -> dict[str, int | None]:
    """Bring this process's nice level up to at least ``nice`` (capped at 19) and, when it
    leads its own session, its autogroup's to the same level. Returns the levels reached
    (``None`` where the platform has no such thing or refused); never raises."""
    reached: dict[str, int | None] = {"nice": None, "group_nice": None}
    nice = min(nice, MAX_NICE)
    if nice <= 0:
        return reached
    with contextlib.suppress(AttributeError, OSError):
        reached["nice"] = os.nice(max(nice - os.nice(0), 0))
    if _leads_session() and os.path.exists(AUTOGROUP):
        level = max(reached["nice"] or 0, nice)
        try:
            with open(AUTOGROUP, "w", encoding="ascii") as handle:
                handle.write(str(level))
            reached["group_nice"] = level
        except OSError:
            pass
    return reached


def _leads_session() -> bool:
    try:
        return os.getsid(0) == os.getpid()
    except (AttributeError, OSError):
        return False
