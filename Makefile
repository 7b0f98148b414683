# Entry points for a fresh machine: `make demo` (the main job) and `make test` (what CI runs).
# Both install .venv from the committed lock first (requirements.lock, hash-checked).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
LOCK   := requirements.lock
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

# The stamp is written only after a complete install whose `pip freeze` equals the lock.
$(BIN)/.installed: $(LOCK) pyproject.toml tools/install.py
	$(PYTHON) tools/install.py --venv $(VENV) --lock $(LOCK)

install: $(BIN)/.installed

# The leaderboard page's browser test drives Debian's Chromium (Playwright's own browser
# download needs the internet). Installed when missing; needs root, as on CI.
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

demo: install
	$(BIN)/persona-bench demo

# CI has 2 cores: two workers (tests/conftest.py keeps each expensive fixture on one worker).
TEST_WORKERS ?= 2
test: install $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n $(TEST_WORKERS)

# docs/findings.md's verdict runs (issue 14): the demo recipe and the seed paper's other
# findings on it (augmentation, multi-hop, unlearning), 3 seeds each; each rewrites only its
# own tables. About 100 minutes on 2 idle CPU cores; resumable.
FINDINGS_OUT ?= findings_out
findings: install
	$(BIN)/python bench/findings.py --out $(FINDINGS_OUT) --only recipe --seeds 0 1 2 \
		--write docs/findings.md
	$(BIN)/python bench/findings_scenarios.py --out $(FINDINGS_OUT) --seeds 0 1 2 \
		--write docs/findings.md

# Refresh the lock on purpose: resolve pyproject.toml's ranges (+ tools/lock-pins.txt) anew.
LOCK_PINS ?= tools/lock-pins.txt
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install -q -U pip
	.venv-lock/bin/pip install -q --dry-run --ignore-installed --report .venv-lock/report.json \
		-c $(LOCK_PINS) -U pip setuptools -e '.[dev]'
	.venv-lock/bin/python tools/lock.py .venv-lock/report.json $(LOCK)
	rm -rf .venv-lock

# Add a dependency without moving any other: `make lock` with the current lock as constraints.
lock-add:
	grep -v '^#' $(LOCK) | sed 's/ --hash.*//' | cat - tools/lock-pins.txt > .lock-keep.txt
	$(MAKE) lock LOCK_PINS=.lock-keep.txt; status=$$?; rm -f .lock-keep.txt; exit $$status

# The suite against the newest releases pyproject.toml allows, in a throwaway venv: an upstream
# break shows up here first, never in a fresh clone (which installs the lock).
test-latest: $(CHROMIUM)
	rm -rf .venv-latest && $(PYTHON) -m venv .venv-latest
	.venv-latest/bin/pip install -q -U pip
	.venv-latest/bin/pip install -q -e '.[dev]'
	.venv-latest/bin/pip freeze --exclude-editable > .venv-latest/freeze.txt
	.venv-latest/bin/ruff check .
	.venv-latest/bin/pytest -q -n $(TEST_WORKERS) -p no:cacheprovider

.PHONY: install demo test findings lock lock-add test-latest
