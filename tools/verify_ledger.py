#!/usr/bin/env python3
"""Verify a Common Currency ledger export offline, with the standard library only.

    python3 verify_ledger.py EXPORT.json [--anchor SEQ:HASH ...] [--full]
    python3 verify_ledger.py EXPORT.csv  [--anchor SEQ:HASH ...] [--full]

Recomputes every entry's SHA-256 over its canonical encoding and checks the
links between entries. A complete export (no filters) must be the whole chain:
sequence 1, 2, 3… from the genesis hash (64 zeros) with no gap. A filtered
export can only prove each entry's own hash, and the links between entries
whose sequence numbers are consecutive; the tool says how many links it could
and could not check. `--anchor SEQ:HASH` compares against a hash you recorded
earlier (for example the head hash printed by a past verification): that
catches a chain rewritten from some point on, or cut short.

Exit status: 0 verified, 1 problems found, 2 the file could not be read.

The canonical encoding (identical to app/ledger/chain.py in the application):
the JSON object of the fields in HASHED_FIELDS (previous_hash included, hash
excluded), integers as numbers, null for missing values, decimals as strings
with exactly two decimals, times as "YYYY-MM-DDTHH:MM:SS.ffffffZ" in UTC, keys
sorted, no whitespace, non-ASCII escaped as \\uXXXX — Python's
json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True) —
encoded as ASCII; hash = lowercase hex SHA-256 of those bytes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sys
from collections.abc import Iterator

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "sequence", "kind", "proposal_id", "leg_id", "giver_id", "receiver_id", "currency_code",
    "quantity", "unit_value", "value", "recorded_at", "confirmed_by_id", "confirmed_by_name",
    "reverses_sequence", "reason", "previous_hash",
)
INT_FIELDS = {"sequence", "giver_id", "receiver_id", "quantity"}
OPTIONAL_INT_FIELDS = {"proposal_id", "leg_id", "confirmed_by_id", "reverses_sequence"}
DECIMAL_RE = re.compile(r"-?(0|[1-9][0-9]*)\.[0-9]{2}")
TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
CSV_TEXT_FIELDS = ("kind", "currency_code", "confirmed_by_name", "reason", "previous_hash")
MAX_LISTED = 20


class ExportError(Exception):
    """The file is not a readable ledger export."""


def canonical_bytes(entry: dict) -> bytes:
    fields = {name: entry[name] for name in HASHED_FIELDS}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode("ascii")


def form_problem(entry: dict) -> str | None:
    """Why `entry`'s fields are not in canonical form, or None."""
    for name in HASHED_FIELDS:
        if name not in entry:
            return f"field {name} is missing"
    if "hash" not in entry:
        return "field hash is missing"
    for name in INT_FIELDS | OPTIONAL_INT_FIELDS:
        value = entry[name]
        if value is None and name in OPTIONAL_INT_FIELDS:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{name} must be an integer"
    for name in ("unit_value", "value"):
        if not isinstance(entry[name], str) or not DECIMAL_RE.fullmatch(entry[name]) \
                or entry[name] == "-0.00":
            return f"{name} {entry[name]!r} is not a two-decimal string"
    if not isinstance(entry["recorded_at"], str) or not TIME_RE.fullmatch(entry["recorded_at"]):
        return f"recorded_at {entry['recorded_at']!r} is not a canonical UTC time"
    for name in ("kind", "currency_code", "confirmed_by_name", "reason", "previous_hash"):
        if not isinstance(entry[name], str):
            return f"{name} must be a string"
    return None


# --- reading exports ---------------------------------------------------------------------


