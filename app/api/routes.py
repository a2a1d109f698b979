"""The API blueprint with every feature's endpoints registered on it."""

# Importing the feature modules registers their endpoints on `bp`.
from app.api import auth, docs, ledger, market, proposals  # noqa: F401
from app.api.core import bp

__all__ = ["bp"]
