# The two commands: `make dev` runs DISCO locally, `make test` runs every check.
.PHONY: dev test install check lint format types pytest bench

install:
	@scripts/install.sh

dev: install
	@.venv/bin/python -m scripts.dev

test: install check

check: lint types pytest

lint:
	.venv/bin/ruff format --check .
	.venv/bin/ruff check .

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

types:
	.venv/bin/mypy

pytest:
	.venv/bin/pytest -p no:cacheprovider -ra

# The chaos test alone (it is part of `make test` too).
.PHONY: chaos
chaos: install
	.venv/bin/pytest -p no:cacheprovider -ra -s -m chaos tests/integration/test_chaos.py

bench: install
	.venv/bin/python -m bench
