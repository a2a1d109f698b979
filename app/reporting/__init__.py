"""Reporting: what is read from the proposals and the ledger together.

trust.py (the one batched trust computation and every view of it), over_time.py
(exchanges per month), audit.py (the audit trail, exchange timelines, and the
verification auditors run: the ledger's chain plus the ledger ↔ proposals
cross-check), drawing.py (the network and over-time pictures), and the pages and
schemas of those. Reads only; depends on core, auth, market, ledger and proposals.
"""
