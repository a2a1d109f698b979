"""What bench/web.py serves with gunicorn: the app, and a bare Flask JSON endpoint under
/bare in the same workers, so both meet the same server, machine and moment."""

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from wsgi import app

bare = Flask("bare")


@bare.get("/")
def hello():
    return {"ok": True}


application = DispatcherMiddleware(app, {"/bare": bare})


@bare.get("/cache-stats")
def cache_stats():
    """This worker's cached-read counts (app.core.read_cache), for the benchmark's report:
    the market's reads, not the signed-in user's (every request has one)."""
    import os

    from app.auth.loader import USERS
    from app.core import read_cache

    with app.app_context():
        return {"pid": os.getpid(), **read_cache.stats(leaving_out=(USERS,))}
