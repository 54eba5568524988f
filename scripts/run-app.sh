#!/usr/bin/env bash
# Set up (first time only) and start NodeTorch. Extra arguments go to main.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
exec .venv/bin/python main.py "$@"
