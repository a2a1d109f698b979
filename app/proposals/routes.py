"""Pages of the proposals feature."""

from flask import Blueprint

bp = Blueprint("proposals", __name__, template_folder="templates")