def read_json(path: str) -> tuple[dict, Iterator[dict], dict]:
    """(header, entries, trailer). Streams the application's one-entry-per-line
    layout without loading the file; any other JSON layout is loaded whole."""
    handle = open(path, encoding="utf-8")  # noqa: SIM115 (closed by the generator)
    first = handle.readline()
    if first.rstrip().endswith('"entries":['):
        try:
            header = json.loads(first.rstrip()[:-len(',"entries":[')] + "}")
        except json.JSONDecodeError as exc:
            raise ExportError(f"the header line is not JSON: {exc}") from exc
        trailer: dict = {}

        def entries() -> Iterator[dict]:
            with handle:
                for number, line in enumerate(handle, start=2):
                    line = line.strip()
                    if not line:
                        continue
                    if line.startswith("]"):
                        trailer.update(json.loads("{" + line[2:]) if line != "]}" else {})
                        trailer["_seen"] = True
                        return
                    try:
                        yield json.loads(line.lstrip(","))
                    except json.JSONDecodeError as exc:
                        raise ExportError(f"line {number} is not JSON: {exc}") from exc

        return header, entries(), trailer
    with handle:
        try:
            document = json.loads(first + handle.read())
        except json.JSONDecodeError as exc:
            raise ExportError(f"not JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
        raise ExportError("not a ledger export: no 'entries' list")
    entries = document.pop("entries")
    trailer = {k: document.get(k) for k in ("count", "last_sequence", "last_hash")
               if k in document}
    trailer["_seen"] = True
    return document, iter(entries), trailer


def read_csv(path: str) -> tuple[dict, Iterator[dict], dict]:
    """CSV exports carry no header object: they are treated as filtered unless
    `--full` is given. Empty cells of integer columns are null."""

    def entries() -> Iterator[dict]:
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                entry: dict = dict(row)
                for name in CSV_TEXT_FIELDS:
                    # The export puts one ' before text a spreadsheet would run as a
                    # formula (=, +, -, @, tab, CR) and before text starting with '.
                    text = row.get(name)
                    if text is not None and text.startswith("'"):
                        entry[name] = text[1:]
                for name in INT_FIELDS | OPTIONAL_INT_FIELDS:
                    text = row.get(name)
                    if text == "" and name in OPTIONAL_INT_FIELDS:
                        entry[name] = None
                    elif text is not None and re.fullmatch(r"-?[0-9]+", text):
                        entry[name] = int(text)
                yield entry

    return {"complete": False, "format": "csv"}, entries(), {"_seen": True}


# --- verifying ---------------------------------------------------------------------------


class Report:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.problem_count = 0
        self.first_bad: int | None = None
        self.count = 0
        self.links_checked = 0
        self.links_unchecked = 0
        self.head_sequence = 0
        self.head_hash = GENESIS_HASH

    def problem(self, sequence, message: str) -> None:
        self.problem_count += 1
        if self.first_bad is None and sequence is not None:
            self.first_bad = sequence
        if len(self.problems) < MAX_LISTED:
            where = f"sequence {sequence}" if sequence is not None else "export"
            self.problems.append(f"{where}: {message}")


def verify(entries: Iterator[dict], *, full: bool, anchors: dict[int, str]) -> Report:
    report = Report()
    previous_sequence: int | None = None
    previous_hash: str | None = None
    reversed_sequences: set[int] = set()
    for entry in entries:
        report.count += 1
        if not isinstance(entry, dict):
            report.problem(None, f"entry {report.count} is not an object")
            continue
        sequence = entry.get("sequence")
        wrong = form_problem(entry)
        if wrong:
            report.problem(sequence, f"invalid entry: {wrong}")
            continue
        actual = hashlib.sha256(canonical_bytes(entry)).hexdigest()
        if actual != entry["hash"]:
            report.problem(sequence, f"hash mismatch: stored {entry['hash']}, fields hash "
                                     f"to {actual}")
        link = entry["previous_hash"]
        if previous_sequence is None:
            if sequence == 1:
                report.links_checked += 1
                if link != GENESIS_HASH:
                    report.problem(1, "bad genesis: the first previous_hash must be 64 zeros")
            elif full:
                report.problem(1, f"gap: the chain must start at sequence 1, found {sequence}")
            else:
                report.links_unchecked += 1
        elif sequence <= previous_sequence:
            report.problem(sequence, f"out of order: sequence {sequence} follows "
                                     f"{previous_sequence} (reordered or duplicated)")
        elif sequence == previous_sequence + 1:
            report.links_checked += 1
            if link != previous_hash:
                report.problem(sequence, f"broken link: previous_hash {link} is not the hash "
                                         f"of sequence {previous_sequence}")
        elif full:
            report.problem(previous_sequence + 1,
                           f"gap: sequences {previous_sequence + 1}..{sequence - 1} missing")
        else:
            report.links_unchecked += 1
        target = entry["reverses_sequence"]
        if entry["kind"] == "reversal":
            if target is None or target >= sequence:
                report.problem(sequence, "bad reversal: must reference an earlier entry")
            elif target in reversed_sequences:
                report.problem(sequence, f"bad reversal: {target} reversed more than once")
            else:
                reversed_sequences.add(target)
        elif target is not None:
            report.problem(sequence, "bad reversal: only a reversal may reference an entry")
        expected = anchors.pop(sequence, None)
        if expected is not None and expected != entry["hash"]:
            report.problem(sequence, f"anchor mismatch: hash {entry['hash']} differs from "
                                     f"the recorded {expected}")
        if previous_sequence is None or sequence > previous_sequence:
            previous_sequence, previous_hash = sequence, entry["hash"]
            report.head_sequence, report.head_hash = sequence, entry["hash"]
    for sequence, expected in sorted(anchors.items()):
        if full or sequence <= report.head_sequence:
            report.problem(sequence, f"anchor mismatch: no entry {sequence} (recorded hash "
                                     f"{expected}); the chain was truncated or rewritten")
    return report


def parse_anchor(text: str) -> tuple[int, str]:
    sequence, _, digest = text.partition(":")
    digest = digest.strip().lower()
    if not sequence.strip().isdigit() or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise argparse.ArgumentTypeError(f"an anchor is SEQUENCE:HASH, not {text!r}")
    return int(sequence), digest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", help="a JSON (or CSV) export of the ledger")
    parser.add_argument("--anchor", action="append", type=parse_anchor, default=[],
                        metavar="SEQ:HASH", help="a hash recorded earlier; repeatable")
    parser.add_argument("--full", action="store_true",
                        help="require the export to be the whole chain")
    args = parser.parse_args(argv)
    try:
        reader = read_csv if args.export.lower().endswith(".csv") else read_json
        header, entries, trailer = reader(args.export)
        complete = header.get("complete") is True
        if args.full and header.get("format") != "csv" and not complete:
            print("FAILED: --full was given but this export is filtered "
                  f"({header.get('filters')})", file=sys.stderr)
            return 1
        full = complete or args.full
        report = verify(entries, full=full, anchors=dict(args.anchor))
    except (OSError, ExportError, UnicodeDecodeError) as exc:
        print(f"cannot read {args.export}: {exc}", file=sys.stderr)
        return 2
    if not trailer.get("_seen"):
        report.problem(None, "the export ends before its closing trailer (truncated file)")
    elif "count" in trailer and trailer["count"] != report.count:
        report.problem(None, f"the trailer says {trailer['count']} entries, "
                             f"the file holds {report.count}")
    elif trailer.get("last_hash") not in (None, report.head_hash) and report.count:
        report.problem(None, "the trailer's last_hash is not the last entry's hash")
    if report.problem_count:
        first = f"first bad sequence {report.first_bad}; " if report.first_bad else ""
        print(f"FAILED: {report.problem_count} problem(s) in {report.count} entries; {first}"
              f"{report.problems[0]}", file=sys.stderr)
        for line in report.problems[1:]:
            print(f"  also: {line}", file=sys.stderr)
        return 1
    if full:
        print(f"OK: complete chain of {report.count} entries verified; head sequence "
              f"{report.head_sequence}, head hash {report.head_hash}")
    else:
        print(f"OK: {report.count} entries each match their hash (filtered export: "
              f"{header.get('filters') or 'unknown filters'}). Links could only be checked "
              f"where entries are consecutive: {report.links_checked} checked, "
              f"{report.links_unchecked} not checkable.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
