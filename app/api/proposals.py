"""API endpoints for the proposals feature."""
