# The two commands: `make run` (the whole product) and `make test`.
PYTHON_BIN ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test install migrate clean

$(VENV)/.installed: requirements.txt requirements-nodeps.txt requirements-dev.txt
	$(PYTHON_BIN) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	$(PIP) install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py demo_setup
	$(PY) manage.py serve

test: install
	$(PY) -m budhitrade.embedded_redis $(PY) -m pytest

clean:
	rm -rf $(VENV) state
