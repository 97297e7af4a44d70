#!/usr/bin/env bash
# Loss table for docs/LOSS.md: three headless Chromium web clients through
# Tests/e2e/impair_relay.py at 0/1/3/5 % loss per direction (40 ± 10 ms each
# way), getStats deltas over a 15 s window, printed as Markdown.
#   COHORT_BINARY=/path/to/cohort Scripts/loss-table.sh [--levels 0,3] [--window 15]
# Default binary: .build/release/cohort. Runs in a loopback-only network
# namespace (needs root), like the end-to-end suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export COHORT_BINARY="${COHORT_BINARY:-$PWD/.build/release/cohort}"
exec unshare -n bash -c 'ip link set lo up && exec .venv-e2e/bin/python Tests/e2e/loss_table.py "$@"' loss-table "$@"
