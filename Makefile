# Two commands on a fresh machine: `make run` and `make test` (see README).
SHELL := /bin/bash
.DEFAULT_GOAL := run

PORT ?= 3000
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools
BUN_VERSION := 1.4.4
NODE_MAJOR := 22

# bun and node 22 come from the npm registry into .tools (Reflex's own download needs internet).
export PATH := $(CURDIR)/$(TOOLS)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export REFLEX_USE_SYSTEM_BUN := 1
export REFLEX_TELEMETRY_ENABLED := false
export NPM_CONFIG_REGISTRY ?= $(shell npm config get registry 2>/dev/null)
ifdef WORKERS
export GRANIAN_WORKERS := $(WORKERS)
endif

.PHONY: run test deps test-deps migrate seed unit security e2e integration bench bench-history bench-embed bench-stats bench-retention bench-ab bench-tabs clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(TOOLS)/.installed:
	npm install --prefix $(TOOLS) --no-fund --no-audit --loglevel=error bun@$(BUN_VERSION) node@$(NODE_MAJOR)
	$(TOOLS)/node_modules/.bin/bun --version >/dev/null
	touch $@

deps: $(VENV)/.installed $(TOOLS)/.installed

migrate: deps
	$(PY) -m online_contact.manage migrate

seed: migrate
	$(PY) -m online_contact.manage seed

run: seed
	@if [ -n "$(WORKERS)" ] && [ "$(WORKERS)" != "1" ] && [ -z "$$REDIS_URL" ]; then \
	  echo "WORKERS=$(WORKERS) needs REDIS_URL (without Redis, workers cannot reach each other's tabs)"; exit 2; fi
	@echo "Serving on http://localhost:$(PORT)"
	$(VENV)/bin/reflex run --env prod --backend-port $(PORT) --backend-host 0.0.0.0

$(VENV)/.test-installed: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[test]"
	touch $@

/usr/bin/chromium:
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

test-deps: deps $(VENV)/.test-installed /usr/bin/chromium

test: test-deps
	$(PY) -m pytest tests

unit: test-deps
	$(PY) -m pytest tests/unit

security: test-deps
	$(PY) -m pytest tests/security

e2e: test-deps
	$(PY) -m pytest tests/e2e

integration: test-deps
	$(PY) -m pytest tests/integration

$(VENV)/.bench-installed: $(VENV)/.test-installed
	$(PY) -m pip install -q -e ".[test,bench]"
	touch $@

# Latency / memory / CPU against a bare socket.io floor; prints a table (see README).
bench: test-deps $(VENV)/.bench-installed
	$(PY) -m bench.run $(BENCH_ARGS)

# 채팅 기록: search and export on 100,000 generated chats, SQLite and PostgreSQL (see README).
bench-history: test-deps $(VENV)/.bench-installed
	$(PY) -m bench.history $(BENCH_ARGS)

# 채팅화면 삽입 코드: what /embed.js costs a site before and after the click (see README).
bench-embed: test-deps $(VENV)/.bench-installed
	$(PY) -m bench.embed $(BENCH_ARGS)

# 통계: the whole page's figures for 30 and 90 days on bench-history's database (see README).
bench-stats: test-deps $(VENV)/.bench-installed
	$(PY) -m bench.stats $(BENCH_ARGS)

bench-retention: test-deps $(VENV)/.bench-installed
	$(PY) -m bench.retention $(BENCH_ARGS)

# The message path's bench on two commits, alternated in one sitting (see README):
#   make bench-ab BENCH_ARGS="8c651c4 HEAD --rounds 8 --levels 100,500 --configs sqlite"
bench-ab: test-deps $(VENV)/.bench-installed
	$(PY) -m bench.ab $(BENCH_ARGS)

# N tabs of one visitor reading a whole transcript: the worker's memory, before against this
# checkout (see README):  make bench-tabs BENCH_ARGS="--before 40b0a5a --tabs 10"
bench-tabs: test-deps $(VENV)/.bench-installed
	$(PY) -m bench.transcript_tabs $(BENCH_ARGS)

clean:
	rm -rf .web .states frontend.zip backend.zip
