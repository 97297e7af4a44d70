#!/bin/sh
# DTLS handshake benchmark (release build). Prints handshakes per second.
set -eu
cd "$(dirname "$0")/.."
swift run -c release cohort-bench-dtls
