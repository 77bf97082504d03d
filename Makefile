# The two commands: `make dev` runs DISCO locally, `make test` runs every check.
.PHONY: dev test install check lint format types pytest web-check bench hooks

install:
	@scripts/install.sh

dev: install
	@.venv/bin/python -m scripts.dev

test: install check

# `make dev` on a LiveKit cluster: two nodes and two agent workers (DISCO_LIVEKIT_NODES and
# DISCO_WORKERS choose other counts).
.PHONY: dev-cluster
dev-cluster: install
	@DISCO_LIVEKIT_NODES=$${DISCO_LIVEKIT_NODES:-2} DISCO_WORKERS=$${DISCO_WORKERS:-2} \
		.venv/bin/python -m scripts.dev

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

# The chaos test alone (it is part of `make test` too).
.PHONY: chaos
chaos: install
	.venv/bin/pytest -p no:cacheprovider -ra -s -m chaos tests/integration/test_chaos.py

bench: install
	.venv/bin/python -m bench

# Git hooks as .pre-commit-config.yaml describes them, without needing `pre-commit`: format and
# lint (and types) before each commit, every check before each push. `git commit --no-verify`
# skips them once.
hooks:
	@hooks=$$(git rev-parse --git-path hooks) && mkdir -p "$$hooks" && \
	printf '#!/bin/sh\n# Installed by `make hooks`.\nexec make --no-print-directory lint types\n' \
		> "$$hooks/pre-commit" && \
	printf '#!/bin/sh\n# Installed by `make hooks`.\nexec make --no-print-directory check\n' \
		> "$$hooks/pre-push" && \
	chmod +x "$$hooks/pre-commit" "$$hooks/pre-push" && \
	echo "git hooks installed in $$hooks: lint and types on commit, make check on push"
