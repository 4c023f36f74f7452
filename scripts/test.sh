#!/usr/bin/env bash
# Install everything the tests need, then run the linters and the whole test suite.
set -euo pipefail
. "$(dirname "$0")/_venv.sh"
cd "$top"
bash scripts/assets.sh --dev  # the maps' JavaScript and the tests' axe-core, from package-lock.json
pip install --quiet -e ".[test]"
ruff check .
ruff format --check .
mypy
python -m pytest "$@"
