#!/usr/bin/env bash
# Creates scripts/reference/.venv and installs the pinned reference packages.
# Usage: scripts/reference/setup_venv.sh   (from any directory; needs python3 >= 3.11)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --upgrade pip >/dev/null
"$venv/bin/python" -m pip install -r "$here/requirements.txt"
echo "Reference environment ready: $venv/bin/python"
