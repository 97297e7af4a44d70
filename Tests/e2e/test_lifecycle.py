"""The server's lifecycle and logs (issue 16, item 2).

- SIGTERM during a call of two aiortc participants, records on and
  ``--shutdown-grace 0``: both get ``server-shutdown``, the server exits 0,
  and the SQLite records hold both leaves with reason ``server-shutdown``
  and every interval closed. With no grace period the writer's periodic
  commit (once a second) has no time to run, so the leaves are there only
  because the last shutdown step flushes and closes the records.
- ``--log-format json``: every line the server writes to standard error is
  one JSON object with timestamp, level, label, message and metadata, and
  neither the tokens, the chat text, the SDP nor the display names used in
  the call appear anywhere in the log.
- ``--shutdown-grace 2`` with nobody connected: the process exits 0 no
  sooner than two seconds after ``shutting down``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import tempfile
import time

from cohort_server import CohortServer
from conftest import run
from peer import AiortcParticipant

CHAT = "my sister's name is Dana and I relapsed on friday"


def _json_lines(log: list[str]) -> list[dict]:
    """The server's log lines; stdout's plain lines (web client address) are skipped."""
    lines = [line for line in log if line.startswith("{")]
    parsed = [json.loads(line) for line in lines]
    for entry in parsed:
        assert set(entry) == {"timestamp", "level", "label", "message", "metadata"}, entry
        assert isinstance(entry["metadata"], dict), entry
    return parsed


def test_sigterm_mid_call_flushes_the_leaves_and_exits_0() -> None:
    db = os.path.join(tempfile.mkdtemp(prefix="cohort-life-"), "records.sqlite")
    server = CohortServer(records=db, log_level="debug", shutdown_grace=0, extra_args=["--log-format", "json"])
    server.__enter__()
    secrets_seen: list[str] = []
    peers: list[AiortcParticipant] = []
    try:
        async def call() -> None:
            try:
                for name, tone, sub in (("Annabel Quist", 440.0, "client-ann"), ("Bertram Oyelaran", 660.0, "client-bob")):
                    p = AiortcParticipant(name, tone, slots=2)
                    peers.append(p)
                    token = server.token(name, subject=sub)
                    secrets_seen.append(token)
                    await p.join_cohort(server.ws_url, token, name)
                    # The offer's ICE password and the answer's: SDP must never reach the log.
                    for sdp in (p.pc.localDescription.sdp, p.joined["sdp"]):
                        secrets_seen.extend(line.split(":", 1)[1] for line in sdp.splitlines()
                                            if line.startswith("a=ice-pwd:"))
                for p in peers:
                    await p.wait_connected(15)
                await peers[0].signalling.request({"type": "chat", "text": CHAT})
                await peers[1].signalling.wait_until(
                    lambda s: any(m.get("type") == "chat" and m.get("text") == CHAT for m in s.other), timeout=5)
                os.killpg(server.process.pid, signal.SIGTERM)
                for p in peers:
                    await p.signalling.wait_until(
                        lambda s: any(m.get("type") == "server-shutdown" for m in s.other), timeout=5)
                assert server.process.wait(10) == 0, server.log[-20:]
            finally:
                for p in peers:
                    await p.close()

        run(call(), 60)
    finally:
        server.__exit__(None, None, None)

    con = sqlite3.connect(db)
    leaves = con.execute("SELECT person, reason FROM event WHERE kind = 'leave' ORDER BY person").fetchall()
    assert leaves == [("client-ann", "server-shutdown"), ("client-bob", "server-shutdown")], leaves
    still_open = con.execute("SELECT person, kind FROM interval WHERE open = 1").fetchall()
    assert still_open == [], still_open

    entries = _json_lines(server.log)
    messages = [e["message"] for e in entries]
    assert "shutting down" in messages and messages[-1] == "stopped", messages[-10:]
    assert any(e["message"] == "joined" for e in entries), "the call's joins were logged"
    text = "\n".join(server.log)
    assert len(set(secrets_seen)) == 6, "two tokens and four ICE passwords (offer and answer of each) to look for"
    for needle in [*set(secrets_seen), CHAT, "Annabel", "Bertram", "a=ice-pwd", server.secret]:
        assert needle not in text, f"{needle[:40]!r} appears in the server's log"
    print(f"{len(entries)} JSON log lines; leaves {leaves}")


def test_grace_period_is_waited_before_exit() -> None:
    server = CohortServer(records="off", shutdown_grace=2, extra_args=["--log-format", "json"])
    server.__enter__()
    try:
        signalled = time.monotonic()
        os.killpg(server.process.pid, signal.SIGTERM)
        assert server.process.wait(15) == 0, server.log[-20:]
        elapsed = time.monotonic() - signalled
    finally:
        server.__exit__(None, None, None)
    deadline = time.monotonic() + 5  # the log pump thread reads the last lines after the exit
    while not any('"stopped"' in line for line in server.log) and time.monotonic() < deadline:
        time.sleep(0.05)
    entries = {e["message"]: e["timestamp"] for e in _json_lines(server.log)}
    assert "shutting down" in entries and "stopped" in entries, list(entries)
    assert 2.0 <= elapsed < 10, elapsed
    print(f"exit {elapsed:.2f} s after SIGTERM with --shutdown-grace 2")
