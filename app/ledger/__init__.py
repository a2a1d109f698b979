"""The append-only ledger of trust: hash-chained entries of completed trades, reversals,
verification of the chain and exports.

It knows nothing of proposals: completed exchanges arrive as plain leg records
(`services.TradeLeg`). chain.py (the canonical encoding and the verifier) uses the
standard library only, like tools/verify_ledger.py. Trust figures, the audit trail
and the ledger ↔ proposals cross-check are `app.reporting`.
"""
