"""Matching runs and the proposal lifecycle."""
