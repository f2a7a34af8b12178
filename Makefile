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

# Runs its command with DATABASE_URL and REDIS_URL, starting an embedded PostgreSQL and Redis for whichever
# is unset, and stops them when the command ends (budhitrade/embedded.py).
EMBEDDED := $(PY) -m budhitrade.embedded

migrate: install
	$(EMBEDDED) $(PY) manage.py migrate --noinput

# One runner for every step, so the embedded servers start once; serve replaces the shell (exec), so a
# signal reaches it directly.
run: install
	$(EMBEDDED) sh -c '$(PY) manage.py migrate --noinput \
	  && $(PY) manage.py collectstatic --noinput --verbosity 0 \
	  && $(PY) manage.py demo_setup \
	  && exec $(PY) manage.py serve'

test: install
	$(EMBEDDED) $(PY) -m pytest

clean:
	rm -rf $(VENV) state
