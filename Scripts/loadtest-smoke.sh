#!/usr/bin/env bash
# The load-test smoke check for the test suite: two sessions of four
# participants, audio and video, 10 s, against a fresh `cohort serve` on
# loopback. Exits non-zero unless there were zero isolation violations, loss
# (not injected by the harness) below 1 %, no failed join, and media flowed.
#
# Debug binaries by default, so the suite does not need a release build;
# CONFIG=release for a release run.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${CONFIG:-debug} exec Scripts/loadtest.sh smoke --max-loss-percent 1 --quiet "$@"
