#!/usr/bin/env bash
# SRTP benchmark: cohort-bench-srtp (release) against Benchmarks/SRTP/srtp_ref.c
# (libsrtp2 called from C), same loop, run alternately in the same session.
# Usage: Scripts/bench-srtp.sh [iterations per case, default 200000] [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-200000}
rounds=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

swift build -c release --product cohort-bench-srtp >&2
swift_bin=$(swift build -c release --show-bin-path)/cohort-bench-srtp
# shellcheck disable=SC2046
cc -O2 Benchmarks/SRTP/srtp_ref.c -o "$work/srtp_ref" $(pkg-config --cflags --libs libsrtp2)

for round in $(seq 1 "$rounds"); do
    echo "round $round/$rounds" >&2
    "$work/srtp_ref" "$iterations" | sed "s/^/c /" >> "$work/results"
    "$swift_bin" "$iterations" | sed "s/^/swift /" >> "$work/results"
done

# Median of the rounds per case (the minimum would hide noise from other
# processes on the shared cores; the median reports it honestly).
awk '
function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
    key = $2 " " $3
    if (!(key in seen)) { seen[key] = 1; order[++count] = key }
    ns[$1, key] = ns[$1, key] " " $4
    if ($1 == "swift") allocs[key] = $5
}
END {
    printf "%-24s %6s %10s %12s %7s %14s\n", "profile", "size", "C ns/op", "Swift ns/op", "ratio", "Swift allocs/op"
    for (i = 1; i <= count; i++) {
        key = order[i]; split(key, k, " ")
        c = median(ns["c", key]); s = median(ns["swift", key])
        printf "%-24s %6d %10d %12d %7.3f %14s\n", k[1], k[2], c, s, s / c, allocs[key]
    }
}' "$work/results"
echo "(op = protect + unprotect of one RTP packet; median of $rounds alternating rounds, $iterations ops each)"
