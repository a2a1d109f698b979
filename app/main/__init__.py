"""Start page and dashboard."""
