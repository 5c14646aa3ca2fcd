# DeepBoot: `make run` serves the site, `make test` runs every test. Both install first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PYTEST_WORKERS ?= 2
export KERAS_BACKEND ?= tensorflow
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install install-dev run test bootstrap clean

install: $(VENV)/.installed-runtime

install-dev: $(VENV)/.installed-dev

# Stamp files make the installs idempotent: pip runs again only when a requirements file changes.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: requirements.txt requirements-common.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt requirements-common.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed-runtime $@

bootstrap: install
	$(PY) manage.py bootstrap

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py prune_games
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py bootstrap --only tictactoe
	@# The demo classifiers and detector train in the background while the site serves (see the
	@# README); stopping the server (Ctrl-C, SIGTERM) stops that training too, and the next
	@# `make run` resumes it from its checkpoints.
	@log="$${DEEPBOOT_VAR:-var}/logs/demo-training.log"; \
	echo "Demo models train in the background; their log: $$log"; \
	trap 'kill -TERM $$server $$training 2>/dev/null' INT TERM; \
	$(PY) manage.py bootstrap --skip tictactoe >>"$$log" 2>&1 & training=$$!; \
	$(PY) manage.py serve --port $(PORT) & server=$$!; \
	wait $$server; kill -TERM $$training 2>/dev/null; wait $$training; wait $$server

# Two test processes (pytest-xdist), one a core on the 2-core machines this is measured on (see the
# README's test section); PYTEST_WORKERS=0 runs everything in one process.
test: install-dev
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache
