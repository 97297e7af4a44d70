#!/usr/bin/env bash
# Capacity: how many concurrent therapy sessions of 10 (audio + 300 kbit/s
# video, with clinic-day's breakout choreography) one Cohort server holds on
# this machine before audio degrades.
#
#   Scripts/loadtest-capacity.sh [--from N] [--step N] [--to N] [--duration S]
#
# Runs clinic-day (loadtest/scenarios/clinic-day.json) with N sessions of 10
# for N = from, from+step, … (default 2, 2, 20; duration 100 s, the event
# times scaled to it), each against a fresh release server on loopback, and
# stops at the first step where loss exceeds 0.5 % or the p95 one-way latency
# (audio or video) exceeds 50 ms. Prints one line per step and the last step
# that held; a step where the harness, not the server, was the bottleneck is
# marked, because its figures then say more about the harness. The table also
# goes to loadtest/results/<date>-capacity.md. Bounded: every step is bounded
# by Scripts/loadtest.sh's timeout.
#
# The server is pinned to CPU 0 and the harness to CPU 1 (taskset), so the
# server's capacity is that of one core and the harness never takes its CPU;
# SERVER_CPUS and HARNESS_CPUS override the lists. On a single-core machine
# nothing is pinned.
set -euo pipefail
cd "$(dirname "$0")/.."

from=2 step=2 to=20 duration=100
while [ $# -gt 0 ]; do
  case $1 in
    --from) from=$2; shift 2 ;;
    --step) step=$2; shift 2 ;;
    --to) to=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    *) echo "usage: $0 [--from N] [--step N] [--to N] [--duration S]" >&2; exit 2 ;;
  esac
done

swift build -c release --product cohort >&2
swift build -c release --product cohort-loadtest >&2
if [ "$(nproc)" -ge 2 ]; then
  export SERVER_CPUS=${SERVER_CPUS:-0} HARNESS_CPUS=${HARNESS_CPUS:-1}
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
table=loadtest/results/$(date -u +%Y%m%d-%H%M%S)-capacity.md
mkdir -p loadtest/results
{
  echo "# Capacity: clinic-day, sessions of 10, audio + 300 kbit/s video, ${duration} s per step"
  echo
  echo "Held = loss ≤ 0.5 % and p95 latency ≤ 50 ms. $(nproc) cores; server on CPUs ${SERVER_CPUS:-any}, harness on CPUs ${HARNESS_CPUS:-any}; load before start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| sessions | participants | loss % | audio p95 ms | video p95 ms | server CPU % of a core | harness CPU % of a core | machine CPU % (200 = both cores) | harness-bound | held |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} >"$table"

held=none
for ((n = from; n <= to; n += step)); do
  scenario=$work/capacity-$n.json
  python3 - "$n" "$duration" >"$scenario" <<'PY'
import json, sys
n, duration = int(sys.argv[1]), float(sys.argv[2])
s = json.load(open("loadtest/scenarios/clinic-day.json"))
scale = duration / s["durationSeconds"]
s.update(name=f"capacity-{n}", sessions=n, participantsPerSession=10, durationSeconds=duration,
         rampSeconds=min(s.get("rampSeconds", 20), max(2, n)),
         description=f"clinic-day with {n} sessions of 10, audio + 300 kbit/s video")
s["media"]["videoKbps"] = 300
for e in s.get("events", []):
    e["at"] = round(e["at"] * scale, 1)
json.dump(s, sys.stdout)
PY
  status=0
  Scripts/loadtest.sh "$scenario" --quiet --max-loss-percent 100 >/dev/null 2>"$work/log" || status=$?
  report=$(ls -1d loadtest/results/*-capacity-"$n" 2>/dev/null | tail -1)/report.json
  if [ "$status" -eq 2 ] || [ ! -f "$report" ]; then
    echo "step $n: the run could not be made (exit $status)" >&2
    tail -5 "$work/log" >&2
    break
  fi
  line=$(python3 - "$report" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
st = r["streams"]
loss = 100.0 * st["lost"] / st["expected"] if st["expected"] else 100.0
a = r.get("audioLatency", {}).get("p95", float("inf"))
v = r.get("videoLatency", {}).get("p95", 0.0)
series = r.get("timeSeries", [])
machine = sum(x.get("machineCPUPercent", 0) for x in series) / max(1, len(series))
h = r["harness"]
ok = loss <= 0.5 and max(a, v) <= 50 and r["counters"]["joinsFailed"] == 0
print(f"{r['targetParticipants']} {loss:.3f} {a:.1f} {v:.1f} {r.get('serverCPUMeanPercent', 0):.0f} "
      f"{h['meanCPUPercent']:.0f} {machine:.0f} {'yes' if h['harnessBound'] else 'no'} {'yes' if ok else 'no'}")
PY
)
  read -r people loss ap95 vp95 scpu hcpu mcpu bound ok <<<"$line"
  echo "| $n | $people | $loss | $ap95 | $vp95 | $scpu | $hcpu | $mcpu | $bound | $ok |" >>"$table"
  echo "sessions $n ($people participants): loss $loss %, p95 audio $ap95 ms, video $vp95 ms, server CPU $scpu %, harness $hcpu % (bound: $bound), machine $mcpu %: held $ok" >&2
  [ "$ok" = yes ] || break
  held=$n
done
echo >>"$table"
echo "Last step that held: $held sessions of 10." >>"$table"
echo "last step that held: $held sessions of 10 (table: $table)"
