"""The marketplace: organisations, currencies, listings."""
