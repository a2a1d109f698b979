"""Proposals: exchanges the matcher found, and their lifecycle up to the ledger.

models.py, reading.py (access and lists), creation.py (from an engine result),
lifecycle.py (one function per transition), steps.py (what transitions are made
of), expiry.py (deadlines), recording.py (a completed exchange into the ledger),
signatures.py, notifications.py (telling the participants); services.py gathers
them for the pages, the API and the CLI. Reservations on listings go through
`app.market.reservations`; depends on core, auth, notifications, market, ledger.
"""
