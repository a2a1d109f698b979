"""Matching: the pure engine (``engine/``) and the matching runs that feed it market snapshots."""
