"""Configuration read from the environment, with safe development defaults.

Every setting can be overridden by an environment variable of the same name.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", default)
    # Heroku-style URLs name the old scheme; SQLAlchemy wants the driver spelled out.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class ConfigurationError(RuntimeError):
    """The environment cannot run the app as configured; the message says what to set."""


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE_DIR / 'common_currency.db'}")
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    WTF_CSRF_TIME_LIMIT = None
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 1024 * 1024))

    # Shown on the login page and printed by `make run`: only ever true for the demo.
    DEMO_MODE = _bool("DEMO_MODE", False)
    # Failed logins: an account may fail LOGIN_RATE_LIMIT times, then waits
    # LOGIN_BACKOFF_SECONDS after its latest failure, doubling with each further failure up
    # to LOGIN_BACKOFF_MAX_SECONDS. One address may fail LOGIN_ADDRESS_LIMIT times (any
    # accounts) before it waits too. Failures are forgotten after LOGIN_RATE_WINDOW_SECONDS.
    LOGIN_RATE_LIMIT = int(os.environ.get("LOGIN_RATE_LIMIT", 5))
    LOGIN_RATE_WINDOW_SECONDS = int(os.environ.get("LOGIN_RATE_WINDOW_SECONDS", 900))
    LOGIN_BACKOFF_SECONDS = int(os.environ.get("LOGIN_BACKOFF_SECONDS", 30))
    LOGIN_BACKOFF_MAX_SECONDS = int(os.environ.get("LOGIN_BACKOFF_MAX_SECONDS", 900))
    LOGIN_ADDRESS_LIMIT = int(os.environ.get("LOGIN_ADDRESS_LIMIT", 100))
    # A new API token or generated password waits server-side this long to be shown once.
    SHOWN_ONCE_SECONDS = int(os.environ.get("SHOWN_ONCE_SECONDS", 600))
    API_TOKEN_DAYS = int(os.environ.get("API_TOKEN_DAYS", 90))
    PAGE_SIZE = int(os.environ.get("PAGE_SIZE", 20))
    # Runs of markets larger than this many open listings go to a background thread.
    MATCHING_BACKGROUND_THRESHOLD = int(os.environ.get("MATCHING_BACKGROUND_THRESHOLD", 400))
    TESTING = False

    # Operations. Trusted proxies in front of the app (0: none; X-Forwarded-* ignored).
    PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", 0))
    # Strict-Transport-Security max-age in seconds (0: no header; on in production).
    HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", 0))
    # The job queue: with REDIS_URL set, background matching runs and scheduled work go
    # to the RQ queue JOB_QUEUE on that Redis (checked by /readyz too); without it they
    # run in-process (a thread of the web worker), as `make run` and the tests do.
    REDIS_URL = os.environ.get("REDIS_URL", "")
    JOB_QUEUE = os.environ.get("JOB_QUEUE", "common-currency")
    # The market's cached reads are shared between worker processes through this Redis
    # (app.core.read_cache; by default the job queue's; empty: each process keeps its own).
    READ_CACHE_REDIS_URL = os.environ.get("READ_CACHE_REDIS_URL", REDIS_URL)
    READ_CACHE_PREFIX = os.environ.get("READ_CACHE_PREFIX", "cc:read:")
    # A running matching run writes a heartbeat every MATCHING_HEARTBEAT_SECONDS; one
    # silent for MATCHING_HEARTBEAT_TIMEOUT seconds lost its worker and is failed.
    MATCHING_HEARTBEAT_SECONDS = int(os.environ.get("MATCHING_HEARTBEAT_SECONDS", 10))
    # A background run solves at this nice level (0-19, higher yields more; 0: in the
    # worker's own thread), in a child process with a scheduling group of its own: on a
    # machine shared with the web workers, pages keep their speed while a run takes its time.
    MATCHING_NICE = int(os.environ.get("MATCHING_NICE", 10))
    MATCHING_HEARTBEAT_TIMEOUT = int(os.environ.get("MATCHING_HEARTBEAT_TIMEOUT", 40))
    # The ledger head (sequence and hash) is appended to this file every
    # LEDGER_ANCHOR_SECONDS by the scheduler; keep it outside the database's reach.
    LEDGER_ANCHOR_FILE = os.environ.get("LEDGER_ANCHOR_FILE",
                                        str(INSTANCE_DIR / "ledger-anchors.log"))
    LEDGER_ANCHOR_SECONDS = int(os.environ.get("LEDGER_ANCHOR_SECONDS", 3600))
    # Email. Sent by jobs from the outbox (app.notifications.outbox). MAIL_SERVER set:
    # SMTP to that relay; unset: the embedded default writes each email as an .eml file
    # under MAIL_OUTBOX_DIR and logs its subject (`make run` needs no mail server).
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", 25))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER",
                                         "Common Currency <no-reply@localhost>")
    MAIL_TIMEOUT = int(os.environ.get("MAIL_TIMEOUT", 30))
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR", str(INSTANCE_DIR / "outbox"))
    # Links in emails are absolute: BASE_URL is where users reach the site.
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    # Named in every email ("… in the Northshire Integrated Care Partnership").
    PARTNERSHIP_NAME = os.environ.get("PARTNERSHIP_NAME", "Common Currency")
    # A failed send is retried after EMAIL_RETRY_SECONDS, doubling each time (capped at
    # one hour), and given up after EMAIL_MAX_ATTEMPTS attempts.
    EMAIL_RETRY_SECONDS = int(os.environ.get("EMAIL_RETRY_SECONDS", 60))
    EMAIL_MAX_ATTEMPTS = int(os.environ.get("EMAIL_MAX_ATTEMPTS", 6))
    # "background": after a commit that queued emails, a delivery job is started (on the
    # job queue with REDIS_URL, else a thread); "manual": only the scheduler's sweep and
    # `flask jobs run send_emails` send (the tests drive it by hand).
    EMAIL_DELIVERY = os.environ.get("EMAIL_DELIVERY", "background")
    # Digests go out after this hour (Europe/London); weekly ones on DIGEST_WEEKDAY (0=Mon).
    DIGEST_HOUR = int(os.environ.get("DIGEST_HOUR", 7))
    DIGEST_WEEKDAY = int(os.environ.get("DIGEST_WEEKDAY", 0))
    # Password-reset links are valid this long (single use).
    PASSWORD_RESET_SECONDS = int(os.environ.get("PASSWORD_RESET_SECONDS", 1800))
    # One JSON line per request on the "app.requests" logger.
    REQUEST_LOG = _bool("REQUEST_LOG", True)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()

    @classmethod
    def check(cls) -> None:
        """Refuse to build the app when the environment is not fit for this config."""


class DevelopmentConfig(Config):
    DEMO_MODE = _bool("DEMO_MODE", True)
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-change-me")


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing"
    SQLALCHEMY_DATABASE_URI = _database_url("sqlite://")
    WTF_CSRF_ENABLED = False
    LOGIN_RATE_LIMIT = 5
    LOGIN_ADDRESS_LIMIT = 12  # above the per-account limit, small enough to reach in a test
    MATCHING_BACKGROUND_THRESHOLD = 10_000_000
    MATCHING_NICE = 0  # runs processed in the test process's own thread must not slow it
    READ_CACHE_REDIS_URL = ""  # tests that share cached reads set their own
    EMAIL_DELIVERY = "manual"
    MAIL_BACKEND = "locmem"  # the email tests point MAIL_BACKEND="smtp" at a real server
    BASE_URL = "https://cc.example.org"
    PARTNERSHIP_NAME = "Test Partnership"


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", 31_536_000))

    # Settings production cannot run without: each worker would otherwise sign sessions
    # with its own random key, or write to a throw-away SQLite file.
    REQUIRED_ENVIRONMENT = ("SECRET_KEY", "DATABASE_URL")

    @classmethod
    def check(cls) -> None:
        missing = [name for name in cls.REQUIRED_ENVIRONMENT
                   if not os.environ.get(name, "").strip()]
        if missing:
            raise ConfigurationError(
                f"APP_ENV=production refuses to start: set {' and '.join(missing)} in the "
                "environment (see README, \"Running in production\").")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    name = os.environ.get("APP_ENV", "development").strip().lower() or "development"
    if name not in CONFIGS:
        # A typo must not quietly start production with the development secret key.
        raise ConfigurationError(
            f"APP_ENV={name!r} is unknown: use one of {', '.join(CONFIGS)}.")
    return CONFIGS[name]
