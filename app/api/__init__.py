"""The JSON API under /api/v1: one blueprint (`app.api.routes.bp`), one module per feature.

This package imports nothing on its own, so features can use its plumbing
(`app.api.core`, `app.api.fields`) without pulling in every endpoint.
"""
