"""Kernel-timestamped capture of the UDP datagrams of chosen loopback ports.

An AF_PACKET socket with a classic BPF filter (so only the wanted ports
ever reach Python) and SO_TIMESTAMPNS: each datagram gets the time the
kernel saw it, so a busy test process cannot distort the timing.  Tests use
it to measure what the server does (delay, loss) apart from what the
Python peers do.  Needs CAP_NET_RAW (the e2e suite runs as root inside
`unshare -n`).

Only RTP is decoded (RFC 3550 §5.1; SRTP leaves the header in clear).
On loopback the kernel reports each datagram once, when the receive
softirq delivers it, so a delay measured between a server's input and its
output includes the kernel's loopback processing of the output (which a
busy machine can defer to ksoftirqd).
"""

from __future__ import annotations

import ctypes
import socket
import struct
import threading
import time
from dataclasses import dataclass

ETH_P_IP = 0x0800
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
PACKET_OUTGOING = 4


@dataclass(frozen=True)
class Datagram:
    """One captured UDP datagram."""

    at: float          # kernel time, seconds (CLOCK_REALTIME)
    src_port: int
    dst_port: int
    payload: bytes

    @property
    def is_rtp(self) -> bool:
        """RTP, not RTCP (RFC 5761 §4: RTCP packet types 192-223)."""
        return len(self.payload) >= 12 and self.payload[0] >> 6 == 2 and not 192 <= self.payload[1] <= 223

    @property
    def rtp(self) -> tuple[int, int, int, int]:
        """(payload type, sequence number, timestamp, SSRC)."""
        pt, seq, ts, ssrc = struct.unpack("!xBHII", self.payload[:12])
        return pt & 0x7F, seq, ts, ssrc


def _bpf_udp_ports(ports: list[int]) -> list[tuple[int, int, int, int]]:
    """Classic BPF (cooked, network-header offsets): accept UDP whose source
    or destination port is in ``ports``."""
    n = len(ports)
    prog = [
        (0x30, 0, 0, 9),            # ldb [9]        IP protocol
        (0x15, 0, 2 * n + 3, 17),   # jeq #17 ?      : drop
        (0xB1, 0, 0, 0),            # ldxb 4*([0]&0xf)
        (0x48, 0, 0, 0),            # ldh [x+0]      source port
    ]
    for i, p in enumerate(ports):
        prog.append((0x15, 2 * n + 1 - i, 0, p))   # jeq → accept
    prog.append((0x48, 0, 0, 2))                    # ldh [x+2]      destination port
    for i, p in enumerate(ports):
        prog.append((0x15, n - i, 0, p))           # jeq → accept
    prog.append((0x06, 0, 0, 0))                    # ret #0 (drop)
    prog.append((0x06, 0, 0, 0xFFFF))               # ret #65535 (accept)
    return prog


class UDPSniffer:
    """Captures, in a thread, the loopback UDP datagrams to or from ``ports``."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = sorted(set(ports))
        self.captured: list[Datagram] = []
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        prog = _bpf_udp_ports(self.ports)
        self._filter = (ctypes.c_ubyte * (8 * len(prog)))()
        for i, (code, jt, jf, k) in enumerate(prog):
            struct.pack_into("HBBI", self._filter, 8 * i, code, jt, jf, k)
        fprog = struct.pack("HL", len(prog), ctypes.addressof(self._filter))
        self._sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        self._sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._sock.bind(("lo", 0))
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._run, name="udp-sniffer", daemon=True)

    def __enter__(self) -> "UDPSniffer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, ancillary, _, address = self._sock.recvmsg(65535, 64)
            except socket.timeout:
                continue
            except OSError:
                return
            if address[2] == PACKET_OUTGOING:
                continue  # (loopback reports each datagram once, arriving)
            at = time.time()
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", value[:16])
                    at = sec + nsec / 1e9
            if len(data) < 28 or data[9] != 17:
                continue
            ihl = (data[0] & 0x0F) * 4
            src, dst = struct.unpack("!HH", data[ihl:ihl + 4])
            self.captured.append(Datagram(at, src, dst, bytes(data[ihl + 8:])))

    @staticmethod
    def wall_time(monotonic_time: float) -> float:
        """Converts a time.monotonic() reading to the capture's clock."""
        return monotonic_time + (time.time() - time.monotonic())


def forwarding(inbound: list[Datagram], outbound: list[Datagram], horizon: float = 0.5) -> tuple[int, list[tuple[Datagram, Datagram | None]]]:
    """Pairs each inbound RTP packet of one stream with the server's
    rewritten copy in ``outbound`` (one slot's stream).

    The server rewrites SSRC, sequence number and timestamp by a constant
    offset per slot (ARCHITECTURE "Subscriptions"), so the sequence offset
    is found as the most common difference between packets seen within
    ``horizon`` seconds of each other.  Returns (offset, [(in, out or None)]).
    """
    counts: dict[int, int] = {}
    j0 = 0
    for a in inbound:
        while j0 < len(outbound) and outbound[j0].at < a.at:
            j0 += 1
        j = j0
        while j < len(outbound) and outbound[j].at - a.at <= horizon:
            d = (outbound[j].rtp[1] - a.rtp[1]) & 0xFFFF
            counts[d] = counts.get(d, 0) + 1
            j += 1
    if not counts:
        return 0, [(a, None) for a in inbound]
    offset = max(counts, key=counts.get)
    by_seq: dict[int, Datagram] = {}
    for b in outbound:
        by_seq.setdefault(b.rtp[1], b)
    pairs = []
    for a in inbound:
        b = by_seq.get((a.rtp[1] + offset) & 0xFFFF)
        pairs.append((a, b if b is not None and 0 <= b.at - a.at <= horizon else None))
    return offset, pairs
