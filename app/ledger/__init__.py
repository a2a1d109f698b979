"""The append-only ledger of trust and the figures drawn from it."""
