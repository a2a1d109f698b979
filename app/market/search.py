"""Text search over listings: one query syntax, two engines.

The syntax (the same as web search boxes): words must all appear (stemmed: "nurses"
finds "nurse"); `"two words"` is a phrase; `or` between two terms accepts either;
`-word` excludes; the last word also matches as a prefix while typing ("phleb" finds
"phlebotomy"). Every other character (operators, quotes left open, `&|!:*()`, emoji,
NUL) only separates words, so no input can reach an engine's own query language.

PostgreSQL: the generated, weighted `listings.search_vector` (title A, tags and category
B, description C) matched by `websearch_to_tsquery` per term and `to_tsquery('w:*')` for
the prefix, ranked by `ts_rank` (weighted term frequency, like SQLite's bm25; `ts_rank_cd`'s
cover density cost as much again as finding the matches: 24 against 13 ms to rank the 7,000
listings of a broad search at 50,000). When those words match nothing at all, a trigram
comparison (pg_trgm, word similarity against the title) finds misspelt words instead
(looked for only when a page comes back empty: `TextMatch.misspelt`).
SQLite: the FTS5 table `listings_fts` (porter stemming), ranked by bm25 with the same
weights. Both engines return the same listings for correctly spelt words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Float, and_, func, literal, literal_column, not_, select, text, true

from app.extensions import db
from app.market.models import Listing

MAX_TERMS = 16
MAX_WORD = 60
_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
# bm25 weights per FTS5 column (title, tags, category, description), as PostgreSQL's
# A/B/B/C weights.
_FTS_WEIGHTS = "10.0, 4.0, 4.0, 1.0"


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]
    negated: bool = False
    prefix: bool = False


@dataclass(frozen=True)
class TextQuery:
    """Terms ANDed together; each clause is a tuple of terms ORed."""

    clauses: tuple[tuple[Term, ...], ...]

    @property
    def positive_words(self) -> list[str]:
        return [word for clause in self.clauses for term in clause if not term.negated
                for word in term.words]


def parse(raw: str | None) -> TextQuery | None:
    """The user's text as a query, or None when it holds no searchable word."""
    if not raw:
        return None
    tokens: list[Term | str] = []
    for match in _TOKEN.finditer(raw):
        negated, quoted, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None:
            if bare.lower() == "or":
                tokens.append("or")
                continue
            negated = "-" if bare.startswith("-") else ""
            words = tuple(w.lower()[:MAX_WORD] for w in _WORD.findall(bare))
            # "covid-19" or "first-aid" is a phrase of its parts, as the engines index them.
            if words:
                tokens.append(Term(words, negated=bool(negated)))
        else:
            words = tuple(w.lower()[:MAX_WORD] for w in _WORD.findall(quoted))
            if words:
                tokens.append(Term(words, negated=bool(negated)))
    terms = [token for token in tokens if isinstance(token, Term)]
    if not terms:
        return None
    # The last word typed (bare, not excluded, the input not ending in a space or quote)
    # matches as a prefix.
    last = tokens[-1]
    if (isinstance(last, Term) and not last.negated and len(last.words) == 1
            and raw.rstrip() == raw and not raw.endswith('"')):
        tokens[-1] = Term(last.words, prefix=True)
    # An excluded term stands alone ("-a or b" reads as "-a b"): engines agree on that.
    clauses: list[list[Term]] = []
    join_next = False
    for token in tokens:
        if token == "or":
            join_next = bool(clauses) and not clauses[-1][-1].negated
            continue
        if join_next and not token.negated:
            clauses[-1].append(token)
        else:
            clauses.append([token])
        join_next = False
    clauses = clauses[:MAX_TERMS]
    return TextQuery(tuple(tuple(clause) for clause in clauses))


# --- PostgreSQL ----------------------------------------------------------------------------

_VECTOR = literal_column("listings.search_vector")


def _pg_term(term: Term):
    if term.prefix:
        return func.to_tsquery("english", literal(term.words[0] + ":*"))
    phrase = " ".join(term.words)
    return func.websearch_to_tsquery("english", literal(f'"{phrase}"' if len(term.words) > 1
                                                        else phrase))


