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
