#!/bin/sh
# Forwarding benchmark (release build): CPU per forwarded video copy with
# loss repair (packet cache, upstream gap tracking) against the same engine
# with it off, measured in one run; then the same with metrics scrapes
# (snapshot, Prometheus update, exposition) every 1 000 packets against none,
# and the CPU cost of one scrape.
set -eu
cd "$(dirname "$0")/.."
swift run -c release cohort-bench-forward
