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

# The release step (migrations), then gunicorn with gunicorn.conf.py against DATABASE_URL
# (SQLite under instance/ when unset; APP_ENV=production refuses to start without it).
serve: $(VENV)/.installed
	$(BIN)/flask db upgrade
	@# Hook for issue 11 part B: the job worker and the scheduler start here, beside the
	@# web server (e.g. `$(BIN)/flask jobs worker &`), once the job queue exists.
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

bench: $(VENV)/.installed-dev
	$(BIN)/pip install --quiet -r requirements-bench.txt
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/ledger.py

clean:
	rm -rf $(VENV) instance/*.db
