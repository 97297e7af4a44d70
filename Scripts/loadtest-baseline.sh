#!/usr/bin/env bash
# Compares Cohort's server CPU per forwarded packet with an ideal fan-out in C
# (loadtest/baseline/sfu_baseline.c: recvmmsg/sendmmsg, one libsrtp2 unprotect
# per incoming packet and one protect per outgoing copy, AES-256-GCM as
# Cohort and its harness negotiate, fixed keys, no DTLS) under the same
# packet load: the sessions, room size, audio and video packet rates and
# sizes of each scenario, sent on the harness's 2 ms tick.
#
#   Scripts/loadtest-baseline.sh                  baseline-audio-10 and baseline-av-10
#   Scripts/loadtest-baseline.sh SCENARIO...      those scenarios (names or JSON paths)
#   ROUNDS=5 Scripts/loadtest-baseline.sh          more rounds (default 3)
#
# For each scenario it runs ROUNDS rounds of the baseline, then
# Scripts/loadtest.sh SCENARIO (release), printing both figures and their
# ratio; at the end a table of the medians, their ratio and each round's
# ratio (single rounds of one build ranged 0.9-1.6x on a quiet 2-core
# machine). Loopback only; every run is bounded (the scenario's duration, at
# most 30 s, plus fixed slack). COHORT_BIN=path measures that server binary
# instead of the fresh build (see Scripts/loadtest.sh). Exit status: 0 when
# every Cohort run passed its checks, 1 otherwise. Run as root, it raises its own
# session's scheduling priority (autogroup) as Scripts/loadtest-capacity.sh
# does, so that builds elsewhere on the machine disturb the figures less.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
  echo -19 >/proc/self/autogroup 2>/dev/null || true
  renice -n -19 -p $$ >/dev/null 2>&1 || true
fi
rounds=${ROUNDS:-3}
if [ $# -eq 0 ]; then set -- baseline-audio-10 baseline-av-10; fi

# The relay (C or Cohort) and its load on separate cores, as
# Scripts/loadtest-capacity.sh does: otherwise every datagram the relay sends
# wakes the load on the relay's own core, and the relay is charged for being
# switched out in the middle of its sendmmsg (on a 2-core machine that was
# about a third of both relays' samples, finish_task_switch under sendmmsg).
# SERVER_CPUS= and HARNESS_CPUS= (empty) run unpinned.
export SERVER_CPUS=${SERVER_CPUS-0} HARNESS_CPUS=${HARNESS_CPUS-1}
relay_pin=() load_pin=()
[ -n "$SERVER_CPUS" ] && relay_pin=(taskset -c "$SERVER_CPUS")
[ -n "$HARNESS_CPUS" ] && load_pin=(taskset -c "$HARNESS_CPUS")

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -O2 -Wall -o "$out/sfu_baseline" loadtest/baseline/sfu_baseline.c $(pkg-config --cflags --libs libsrtp2)
echo "uptime before: $(uptime)" >&2

status=0
: > "$out/table"
for scenario in "$@"; do
  file=loadtest/scenarios/$scenario.json
  [ -f "$file" ] || file=$scenario

  # The scenario's load in the baseline's terms (same arithmetic as VideoPacketizer).
  read -r rooms size seconds audio_pps video_pps video_bytes < <(python3 - "$file" <<'PY'
import json, math, sys
s = json.load(open(sys.argv[1]))
m = s.get("media", {})
audio = 50 if m.get("audio", True) else 0
vpps = vbytes = 0
if m.get("video", False):
    fps = m.get("videoFPS", 15)
    frame = max(20, m.get("videoKbps", 300) * 1000 // 8 // fps)
    per = math.ceil(frame / 1200)
    vpps, vbytes = fps * per, frame // per
dur = min(30, s.get("durationSeconds", 10))
print(s.get("sessions", 1), s.get("participantsPerSession", 4), dur, audio, vpps, vbytes)
PY
  )
  name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$file")
  for round in $(seq 1 "$rounds"); do
    port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    echo "== $scenario round $round/$rounds baseline: $rooms rooms of $size, ${seconds}s, audio $audio_pps pkt/s, video $video_pps pkt/s of $video_bytes bytes per participant" >&2
    timeout $((seconds + 20)) "${relay_pin[@]}" "$out/sfu_baseline" relay "$port" "$rooms" "$size" "$((seconds + 2))" > "$out/relay.json" &
    relay=$!
    sleep 0.3
    timeout $((seconds + 20)) "${load_pin[@]}" "$out/sfu_baseline" load "$port" "$rooms" "$size" "$seconds" "$audio_pps" "$video_pps" "$video_bytes" > "$out/load.json"
    wait "$relay"
    cat "$out/relay.json" >&2

    echo "== $scenario round $round/$rounds Cohort: Scripts/loadtest.sh $scenario --duration $seconds" >&2
    Scripts/loadtest.sh "$scenario" --duration "$seconds" --quiet || status=1
    report=$(ls -1d loadtest/results/*-"$name" | tail -1)/report.json
    python3 - "$out/relay.json" "$report" "$out/rounds-$name" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); c = json.load(open(sys.argv[2]))
base = b["cpuMicrosecondsPerForwarded"]
# The C relay counts from its first packet; Cohort's figure is taken over the
# seconds when every participant was connected (joins left out), as the C
# relay has no joins. The whole run's figure is printed beside it.
whole = c.get("serverCPUMicrosecondsPerPacket") or 0
steady = c.get("serverSteadyCPUMicrosecondsPerPacket")
coh = steady or whole
print(f"baseline (C, libsrtp2): {base:.2f} µs CPU per forwarded packet ({b['packetsOut']} forwarded)")
if steady:
    print(f"Cohort:                 {coh:.2f} µs CPU per delivered packet once all connected "
          f"({whole:.2f} over the whole run with its joins; {c['counters']['rtpReceived']} delivered)")
else:
    print(f"Cohort:                 {coh:.2f} µs CPU per delivered packet over the whole run, joins included "
          f"(fewer than 3 seconds with everyone connected; {c['counters']['rtpReceived']} delivered)")
if coh: print(f"ratio Cohort / baseline: {coh / base:.2f}x")
with open(sys.argv[3], "a") as t: t.write(f"{base} {coh}\n")
PY
  done
  # Medians of the rounds, and the ratio of the medians.
  python3 - "$out/rounds-$name" "$name" "$out/table" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
base = statistics.median(r[0] for r in rows); coh = statistics.median(r[1] for r in rows)
ratios = " ".join(f"{r[1] / r[0]:.2f}" for r in rows if r[0] and r[1])
with open(sys.argv[3], "a") as t:
    t.write(f"{sys.argv[2]} {base:.2f} {coh:.2f} {(coh / base) if coh else 0:.2f} {ratios or '-'}\n")
PY
done

echo "uptime after: $(uptime)" >&2
echo
echo "medians of $rounds rounds (C and Cohort alternating), and each round's ratio:"
printf '%-20s %12s %12s %7s  %s\n' scenario "baseline µs" "Cohort µs" ratio "rounds"
while read -r name base coh ratio rounds_; do
  printf '%-20s %12s %12s %6sx  %s\n' "$name" "$base" "$coh" "$ratio" "$rounds_"
done < "$out/table"
exit $status
