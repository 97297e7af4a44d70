#!/usr/bin/env bash
# Runs one load-test scenario against a fresh `cohort serve` on loopback.
#
#   Scripts/loadtest.sh SCENARIO [cohort-loadtest options...]
#
# SCENARIO is a name in loadtest/scenarios/ (smoke, small-group, clinic-day,
# audio-mixed, churn) or a path to a scenario JSON file. Builds release
# binaries (CONFIG=debug to skip the release build), starts
# `cohort serve --http 127.0.0.1:<free port> --media 127.0.0.1:0` with a
# freshly generated secret (in COHORT_SECRET, never on a command line), runs
# cohort-loadtest against it (which samples the server's CPU and memory from
# /proc/<pid>), stops the server by its pid, and leaves loadtest/results/<date>-<scenario>/report.{md,json} and
# SVG charts. All traffic stays on 127.0.0.1; the run is bounded by the
# scenario's duration (plus a hard timeout here).
#
# COHORT_BIN=path runs that server binary instead of the one just built (to
# compare two builds under the same harness).
#
# SERVER_CPUS and HARNESS_CPUS (taskset CPU lists, e.g. 0 and 1) pin the
# server and the harness to separate cores, so that each is measured on
# its own core (Scripts/loadtest-capacity.sh sets them).
#
# Exit status: 0 when every check passed, 1 when one failed, 2 when the run
# could not be made.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
  echo "usage: $0 SCENARIO [cohort-loadtest options...]" >&2
  exit 2
fi
scenario=$1
shift
config=${CONFIG:-release}

swift build -c "$config" --product cohort >&2
swift build -c "$config" --product cohort-loadtest >&2
bin=$(swift build -c "$config" --show-bin-path)

# Hard upper bound: the scenario's duration plus ramp and slack.
file=$scenario
[ -f "$file" ] || file=loadtest/scenarios/$scenario.json
limit=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(int(s.get("durationSeconds",10)+s.get("rampSeconds",1)+120))' "$file" 2>/dev/null || echo 900)

# A fresh secret and a free HTTP port; media on port 0 (one free UDP port per
# server loop, announced in the SDP answer).
export COHORT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
# Every simulated participant joins from 127.0.0.1: no per-address join limit
# (an environment variable, so that an older COHORT_BIN still starts).
export COHORT_JOINS_PER_ADDRESS_PER_MINUTE=0
# … and opens all its connections from there: no per-address connection cap
# (default 200, which stopped capacity runs at 20 sessions of 10).
export COHORT_MAX_CONNECTIONS_PER_ADDRESS=${COHORT_MAX_CONNECTIONS_PER_ADDRESS:-10000}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p loadtest/results
log=loadtest/results/server-$port.log
# Attendance and audit records of the run (docs/RECORDS.md), kept with the report.
records=${COHORT_RECORDS:-loadtest/results/records-$port.sqlite}
server_pin=() harness_pin=()
[ -n "${SERVER_CPUS:-}" ] && server_pin=(taskset -c "$SERVER_CPUS")
[ -n "${HARNESS_CPUS:-}" ] && harness_pin=(taskset -c "$HARNESS_CPUS")
"${server_pin[@]}" "${COHORT_BIN:-$bin/cohort}" serve --http "127.0.0.1:$port" --media 127.0.0.1:0 --log-level warning \
  --records "$records" >"$log" 2>&1 &
server=$!
stop_server() {
  kill -TERM "$server" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$server" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$server" 2>/dev/null || true
}
trap stop_server EXIT

status=0
timeout --kill-after=10 "$limit" "${harness_pin[@]}" "$bin/cohort-loadtest" "$scenario" \
  --server "ws://127.0.0.1:$port/ws" --server-pid "$server" "$@" || status=$?
stop_server
# Keep the server log next to the newest report of this scenario.
name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$file" 2>/dev/null || echo "$scenario")
latest=$(ls -1d loadtest/results/*-"$name" 2>/dev/null | tail -1 || true)
if [ -n "$latest" ]; then mv "$log" "$latest/server.log"; else rm -f "$log"; fi
if [ -z "${COHORT_RECORDS:-}" ]; then
  if [ -n "$latest" ]; then
    for f in "$records" "$records-wal" "$records-shm"; do if [ -f "$f" ]; then mv "$f" "$latest/records.sqlite${f#"$records"}"; fi; done
  else
    rm -f "$records" "$records-wal" "$records-shm"
  fi
fi
exit $status
