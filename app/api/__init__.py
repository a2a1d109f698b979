"""The JSON API under /api/v1: one blueprint, one module per feature."""

# Importing the feature modules registers their endpoints on `bp`.
from app.api import auth, docs, ledger, market, proposals  # noqa: F401
from app.api.core import bp

__all__ = ["bp"]
