#!/usr/bin/env bash
# The whole test suite: unit tests (swift test), the load-test smoke run, then
# the end-to-end tests against independent WebRTC stacks (aiortc, headless
# Chromium), the last two inside a private network namespace that has only
# loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/bootstrap.sh --e2e

echo "== unit tests (swift test)"
swift build --build-tests
swift test --skip-build

echo "== load-test smoke (two sessions of four, 10 s, loopback-only namespace)"
unshare -n bash -c 'ip link set lo up && exec Scripts/loadtest-smoke.sh'

shopt -s nullglob
e2e=(Tests/e2e/test_*.py)
if [ ${#e2e[@]} -gt 0 ]; then
  echo "== end-to-end tests (loopback-only network namespace)"
  swift build --product cohort
  # The breakout test times the server, so it runs the release build.
  swift build -c release --product cohort
  # unshare -n: a new network namespace with nothing but a down loopback;
  # every ICE candidate is 127.0.0.1 and no packet can leave the machine.
  unshare -n bash -c 'ip link set lo up && exec .venv-e2e/bin/python -m pytest -q -p no:cacheprovider Tests/e2e'
fi
