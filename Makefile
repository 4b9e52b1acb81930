# petitionflow: `make run` (the whole stack, embedded) and `make test` (the whole suite).
# Both set up .venv on a fresh machine first; it is rebuilt when pyproject.toml changes.

# Some shells set PYTHONDONTWRITEBYTECODE: then every test process, server and subprocess
# compiles the project again; let Python keep its bytecode (__pycache__ is ignored by git).
unexport PYTHONDONTWRITEBYTECODE

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint pytest setup clean histories postgres-binaries print-fonts chromium bench

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "petitionflow needs Python >= 3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# uv (from PyPI, into the venv) installs the project in seconds where pip takes half a minute;
	@# compiled to bytecode at install, as pip does, or every process would compile it again;
	@# --native-tls: the system's certificates, as pip uses them.
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip install --native-tls --python $(BIN)/python --quiet --compile-bytecode -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

run: $(STAMP) print-fonts
	$(BIN)/python -m worker.stack

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

# The store and API tests also run on a throwaway PostgreSQL cluster started from the
# machine's binaries; install Debian's package when there are none.
postgres-binaries:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ echo "installing PostgreSQL (Debian package postgresql) for the store tests"; \
		  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# The slips as PDF (core/printing.py): WeasyPrint draws with pango and subsets fonts with
# HarfBuzz (fontTools, its fallback, takes half a minute a page on the CJK fonts); the pages name
# the Noto CJK families. Install Debian's packages when the fonts or the libraries are missing.
PRINT_PACKAGES := fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
print-fonts:
	@{ fc-list ':lang=zh' family 2>/dev/null | grep -q 'Noto Sans CJK SC' && \
	   ls /usr/lib/*/libharfbuzz-subset.so.0 /usr/lib/*/libpangoft2-1.0.so.0 >/dev/null 2>&1; } || \
		{ echo "installing the Chinese fonts and PDF libraries (Debian: $(PRINT_PACKAGES))"; \
		  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PRINT_PACKAGES) >/dev/null; }

# The console's browser tests (tests/console) drive Debian's Chromium through Playwright (its own
# browser download is not available here), on the Noto CJK fonts: install them when missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || \
		{ echo "installing Chromium for the console's browser tests (Debian: chromium fonts-noto-cjk)"; \
		  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

# The linters and pytest run side by side: the tests spend much of their time waiting on
# timers, so mypy costs them little; each line of output comes out whole and make
# fails when either fails.
test: $(STAMP) postgres-binaries print-fonts chromium
	@$(MAKE) --no-print-directory -j2 --output-sync=line lint pytest

pytest: $(STAMP)
	$(BIN)/pytest

# The benchmarks of bench/, one after another, each starting what it needs (README,
# "Benchmarks"). Modest sizes by default, so it completes in about half an hour on 2 cores; the
# issue's full sizes:  make bench BENCH_PETITIONS=10000 BENCH_COUNT=200
BENCH_COUNT     ?= 100
BENCH_PETITIONS ?= 500
BENCH_LIST_ROWS ?= 100000
bench: $(STAMP) postgres-binaries
	$(BIN)/python -m bench.intake --count $(BENCH_COUNT)
	$(BIN)/python -m bench.escalation_lag --petitions $(BENCH_PETITIONS)
	$(BIN)/python -m bench.worker_memory --petitions $(BENCH_PETITIONS)
	$(BIN)/python -m bench.list_queries --petitions $(BENCH_LIST_ROWS) --with-writes
	$(BIN)/python -m bench.simulate_year --petitions 300

# Save the histories of the current workflow version for the replay tests:
#   make histories VERSION=v2
histories: $(STAMP)
	@test -n "$(VERSION)" || (echo "usage: make histories VERSION=vN" && exit 2)
	$(BIN)/python -m tests.histories.record tests/histories/$(VERSION)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
