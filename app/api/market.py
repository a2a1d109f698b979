"""API endpoints for the market feature."""
