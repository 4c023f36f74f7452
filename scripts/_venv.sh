# Sourced by scripts/run.sh and scripts/test.sh: make (once) and activate the virtual environment.
# ESSMAP_VENV chooses its folder (default: .venv at the top of the checkout).
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${ESSMAP_VENV:-$top/.venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# shellcheck disable=SC1091
. "$venv/bin/activate"
python -m pip install --quiet --upgrade pip
