"""The churn soak (Scripts/soak-churn.sh, issue 14 point 6) for 60 s instead
of 600: the load test's leave / vanish / rejoin churn, a fresh session id
every second and junk datagrams from random loopback ports; the server's RSS
may grow at most 24 MB from t = 30 s to the end, and the load test must pass.
Needs the debug build of cohort-loadtest (`swift build --build-tests` builds it;
the script builds what is missing)."""

from __future__ import annotations

import os
import subprocess
import sys

from cohort_server import ROOT


def test_churn_soak_for_a_minute_keeps_memory_flat() -> None:
    env = dict(os.environ, SOAK_WARMUP="0.5", SOAK_MAX_GROWTH_MB="24", PYTHON=sys.executable)
    result = subprocess.run([os.path.join(ROOT, "Scripts", "soak-churn.sh"), "60"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=400)
    summary = [line for line in result.stdout.splitlines() if line.startswith(("RSS:", "session churn:"))]
    print("\n" + "\n".join(summary))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
