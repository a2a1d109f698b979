"""Matching runs: snapshot the market, run the engine (`matching_engine`, a top-level
package of its own), store the run and turn its result into proposals.

models.py (MatchingRun), snapshot.py (the market document), services.py (runs,
inline or in the background), and the run pages, forms, schemas and `flask match`.
The last service package: it may use every other one, and none uses it.
"""
