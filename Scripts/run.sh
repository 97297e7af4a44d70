#!/usr/bin/env bash
# Builds Cohort (release) and starts the server with embedded defaults.
# Extra arguments go to `cohort serve` (see `cohort serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/bootstrap.sh
swift build -c release --product cohort
exec .build/release/cohort serve "$@"
