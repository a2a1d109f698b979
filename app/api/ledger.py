"""API endpoints for the ledger feature."""
