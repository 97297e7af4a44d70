#!/usr/bin/env bash
# Capacity: how many concurrent therapy sessions of 10 one Cohort server holds
# on one core before media degrades.
#
#   Scripts/loadtest-capacity.sh [--mixed] [--from N] [--step N] [--to N] [--duration S] [--max-p99-ms M]
#
# Default: clinic-day (loadtest/scenarios/clinic-day.json: audio + 300 kbit/s
# video, with its breakout choreography, the event times scaled to the
# duration). --mixed: audio-mixed-2-speakers (everyone on the server's mix,
# 2 speakers per room of 10). Runs N sessions of 10 for N = from, from+step,
# … (default 2, 2, 20; --mixed 10, 5, 60; duration 100 s), each against a
# fresh release server on loopback, and stops at the first step that does not
# hold: loss over 0.5 %, a failed join, or a p99 one-way latency (audio or
# video, send to receive, harness included) over --max-p99-ms (default 10;
# a mix carries no send time, so --mixed judges loss and joins only). Prints
# one line per step and the last step that held; a step where the harness,
# not the server, was the bottleneck is marked, because its figures then say
# more about the harness. Then, for clinic-day, one more step at 80 % of the
# last that held: the latency an operator who plans that headroom gets. The
# table also goes to loadtest/results/<date>-capacity.md, with the load
# average before each step. Bounded: every step is bounded by
# Scripts/loadtest.sh's timeout.
#
# The server is pinned to CPU 0 and the harness to CPU 1 (taskset), so the
# server's capacity is that of one core and the harness never takes its CPU;
# SERVER_CPUS and HARNESS_CPUS override the lists. On a single-core machine
# nothing is pinned. Run as root, the script also raises the scheduling
# priority of its own session (the kernel's autogroup: nice alone does not
# reach across sessions) and of itself, so that a build elsewhere on the
# machine gets what the measured processes leave instead of slowing them.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
  echo -19 >/proc/self/autogroup 2>/dev/null || true
  renice -n -19 -p $$ >/dev/null 2>&1 || true
fi

mixed=no from= step= to= duration=100 maxp99=10
while [ $# -gt 0 ]; do
  case $1 in
    --mixed) mixed=yes; shift ;;
    --max-p99-ms) maxp99=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    --step) step=$2; shift 2 ;;
    --to) to=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    *) echo "usage: $0 [--mixed] [--from N] [--step N] [--to N] [--duration S] [--max-p99-ms M]" >&2; exit 2 ;;
  esac
done
if [ "$mixed" = yes ]; then
  base=loadtest/scenarios/audio-mixed-2-speakers.json
  from=${from:-10} step=${step:-5} to=${to:-60}
  what="audio-mixed-2-speakers, sessions of 10 on the server's mix, 2 speakers each"
else
  base=loadtest/scenarios/clinic-day.json
  from=${from:-2} step=${step:-2} to=${to:-20}
  what="clinic-day, sessions of 10, audio + 300 kbit/s video"
fi

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
  echo "# Capacity: $what, ${duration} s per step"
  echo
  echo "Held = loss ≤ 0.5 %, no failed join$([ "$mixed" = yes ] || echo " and p99 latency ≤ $maxp99 ms"). $(nproc) cores; server on CPUs ${SERVER_CPUS:-any}, harness on CPUs ${HARNESS_CPUS:-any}."
  echo
  echo "| sessions | participants | load avg before | loss % | audio p50/p99 ms | video p50/p99 ms | server CPU % of a core | harness CPU % of a core | machine CPU % (200 = both cores) | harness-bound | held |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
} >"$table"

