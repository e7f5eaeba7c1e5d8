# Two commands take a newcomer from clone to a running server and a green suite: `make run`, `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test check lint typecheck contracts unit integration bench screenshots system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/argonaut server $(ARGS)

# OpenSSH's sshd (SSH worker tests), PostgreSQL's initdb/pg_ctl (throwaway clusters the tests start)
# and Debian's chromium (portal tests, driven by Playwright): installed when missing on Debian as root.
system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; \
	  command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || missing="$$missing openssh-server"; \
	  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing="$$missing postgresql"; \
  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests bench docs

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/argonaut

contracts: $(STAMP)
	$(BIN)/lint-imports

check: lint typecheck contracts

test: $(STAMP) system-deps check
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=15 -q -p no:cacheprovider

bench: $(STAMP) system-deps
	@for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The portal's pictures in docs/screenshots (a real server, headless chromium); commit them when pages change.
screenshots: $(STAMP) system-deps
	$(BIN)/python docs/screenshots/take.py

clean:
	rm -rf $(VENV) argonaut-data .pytest_cache .mypy_cache .ruff_cache
