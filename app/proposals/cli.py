"""Command-line commands of the proposals feature (registered via COMMANDS)."""

COMMANDS: list = []
