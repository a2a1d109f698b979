"""Search and filters at platform size.

PostgreSQL: areas and tags become text arrays (from the delimited text `,east,north,`,
converted in place) with GIN indexes, so area and tag filters use an index; listings get a
generated, weighted `tsvector` (title A, tags and category B, description C; English
stemming) with a GIN index, and a trigram index on titles (pg_trgm) for misspelt words.
SQLite (the embedded default): areas and tags stay delimited text; an FTS5 table
`listings_fts` is kept in step with `listings` by triggers. Both: composite indexes for
the common filter combinations, newest first, and one on lower(category).

The models do not describe the database-specific objects; app.market.search_schema lists
them by name so that schema comparisons leave them out.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 03:10:00

"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CODE_COLUMNS = (("organisations", "areas"), ("listings", "areas"), ("listings", "tags"))

COMPOSITE_INDEXES = (
    ("ix_listings_status_created", ["status", "created_at", "id"]),
    ("ix_listings_kind_status_created", ["kind", "status", "created_at", "id"]),
    ("ix_listings_currency_status_created", ["currency_id", "status", "created_at", "id"]),
    ("ix_listings_org_status_created", ["organisation_id", "status", "created_at", "id"]),
    ("ix_listings_created", ["created_at", "id"]),
    ("ix_listings_status_until", ["status", "available_until"]),
)

# IMMUTABLE is declared, not inferred: array_to_string is only STABLE in general (array
# output depends on the element type), but for text[] it is deterministic, and a
# generated column needs an immutable expression.
PG_DOCUMENT_FUNCTION = """
CREATE FUNCTION cc_listing_document(title text, tags text[], category text,
                                    description text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT setweight(to_tsvector('english', coalesce(title, '')), 'A')
      || setweight(to_tsvector('english', array_to_string(coalesce(tags, '{}'), ' ')), 'B')
      || setweight(to_tsvector('english', coalesce(category, '')), 'B')
      || setweight(to_tsvector('english', coalesce(description, '')), 'C')
$$
"""

SQLITE_FTS = (
    "CREATE VIRTUAL TABLE listings_fts USING fts5(title, tags, category, description, "
    "content='listings', content_rowid='id', tokenize='porter unicode61')",
    """CREATE TRIGGER listings_fts_ai AFTER INSERT ON listings BEGIN
  INSERT INTO listings_fts(rowid, title, tags, category, description)
  VALUES (new.id, new.title, new.tags, new.category, new.description);
END""",
    """CREATE TRIGGER listings_fts_ad AFTER DELETE ON listings BEGIN
  INSERT INTO listings_fts(listings_fts, rowid, title, tags, category, description)
  VALUES ('delete', old.id, old.title, old.tags, old.category, old.description);
END""",
    """CREATE TRIGGER listings_fts_au AFTER UPDATE OF title, tags, category, description
ON listings BEGIN
  INSERT INTO listings_fts(listings_fts, rowid, title, tags, category, description)
  VALUES ('delete', old.id, old.title, old.tags, old.category, old.description);
  INSERT INTO listings_fts(rowid, title, tags, category, description)
  VALUES (new.id, new.title, new.tags, new.category, new.description);
END""",
    "INSERT INTO listings_fts(listings_fts) VALUES ('rebuild')",
)


def upgrade():
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.drop_index("ix_listings_status")
    for name, columns in COMPOSITE_INDEXES:
        op.create_index(name, "listings", columns, unique=False)
    op.execute("CREATE INDEX ix_listings_category_lower ON listings "
               "(lower(category), status, created_at)")
    if dialect == "postgresql":
        _upgrade_postgresql()
    elif dialect == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)


def _upgrade_postgresql():
    for table, column in CODE_COLUMNS:
        # ',east,north,' -> {east,north}; '' -> {} (string_to_array gives {} for '').
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT")
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE text[] USING "
                   f"array_remove(string_to_array(btrim({column}, ','), ','), '')")
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT '{{}}'")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(PG_DOCUMENT_FUNCTION)
    op.execute("ALTER TABLE listings ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
               "(cc_listing_document(title, tags, category, description)) STORED")
    op.execute("CREATE INDEX ix_listings_search ON listings USING gin (search_vector)")
    op.execute("CREATE INDEX ix_listings_title_trgm ON listings USING gin (title gin_trgm_ops)")
    op.execute("CREATE INDEX ix_listings_areas_gin ON listings USING gin (areas)")
    op.execute("CREATE INDEX ix_listings_tags_gin ON listings USING gin (tags)")
    op.execute("CREATE INDEX ix_organisations_areas_gin ON organisations USING gin (areas)")


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for name in ("ix_organisations_areas_gin", "ix_listings_tags_gin",
                     "ix_listings_areas_gin", "ix_listings_title_trgm", "ix_listings_search"):
            op.execute(f"DROP INDEX {name}")
        op.execute("ALTER TABLE listings DROP COLUMN search_vector")
        op.execute("DROP FUNCTION cc_listing_document(text, text[], text, text)")
        for table, column in CODE_COLUMNS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT")
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE text USING "
                       f"CASE WHEN cardinality({column}) = 0 THEN '' "
                       f"ELSE ',' || array_to_string({column}, ',') || ',' END")
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT ''")
    elif dialect == "sqlite":
        for trigger in ("listings_fts_au", "listings_fts_ad", "listings_fts_ai"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE listings_fts")
    op.execute("DROP INDEX ix_listings_category_lower")
    for name, _columns in reversed(COMPOSITE_INDEXES):
        op.drop_index(name, table_name="listings")
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.create_index("ix_listings_status", ["status"], unique=False)


