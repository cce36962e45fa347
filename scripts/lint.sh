#!/usr/bin/env bash
# Linters and format checks for both languages (npm test runs this; docs/decisions.md, "Linters"):
#   TypeScript: ESLint with typescript-eslint (eslint.config.mjs), Prettier --check (.prettierignore
#               lists the files written before it was adopted, formatted when next changed);
#   Python:     ruff check and mypy (runner-py/pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/ruff ] && [ -x .venv/bin/mypy ] || { echo "lint: run 'npm run setup:test' first (ruff, mypy missing)" >&2; exit 2; }
npx --no-install eslint --max-warnings 0 .
npx --no-install prettier --check --log-level warn .
(cd runner-py && ../.venv/bin/ruff check --quiet . && ../.venv/bin/mypy)
