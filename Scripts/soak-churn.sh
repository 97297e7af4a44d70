#!/usr/bin/env bash
# Churn soak (issue 14, point 6): state is freed as people and sessions come and go.
#
#   Scripts/soak-churn.sh [SECONDS]        (default 600; not part of Scripts/test.sh)
#
# Starts `cohort serve` on loopback (debug build unless CONFIG=release) and, for
# SECONDS, runs at once:
#   - cohort-loadtest on a churn scenario (4 groups of 6, audio + video,
#     leave / vanish / rejoin every 8 s; Scripts/soak_helpers.py writes it);
#   - a fresh session id joined (real offer) and closed every second;
#   - Tests/e2e/junk_udp.py at the media port: STUN-, DTLS-, RTP-looking and
#     random datagrams from 16 new random loopback source ports every 10 s;
#   - the server's VmRSS and VmHWM once a second.
# Then it prints RSS after warm-up (at SOAK_WARMUP of the run, default 0.2),
# peak and end, and fails when end RSS exceeds warm-up RSS by more than
# SOAK_MAX_GROWTH_MB (default 24), or the load test failed.
#
# PYTHON: a Python with `websockets` (default .venv-e2e/bin/python of this
# checkout, else /work/main/.venv-e2e/bin/python). Output under loadtest/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
config=${CONFIG:-debug}
limit_mb=${SOAK_MAX_GROWTH_MB:-24}
warmup=${SOAK_WARMUP:-0.2}
python=${PYTHON:-}
[ -n "$python" ] || { [ -x .venv-e2e/bin/python ] && python=.venv-e2e/bin/python; } || python=/work/main/.venv-e2e/bin/python

swift build -c "$config" --product cohort >&2
swift build -c "$config" --product cohort-loadtest >&2
bin=$(swift build -c "$config" --show-bin-path)

out=loadtest/results/$(date +%Y%m%d-%H%M%S)-soak-churn
mkdir -p "$out"
"$python" Scripts/soak_helpers.py scenario "$seconds" "$out/scenario.json"

export COHORT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/cohort" serve --http "127.0.0.1:$port" --media 127.0.0.1:0 --log-level info >"$out/server.log" 2>&1 &
server=$!
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  kill -TERM "$server" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$server" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$server" 2>/dev/null || true
}
trap stop_all EXIT
for _ in $(seq 100); do grep -q "media listening" "$out/server.log" && break; sleep 0.1; done
media=$(grep 'media listening' "$out/server.log" | grep -o '127\.0\.0\.1:[0-9]*' | head -1 | cut -d: -f2 || true)
[ -n "$media" ] || { echo "server did not start" >&2; cat "$out/server.log" >&2; exit 2; }

"$python" Scripts/soak_helpers.py rss "$server" "$((seconds + 20))" "$out/rss.csv" & pids+=($!)
"$python" Scripts/soak_helpers.py sessions "ws://127.0.0.1:$port/ws" "$COHORT_SECRET" "$seconds" >"$out/sessions.json" 2>"$out/sessions.err" & pids+=($!)
(
  end=$((SECONDS + seconds)); i=0
  while [ $SECONDS -lt $end ]; do
    i=$((i + 1))
    "$python" Tests/e2e/junk_udp.py --port "$media" --rate 500 --seconds 10 --sockets 16 --seed "$i" >>"$out/junk.jsonl" 2>/dev/null || true
  done
) & pids+=($!)

status=0
timeout --kill-after=10 "$((seconds + 120))" "$bin/cohort-loadtest" "$out/scenario.json" --quiet \
  --server "ws://127.0.0.1:$port/ws" --server-pid "$server" --results "$out" --max-loss-percent 100 >"$out/loadtest.log" 2>&1 || status=$?
sleep 12  # vanished participants' consent runs out; the last sessions empty
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done

"$python" - "$out/rss.csv" "$seconds" "$limit_mb" "$status" "$warmup" "$out/sessions.json" <<'PY'
import csv, json, sys
# The session-id churn must really have joined: a refused join frees nothing.
try:
    churn = json.loads(open(sys.argv[6]).read().strip().splitlines()[-1])
except (OSError, ValueError, IndexError):
    churn = {"sessionJoins": 0, "joined": 0}
print(f"session churn: {churn['joined']} of {churn['sessionJoins']} fresh sessions joined")
if churn["sessionJoins"] == 0 or churn["joined"] < 0.8 * churn["sessionJoins"]:
    sys.exit(1)
rows = [r for r in csv.DictReader(open(sys.argv[1]))]
seconds, limit = float(sys.argv[2]), float(sys.argv[3])
warm = next((r for r in rows if float(r["t"]) >= float(sys.argv[5]) * seconds), rows[0])
peak = max(int(r["rss_kb"]) for r in rows)
end = rows[-1]
growth = (int(end["rss_kb"]) - int(warm["rss_kb"])) / 1024
print(f"RSS: start {int(rows[0]['rss_kb'])/1024:.1f} MB, after warm-up (t={warm['t']} s) {int(warm['rss_kb'])/1024:.1f} MB, "
      f"peak {peak/1024:.1f} MB, end (t={end['t']} s) {int(end['rss_kb'])/1024:.1f} MB: {growth:+.1f} MB (limit +{limit:.0f} MB); "
      f"load test exit {sys.argv[4]}")
sys.exit(0 if growth <= limit and sys.argv[4] == "0" else 1)
PY