# One step: N sessions; sets $ok. Returns 1 when the run could not be made.
run_step() {
  local n=$1 label=${2:-}
  scenario=$work/capacity-$n.json
  python3 - "$n" "$duration" "$base" >"$scenario" <<'PY'
import json, sys
n, duration, base = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
s = json.load(open(base))
scale = duration / s["durationSeconds"]
s.update(name=f"capacity-{n}", sessions=n, participantsPerSession=10, durationSeconds=duration,
         rampSeconds=min(s.get("rampSeconds", 20), max(2, n)),
         description=f"{s['name']} with {n} sessions of 10")
if s["media"].get("video"):
    s["media"]["videoKbps"] = 300
for e in s.get("events", []):
    e["at"] = round(e["at"] * scale, 1)
json.dump(s, sys.stdout)
PY
  load=$(cut -d' ' -f1 /proc/loadavg)
  status=0
  Scripts/loadtest.sh "$scenario" --quiet --max-loss-percent 100 >/dev/null 2>"$work/log" || status=$?
  report=$(ls -1d loadtest/results/*-capacity-"$n" 2>/dev/null | tail -1)/report.json
  if [ "$status" -eq 2 ] || [ ! -f "$report" ]; then
    echo "step $n: the run could not be made (exit $status)" >&2
    tail -5 "$work/log" >&2
    return 1
  fi
  line=$(python3 - "$report" "$mixed" "$maxp99" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
mixed, maxp99 = sys.argv[2] == "yes", float(sys.argv[3])
st = r["streams"]
loss = 100.0 * st["lost"] / st["expected"] if st["expected"] else 100.0
def lat(key):
    h = r.get(key) or {}
    return (h.get("p50", 0.0), h.get("p99", 0.0)) if h.get("count") else None
a, v = lat("audioLatency"), lat("videoLatency")
series = r.get("timeSeries", [])
machine = sum(x.get("machineCPUPercent", 0) for x in series) / max(1, len(series))
h = r["harness"]
worst = max([x[1] for x in (a, v) if x] or [0.0])
ok = loss <= 0.5 and r["counters"]["joinsFailed"] == 0 and (mixed or (a is not None and worst <= maxp99))
fmt = lambda x: f"{x[0]:.1f}/{x[1]:.1f}" if x else "-"
print(f"{r['targetParticipants']} {loss:.3f} {fmt(a)} {fmt(v)} {r.get('serverCPUMeanPercent', 0):.0f} "
      f"{h['meanCPUPercent']:.0f} {machine:.0f} {'yes' if h['harnessBound'] else 'no'} {'yes' if ok else 'no'}")
PY
)
  read -r people loss alat vlat scpu hcpu mcpu bound ok <<<"$line"
  echo "| $label$n | $people | $load | $loss | $alat | $vlat | $scpu | $hcpu | $mcpu | $bound | $ok |" >>"$table"
  echo "sessions $n ($people participants, load $load): loss $loss %, latency p50/p99 audio $alat ms, video $vlat ms, server CPU $scpu %, harness $hcpu % (bound: $bound), machine $mcpu %: held $ok" >&2
}

held=none
for ((n = from; n <= to; n += step)); do
  run_step "$n" || break
  [ "$ok" = yes ] || break
  held=$n
done
echo >>"$table"
echo "Last step that held: $held sessions of 10." >>"$table"
# The relay's added latency where an operator would run it: 80 % of what held.
if [ "$held" != none ] && [ "$mixed" = no ]; then
  eighty=$(( (held * 8 + 5) / 10 ))
  [ "$eighty" -ge 1 ] || eighty=1
  echo >>"$table"
  echo "At 80 % of the held capacity ($eighty sessions):" >>"$table"
  echo >>"$table"
  echo "| sessions | participants | load avg before | loss % | audio p50/p99 ms | video p50/p99 ms | server CPU % of a core | harness CPU % of a core | machine CPU % (200 = both cores) | harness-bound | held |" >>"$table"
  echo "|---|---|---|---|---|---|---|---|---|---|---|" >>"$table"
  run_step "$eighty" "80 %: " || true
fi
echo "last step that held: $held sessions of 10 (table: $table)"
