"""Every limit of the application in one place: forms, schemas and services read them here.

Ranges are (lowest, highest), both inclusive.
"""

from __future__ import annotations

from decimal import Decimal

# Ids are 32-bit INTEGER primary keys: a larger number cannot name anything, and
# refusing it early keeps it away from the database driver.
MAX_ID = 2**31 - 1
MAX_PAGE = 100_000
MAX_PER_PAGE = 100

# --- accounts -----------------------------------------------------------------------------
MIN_PASSWORD_LENGTH = 12
# Argon2 accepts any length; the cap keeps a megabyte "password" from costing hashing time.
MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 120
MAX_TOKEN_NAME_LENGTH = 80
# A user rarely needs more; the cap keeps a runaway script from filling the table.
MAX_LIVE_TOKENS = 25

# --- the market ---------------------------------------------------------------------------
MAX_QUANTITY = 1_000_000
MIN_TITLE = 3
MAX_TITLE = 140
MAX_TEXT = 5000
MAX_CATEGORY = 80
MAX_CATEGORIES = 50
MAX_CODE = 40
MAX_TAGS = 12
MAX_AREAS = 20
MAX_ORG_NAME = 160
MAX_SLUG = 80
MAX_CONTACT_NAME = 120
MAX_PHONE = 40
MAX_EXCLUSIONS = 200
MAX_CURRENCY_CODE = 32
MAX_CURRENCY_NAME = 80
MAX_UNIT = 40
MAX_VALUE_PER_UNIT = Decimal("1000000")
MAX_SEARCH = 200
# Listings end within this horizon; later dates are almost certainly typing mistakes.
MAX_HORIZON_DAYS = 5 * 366

# --- market settings (also CHECK constraints on market_settings) ---------------------------
SETTINGS_RANGES = {
    "max_cycle": (2, 6),
    "max_chain": (0, 10),
    "time_limit_seconds": (1, 3600),
    "acceptance_days": (1, 365),
    "delivery_days": (1, 730),
}
FAIRNESS_PLACES = 3
WEIGHT_KEYS = ("needs", "value", "parties", "completion")
MAX_SETTINGS_WEIGHT = 1000

# --- one matching run's settings (they override the market's for that run) ----------------
MAX_RUN_TIME_LIMIT = 600
MAX_RUN_WEIGHT = 1_000_000

# --- the proposal lifecycle, the ledger, notifications ------------------------------------
MAX_REASON = 1000
MAX_MESSAGE = 500

# --- the API's idempotency records -------------------------------------------------------
# A stored answer is replayed for a repeated Idempotency-Key within this window; the
# scheduler deletes older records (a key reused after it acts anew).
IDEMPOTENCY_WINDOW_SECONDS = 24 * 3600
