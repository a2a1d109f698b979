# Two commands do all the set-up: `make run` and `make test`. `make serve` runs the
# production stack (see README, "Running in production").
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := wsgi.py

.PHONY: run serve test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/flask db upgrade
	$(BIN)/flask demo seed --if-empty
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

# The release step (migrations), then the production stack against DATABASE_URL (SQLite
# under instance/ when unset; APP_ENV=production refuses to start without it) and REDIS_URL
# (default: the local Redis): JOB_WORKERS job workers and the scheduler in the background,
# gunicorn (gunicorn.conf.py) in front; stopping gunicorn (Ctrl-C) stops them too.
JOB_WORKERS ?= 1
serve: export REDIS_URL ?= redis://127.0.0.1:6379/0
serve: $(VENV)/.installed
	$(BIN)/flask db upgrade
	@set -e; pids=""; \
	trap 'kill $$pids 2>/dev/null || true' EXIT INT TERM; \
	for n in $$(seq 1 $(JOB_WORKERS)); do $(BIN)/flask jobs worker & pids="$$pids $$!"; done; \
	$(BIN)/flask jobs scheduler & pids="$$pids $$!"; \
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

# bench/web.py (the web tier at 50,000 listings on PostgreSQL) is left out: it takes
# about five minutes and needs a PostgreSQL server; see the README.
bench: $(VENV)/.installed-dev
	$(BIN)/pip install --quiet -r requirements-bench.txt
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/outbox.py

clean:
	rm -rf $(VENV) instance/*.db
