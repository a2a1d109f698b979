"""Pages of the market feature."""

from flask import Blueprint

bp = Blueprint("market", __name__, template_folder="templates")
