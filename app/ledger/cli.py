"""Command-line commands of the ledger feature (registered via COMMANDS)."""

COMMANDS: list = []
