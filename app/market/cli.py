"""Command-line commands of the market feature (registered via COMMANDS)."""

COMMANDS: list = []
