#!/bin/sh
# Room mixer benchmark (release build): CPU per mixed participant in rooms
# of 5, 10 and 15, as a ratio against bare libopus decode+encode.
set -eu
cd "$(dirname "$0")/.."
swift run -c release cohort-bench-mixer
