#!/usr/bin/env bash
# Builds cohort-fuzz with libFuzzer and runs every parser target for the
# given number of seconds each (default 60), printing execution counts.
#   Scripts/fuzz.sh [seconds] [target ...]
# Targets: stun rtp rtcp sdp dtls srtp demux json websocket. Corpora stay in fuzz-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(stun rtp rtcp sdp dtls srtp demux json websocket)

Scripts/bootstrap.sh
# SwiftPM aliases main to the module's entry point while -sanitize=fuzzer
# also links libFuzzer's main; the alias wins, and our main calls the driver.
swift build --scratch-path .build-fuzz --product cohort-fuzz \
  -Xswiftc -sanitize=fuzzer -Xswiftc -DCOHORT_FUZZ -Xlinker --allow-multiple-definition
bin=.build-fuzz/debug/cohort-fuzz

for t in "${targets[@]}"; do
  mkdir -p "fuzz-out/$t/corpus" "fuzz-out/$t/crashes"
  # Seed the SDP corpus with the real offers, so the fuzzer starts past "v=0".
  if [ "$t" = sdp ] && [ -z "$(ls -A fuzz-out/sdp/corpus)" ]; then
    cp Tests/SDPTests/Fixtures/*.sdp fuzz-out/sdp/corpus/ 2>/dev/null || true
  fi
  log="fuzz-out/$t/last.log"
  COHORT_FUZZ_TARGET=$t "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="fuzz-out/$t/crashes/" "fuzz-out/$t/corpus" >"$log" 2>&1 || {
      echo "$t: FAILED (see $log)"; tail -30 "$log"; exit 1; }
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
  echo "$t: ${runs:-?} executions in ${seconds}s, ${cov:-cov: ?}, no crash"
done