def _pg_tsquery(query: TextQuery):
    combined = None
    for clause in query.clauses:
        part = None
        for term in clause:
            one = _pg_term(term)
            if term.negated:
                one = func.tsquery_not(one)
            part = one if part is None else func.tsquery_or(part, one)
        combined = part if combined is None else func.tsquery_and(combined, part)
    return combined


def _pg_fuzzy(query: TextQuery):
    """Every positive word is like a word of the title (pg_trgm word similarity, GIN)."""
    words = query.positive_words
    if not words:
        return None
    return and_(*(literal(word).op("<%")(Listing.title) for word in words))


# --- SQLite --------------------------------------------------------------------------------

def _fts_term(term: Term) -> str:
    phrase = '"' + " ".join(term.words) + '"'
    return phrase + "*" if term.prefix else phrase


def _fts_expression(clauses) -> str:
    parts = []
    for clause in clauses:
        rendered = [_fts_term(term) for term in clause]
        parts.append(rendered[0] if len(rendered) == 1 else "(" + " OR ".join(rendered) + ")")
    return " AND ".join(parts)


def _fts_match(expression: str):
    return literal_column("listings_fts").op("MATCH")(literal(expression))


def _fts_ids(expression: str):
    return select(literal_column("rowid")).select_from(text("listings_fts")).where(
        _fts_match(expression))


# --- both ----------------------------------------------------------------------------------

@dataclass
class TextMatch:
    """What a text query adds to a listings select: `apply` filters (and joins) it, and
    `rank` (higher is more relevant) orders it. `misspellings`, when the engine can look
    for misspelt words: the match used instead when these words match no listing at all
    (`misspelt()` asks; it costs a query, so callers ask only when a page of this match
    comes back empty: a page can only be empty then, or past the end)."""

    condition: object
    rank: object
    join: object | None = None
    misspellings: TextMatch | None = None

    def apply(self, statement):
        if self.join is not None:
            statement = statement.join(self.join, self.join.c.rowid == Listing.id)
        return statement.where(self.condition)

    def misspelt(self) -> TextMatch | None:
        """The match for misspelt words when these words match no listing at all."""
        if self.misspellings is None or _pg_has_hits(self.condition):
            return None
        return self.misspellings


def text_match(query: TextQuery) -> TextMatch:
    if db.session.get_bind().dialect.name == "postgresql":
        return _pg_match(query)
    return _sqlite_match(query)


def _pg_match(query: TextQuery) -> TextMatch:
    tsquery = _pg_tsquery(query)
    condition = _VECTOR.op("@@")(tsquery)
    fuzzy = _pg_fuzzy(query)
    misspellings = None
    if fuzzy is not None:
        # Misspellings of the words in titles (used when no listing has the words).
        similarity = func.word_similarity(" ".join(query.positive_words), Listing.title)
        negatives = [_pg_term(term) for clause in query.clauses for term in clause
                     if term.negated]
        misspellings = TextMatch(
            and_(fuzzy, *(not_(_VECTOR.op("@@")(n)) for n in negatives)),
            similarity.cast(Float))
    return TextMatch(condition, func.ts_rank(_VECTOR, tsquery).cast(Float),
                     misspellings=misspellings)


def _pg_has_hits(condition) -> bool:
    return db.session.execute(
        select(literal(1)).select_from(Listing).where(condition).limit(1)).first() is not None


def _sqlite_match(query: TextQuery) -> TextMatch:
    positive = [clause for clause in query.clauses if not clause[0].negated]
    negative = [clause[0] for clause in query.clauses if clause[0].negated]
    conditions = [Listing.id.not_in(_fts_ids(_fts_term(term))) for term in negative]
    if not positive:
        return TextMatch(and_(true(), *conditions), literal(0.0))
    expression = _fts_expression(positive)
    # bm25 is lower for better matches; negated so that higher is more relevant.
    hits = (select(literal_column("rowid").label("rowid"),
                   (-literal_column(f"bm25(listings_fts, {_FTS_WEIGHTS})", Float))
                   .label("rank"))
            .select_from(text("listings_fts")).where(_fts_match(expression))
            .subquery("fts_hits"))
    return TextMatch(and_(true(), *conditions), hits.c.rank, join=hits)
