# The two commands: `make dev` runs DISCO locally, `make test` runs every check.
.PHONY: dev test install check lint format types pytest web-check bench

install:
	@scripts/install.sh

dev: install
	@.venv/bin/python -m scripts.dev

test: install check

check: lint types web-check pytest

lint:
	.venv/bin/ruff format --check .
	.venv/bin/ruff check .

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

types:
	.venv/bin/mypy

# The web client: ESLint and its unit tests (vitest).
web-check:
	cd web && npm run --silent lint && npm test --silent

pytest:
	.venv/bin/pytest -p no:cacheprovider -ra

bench: install
	.venv/bin/python -m bench
