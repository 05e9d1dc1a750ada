# Two commands from a fresh clone: `make run` and `make test`.
# Everything else here is an alias; each target installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
# Front-end libraries (Bootstrap, Chart.js) from npm, pinned by package-lock.json, into
# node_modules/ (never committed); Django serves them from STATICFILES_DIRS.
NODE_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run dev static test lint format bench install assets migrate demo browser-deps clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

$(NODE_STAMP):
	@command -v npm >/dev/null 2>&1 || { \
	  echo "make: npm not found. The portal's UI kit and charts (Bootstrap, Chart.js) are"; \
	  echo "      installed from npm with package-lock.json: install Node.js 18+ with npm"; \
	  echo "      (e.g. apt-get install nodejs npm) and run make again."; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	rm -f node_modules/.installed-* && touch $(NODE_STAMP)

## make assets: the front-end libraries (again only when package-lock.json changes).
assets: $(NODE_STAMP)

.env: | $(STAMP)
	$(PY) -m cobrowse_portal.envfile .env.example .env

migrate: install .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py migrate --noinput --database sandbox
	$(PY) manage.py broker_setup

demo: migrate
	$(PY) manage.py demo_setup --base-url http://$(HOST):$(PORT)

static: install assets .env
	DEBUG=false $(PY) manage.py collectstatic --noinput -v0

## make run: the product on the embedded default (SQLite + SQLAlchemy broker):
## gunicorn + worker + beat, DEBUG off (the portal's own error pages, static files
## through whitenoise), plain-HTTP cookies on localhost.
run: demo static
	@echo "Cobrowse Portal: http://$(HOST):$(PORT)/  (Ctrl-C stops web, worker and beat)"
	DEBUG=false HOST=$(HOST) PORT=$(PORT) SANDBOX_ADDRESS=$(HOST):$(PORT) $(VENV)/bin/honcho start -f Procfile

## make dev: the same with DEBUG on and Django's auto-reloading runserver.
dev: demo assets
	@echo "Cobrowse Portal (DEBUG): http://$(HOST):$(PORT)/"
	DEBUG=true HOST=$(HOST) PORT=$(PORT) SANDBOX_ADDRESS=$(HOST):$(PORT) $(VENV)/bin/honcho start -f Procfile.dev

browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium install failed: browser tests will be skipped"; \
	  else echo "no /usr/bin/chromium and not root: browser tests will be skipped"; fi; \
	fi

## make test: the whole suite (SQLite by default; DATABASE_URL/CELERY_BROKER_URL/CACHE_URL switch it).
test: install assets browser-deps
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py makemigrations --check --dry-run

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## make bench: every benchmark; prints figures, asserts nothing.
## BENCH=sync|samesurf|upscope|serviceform|smartsupp|webhooks|pages|admin|load|control
## picks some (comma-separated); BENCH_ARGS go to the sync one, SAMESURF_ARGS,
## UPSCOPE_ARGS, SERVICEFORM_ARGS (e.g. --chats 5000), SMARTSUPP_ARGS,
## WEBHOOK_BENCH_ARGS and PAGES_ARGS to theirs (webhooks: PostgreSQL + Redis, from
## DATABASE_URL and BENCH_REDIS_URL, flushed).
BENCH ?= sync,samesurf,upscope,serviceform,smartsupp,webhooks,pages,admin,load,control
bench: install assets
	@if [[ ",$(BENCH)," == *,sync,* ]]; then $(PY) -m tests.benchmarks.surfly_sync $(BENCH_ARGS); fi
	@if [[ ",$(BENCH)," == *,samesurf,* ]]; then $(PY) -m tests.benchmarks.samesurf_sync $(SAMESURF_ARGS); fi
	@if [[ ",$(BENCH)," == *,upscope,* ]]; then $(PY) -m tests.benchmarks.upscope_sync $(UPSCOPE_ARGS); fi
	@if [[ ",$(BENCH)," == *,serviceform,* ]]; then $(PY) -m tests.benchmarks.serviceform_sync $(SERVICEFORM_ARGS); fi
	@if [[ ",$(BENCH)," == *,smartsupp,* ]]; then $(PY) -m tests.benchmarks.smartsupp_sync $(SMARTSUPP_ARGS); fi
	@if [[ ",$(BENCH)," == *,webhooks,* ]]; then $(PY) -m tests.benchmarks.webhook_intake $(WEBHOOK_BENCH_ARGS); fi
	@if [[ ",$(BENCH)," == *,control,* ]]; then $(PY) -m tests.benchmarks.control_pages $(CONTROL_ARGS); fi
	@s=$$(echo "$(BENCH)" | tr ',' '\n' | grep -xE 'pages|admin|load' | paste -sd, -); \
	  if [ -n "$$s" ]; then $(PY) -m tests.benchmarks.surfly_pages --scenario $$s $(PAGES_ARGS); fi

clean:
	rm -rf var/*.sqlite3* staticfiles node_modules
