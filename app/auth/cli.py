"""Command-line commands of the auth feature (registered via COMMANDS)."""

COMMANDS: list = []
