#!/usr/bin/env bash
# Set up (first time only) and run the whole test suite, headless.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-test.txt
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest -q "$@"
