"""API endpoints for the auth feature."""
