# Two entry points a newcomer needs: `make run` and `make test`. Both create .venv on first use and
# are quick afterwards (the install step re-runs only when a requirements file changes).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8501
# Listening beyond this machine is a choice made out loud: a HOST other than the loopback needs PUBLIC=1.
PUBLIC ?= 0

.PHONY: run check-host test test-all browser lint bench clean-venv

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch alone first, so nothing else can pull a different build
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	# the project itself, editable: `core` and `workbench` import from anywhere, no sys.path edits
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# HOST=0.0.0.0 (from the command line or the environment) alone is refused; with PUBLIC=1 it runs, with a warning.
check-host:
	@case "$(HOST)" in \
	  127.0.0.1|localhost|::1) ;; \
	  *) if [ "$(PUBLIC)" = 1 ]; then \
	       echo "warning: the app listens on $(HOST):$(PORT): anyone who can reach this machine can use it" >&2; \
	     else \
	       echo "make run: HOST=$(HOST) would let other machines reach the app; add PUBLIC=1 to allow it (or unset HOST)" >&2; \
	       exit 2; \
	     fi ;; \
	esac

run: check-host $(VENV)/.installed
	$(PY) -m streamlit run app.py --server.address $(HOST) --server.port $(PORT) \
		--browser.gatherUsageStats false --server.headless true

# Browser end-to-end tests need Debian's chromium; install it where we can, else those tests skip
# with a printed reason.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "note: could not install chromium; browser tests will be skipped"; \
		else echo "note: chromium missing and cannot apt-get; browser tests will be skipped"; fi; }

test: $(VENV)/.installed-dev browser
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

# Everything, including slow training/quality tests.
test-all: $(VENV)/.installed-dev browser
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -m ""

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .

clean-venv:
	rm -rf $(VENV)
