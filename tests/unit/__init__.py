"""Unit tests that need no application or database."""
