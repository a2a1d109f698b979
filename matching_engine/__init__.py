"""The matching engine: pure (stdlib, networkx, NumPy/SciPy, HiGHS), no Flask, no database.

``solve(document)`` clears a market document (organisations, currencies, listings) or a
kidney-exchange-style graph document and returns a JSON-shaped result (see the README);
``python -m matching_engine solve FILE.json`` does the same from the command line.
"""

from .api import solve
from .errors import InputError

__all__ = ["solve", "InputError"]
