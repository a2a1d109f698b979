"""Tests of the pure matching engine."""
