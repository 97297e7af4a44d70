#!/bin/sh
# Forwarding benchmark (release build): CPU per forwarded video copy with
# loss repair (packet cache, upstream gap tracking) against the same engine
# with it off, measured in one run.
set -eu
cd "$(dirname "$0")/.."
swift run -c release cohort-bench-forward
