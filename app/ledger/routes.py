"""Pages of the ledger feature."""

from flask import Blueprint

bp = Blueprint("ledger", __name__, template_folder="templates")
