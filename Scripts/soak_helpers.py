"""Helpers for Scripts/soak-churn.sh (issue 14, point 6): not a test.

  soak_helpers.py scenario SECONDS OUT.json   writes a churn scenario of SECONDS
  soak_helpers.py sessions URL SECRET SECONDS joins a fresh session id every
      second with a real offer (tests/SDP fixture) and closes the socket at once,
      so the server sees many session ids come and go
  soak_helpers.py rss PID SECONDS OUT.csv     samples VmRSS/VmHWM once a second

Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def scenario(seconds: int, out: str) -> None:
    events = []
    cycle = [("leave", 2), ("vanish", 1), ("rejoin", 3), ("leave", 1), ("rejoin", 1)]
    t, i = 15, 0
    while t < seconds - 10:
        action, count = cycle[i % len(cycle)]
        events.append({"at": t, "action": action, "count": count})
        t += 8
        i += 1
    json.dump({"name": "soak-churn",
               "description": f"{seconds} s of churn: 4 groups of 6, audio and 100 kbit/s video, leave/vanish/rejoin every 8 s",
               "sessions": 4, "participantsPerSession": 6,
               "media": {"audio": True, "video": True, "videoKbps": 100, "videoFPS": 10},
               "rampSeconds": 5, "durationSeconds": seconds,
               "network": {"uplinkLossPercent": 1, "downlinkLossPercent": 1, "jitterMs": 10},
               "events": events}, open(out, "w"), indent=1)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(secret: str, session: str) -> str:
    now = int(time.time())
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = _b64(json.dumps({"sid": session, "room": "main", "name": "churn", "role": "participant",
                              "sub": f"churn-{session}", "iat": now, "exp": now + 600}, separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{_b64(mac)}"


async def sessions(url: str, secret: str, seconds: float) -> None:
    import websockets
    offer = open(os.path.join(ROOT, "Tests/SDPTests/Fixtures/aiortc-cohort-client.sdp")).read()
    end = time.monotonic() + seconds
    n = ok = 0
    while time.monotonic() < end:
        n += 1
        try:
            async with websockets.connect(url) as ws:
                await ws.send(json.dumps({"type": "join", "id": "1", "token": _token(secret, f"churn-{n}"), "sdp": offer}))
                reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
                while reply.get("type") not in ("joined", "error"):
                    reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
                ok += reply["type"] == "joined"
        except Exception as e:  # noqa: BLE001 - counted, the soak goes on
            print(f"session churn: {e!r}", file=sys.stderr)
        await asyncio.sleep(1.0)
    print(json.dumps({"sessionJoins": n, "joined": ok}))


def rss(pid: int, seconds: float, out: str) -> None:
    end = time.monotonic() + seconds
    with open(out, "w") as f:
        f.write("t,rss_kb,hwm_kb\n")
        start = time.monotonic()
        while time.monotonic() < end:
            try:
                status = open(f"/proc/{pid}/status").read()
            except FileNotFoundError:
                break
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            f.write(f"{time.monotonic() - start:.0f},{fields['VmRSS'].split()[0]},{fields['VmHWM'].split()[0]}\n")
            f.flush()
            time.sleep(1)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "scenario":
        scenario(int(sys.argv[2]), sys.argv[3])
    elif cmd == "sessions":
        asyncio.run(sessions(sys.argv[2], sys.argv[3], float(sys.argv[4])))
    elif cmd == "rss":
        rss(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
