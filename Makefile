# Dor: `make run` starts the demo, `make test` runs every check. Both install what they need.
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
# Python keeps the modules it compiles (some machines say not to): each test process, server and
# CLI run then starts without compiling every library again.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test lint typecheck layers pytest services install deps run-deps node-deps messages clean

run: install run-deps
	DOR_DEMO=true $(VENV)/bin/dor migrate
	DOR_DEMO=true $(VENV)/bin/dor seed --demo --history --draw
	DOR_DEMO=true DOR_ALWAYS_OPEN=$${DOR_ALWAYS_OPEN:-true} $(VENV)/bin/dor serve

test: install deps node-deps services lint typecheck layers pytest

$(UV):
	python3 -m pip install --quiet --disable-pip-version-check --target .tools uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.synced

# Debian packages: what the server uses (espeak-ng speaks the calls) and what the tests add.
RUN_APT_PACKAGES := espeak-ng fonts-noto-core libfribidi0
# kannel: bearerbox and smsbox; kannel-extras: its fake SMSC, for the SMS gateway tests.
APT_PACKAGES := $(RUN_APT_PACKAGES) chromium kannel kannel-extras
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing$$missing"; apt-get update -qq && apt-get install -y -qq $$missing; fi
endef

deps:
	$(call apt_install,$(APT_PACKAGES))

run-deps:
	$(call apt_install,$(RUN_APT_PACKAGES))

# axe-core for the accessibility checks, from the npm registry at the version the lock file pins.
node-deps: tests/browser/node_modules/.installed
tests/browser/node_modules/.installed: tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund --silent
	touch $@

services:
	@scripts/ensure-services

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy

layers:
	$(VENV)/bin/lint-imports

pytest:
	$(VENV)/bin/pytest -n 2 --dist loadscope --no-loadscope-reorder $(PYTEST_ARGS)

# Re-extracts the texts to translate into config/locale (then translate the new Arabic entries).
messages: install
	mkdir -p var
	$(VENV)/bin/pybabel extract -F babel.cfg -k plural:1,2 -o var/messages.pot config sms_gateway eventlog organisation identity queueing scheduling display booking supervision node server
	$(VENV)/bin/pybabel update -i var/messages.pot -d config/locale -l ar --no-fuzzy-matching

clean:
	rm -rf $(VENV) .tools var .pytest_cache .mypy_cache .ruff_cache tests/browser/node_modules
