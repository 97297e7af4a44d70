"""Attendance and audit records against the real server (issue 15, points 6-8).

- ``kill -9`` two seconds into a call of two aiortc participants: the
  database, opened with Python's sqlite3, holds both joins and their room
  and audio time up to within about a second of the kill; the next start
  closes their intervals with a ``server-crashed`` leave, and the CLI
  exports them.
- ``GET /records/attendance``: a host token of the session reads it; a
  participant's token, another session's host token and no token do not.
- A corrupt or read-only database at start: the server refuses to start
  and says why.
- A full disk during a call: the records report failed writes and lost
  events; media keeps flowing.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from cohort_server import BINARY, CohortServer
from conftest import run
from peer import AiortcParticipant


def _fresh_db() -> str:
    return os.path.join(tempfile.mkdtemp(prefix="cohort-rec-"), "records.sqlite")


async def _join_two(server: CohortServer) -> dict[str, AiortcParticipant]:
    peers = {}
    for name, tone, sub in (("ann", 440.0, "client-ann"), ("bob", 660.0, "client-bob")):
        p = AiortcParticipant(name, tone, slots=2)
        await p.join_cohort(server.ws_url, server.token(name, subject=sub), name)
        peers[name] = p
    for p in peers.values():
        await p.wait_connected(15)
    return peers


def _heard_seconds(p: AiortcParticipant) -> float:
    return sum(p.audio_seconds_by_mid().values())


def test_kill_9_keeps_joins_and_room_time_to_the_last_second() -> None:
    db = _fresh_db()
    server = CohortServer(records=db)
    server.__enter__()
    try:
        async def call() -> tuple[float, float]:
            peers = await _join_two(server)
            joined = time.time()
            await asyncio.sleep(2.5)
            killed = time.time()
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(5)
            for p in peers.values():
                await p.close()
            return joined, killed

        joined, killed = run(call(), 60)
    finally:
        server.__exit__(None, None, None)

    con = sqlite3.connect(db)
    joins = con.execute("SELECT person, name, role FROM event WHERE kind = 'join' ORDER BY person").fetchall()
    assert joins == [("client-ann", "ann", "participant"), ("client-bob", "bob", "participant")], joins
    rooms = con.execute("SELECT person, room, start_ms, end_ms, open FROM interval WHERE kind = 'room' ORDER BY person").fetchall()
    assert [(r[0], r[1], r[4]) for r in rooms] == [("client-ann", "main", 1), ("client-bob", "main", 1)], rooms
    for person, _, start, end, _ in rooms:
        # Room time runs to the last commit before the kill: at most ~1 s short.
        assert killed - end / 1000 < 1.3, (person, killed - end / 1000)
        assert start / 1000 <= joined + 0.1, (person, start, joined)
    audio = con.execute("SELECT person, count(*) FROM interval WHERE kind = 'audio' GROUP BY person").fetchall()
    assert [a[0] for a in audio] == ["client-ann", "client-bob"], audio
    con.close()

    # The next start closes what the crash left open, dated at the last commit.
    with CohortServer(records=db) as again:
        time.sleep(0.5)
        assert any("stopped abruptly" in line for line in again.log), "\n".join(again.log)
    con = sqlite3.connect(db)
    crashed = con.execute("SELECT person FROM event WHERE kind = 'leave' AND reason = 'server-crashed' ORDER BY person").fetchall()
    assert crashed == [("client-ann",), ("client-bob",)], crashed
    assert con.execute("SELECT count(*) FROM interval WHERE open = 1").fetchone() == (0,)
    con.close()

    out = subprocess.run([BINARY, "records", "attendance", "--session", "e2e", "--records", db, "--format", "json"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["person"] for r in rows] == ["client-ann", "client-bob"], rows
    for r in rows:
        assert abs(r["minutesInSession"] * 60 - (killed - joined)) < 3, (r, killed - joined)
    audit = subprocess.run([BINARY, "records", "audit", "--session", "e2e", "--records", db],
                           capture_output=True, text=True, timeout=30)
    assert audit.returncode == 0, audit.stderr
    assert audit.stdout.splitlines()[0].startswith("time,session,event,reason,person")


def _get(url: str, token: str | None) -> tuple[int, str]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_http_export_for_hosts_of_the_session_only() -> None:
    with CohortServer() as server:
        async def call() -> None:
            peers = await _join_two(server)
            await asyncio.sleep(1.5)
            for p in peers.values():
                await p.close()
            await asyncio.sleep(1.5)  # a commit

        run(call(), 60)
        url = f"{server.base_url}records/attendance?session=e2e&format=csv"
        status, body = _get(url, server.token("Dr. H", role="host"))
        assert status == 200, body
        lines = body.splitlines()
        assert lines[0].startswith("session,person,name,role,day,minutes_in_session")
        assert {line.split(",")[1] for line in lines[1:]} == {"client-ann", "client-bob"}, body
        status, body = _get(f"{server.base_url}records/audit?session=e2e&format=json", server.token("Co", role="co-host"))
        assert status == 200 and [e["kind"] for e in json.loads(body)][:2] == ["join", "join"], body
        assert _get(url, server.token("ann"))[0] == 403
        assert _get(url.replace("session=e2e", "session=other"), server.token("ann", role="host"))[0] == 403
        assert _get(url, server.token("Dr. H", role="host", session="other"))[0] == 403
        assert _get(url, None)[0] == 401
        assert _get(url, server.token("Dr. H", role="host", ttl=-3600, issued_ago=7200))[0] == 401


def _serve_fails(records: str, wrapper: list[str] | None = None) -> str:
    proc = subprocess.run([*(wrapper or []), BINARY, "serve", "--http", "127.0.0.1:0", "--media", "127.0.0.1:0",
                           "--records", records], capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, COHORT_SECRET="x" * 32))
    assert proc.returncode != 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def test_corrupt_database_refuses_to_start() -> None:
    db = _fresh_db()
    with open(db, "wb") as f:
        f.write(os.urandom(16384))
    out = _serve_fails(db)
    assert "cannot open the records database" in out and db in out, out


def test_read_only_database_refuses_to_start() -> None:
    db = _fresh_db()
    with CohortServer(records=db):
        pass  # creates and migrates it
    directory = os.path.dirname(db)
    # Root ignores file modes: a read-only bind mount in a private mount namespace.
    wrapper = ["unshare", "-m", "sh", "-c",
               f'mount --bind {directory} {directory} && mount -o remount,bind,ro {directory} && exec "$0" "$@"']
    out = _serve_fails(db, wrapper)
    assert "records database" in out and db in out, out


def test_full_disk_loses_records_not_media() -> None:
    directory = tempfile.mkdtemp(prefix="cohort-full-")
    wrapper = ["unshare", "-m", "sh", "-c", f'mount -t tmpfs -o size=1m tmpfs {directory} && exec "$0" "$@"']
    with CohortServer(records=os.path.join(directory, "records.sqlite"), wrapper=wrapper) as server:
        async def call() -> None:
            peers = await _join_two(server)
            await asyncio.sleep(1.5)
            # Fill the server's tmpfs, reached through its own root (/proc/PID/root).
            filler = f"/proc/{server.process.pid}/root{directory}/filler"
            with open(filler, "wb") as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass
            await asyncio.sleep(1.5)
            before = {n: _heard_seconds(p) for n, p in peers.items()}
            # Records events: a new participant joins and leaves while the disk is full.
            cy = AiortcParticipant("cy", 880.0, slots=2)
            await cy.join_cohort(server.ws_url, server.token("cy", subject="client-cy"), "cy")
            await cy.wait_connected(15)
            await asyncio.sleep(2.5)
            after = {n: _heard_seconds(p) for n, p in peers.items()}
            for p in [*peers.values(), cy]:
                await p.close()
            for n in peers:
                assert after[n] - before[n] > 2.0, (n, before, after)

        run(call(), 60)
        assert server.process.poll() is None, "the server must keep running"
        assert any("records: write failed" in line for line in server.log), "\n".join(server.log[-20:])
