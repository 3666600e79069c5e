# Two commands on a fresh machine with Python 3.11 and make:
#   make run    set up, create/upgrade the SQLite database, load the event, serve on :5000
#   make test   set up, then run the whole test suite

SHELL := bash
.SHELLFLAGS := -o pipefail -c

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CATALOGS := $(wildcard board/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)
HOST   ?= 127.0.0.1
PORT   ?= 5000
# The address `make run` waits on before it prints the sign-ins (a wildcard host answers locally).
PROBE  := $(if $(filter 0.0.0.0 ::,$(HOST)),127.0.0.1,$(HOST))
INITLOG := $(VENV)/run-init-db.log

.PHONY: run test install translations dist extract-messages lint screenshots eval clean load audit

install: $(STAMP) translations

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

translations: $(COMPILED)

board/translations/%/LC_MESSAGES/messages.mo: board/translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ >/dev/null

# The server runs in the foreground, so Ctrl+C stops it; a background helper waits until the
# port answers, then prints the address and the demo sign-ins init-db listed (kept in $(INITLOG)).
run: install
	@if (exec 3<>/dev/tcp/$(PROBE)/$(PORT)) 2>/dev/null; then \
	  echo "Port $(PORT) on $(HOST) is in use; choose another: make run PORT=5001" >&2; exit 1; fi
	BOARD_DEMO=1 $(BIN)/flask --app board init-db | tee $(INITLOG)
	@( for _ in $$(seq 600); do \
	    if (exec 3<>/dev/tcp/$(PROBE)/$(PORT)) 2>/dev/null; then \
	      sleep 0.2; \
	      echo ""; \
	      echo "  融通对接板 is running on http://$(HOST):$(PORT)  (Ctrl+C stops it)"; \
	      echo "  Demo sign-ins:"; \
	      grep '^  demo ' $(INITLOG) | sed 's/^  demo /    /'; \
	      echo ""; \
	      exit 0; \
	    fi; \
	    kill -0 $$$$ 2>/dev/null || exit 0; \
	    sleep 0.1; \
	  done ) & \
	export BOARD_DEMO=1; exec $(BIN)/flask --app board run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

# Nothing lost under load at full size (README: Security): 50 clients for 60 s against gunicorn
# with 4 workers, a worker killed half-way; on SQLite, and PostgreSQL when TEST_DATABASE_URL is set.
load: install
	$(BIN)/python -m tests.load.run --clients $${LOAD_CLIENTS:-50} --seconds $${LOAD_SECONDS:-60}

# bandit (every finding explained) and known vulnerabilities in the installed dependencies
# (pip-audit asks PyPI for each installed version: it needs the internet; --strict fails when a
# package could not be checked instead of passing an audit that checked nothing).
audit: install
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/security/test_static.py
	$(BIN)/pip-audit --strict --skip-editable

# The release: dist/rail_board-<version>.tar.gz and the wheel built from it (README: Running in production).
dist: $(STAMP)
	$(BIN)/python -m build --outdir dist .

# Re-extract the UI strings after changing templates or code, then translate the new entries.
extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l --ignore-dirs=".* .venv" -o board/translations/messages.pot --no-location --sort-output --project rail-board .
	$(BIN)/pybabel update -i board/translations/messages.pot -d board/translations --no-fuzzy-matching

lint: $(STAMP)
	$(BIN)/ruff check board tests

eval: install
	$(BIN)/flask --app board eval-matching tests/eval/generalisation_tune.json tests/eval/generalisation_heldout.json tests/eval/matching_eval.json

screenshots: install
	$(BIN)/python -m tests.browser.screenshots docs/screenshots

clean:
	rm -rf $(VENV) .pytest_cache build dist
