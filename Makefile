# Two commands set up everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint venv migrate seed worker beat simulate clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# Where `make run` serves (`make run HOST=0.0.0.0 PORT=8200`). Links and the OCPI base URL use
# HOST, or loopback for a wildcard bind; set OCPI_BASE_URL when partners reach us elsewhere.
HOST ?= 127.0.0.1
PORT ?= 8000
URL_HOST := $(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST))
PORTAL_URL := http://$(URL_HOST):$(PORT)

# The embedded portal: SQLite under var/, Celery tasks and the periodic jobs in-process, demo data
# and a demo login. manage.py uses the development settings (debug on).
run: export OCPI_BASE_URL ?= $(PORTAL_URL)/ocpi
run: export ALLOWED_HOSTS ?= 127.0.0.1,localhost,$(URL_HOST)
# The simulator (`make simulate`) listens on loopback; production refuses such partner URLs.
run: export OCPI_ALLOW_PRIVATE_ADDRESSES ?= true
run: $(STAMP)
	mkdir -p var
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo --if-empty --admin-url $(PORTAL_URL)/admin/
	@echo "OCPI versions endpoint for partners: $$OCPI_BASE_URL/versions"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	mkdir -p var
	$(BIN)/ruff check .
	DJANGO_SETTINGS_MODULE=cpo_portal.settings_test $(BIN)/python manage.py makemigrations --check --dry-run

# Needs REDIS_URL (and DATABASE_URL). push_fast carries EVSE status pushes ahead of bulk work.
# Development settings, as manage.py uses; production processes run with cpo_portal.settings.
worker beat: export DJANGO_SETTINGS_MODULE ?= cpo_portal.settings_dev
worker: $(STAMP)
	$(BIN)/celery -A cpo_portal worker --queues=push_fast,celery --loglevel=INFO

beat: $(STAMP)
	$(BIN)/celery -A cpo_portal beat --loglevel=INFO

# A Payter stand-in on loopback for a portal started with `make run`: it registers with the portal
# under a new partner, then crawls locations and tariffs every minute and receives our pushes.
PORTAL_OCPI ?= $(PORTAL_URL)/ocpi
simulate: export OCPI_ALLOW_PRIVATE_ADDRESSES ?= true
simulate: $(STAMP)
	@token=$$($(BIN)/python manage.py ocpi_partner_create --name "PTP simulator $$(date +%Y%m%d-%H%M%S)" \
		| awk '/^Token A:/ {print $$3}'); \
	test -n "$$token" || { echo "could not create the simulator's partner"; exit 1; }; \
	$(BIN)/python -m ptp_simulator serve --port 9100 --seed-terminals 2 --poll-interval 60 --verbose \
		--register-with $(PORTAL_OCPI)/versions --register-token=$$token

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
