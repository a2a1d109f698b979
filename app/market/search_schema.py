"""Database objects of search and filtering that differ per database, by name.

PostgreSQL: a generated, weighted `tsvector` column (`listings.search_vector`) with a GIN
index, a trigram index on titles (pg_trgm), GIN indexes on the area and tag arrays.
SQLite: an FTS5 table (`listings_fts`) kept in step with `listings` by triggers. Both: an
index on lower(category). Migration 0010 creates them (its DDL is frozen there, as
migrations must be); the models do not describe them, so the schema comparisons
(`migrations/env.py`, tests/integration/test_migrations.py) leave them out by name here.
"""

from __future__ import annotations

SEARCH_VECTOR = "search_vector"
FTS_TABLE = "listings_fts"
DB_SPECIFIC_INDEXES = frozenset({
    "ix_listings_search", "ix_listings_title_trgm", "ix_listings_areas_gin",
    "ix_listings_tags_gin", "ix_organisations_areas_gin", "ix_listings_category_lower",
})


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter: False for the database-specific objects above."""
    if type_ == "table" and name and name.startswith(FTS_TABLE):
        return False
    if type_ == "column" and name == SEARCH_VECTOR:
        return False
    return not (type_ == "index" and name in DB_SPECIFIC_INDEXES)
