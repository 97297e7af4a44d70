#!/usr/bin/env bash
# Compares Cohort's server CPU per forwarded packet with an ideal fan-out in C
# (loadtest/baseline/sfu_baseline.c: recvmmsg/sendmmsg, one libsrtp2 unprotect
# per incoming packet and one protect per outgoing copy, AES-128-GCM, fixed
# keys, no DTLS) under the same packet load: the sessions, room size, audio
# and video packet rates and sizes of each scenario.
#
#   Scripts/loadtest-baseline.sh                  baseline-audio-10 and baseline-av-10
#   Scripts/loadtest-baseline.sh SCENARIO...      those scenarios (names or JSON paths)
#
# For each scenario it runs the baseline first, then Scripts/loadtest.sh
# SCENARIO (release), and prints both figures and their ratio; at the end a
# table of all of them. Loopback only; every run is bounded (the scenario's
# duration, at most 30 s, plus fixed slack). COHORT_BIN=path measures that
# server binary instead of the fresh build (see Scripts/loadtest.sh). Exit status: 0 when every
# Cohort run passed its checks, 1 otherwise. Run as root, it raises its own
# session's scheduling priority (autogroup) as Scripts/loadtest-capacity.sh
# does, so that builds elsewhere on the machine disturb the figures less.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
  echo -19 >/proc/self/autogroup 2>/dev/null || true
  renice -n -19 -p $$ >/dev/null 2>&1 || true
fi
if [ $# -eq 0 ]; then set -- baseline-audio-10 baseline-av-10; fi

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
  port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  echo "== $scenario baseline: $rooms rooms of $size, ${seconds}s, audio $audio_pps pkt/s, video $video_pps pkt/s of $video_bytes bytes per participant" >&2
  timeout $((seconds + 20)) "$out/sfu_baseline" relay "$port" "$rooms" "$size" "$((seconds + 2))" > "$out/relay.json" &
  relay=$!
  sleep 0.3
  timeout $((seconds + 20)) "$out/sfu_baseline" load "$port" "$rooms" "$size" "$seconds" "$audio_pps" "$video_pps" "$video_bytes" > "$out/load.json"
  wait "$relay"
  cat "$out/relay.json" >&2

  echo "== $scenario Cohort: Scripts/loadtest.sh $scenario --duration $seconds" >&2
  Scripts/loadtest.sh "$scenario" --duration "$seconds" --quiet || status=1
  name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$file")
  report=$(ls -1d loadtest/results/*-"$name" | tail -1)/report.json
  python3 - "$out/relay.json" "$report" "$name" "$out/table" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); c = json.load(open(sys.argv[2]))
base = b["cpuMicrosecondsPerForwarded"]; coh = c.get("serverCPUMicrosecondsPerPacket")
print(f"baseline (C, libsrtp2): {base:.2f} µs CPU per forwarded packet ({b['packetsOut']} forwarded)")
if coh:
    print(f"Cohort:                 {coh:.2f} µs CPU per delivered packet ({c['counters']['rtpReceived']} delivered)")
    print(f"ratio Cohort / baseline: {coh / base:.2f}x")
else:
    print("Cohort: no server CPU figure in", sys.argv[2])
with open(sys.argv[4], "a") as t:
    t.write(f"{sys.argv[3]} {base:.2f} {coh or 0:.2f} {(coh / base) if coh else 0:.2f}\n")
PY
done

echo "uptime after: $(uptime)" >&2
echo
printf '%-20s %12s %12s %7s\n' scenario "baseline µs" "Cohort µs" ratio
while read -r name base coh ratio; do
  printf '%-20s %12s %12s %6sx\n' "$name" "$base" "$coh" "$ratio"
done < "$out/table"
exit $status
