#!/usr/bin/env bash
# Install essmap and run it on its embedded default data and store.
set -euo pipefail
. "$(dirname "$0")/_venv.sh"
cd "$top"
bash scripts/assets.sh  # the maps' JavaScript, from package-lock.json (npm ci)
pip install --quiet -e .
essmap info
essmap serve
