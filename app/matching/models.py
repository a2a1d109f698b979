"""The MatchingRun model: one run of the matcher and what it produced."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.choices import ChoiceSet
from app.core.clock import utcnow
from app.extensions import db


class RunStatus(ChoiceSet):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    # A run in one of these holds the matcher: no second run starts meanwhile.
    IN_PROGRESS = (QUEUED, RUNNING)


class MatchingRun(db.Model):
    """One run of the matcher: who, when, settings, a copy of the engine input
    (so an auditor can replay it) and the engine's statistics.

    `market_input` is stored exactly as the engine received it (a background run
    reads the market when its worker starts it, so it is empty while queued); a run
    moves queued → running → completed or failed, and at most one run is queued or
    running at a time (`start_run` refuses a second).
    """

    __tablename__ = "matching_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default=RunStatus.QUEUED)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_by_name: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    settings: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    market_input: Mapped[dict | None] = mapped_column(JSON)
    stats: Mapped[dict | None] = mapped_column(JSON)
    optimal: Mapped[bool | None]
    objective: Mapped[float | None]
    bound: Mapped[float | None]
    # The engine's own verdict: "optimal", "time_limit" or "fallback".
    solver_status: Mapped[str | None] = mapped_column(String(20))
    progress: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    # Written every few seconds by the worker (or thread) running the run; a running run
    # whose heartbeat is older than MATCHING_HEARTBEAT_TIMEOUT lost its worker.
    heartbeat_at: Mapped[datetime | None]
    # Who runs it: "thread <pid>" in-process, or the RQ worker's name.
    worker: Mapped[str] = mapped_column(String(200), nullable=False, default="",
                                        server_default="")
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")

    started_by = relationship("User")
    proposals = relationship("Proposal", back_populates="run", order_by="Proposal.id")

    @property
    def gap_percent(self) -> float | None:
        """How far the result may be from the best possible, in % of the proven bound on
        the first objective level (0 when proven optimal; None without a usable bound)."""
        if self.optimal:
            return 0.0
        reported = (self.stats or {}).get("gap_percent")
        if isinstance(reported, int | float):
            return float(reported)
        if self.objective is None or self.bound is None or self.bound <= 0:
            return None
        return max(0.0, (self.bound - self.objective) / self.bound * 100)

    @property
    def verdict(self) -> str:
        """The result in plain words, for the run pages (the solver's terms stay in the
        technical details)."""
        if self.optimal:
            return "proven optimal"
        if self.optimal is None:
            return ""
        gap = self.gap_percent
        if gap is None:
            return "the best the matcher found in its time limit; how close it is to the best " \
                   "possible is not known"
        return f"within {max(gap, 0.1):.1f} % of the best possible"
