"""A web worker does its first-time work before its first request (app/web/warmup.py),
through gunicorn's `post_worker_init` hook, and then settles the garbage collector; a
database that is not up never stops it."""

from __future__ import annotations

import gc
import logging
import os
import runpy
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from app import create_app
from app.core import read_cache
from app.market import browse
from app.market.browse import MARKET
from app.web.warmup import GC_THRESHOLDS, settle_garbage_collection, warm_up
from config import TestingConfig
from tests.conftest import free_port, is_postgres

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def restored_garbage_collection():
    """The test process's collector as it was: settling it freezes every object alive."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_warm_up_compiles_the_templates_and_runs_the_market_reads(app, make_listing):
    make_listing(title="Warm soup kitchen shifts")
    templates = app.jinja_env.list_templates(filter_func=lambda n: n.endswith(".html"))
    done = warm_up(app)
    assert done["templates"] == len(templates) > 20
    assert len(app.jinja_env.cache) >= len(templates)  # compiled and kept
    assert done["reads"] == 5
    # The reads ran and were kept: the first market page is now answered from memory.
    hits = read_cache.stats(MARKET)["hits"]
    page = browse.market_page_ids(browse.ListingFilters(), 1, 20)
    assert read_cache.stats(MARKET)["hits"] == hits + 1
    assert page.total == 1


def test_a_database_that_is_not_up_does_not_stop_the_worker(caplog):
    port = free_port()
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=(
        f"postgresql+psycopg://postgres@127.0.0.1:{port}/nothing?connect_timeout=2"))
    with caplog.at_level(logging.WARNING, logger="app.web.warmup"):
        done = warm_up(app)
    assert done["reads"] == 0 and done["templates"] > 20
    assert "Warming up the market's reads failed" in caplog.text


def test_the_gunicorn_hook_warms_a_flask_app_or_a_dispatchers_default_app(
        app, caplog, restored_garbage_collection):
    hook = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["post_worker_init"]
    with caplog.at_level(logging.INFO, logger="app.web.warmup"):
        hook(SimpleNamespace(wsgi=app))
        hook(SimpleNamespace(wsgi=DispatcherMiddleware(app, {})))
        hook(SimpleNamespace(wsgi=lambda environ, start_response: []))  # not Flask: left
    assert caplog.text.count("Worker warmed up") == 2
    assert caplog.text.count("Garbage collection settled") == 2


def test_settling_freezes_what_is_alive_and_collects_young_objects_less_often(
        restored_garbage_collection):
    gc.unfreeze()
    kept_alive = [[n] for n in range(1000)]  # tracked objects made before settling
    frozen = settle_garbage_collection()
    assert frozen == gc.get_freeze_count() > len(kept_alive)
    assert gc.get_threshold() == GC_THRESHOLDS
    # Frozen objects are no longer in any generation the collector walks.
    assert not any(obj is kept_alive for obj in gc.get_objects())
    made_after = [0]
    assert any(obj is made_after for obj in gc.get_objects())


@pytest.mark.skipif(is_postgres(), reason="one run is enough: it serves a SQLite copy")
def test_gunicorn_workers_warm_up_before_serving(_schema, tmp_path):
    """The real server: its worker logs the warm-up, then answers."""
    pytest.importorskip("gunicorn")
    database = tmp_path / "served.db"
    shutil.copyfile(_schema, database)
    port = free_port()
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("SECRET_KEY", "DATABASE_URL", "APP_ENV", "FLASK_APP")}
    environment.update(DATABASE_URL=f"sqlite:///{database}", REDIS_URL="",
                       GUNICORN_ACCESS_LOG="")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind",
         f"127.0.0.1:{port}", "--workers", "1", "wsgi:app"], cwd=ROOT, env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        answered = None
        for _ in range(100):
            try:
                answered = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert answered is not None and answered.status_code == 200
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "Worker warmed up" in output, output[-2000:]
    assert "Garbage collection settled" in output
    assert "reads failed" not in output
