"""The market: organisations, currencies, listings (offers and needs) and settings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
    and_,
    literal,
    or_,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.ext.mutable import MutableList
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from app.core.choices import ChoiceSet
from app.core.clock import TimestampMixin, today
from app.extensions import db


class Sector(ChoiceSet):
    ACUTE_TRUST = "acute_trust"
    COMMUNITY_TRUST = "community_trust"
    MENTAL_HEALTH_TRUST = "mental_health_trust"
    PRIMARY_CARE_NETWORK = "primary_care_network"
    COUNTY_COUNCIL = "county_council"
    DISTRICT_COUNCIL = "district_council"
    HOUSING_ASSOCIATION = "housing_association"
    HOSPICE = "hospice"
    VOLUNTARY = "voluntary"
    COLLEGE = "college"
    OTHER = "other"
    LABELS = {
        ACUTE_TRUST: "Acute NHS trust",
        COMMUNITY_TRUST: "Community NHS trust",
        MENTAL_HEALTH_TRUST: "Mental-health NHS trust",
        PRIMARY_CARE_NETWORK: "Primary care network",
        COUNTY_COUNCIL: "County council",
        DISTRICT_COUNCIL: "District council",
        HOUSING_ASSOCIATION: "Housing association",
        HOSPICE: "Hospice",
        VOLUNTARY: "Voluntary and community group",
        COLLEGE: "Further-education college",
        OTHER: "Other",
    }


class ListingKind(ChoiceSet):
    OFFER = "offer"
    NEED = "need"


class ListingStatus(ChoiceSet):
    OPEN = "open"
    FULFILLED = "fulfilled"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class Objective(ChoiceSet):
    """What the matcher maximises (see the README, "The matching engine")."""

    LEXICOGRAPHIC = "lexicographic"
    WEIGHTED = "weighted"
    LABELS = {
        LEXICOGRAPHIC: "Needs met, then value exchanged, then fewer parties, then trust",
        WEIGHTED: "Weighted sum of those four",
    }


class CodeList(TypeDecorator):
    """A list of short codes (areas, tags): a text array on PostgreSQL, delimited text
    (`,east,north,`) on SQLite.

    Why two storages behind one type: "listings in area X" must use an index on
    PostgreSQL, and `areas @> ARRAY['x']` does with a GIN index (see
    `app.market.search_schema`); SQLite has no arrays, and for the embedded default a
    `LIKE '%,x,%'` scan is quick enough. Join tables would serve both but cost a
    join per filter and an insert per code. `code_list_contains` renders the right
    predicate for each dialect. Codes are normalised by the services (lower-case
    letters, digits and hyphens), so they never contain the delimiter or LIKE
    wildcards.
    """

    impl = Text
    cache_ok = True
    DELIMITER = ","

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(Text()))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value, dialect):
        codes = [str(code) for code in value or []]
        if any(self.DELIMITER in code or not code for code in codes):
            raise ValueError(f"codes may not be empty or contain {self.DELIMITER!r}: {codes!r}")
        if dialect.name == "postgresql":
            return codes
        return self.DELIMITER + self.DELIMITER.join(codes) + self.DELIMITER if codes else ""

    def process_result_value(self, value, dialect) -> list[str]:
        if not value:
            return []
        if isinstance(value, list):
            return list(value)
        return [code for code in value.split(self.DELIMITER) if code]


class code_list_contains(FunctionElement):  # noqa: N801 - used like a SQL function
    """SQL predicate: the CodeList column (first argument) holds the code (second, a
    normalised code). `areas @> ARRAY[code]` on PostgreSQL (GIN-indexed),
    `areas LIKE '%,code,%'` elsewhere."""

    type = Boolean()
    inherit_cache = True
    name = "code_list_contains"

    def __init__(self, column, code: str):
        super().__init__(column, literal(code, Text()))


@compiles(code_list_contains)
def _code_list_contains_text(element, compiler, **kw) -> str:
    column, code = list(element.clauses)
    return (f"({compiler.process(column, **kw)} LIKE "
            f"'%{CodeList.DELIMITER}' || {compiler.process(code, **kw)} || "
            f"'{CodeList.DELIMITER}%')")


@compiles(code_list_contains, "postgresql")
def _code_list_contains_array(element, compiler, **kw) -> str:
    column, code = list(element.clauses)
    return f"({compiler.process(column, **kw)} @> ARRAY[{compiler.process(code, **kw)}]::text[])"


organisation_exclusions = Table(
    "organisation_exclusions",
    db.metadata,
    Column("organisation_id", ForeignKey("organisations.id"), primary_key=True),
    Column("excluded_id", ForeignKey("organisations.id"), primary_key=True),
)


class Organisation(TimestampMixin, db.Model):
    """A partner organisation. `areas` is a list of area codes it serves.

    Contact email/phone and internal notes are private: only the
    organisation's own members, coordinators, auditors and admins see them.
    """

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True, nullable=False)
    slug: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    sector: Mapped[str] = mapped_column(String(40), nullable=False, default=Sector.OTHER)
    areas: Mapped[list] = mapped_column(
        MutableList.as_mutable(CodeList()), nullable=False, default=list
    )
    contact_name: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    contact_email: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    contact_phone: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    internal_notes: Mapped[str] = mapped_column(Text, nullable=False, default="")

    users = relationship("User", back_populates="organisation")
    listings = relationship("Listing", back_populates="organisation")
    excluded = relationship(
        "Organisation",
        secondary=organisation_exclusions,
        primaryjoin=id == organisation_exclusions.c.organisation_id,
        secondaryjoin=id == organisation_exclusions.c.excluded_id,
        order_by="Organisation.name",
    )

    def __repr__(self) -> str:
        return f"<Organisation {self.slug}>"


class Currency(TimestampMixin, db.Model):
    """A shared currency. Its value applies when a proposal is made; legs copy it,
    so a change of value affects future exchanges only.

    `categories` (a JSON list of names) is the vocabulary listings in this
    currency choose their category from.
    """

    __tablename__ = "currencies"
    __table_args__ = (CheckConstraint("value_per_unit > 0", name="value_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    unit: Mapped[str] = mapped_column(String(40), nullable=False)
    value_per_unit: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    active: Mapped[bool] = mapped_column(default=True, nullable=False)
    categories: Mapped[list] = mapped_column(JSON, nullable=False, default=list)

    def __repr__(self) -> str:
        return f"<Currency {self.code}>"


class Listing(TimestampMixin, db.Model):
    """An offer or a need.

    Invariants (checked by the database): 0 <= reserved <= remaining <= quantity;
    min_quantity, when set, is within 1..quantity. `reserved` is what approved
    proposals hold; what a new proposal may use is remaining - reserved.
    """

    __tablename__ = "listings"
    __table_args__ = (
        CheckConstraint(ListingKind.sql_in("kind"), name="kind_valid"),
        CheckConstraint(ListingStatus.sql_in("status"), name="status_valid"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= quantity", name="remaining_range"),
        CheckConstraint("reserved >= 0 AND reserved <= remaining", name="reserved_range"),
        CheckConstraint(
            "min_quantity IS NULL OR (min_quantity >= 1 AND min_quantity <= quantity)",
            name="min_quantity_range",
        ),
        CheckConstraint(
            "available_until IS NULL OR available_from IS NULL "
            "OR available_until >= available_from",
            name="window_ordered",
        ),
        # The common browse orders (newest first, keyset on created_at, id) under the
        # common equality filters; expiry (available_until) is checked on the index rows.
        Index("ix_listings_status_created", "status", "created_at", "id"),
        Index("ix_listings_kind_status_created", "kind", "status", "created_at", "id"),
        Index("ix_listings_currency_status_created", "currency_id", "status", "created_at",
              "id"),
        Index("ix_listings_org_status_created", "organisation_id", "status", "created_at",
              "id"),
        Index("ix_listings_created", "created_at", "id"),
        Index("ix_listings_status_until", "status", "available_until"),
        # Text search, trigram, array and lower(category) indexes differ per database:
        # see app.market.search_schema and migration 0010.
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    currency_id: Mapped[int] = mapped_column(ForeignKey("currencies.id"), nullable=False)
    category: Mapped[str | None] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(140), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    tags: Mapped[list] = mapped_column(
        MutableList.as_mutable(CodeList()), nullable=False, default=list
    )
    quantity: Mapped[int] = mapped_column(nullable=False)
    min_quantity: Mapped[int | None]
    remaining: Mapped[int] = mapped_column(nullable=False)
    reserved: Mapped[int] = mapped_column(nullable=False, default=0)
    areas: Mapped[list] = mapped_column(
        MutableList.as_mutable(CodeList()), nullable=False, default=list
    )
    remote: Mapped[bool] = mapped_column(nullable=False, default=False)
    available_from: Mapped[date | None]
    available_until: Mapped[date | None]
    is_gift: Mapped[bool] = mapped_column(nullable=False, default=False)
    status: Mapped[str] = mapped_column(
        String(12), nullable=False, default=ListingStatus.OPEN
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organisation = relationship("Organisation", back_populates="listings")
    currency = relationship("Currency")
    created_by = relationship("User")

    @property
    def available(self) -> int:
        """Units a new proposal may still use."""
        return self.remaining - self.reserved

    @property
    def current_status(self) -> str:
        """The status as of today: an open listing past its end date reads as expired.

        The stored status catches up when `flask listings expire` or a matching
        run writes it; reads never write (no state change on GET).
        """
        if self.status == ListingStatus.OPEN and self.available_until is not None and (
                self.available_until < today()):
            return ListingStatus.EXPIRED
        return self.status

    @classmethod
    def open_on(cls, day: date):
        """SQL condition: open and not past its end date on `day`."""
        return and_(cls.status == ListingStatus.OPEN,
                    or_(cls.available_until.is_(None), cls.available_until >= day))

    @classmethod
    def usable_on(cls, day: date):
        """SQL condition: open on `day` with something left that no approved proposal
        holds (remaining − reserved > 0) — what a new exchange may draw on."""
        return and_(cls.open_on(day), cls.remaining - cls.reserved > 0)

    @classmethod
    def expired_on(cls, day: date):
        """SQL condition: expired, or open but past its end date on `day`."""
        return or_(cls.status == ListingStatus.EXPIRED,
                   and_(cls.status == ListingStatus.OPEN, cls.available_until < day))

    def __repr__(self) -> str:
        return f"<Listing {self.id} {self.kind} {self.title!r}>"


class MarketSettings(db.Model):
    """The market's matching and lifecycle settings: a single row, id 1."""

    __tablename__ = "market_settings"
    __table_args__ = (
        CheckConstraint("max_cycle BETWEEN 2 AND 6", name="max_cycle_range"),
        CheckConstraint("max_chain BETWEEN 0 AND 10", name="max_chain_range"),
        CheckConstraint(
            "fairness_threshold >= 0 AND fairness_threshold <= 1", name="fairness_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    max_cycle: Mapped[int] = mapped_column(nullable=False, default=3)
    max_chain: Mapped[int] = mapped_column(nullable=False, default=3)
    fairness_threshold: Mapped[Decimal] = mapped_column(
        Numeric(4, 3), nullable=False, default=Decimal("0.5")
    )
    objective: Mapped[str] = mapped_column(
        String(20), nullable=False, default=Objective.LEXICOGRAPHIC
    )
    weights: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    time_limit_seconds: Mapped[int] = mapped_column(nullable=False, default=30)
    acceptance_days: Mapped[int] = mapped_column(nullable=False, default=14)
    delivery_days: Mapped[int] = mapped_column(nullable=False, default=60)

    @classmethod
    def current(cls) -> MarketSettings:
        """The settings row, created with defaults when missing (not committed)."""
        settings = db.session.get(cls, 1)
        if settings is None:
            settings = cls(id=1, weights={})
            db.session.add(settings)
            db.session.flush()
        return settings
