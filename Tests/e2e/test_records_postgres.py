"""Attendance and audit records in PostgreSQL (issue 15, point 6, "at scale").

Each test starts its own throwaway cluster (``pg_cluster.PostgresCluster``:
initdb into a temporary directory, the server on the namespace's 127.0.0.1,
stopped at the end).

- A call of two aiortc participants with ``--records postgres://...``: the
  joins and room time are in PostgreSQL, the CLI and ``GET /records`` export
  them, and the password is never logged.
- PostgreSQL unreachable, or the password wrong, at start: the server refuses
  to start and names the URL without its password.
- PostgreSQL stopped during a call: media keeps flowing, writes fail and are
  logged at most once a second, events stay queued; once the database is
  back the queued events (a join during the outage) are written.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

from cohort_server import BINARY, CohortServer
from conftest import run
from peer import AiortcParticipant
from pg_cluster import PASSWORD, PostgresCluster, _free_port
from test_records import _get, _heard_seconds, _join_two, _serve_fails


def test_call_records_into_postgres_and_exports_them() -> None:
    with PostgresCluster() as pg, CohortServer(records=pg.url()) as server:
        async def call() -> None:
            peers = await _join_two(server)
            await asyncio.sleep(2.5)
            for p in peers.values():
                await p.close()
            await asyncio.sleep(1.5)  # the leaves' commit

        run(call(), 60)
        joins = pg.psql("SELECT person, name, role FROM event WHERE kind = 'join' ORDER BY person", "cohort")
        assert joins == [["client-ann", "ann", "participant"], ["client-bob", "bob", "participant"]], joins
        rooms = pg.psql("SELECT person, room, open, end_ms - start_ms FROM interval WHERE kind = 'room' ORDER BY person",
                        "cohort")
        assert [r[:3] for r in rooms] == [["client-ann", "main", "f"], ["client-bob", "main", "f"]], rooms
        assert all(2000 < int(r[3]) < 10000 for r in rooms), rooms
        assert pg.psql("SELECT version FROM schema_version", "cohort") == [["v1"]]

        out = subprocess.run([BINARY, "records", "attendance", "--session", "e2e", "--records", pg.url(), "--format", "json"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        rows = json.loads(out.stdout)
        assert [r["person"] for r in rows] == ["client-ann", "client-bob"], rows
        # The exported minutes (to a tenth) are the stored room time.
        assert [r["minutesInSession"] for r in rows] == [round(int(r[3]) / 60000, 1) for r in rooms], (rows, rooms)
        status, body = _get(f"{server.base_url}records/audit?session=e2e&format=json", server.token("Dr. H", role="host"))
        assert status == 200 and [e["kind"] for e in json.loads(body)] == ["join", "join", "leave", "leave"], body
        assert any("records" in line and f"postgres://postgres@127.0.0.1:{pg.port}/cohort" in line for line in server.log), \
            "\n".join(server.log[:20])
        assert not any(PASSWORD in line for line in server.log)


def test_unreachable_postgres_refuses_to_start() -> None:
    port = _free_port()  # nothing listens there
    out = _serve_fails(f"postgres://cohort:pw-secret-1@127.0.0.1:{port}/records")
    assert f"cannot use the records database postgres://cohort@127.0.0.1:{port}/records" in out, out
    assert "pw-secret-1" not in out, out


def test_wrong_password_refuses_to_start() -> None:
    with PostgresCluster() as pg:
        out = _serve_fails(pg.url(password="wrong-pw-2"))
    assert "password authentication failed" in out and f"postgres://postgres@127.0.0.1:{pg.port}/cohort" in out, out
    assert "wrong-pw-2" not in out, out


def test_database_stopped_mid_call_keeps_media_and_queues_records() -> None:
    with PostgresCluster() as pg, CohortServer(records=pg.url()) as server:
        async def call() -> None:
            peers = await _join_two(server)
            await asyncio.sleep(1.5)
            pg.stop()
            down = time.monotonic()
            before = {n: _heard_seconds(p) for n, p in peers.items()}
            # A join while the database is down: its events wait in the queue.
            cy = AiortcParticipant("cy", 880.0, slots=2)
            await cy.join_cohort(server.ws_url, server.token("cy", subject="client-cy"), "cy")
            await cy.wait_connected(15)
            await asyncio.sleep(3)
            after = {n: _heard_seconds(p) for n, p in peers.items()}
            for n in peers:
                assert after[n] - before[n] > 2.0, (n, before, after)
            failures = [line for line in server.log if "records: write failed" in line]
            assert failures, "\n".join(server.log[-20:])
            # Logged at most once a second (a retry every second, each failing).
            assert len(failures) <= time.monotonic() - down + 2, failures
            pg.start()
            # The queue is retried once a second: cy's join arrives.
            deadline = time.monotonic() + 10
            while not pg.psql("SELECT 1 FROM event WHERE person = 'client-cy' AND kind = 'join'", "cohort"):
                assert time.monotonic() < deadline, "\n".join(server.log[-20:])
                await asyncio.sleep(0.2)
            for p in [*peers.values(), cy]:
                await p.close()

        run(call(), 90)
        assert server.process.poll() is None, "the server must keep running"
        rooms = pg.psql("SELECT person FROM interval WHERE kind = 'room' ORDER BY person", "cohort")
        assert [r[0] for r in rooms] == ["client-ann", "client-bob", "client-cy"], rooms
        assert not any(PASSWORD in line for line in server.log)
