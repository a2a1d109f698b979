"""Ledger verification throughput, as a ratio to raw SHA-256 over the same bytes.

    .venv/bin/python bench/ledger.py                 # 100,000 and 1,000,000 entries
    .venv/bin/python bench/ledger.py --sizes 20000   # a quick run

For each size N, in a temporary SQLite file migrated like production (so the
append-only triggers are there and every INSERT is checked against the head):
1. generate N chained entries (20 organisations, four currencies, realistic
   names and values; not timed as part of verification);
2. time raw SHA-256 over exactly the canonical bytes the verifiers hash, one
   digest per entry (the floor: no reading, no encoding);
3. time `services.verify_chain` — the chain check behind `flask ledger verify` (the
   cross-check against proposals needs real proposals, which these entries lack), the
   auditor's page and GET /api/v1/ledger/verify — streaming from the database;
4. time writing a full JSON export (the streamed API export), then time the
   offline verifier `tools/verify_ledger.py` on that file.
Ratios are (time of the verification) / (time of raw SHA-256), same run.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.ledger import chain, services  # noqa: E402
from config import TestingConfig  # noqa: E402
from tools import verify_ledger  # noqa: E402

ORGS = 20
CURRENCIES = {"staff": Decimal("180.00"), "jobs": Decimal("950.00"),
              "training": Decimal("75.50"), "premises": Decimal("22.25")}
CHUNK = 50_000


def generate(n: int, seed: int = 1):
    """Yield (canonical fields, hash) for n chained entries, deterministically."""
    rng = random.Random(seed)
    codes = sorted(CURRENCIES)
    start = datetime(2025, 1, 1)
    previous = chain.GENESIS_HASH
    for sequence in range(1, n + 1):
        giver = rng.randrange(1, ORGS + 1)
        receiver = rng.randrange(1, ORGS)
        receiver += receiver >= giver
        code = rng.choice(codes)
        quantity = rng.randrange(1, 40)
        unit = CURRENCIES[code]
        fields = {
            "sequence": sequence, "kind": "trade", "proposal_id": None, "leg_id": None,
            "giver_id": giver, "receiver_id": receiver, "currency_code": code,
            "quantity": quantity, "unit_value": chain.format_decimal(unit),
            "value": chain.format_decimal(unit * quantity),
            "recorded_at": chain.format_time(start + timedelta(seconds=sequence * 37,
                                                               microseconds=sequence % 997)),
            "confirmed_by_id": None, "confirmed_by_name": f"Member of organisation {receiver}",
            "reverses_sequence": None, "reason": "", "previous_hash": previous,
        }
        previous = chain.compute_hash(fields)
        yield fields, previous


def build_database(path: str, n: int) -> float:
    """Migrate an empty SQLite file and fill it with n entries; returns seconds."""
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    began = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    now = "2025-01-01 00:00:00.000000"
    conn.executemany(
        "INSERT INTO organisations (id, name, slug, sector, areas, contact_name, contact_email,"
        " contact_phone, description, internal_notes, created_at, updated_at) VALUES "
        "(?, ?, ?, 'other', '[]', '', '', '', '', '', ?, ?)",
        [(i, f"Organisation {i}", f"org-{i}", now, now) for i in range(1, ORGS + 1)])
    insert = (
        "INSERT INTO ledger_entries (sequence, kind, proposal_id, leg_id, giver_id, receiver_id,"
        " currency_code, quantity, unit_value, value, recorded_at, confirmed_by_id,"
        " confirmed_by_name, reverses_sequence, reason, previous_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    batch = []
    for fields, digest in generate(n):
        row = [fields[name] for name in chain.HASHED_FIELDS]
        row[10] = fields["recorded_at"].replace("T", " ").rstrip("Z")  # SQLAlchemy's format
        batch.append((*row, digest))
        if len(batch) == CHUNK:
            conn.executemany(insert, batch)
            batch.clear()
    if batch:
        conn.executemany(insert, batch)
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    return time.perf_counter() - began


def time_raw_sha256(n: int) -> tuple[float, int]:
    """Seconds spent in hashlib.sha256 over each entry's canonical bytes (only
    the hashing is timed; the bytes are prepared chunk by chunk beforehand)."""
    spent, total = 0.0, 0
    chunk: list[bytes] = []

    def hash_chunk() -> float:
        sha = hashlib.sha256
        began = time.perf_counter()
        for data in chunk:
            sha(data).hexdigest()
        return time.perf_counter() - began

    for fields, _digest in generate(n):
        data = chain.encode(fields)
        total += len(data)
        chunk.append(data)
        if len(chunk) == CHUNK:
            spent += hash_chunk()
            chunk.clear()
    if chunk:
        spent += hash_chunk()
    return spent, total


def time_database_verify(path: str, n: int) -> float:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        began = time.perf_counter()
        result = services.verify_chain(None)
        spent = time.perf_counter() - began
        db.session.rollback()
        db.engine.dispose()
    assert result.ok and result.count == n, result.summary()
    return spent


def time_export(path: str, export_path: str) -> float:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        began = time.perf_counter()
        with open(export_path, "w", encoding="utf-8") as out:
            for part in services.export_json(None, services.LedgerFilter()):
                out.write(part)
        spent = time.perf_counter() - began
        db.session.rollback()
        db.engine.dispose()
    return spent


def time_offline_verify(export_path: str, n: int) -> float:
    sink = io.StringIO()
    began = time.perf_counter()
    with contextlib.redirect_stdout(sink):
        code = verify_ledger.main([export_path, "--full"])
    spent = time.perf_counter() - began
    assert code == 0 and f"chain of {n} entries" in sink.getvalue(), sink.getvalue()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
            path = os.path.join(tmp, "ledger.db")
            export_path = os.path.join(tmp, "export.json")
            print(f"[{n:,} entries] generating…", file=sys.stderr, flush=True)
            build = build_database(path, n)
            print(f"[{n:,}] raw SHA-256…", file=sys.stderr, flush=True)
            raw, total_bytes = time_raw_sha256(n)
            print(f"[{n:,}] database verification…", file=sys.stderr, flush=True)
            database = time_database_verify(path, n)
            print(f"[{n:,}] export…", file=sys.stderr, flush=True)
            export = time_export(path, export_path)
            size = os.path.getsize(export_path)
            print(f"[{n:,}] offline verification of the export…", file=sys.stderr, flush=True)
            offline = time_offline_verify(export_path, n)
            rows.append((n, total_bytes, build, raw, database, export, size, offline))
    print()
    print("Ledger verification throughput (SQLite file, one process; ratios are to raw "
          "SHA-256 over the same canonical bytes in the same run)")
    print()
    print("| entries | canonical bytes | raw SHA-256 | `flask ledger verify` (DB) | ratio "
          "| JSON export written | offline verify of export | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, total_bytes, _build, raw, database, export, size, offline in rows:
        print(f"| {n:,} | {total_bytes / 1e6:,.1f} MB | {raw:.2f} s ({n / raw:,.0f}/s) "
              f"| {database:.2f} s ({n / database:,.0f}/s) | {database / raw:.1f}× "
              f"| {export:.2f} s, {size / 1e6:,.0f} MB "
              f"| {offline:.2f} s ({n / offline:,.0f}/s) | {offline / raw:.1f}× |")
    print()
    for n, _b, build, *_rest in rows:
        print(f"(generating and inserting {n:,} entries through the append-only trigger: "
              f"{build:.1f} s)")


if __name__ == "__main__":
    main()
