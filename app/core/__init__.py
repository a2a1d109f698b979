"""The neutral kernel every feature builds on: errors, the clock, choice sets, limits,
validation helpers, paging and strict schema fields.

Nothing here imports a feature package, the pages or the API.
"""
