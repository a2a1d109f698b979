"""The demo market: a fictional integrated care partnership, seeded by `flask demo seed`.

`demo_logins()` lists the demo accounts (shown on the login page in DEMO_MODE only).
"""

from app.demo.logins import demo_logins

__all__ = ["demo_logins"]
