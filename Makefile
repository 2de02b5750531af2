# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# uv installs from the locks and makes them; it is itself locked (requirements/uv.txt) and
# kept beside the environment, not in it, so that a sync never removes it.
UV := $(VENV)/.tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
COMPILE = $(UV) pip compile --quiet --generate-hashes --universal --python-version 3.11 --upgrade

.PHONY: run cluster test check lint typecheck pytest web web-test node-deps system-deps bench bench-page bench-cluster clean screenshot protocol lock wheel

$(UV): requirements/uv.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	rm -rf $(VENV)/.tools
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
		--target $(VENV)/.tools -r requirements/uv.txt
	touch $@

# Exactly the locked versions (requirements/dev.txt: every package with its hashes, and
# build.txt: setuptools), then this package itself, editable, built with that setuptools.
$(STAMP): pyproject.toml setup.py requirements/dev.txt requirements/build.txt $(UV)
	$(UV) pip sync --quiet --python $(PY) --require-hashes requirements/dev.txt requirements/build.txt
	$(UV) pip install --quiet --python $(PY) --no-deps --no-build-isolation -e .
	touch $@

# The one way dependencies change: re-resolve to the newest versions pyproject.toml allows.
# requirements/server.txt (the Dockerfile's: no peer or dev extra) keeps dev.txt's versions.
lock: $(UV)
	$(COMPILE) requirements/uv.in -o requirements/uv.txt
	$(COMPILE) requirements/build.in -o requirements/build.txt
	$(COMPILE) pyproject.toml --extra dev --extra peer -o requirements/dev.txt
	$(COMPILE) pyproject.toml -c requirements/dev.txt -o requirements/server.txt

# The package as a wheel that carries the built page (setup.py copies web/dist in).
wheel: $(STAMP) web
	rm -rf build dist
	$(UV) build --quiet --wheel --no-build-isolation --python $(PY) --out-dir dist

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(shell find web/src web/public web/index.html web/admin.html web/vite.config.* -type f 2>/dev/null)
	cd web && npm run build

web: web/dist/index.html

run: $(STAMP) web
	$(PY) -m randomchat serve

# Two nodes on one Redis (REDIS_URL, default redis://127.0.0.1:6379/0) on ports 3000 and
# 3001, in the foreground; Ctrl-C stops both. docs/scaling.md says how the cluster works.
cluster: $(STAMP) web
	PY=$(PY) bash scripts/cluster.sh

tests/js/node_modules/.package-lock.json: tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund
	touch $@

node-deps: tests/js/node_modules/.package-lock.json

system-deps:
	bash scripts/system-deps.sh

# The NAT lab (root): real NATs in network namespaces, one line per case (docs/networks.md).
.PHONY: nat-lab
nat-lab: system-deps $(STAMP) web
	$(VENV)/bin/python scripts/nat-lab.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests setup.py
	$(VENV)/bin/ruff format --check src tests setup.py

typecheck: $(STAMP)
	$(VENV)/bin/mypy

web-test: web
	cd web && npm run typecheck && npm test

# One worker per core; a file's tests stay on one worker (they share its server fixtures).
# Files go out in collection order (tests/conftest.py puts the long browser files first),
# not by their number of tests. The 15 slowest tests are listed at the end.
pytest: $(STAMP) node-deps web
	$(VENV)/bin/pytest -ra -n auto --dist loadfile --no-loadscope-reorder --durations=15

test: system-deps $(STAMP) lint typecheck web-test pytest

# The inner loop: lint, types, Vitest and the pure and in-process server tiers (no
# processes, no browser), in well under a minute on two cores. make test runs everything.
check: $(STAMP) lint typecheck web-test
	$(VENV)/bin/pytest -q -n auto --dist loadfile -m "pure or server"

# The page's wire types, generated from the server's protocol module (a test checks them).
protocol: $(STAMP)
	$(PY) -m randomchat.wiregen

# Refreshes docs/screenshot.png, docs/screenshot-phone.png and docs/screenshot-phone-between.png (the README's pictures) from a real browser run; `make test`
# leaves the tree as it found it.
screenshot: $(STAMP) web
	RANDOMCHAT_SCREENSHOT=1 $(VENV)/bin/pytest -q tests/e2e -k "test_two_strangers_see_each_other or test_phone_keeps_the_partner or test_next_does_not_flash"

clean:
	rm -rf $(VENV) web/node_modules web/dist tests/js/node_modules bench/node_modules

bench/node_modules/.package-lock.json: bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund
	touch $@

# Side by side with the seed's Node gateway (../shared/anchor); see docs/performance.md.
bench: $(STAMP) bench/node_modules/.package-lock.json
	bench/run --duration 20 --short-duration 10 --saturation --idle-n 10000

# 1, 2 and 4 nodes on one redis-server beside one process without Redis; docs/scaling.md.
bench-cluster: $(STAMP) bench/node_modules/.package-lock.json
	$(PY) bench/cluster.py

# The page's first load on a slow phone profile (bytes on the wire, first paint); docs/performance.md.
bench-page: $(STAMP) web
	$(PY) bench/pageload.py --runs 3

# Issue #23's churn at full size: 200 users on 3 nodes for 30 s (about 2 minutes a run),
# every signal checked against the call it names; make test runs the same module small (36
# users, 2 nodes, 10 s). Prints each run's figures (docs/scaling.md, "Churn soak"); RUNS=3.
.PHONY: soak
soak: $(STAMP) web
	for run in $$(seq $(or $(RUNS),1)); do \
		RANDOMCHAT_CHURN_USERS=200 RANDOMCHAT_CHURN_NODES=3 RANDOMCHAT_CHURN_SECONDS=30 \
		$(VENV)/bin/pytest -q -s tests/cluster/test_churn.py -k every_signal || exit 1; \
	done
