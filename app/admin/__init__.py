"""Administration pages: users, currencies, market settings."""
