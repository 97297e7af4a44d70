"""Junk datagrams at a UDP address, for robustness tests.

Every first-byte class of RFC 7983 §7 is covered: STUN (0-3), ZRTP
(16-19), DTLS (20-63), TURN channels (64-79), RTP/RTCP (128-191) and the
unassigned ranges.  Some datagrams are shaped to get past the first checks:
STUN Binding requests with a real ICE USERNAME that carry a correct
FINGERPRINT (RFC 5389 §15.5) but a wrong MESSAGE-INTEGRITY, DTLS records
with a valid header, RTP and RTCP with a valid version field.

Run as a script in its own process so that sending never competes with the
test's event loop for the GIL:

    python junk_udp.py --port 40000 --rate 5000 --seconds 6 --sockets 4 --username srvufrag:cliufrag

It prints one JSON line: {"sent": n, "errors": n, "by_class": {...}, "elapsed": s}.
"""

from __future__ import annotations

import argparse
import binascii
import json
import random
import socket
import struct
import sys
import time

MAGIC_COOKIE = 0x2112A442


def _stun_attribute(kind: int, value: bytes) -> bytes:
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * pad


def stun_binding_with_username(rng: random.Random, username: str) -> bytes:
    """A Binding request with a real USERNAME ("server ufrag:client ufrag",
    RFC 8445 §7.2.2), a correct FINGERPRINT and a random MESSAGE-INTEGRITY:
    it reaches the ICE agent's integrity check."""
    attrs = _stun_attribute(0x0006, username.encode())  # USERNAME
    attrs += _stun_attribute(0x0024, struct.pack("!I", rng.getrandbits(32)))  # PRIORITY
    if rng.random() < 0.5:
        attrs += _stun_attribute(0x0025, b"")  # USE-CANDIDATE
    attrs += _stun_attribute(0x802A, rng.randbytes(8))  # ICE-CONTROLLING
    attrs += _stun_attribute(0x0008, rng.randbytes(20))  # MESSAGE-INTEGRITY (wrong)
    txid = rng.randbytes(12)
    length = len(attrs) + 8  # including the FINGERPRINT that follows
    head = struct.pack("!HHI", 0x0001, length, MAGIC_COOKIE) + txid
    crc = (binascii.crc32(head + attrs) ^ 0x5354554E) & 0xFFFFFFFF
    return head + attrs + _stun_attribute(0x8028, struct.pack("!I", crc))


def junk_datagram(rng: random.Random, usernames: list[str]) -> tuple[str, bytes]:
    """One junk datagram and its class name."""
    size = rng.choice([0, 1, 2, 12, 20, 64, 200, 1200, rng.randrange(0, 1500)])
    body = rng.randbytes(size)
    roll = rng.randrange(10)
    if roll == 0 and usernames:
        return "stun-username", stun_binding_with_username(rng, rng.choice(usernames))
    if roll == 1:
        head = struct.pack("!HHI", rng.choice([0x0001, 0x0101, 0x0111, 0x0011]), len(body) & ~3, MAGIC_COOKIE)
        return "stun-header", head + rng.randbytes(12) + body[: len(body) & ~3]
    if roll == 2:
        return "stun-random", bytes([rng.randrange(0, 4)]) + body
    if roll == 3:
        # DTLS 1.2 record header (RFC 6347 §4.1): type, version, epoch, seq, length.
        record = struct.pack("!BHH", rng.choice([20, 21, 22, 23]), 0xFEFD, rng.randrange(0, 3)) + rng.randbytes(6)
        return "dtls-record", record + struct.pack("!H", len(body)) + body
    if roll == 4:
        return "dtls-random", bytes([rng.randrange(20, 64)]) + body
    if roll == 5:
        pt = rng.choice([96, 97, 100, 111, 120, rng.randrange(0, 128)])
        head = struct.pack("!BBHII", 0x80 | rng.randrange(0, 32), pt | (rng.getrandbits(1) << 7),
                           rng.getrandbits(16), rng.getrandbits(32), rng.getrandbits(32))
        return "rtp", head + body
    if roll == 6:
        head = struct.pack("!BBHI", 0x80 | rng.randrange(0, 32), rng.randrange(192, 224), len(body) // 4, rng.getrandbits(32))
        return "rtcp", head + body
    if roll == 7:
        return "rtp-random", bytes([rng.randrange(128, 192)]) + body
    if roll == 8:
        return "zrtp-turn", bytes([rng.choice([rng.randrange(16, 20), rng.randrange(64, 80)])]) + body
    first = rng.choice([rng.randrange(4, 16), rng.randrange(80, 128), rng.randrange(192, 256)])
    return "unknown", bytes([first]) + body


def send_junk(host: str, port: int, rate: float, seconds: float, sockets: int, usernames: list[str], seed: int) -> dict:
    """Sends about ``rate`` datagrams per second for ``seconds`` from
    ``sockets`` source ports, in bursts every 10 ms."""
    rng = random.Random(seed)
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(sockets)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
    sent = errors = 0
    by_class: dict[str, int] = {}
    start = time.monotonic()
    tick = 0.01
    try:
        while True:
            elapsed = time.monotonic() - start
            if elapsed >= seconds:
                break
            due = int(min(elapsed + tick, seconds) * rate) - sent - errors
            for _ in range(max(due, 0)):
                kind, data = junk_datagram(rng, usernames)
                try:
                    rng.choice(socks).sendto(data, (host, port))
                    sent += 1
                    by_class[kind] = by_class.get(kind, 0) + 1
                except OSError:
                    errors += 1  # e.g. ICMP port unreachable reported back, or a full buffer
            # Drain whatever the server answers (401s to the shaped STUN).
            for s in socks:
                try:
                    while s.recv(2048):
                        pass
                except OSError:
                    pass
            time.sleep(max(0.0, start + elapsed + tick - time.monotonic()))
    finally:
        for s in socks:
            s.close()
    return {"sent": sent, "errors": errors, "by_class": by_class, "elapsed": round(time.monotonic() - start, 3)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=5000)
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--sockets", type=int, default=4)
    parser.add_argument("--username", action="append", default=[], help="STUN USERNAME to use, server:client ufrag")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("junk goes to loopback only")
    print(json.dumps(send_junk(args.host, args.port, args.rate, args.seconds, args.sockets, args.username, args.seed)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
