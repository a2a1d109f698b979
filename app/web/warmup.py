"""Each web worker does its first-time work before its first request, not during it.

A fresh worker compiles every template on first use, opens its first database connection
(and PostgreSQL loads that backend's catalog caches), and SQLAlchemy compiles each query
shape the first time it runs. At 50,000 listings the first `/market` search of a new worker
took 124 ms against 20–40 ms afterwards; after a deploy or a worker's restart, the first
visitors paid that. gunicorn calls `warm_up` in each worker once it has loaded the app
(gunicorn.conf.py, `post_worker_init`); the development server and the CLI do not.

The reads go through the same services as the pages (and fill the same cached answers, which
are correct answers). Nothing is written. A failure (the database not up yet) is logged and
the worker starts anyway: warming is an optimisation, never a condition.

Then `settle_garbage_collection` keeps Python's cycle collector out of requests' way. With
its defaults, a full collection ran every ~300 requests of the benchmark's mixed browse and
walked every object the worker holds (185,000 after start-up: modules, mappers, compiled
queries and templates): 80–155 ms each, a request that took 10 ms then took 160. Freezing
what start-up made (`gc.freeze`: never collected, never walked again) and collecting the
youngest generation every 10,000 allocations instead of 700 (request objects die by
reference counting long before; the cycles they leave are few) took the collector's time in
1,500 requests of that mix from 597 ms (longest pause 156 ms) to 124 ms (longest 17 ms).
"""

from __future__ import annotations

import gc
import logging
import time

from flask import Flask

from app.extensions import db
from app.market import browse

log = logging.getLogger(__name__)

#: gc.set_threshold for web workers (Python's default is 700, 10, 10): see the docstring.
GC_THRESHOLDS = (10_000, 10, 10)


def warm_up(app: Flask) -> dict:
    """Compile the templates and run the market's common reads once; returns what was done
    (for the log line and tests)."""
    started = time.perf_counter()
    done = {"templates": 0, "reads": 0}
    for name in app.jinja_env.list_templates(filter_func=lambda n: n.endswith(".html")):
        app.jinja_env.get_template(name)
        done["templates"] += 1
    with app.app_context():
        try:
            # The market page and the API list: newest first, a text search, a filter.
            browse.market_page_ids(browse.ListingFilters(), 1, 20)
            browse.market_page_ids(browse.ListingFilters(text="care"), 1, 20)
            browse.listing_keyset_page(browse.ListingFilters(), 20)
            browse.listing_keyset_page(browse.ListingFilters(text="care"), 20)
            browse.listing_keyset_page(browse.ListingFilters(kind="offer"), 20)
            done["reads"] = 5
        except Exception:  # the worker must start whatever the database says
            log.warning("Warming up the market's reads failed; the first requests will "
                        "do it", exc_info=True)
        finally:
            db.session.rollback()
            db.session.remove()
    done["seconds"] = round(time.perf_counter() - started, 3)
    log.info("Worker warmed up: %(templates)d templates, %(reads)d reads in %(seconds)s s",
             done)
    return done


def settle_garbage_collection() -> int:
    """Freeze every object alive now and collect young objects less often (see the module
    docstring); for a worker that has warmed up. Returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    frozen = gc.get_freeze_count()
    log.info("Garbage collection settled: %d objects frozen, thresholds %s", frozen,
             GC_THRESHOLDS)
    return frozen
