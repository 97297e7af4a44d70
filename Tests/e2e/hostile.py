"""What every hostile-input test measures while its attack runs (issue 14,
item 9): the server stays up, `GET /healthz` answers within 1 s, the
server's RSS stays under a bound and comes back after the attack, and a
load-test call in another session keeps its loss under 1 %.

`Watch` probes /healthz from 127.0.0.1 every 200 ms and samples the server's
RSS (/proc/PID/status VmRSS) every 100 ms; `LoadCall` runs `cohort-loadtest
smoke` (two sessions of four, audio and video; its own sessions, never the
attacker's) against the server in a thread and reads its report.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import threading
import time

from cohort_server import ROOT, CohortServer

HEALTHZ_MAX_S = 1.0
CALL_MAX_LOSS_PERCENT = 1.0
LOADTEST = os.environ.get("COHORT_LOADTEST_BINARY", os.path.join(ROOT, ".build", "debug", "cohort-loadtest"))


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class Watch:
    """Background probes while an attack runs: /healthz latency every 200 ms
    from 127.0.0.1, and the server's RSS every 100 ms."""

    def __init__(self, server: CohortServer) -> None:
        self.server = server
        self.pid = server.process.pid
        self.before = rss_mib(self.pid)
        self.peak = self.before
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._probe, daemon=True),
                         threading.Thread(target=self._rss, daemon=True)]

    def __enter__(self) -> "Watch":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(5)

    def _probe(self) -> None:
        while not self._stop.is_set():
            start = time.monotonic()
            try:
                with socket.create_connection(("127.0.0.1", self.server.http_port), timeout=3) as s:
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    data = b""
                    while chunk := s.recv(4096):
                        data += chunk
                if not data.startswith(b"HTTP/1.1 200") or not data.endswith(b"ok"):
                    self.failures.append(f"bad answer {data[:40]!r}")
            except OSError as e:
                self.failures.append(f"{type(e).__name__}: {e}")
            self.latencies.append(time.monotonic() - start)
            self._stop.wait(0.2)

    def _rss(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_mib(self.pid))
            except (OSError, AssertionError):
                return
            self._stop.wait(0.1)

    @property
    def worst(self) -> float:
        return max(self.latencies, default=float("inf"))

    def settle(self, seconds: float = 1.5) -> float:
        """RSS after the attacker is gone and the server has closed its side."""
        time.sleep(seconds)
        return rss_mib(self.pid)

    def row(self, attack: str, input_text: str, bound: str, after: float, call: "LoadCall | None" = None) -> str:
        loss = f"{call.loss_percent:.2f} %" if call is not None and call.report else "-"
        return (f"| {attack} | {input_text} | {bound} | {self.before:.1f} MiB | {self.peak:.1f} MiB | {after:.1f} MiB "
                f"| {self.worst * 1000:.0f} ms ({len(self.latencies)} probes) | {loss} |")

    def report(self, attack: str, input_text: str, bound: str, after: float, call: "LoadCall | None" = None) -> None:
        print("\n| attack | input | bound | RSS before | peak | after | /healthz worst | call's loss |\n"
              "|---|---|---|---|---|---|---|---|\n" + self.row(attack, input_text, bound, after, call))

    def conclude(self, call: "LoadCall", attack: str, input_text: str, bound: str,
                 peak_growth_mib: float, after_growth_mib: float) -> float:
        """After an attack: waits for the call to end (its participants gone),
        reads the RSS after, prints the row, and checks the bounds and the call."""
        call.join()
        after = self.settle()
        self.report(attack, input_text, bound, after, call)
        self.check(peak_growth_mib, after_growth_mib, after)
        call.check()
        return after

    def check(self, peak_growth_mib: float, after_growth_mib: float, after: float) -> None:
        assert self.server.process.poll() is None, "the server exited"
        assert not self.failures, f"/healthz failed: {self.failures[:5]}"
        assert self.latencies, "no /healthz probe finished"
        assert self.worst < HEALTHZ_MAX_S, f"/healthz took {self.worst:.2f} s"
        assert self.peak - self.before < peak_growth_mib, f"RSS grew {self.peak - self.before:.0f} MiB during the attack"
        assert after - self.before < after_growth_mib, f"RSS stayed {after - self.before:.0f} MiB above its start"


class LoadCall:
    """A `cohort-loadtest smoke` call against `server` in a thread, for
    `seconds`; `report` holds its report.json once `join()` returned."""

    def __init__(self, server: CohortServer, seconds: int = 8) -> None:
        self.server, self.seconds = server, seconds
        self.report: dict | None = None
        self.failure: str | None = None
        self._results = tempfile.mkdtemp(prefix="cohort-hostile-call-")
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "LoadCall":
        self._thread.start()
        return self

    def _run(self) -> None:
        # The secret through the environment: a random one may begin with "-",
        # which an argument parser takes for an option.
        proc = subprocess.run([LOADTEST, "smoke", "--server", self.server.ws_url,
                               "--server-pid", str(self.server.process.pid), "--duration", str(self.seconds),
                               "--results", self._results, "--quiet"],
                              cwd=ROOT, capture_output=True, text=True, timeout=self.seconds + 90,
                              env=dict(os.environ, COHORT_SECRET=self.server.secret))
        reports = [os.path.join(self._results, d, "report.json") for d in sorted(os.listdir(self._results))]
        reports = [r for r in reports if os.path.exists(r)]
        if not reports:
            self.failure = f"the load test wrote no report (rc {proc.returncode}):\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}"
            return
        with open(reports[-1]) as f:
            self.report = json.load(f)
        self.report["_rc"] = proc.returncode

    def join(self) -> dict:
        self._thread.join(self.seconds + 100)
        assert not self._thread.is_alive(), "the load-test call did not finish"
        assert self.report is not None, self.failure
        return self.report

    @property
    def loss_percent(self) -> float:
        s = (self.report or {}).get("streams", {})
        return 100.0 * s.get("lost", 0) / max(1, s.get("expected", 0))

    def check(self) -> None:
        """The call held: joined, media flowed, no isolation violation, loss under 1 %."""
        report = self.join()
        assert report["counters"]["isolationViolations"] == 0, "isolation violated"
        assert not report["joinFailures"], f"the call's joins failed: {report['joinFailures'][:3]}"
        assert report["counters"]["rtpReceived"] > 0, "no media flowed in the call"
        assert self.loss_percent < CALL_MAX_LOSS_PERCENT, f"the call lost {self.loss_percent:.2f} %"
