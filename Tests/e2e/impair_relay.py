"""A userspace impairment relay for the loss tests (``tc netem`` does not
exist on this kernel).

The server runs with ``--announce 127.0.0.2``: it binds its media sockets on
127.0.0.1 and names 127.0.0.2:<port> in its ICE candidate.  This relay
listens on 127.0.0.2:<port> for every server media port.  Each client source
address (a *flow*) gets its own upstream socket, bound on 127.0.0.1 with an
ephemeral port and connected to 127.0.0.1:<port>, so the server sees one
stable address per client; the server's replies go back to the client from
127.0.0.2:<port>, the address the client sent to.

Impairment, per flow and per direction (client → server "up", server →
client "down"), each with its own seeded random generator:

- loss: each datagram is dropped with probability ``loss`` (independent,
  Bernoulli).  It applies to every datagram (STUN, DTLS, SRTP, SRTCP), as on
  a real network, except during the first ``grace`` seconds of the relay's
  life if a caller asks for that (default 0: no exemption).
- delay: each datagram is held ``delay ± jitter`` seconds (uniform), and
  **order is kept**: a datagram never leaves before the one ahead of it in
  the same flow and direction (its departure is the later of its own
  deadline and the previous departure).  That is what a Wi-Fi or LTE link
  does: both deliver in order (802.11 block-ack reordering, LTE RLC
  in-sequence delivery) and show jitter as queueing, a late packet holding
  back the ones behind it.  Independent per-packet delays would instead
  reorder packets 5 ms apart in a video frame most of the time, which a
  single access link does not do.

- rate (optional): each flow's client → server direction is a bottleneck
  of ``up_rate`` bits per second, and its server → client direction one of
  ``down_rate`` (IP and UDP headers counted, 28
  bytes a datagram) with a drop-tail queue of ``queue`` seconds: a datagram
  that would wait longer is dropped (counted as ``queue_dropped``).  This is
  the userspace shaper for the bandwidth tests (one participant's uplink
  capped while the server's side stays clean); loss and delay apply on top.

A test may change one flow's bottleneck while the relay runs: a JSON line on
the relay's standard input, ``{"cap": {"client_port": P, "down_rate": R}}``
(``up_rate`` likewise), applies to the flow whose client uses port P (0:
no cap).  That is how one participant's downlink is capped while the others
stay clean.

Drops and forwards are counted per flow and direction; the relay prints
them as one JSON line (``{"type": "stats", ...}``) every second and when it
stops.  Lifetime is bounded (``lifetime`` seconds, then it closes its sockets
and exits) and every address it touches must be in 127.0.0.0/8.

Run as a script (the tests do, so that its timers do not share an event
loop with aiortc or DevTools traffic):

    python impair_relay.py --ports 40000,40001 --loss 0.03 --seed 7 --lifetime 60
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ipaddress
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

LISTEN_HOST = "127.0.0.2"
SERVER_HOST = "127.0.0.1"


def _require_loopback(host: str) -> None:
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"impair_relay uses loopback addresses only, not {host}")


@dataclass
class Direction:
    """One direction of one flow: its random generator, its in-order queue
    and its counts."""

    rng: random.Random
    queue: collections.deque = field(default_factory=collections.deque)
    last_departure: float = 0.0
    # The bottleneck: bits per second (0 = none), and when it is next free.
    rate: float = 0.0
    link_free: float = 0.0
    queue_dropped: int = 0
    scheduled: bool = False
    received: int = 0
    dropped: int = 0
    sent: int = 0


class Impairment:
    """The loss and delay rule shared by every direction."""

    def __init__(self, loss: float, delay: float, jitter: float, grace: float, started: float,
                 queue: float = 0.1) -> None:
        self.queue = queue
        if not 0.0 <= loss < 1.0:
            raise ValueError("loss is a probability in [0, 1)")
        if jitter > delay:
            raise ValueError("jitter must not exceed delay")
        self.loss, self.delay, self.jitter, self.grace, self.started = loss, delay, jitter, grace, started

    def drops(self, d: Direction, now: float) -> bool:
        # Drawn during the grace period too, so that a direction's decisions
        # depend only on its seed and its packet count.
        lost = d.rng.random() < self.loss
        return lost and now - self.started >= self.grace

    def departure(self, d: Direction, now: float, size: int = 0) -> float | None:
        """When the datagram leaves, or None when the bottleneck's queue is full."""
        held = self.delay + d.rng.uniform(-self.jitter, self.jitter)
        start = now
        if d.rate > 0:
            start = max(now, d.link_free)
            if start - now > self.queue:
                return None
            d.link_free = start + (size + 28) * 8 / d.rate
            start = d.link_free
        d.last_departure = max(start + held, d.last_departure)
        return d.last_departure


class _Listener(asyncio.DatagramProtocol):
    """127.0.0.2:<port>: datagrams from clients."""

    def __init__(self, relay: "ImpairRelay", port: int) -> None:
        self.relay, self.port = relay, port
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:  # noqa: ANN001
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:  # noqa: ANN001
        self.relay.from_client(self.port, addr, data)


class _Upstream(asyncio.DatagramProtocol):
    """One client's socket towards the server: datagrams from the server."""

    def __init__(self, flow: "Flow") -> None:
        self.flow = flow
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:  # noqa: ANN001
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:  # noqa: ANN001
        self.flow.relay.from_server(self.flow, data)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable once the server is gone: nothing to do.
        pass


@dataclass
class Flow:
    relay: "ImpairRelay"
    index: int
    port: int
    client: tuple
    up: Direction
    down: Direction
    upstream: _Upstream | None = None
    pending: list[bytes] = field(default_factory=list)  # until the upstream socket exists


class ImpairRelay:
    """The relay inside one asyncio loop (see the module docstring)."""

    def __init__(self, ports: list[int], loss: float, *, delay: float = 0.040, jitter: float = 0.010,
                 seed: int = 1, grace: float = 0.0, lifetime: float = 120.0,
                 listen_host: str = LISTEN_HOST, server_host: str = SERVER_HOST,
                 up_rate: float = 0.0, queue: float = 0.1, down_rate: float = 0.0) -> None:
        _require_loopback(listen_host)
        _require_loopback(server_host)
        if listen_host == server_host:
            raise ValueError("listen and server hosts must differ (the server's own port is taken)")
        self.ports, self.seed, self.lifetime = ports, seed, lifetime
        self.listen_host, self.server_host = listen_host, server_host
        self.loop = asyncio.get_running_loop()
        self.impairment = Impairment(loss, delay, jitter, grace, self.loop.time(), queue)
        self.up_rate = up_rate
        self.down_rate = down_rate
        self.listeners: dict[int, _Listener] = {}
        self.flows: dict[tuple[int, tuple], Flow] = {}
        self.stopped = asyncio.Event()

    def command(self, line: str) -> None:
        """One control line from standard input (see the module docstring)."""
        try:
            cap = json.loads(line)["cap"]
            port = int(cap["client_port"])
        except (ValueError, KeyError, TypeError):
            print(json.dumps({"type": "error", "line": line.strip()[:200]}), flush=True)
            return
        for flow in self.flows.values():
            if flow.client[1] == port:
                if "down_rate" in cap:
                    flow.down.rate = float(cap["down_rate"])
                if "up_rate" in cap:
                    flow.up.rate = float(cap["up_rate"])
        print(json.dumps({"type": "capped", "client_port": port,
                          "flows": sum(1 for f in self.flows.values() if f.client[1] == port)}), flush=True)

    async def start(self) -> None:
        for port in self.ports:
            transport, proto = await self.loop.create_datagram_endpoint(
                lambda p=port: _Listener(self, p), local_addr=(self.listen_host, port))
            self.listeners[port] = proto
        self.loop.call_later(self.lifetime, self.stop)

    def _direction(self, flow_index: int, port: int, name: str) -> Direction:
        # One generator per flow and direction, seeded from the relay's seed,
        # the server port, the flow's ordinal on it and the direction.
        return Direction(random.Random(f"{self.seed}/{port}/{flow_index}/{name}"))

    def from_client(self, port: int, addr: tuple, data: bytes) -> None:
        if self.stopped.is_set():
            return
        key = (port, addr)
        flow = self.flows.get(key)
        if flow is None:
            _require_loopback(addr[0])
            index = sum(1 for f in self.flows.values() if f.port == port)
            flow = Flow(self, index, port, addr, self._direction(index, port, "up"), self._direction(index, port, "down"))
            flow.up.rate = self.up_rate
            flow.down.rate = self.down_rate
            self.flows[key] = flow
            self.loop.create_task(self._open_upstream(flow))
        self._enqueue(flow.up, data, lambda payload, f=flow: self._send_up(f, payload))

    async def _open_upstream(self, flow: Flow) -> None:
        _, proto = await self.loop.create_datagram_endpoint(
            lambda: _Upstream(flow), local_addr=(self.server_host, 0), remote_addr=(self.server_host, flow.port))
        flow.upstream = proto
        for payload in flow.pending:
            proto.transport.sendto(payload)
        flow.pending.clear()

    def _send_up(self, flow: Flow, payload: bytes) -> None:
        if flow.upstream is None or flow.upstream.transport is None:
            flow.pending.append(payload)
        else:
            flow.upstream.transport.sendto(payload)

    def from_server(self, flow: Flow, data: bytes) -> None:
        if self.stopped.is_set():
            return
        listener = self.listeners[flow.port]
        self._enqueue(flow.down, data, lambda payload: listener.transport.sendto(payload, flow.client))

    def _enqueue(self, d: Direction, data: bytes, send) -> None:  # noqa: ANN001
        now = self.loop.time()
        d.received += 1
        if self.impairment.drops(d, now):
            d.dropped += 1
            return
        departure = self.impairment.departure(d, now, len(data))
        if departure is None:
            d.queue_dropped += 1
            d.dropped += 1
            return
        d.queue.append((departure, data, send))
        if not d.scheduled:
            d.scheduled = True
            self.loop.call_at(d.queue[0][0], self._drain, d)

    def _drain(self, d: Direction) -> None:
        # Departures within a direction never decrease, so the queue is in
        # departure order: send every datagram that is due, in order.
        now = self.loop.time()
        while d.queue and d.queue[0][0] <= now + 0.0005:
            _, data, send = d.queue.popleft()
            if not self.stopped.is_set():
                send(data)
                d.sent += 1
        if d.queue:
            self.loop.call_at(d.queue[0][0], self._drain, d)
        else:
            d.scheduled = False

    def stats(self) -> dict:
        """Counts per flow and totals per direction."""
        flows = []
        totals = {"up": {"received": 0, "dropped": 0, "sent": 0, "queue_dropped": 0},
                  "down": {"received": 0, "dropped": 0, "sent": 0, "queue_dropped": 0}}
        for f in self.flows.values():
            row = {"port": f.port, "client": f"{f.client[0]}:{f.client[1]}",
                   "upstream": (f"{f.upstream.transport.get_extra_info('sockname')[1]}"
                                if f.upstream and f.upstream.transport else None)}
            for name, d in (("up", f.up), ("down", f.down)):
                row[name] = {"received": d.received, "dropped": d.dropped, "sent": d.sent, "queue_dropped": d.queue_dropped}
                for k in totals[name]:
                    totals[name][k] += row[name][k]
            flows.append(row)
        return {"type": "stats", "t": round(self.loop.time() - self.impairment.started, 3),
                "loss": self.impairment.loss, "flows": flows, "totals": totals}

    def stop(self) -> None:
        if self.stopped.is_set():
            return
        self.stopped.set()
        for listener in self.listeners.values():
            if listener.transport is not None:
                listener.transport.close()
        for f in self.flows.values():
            if f.upstream is not None and f.upstream.transport is not None:
                f.upstream.transport.close()


async def serve(args: argparse.Namespace) -> None:
    relay = ImpairRelay([int(p) for p in args.ports.split(",")], args.loss, delay=args.delay, jitter=args.jitter,
                        seed=args.seed, grace=args.grace, lifetime=args.lifetime, up_rate=args.up_rate, queue=args.queue,
                        down_rate=args.down_rate)
    await relay.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, relay.stop)
    loop.add_reader(sys.stdin.fileno(), lambda: relay.command(sys.stdin.readline()))
    print(json.dumps({"type": "ready", "ports": relay.ports, "listen": relay.listen_host}), flush=True)
    while not relay.stopped.is_set():
        try:
            await asyncio.wait_for(relay.stopped.wait(), 1.0)
        except asyncio.TimeoutError:
            pass
        print(json.dumps(relay.stats()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ports", required=True, help="server media ports, comma separated")
    parser.add_argument("--loss", type=float, default=0.0, help="drop probability per datagram and direction (0..1)")
    parser.add_argument("--delay", type=float, default=0.040, help="mean one-way delay per direction, seconds")
    parser.add_argument("--jitter", type=float, default=0.010, help="delay is uniform in delay ± jitter, seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--grace", type=float, default=0.0, help="seconds at the start without loss")
    parser.add_argument("--lifetime", type=float, default=120.0, help="seconds until the relay stops by itself")
    parser.add_argument("--up-rate", type=float, default=0.0, help="each flow's uplink bottleneck, bits per second (0: none)")
    parser.add_argument("--down-rate", type=float, default=0.0, help="each flow's downlink bottleneck, bits per second (0: none)")
    parser.add_argument("--queue", type=float, default=0.1, help="the bottleneck's drop-tail queue, seconds")
    asyncio.run(serve(parser.parse_args()))


# ---------------------------------------------------------------------------
# Driving the script from a test
# ---------------------------------------------------------------------------


class RelayProcess:
    """``impair_relay.py`` in a child process (use ``with``).  ``stats`` is
    the latest JSON line it printed; ``close()`` stops it and waits for the
    final counts."""

    def __init__(self, ports: list[int], loss: float, *, seed: int = 1, lifetime: float = 120.0,
                 grace: float = 0.0, delay: float = 0.040, jitter: float = 0.010, nice: int = 0,
                 up_rate: float = 0.0, queue: float = 0.1, down_rate: float = 0.0) -> None:
        self.args = [sys.executable, os.path.abspath(__file__), "--ports", ",".join(map(str, ports)),
                     "--loss", str(loss), "--seed", str(seed), "--lifetime", str(lifetime),
                     "--grace", str(grace), "--delay", str(delay), "--jitter", str(jitter),
                     "--up-rate", str(up_rate), "--queue", str(queue), "--down-rate", str(down_rate)]
        self.nice = nice
        self.loss = loss
        self.process: subprocess.Popen | None = None
        self.stats: dict | None = None
        self.errors: list[str] = []
        self.capped: list[dict] = []
        self._ready = threading.Event()

    def __enter__(self) -> "RelayProcess":
        nice = ["nice", "-n", str(self.nice)] if self.nice else []
        self.process = subprocess.Popen([*nice, *self.args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, start_new_session=True)

        def pump() -> None:
            assert self.process and self.process.stdout
            for line in self.process.stdout:
                try:
                    message = json.loads(line)
                except ValueError:
                    self.errors.append(line.rstrip())
                    continue
                if message.get("type") == "ready":
                    self._ready.set()
                elif message.get("type") == "capped":
                    self.capped.append(message)
                elif message.get("type") == "stats":
                    self.stats = message

        def pump_err() -> None:
            assert self.process and self.process.stderr
            for line in self.process.stderr:
                self.errors.append(line.rstrip())

        threading.Thread(target=pump, daemon=True).start()
        threading.Thread(target=pump_err, daemon=True).start()
        if not self._ready.wait(10):
            self.close()
            raise AssertionError(f"impair relay did not start: {self.errors[-10:]}")
        return self

    def cap(self, client_port: int, *, down_rate: float | None = None, up_rate: float | None = None) -> None:
        """Sets the bottleneck of the flow whose client uses ``client_port`` (0: none)."""
        assert self.process is not None and self.process.stdin is not None
        cap: dict = {"client_port": client_port}
        if down_rate is not None:
            cap["down_rate"] = down_rate
        if up_rate is not None:
            cap["up_rate"] = up_rate
        self.process.stdin.write(json.dumps({"cap": cap}) + "\n")
        self.process.stdin.flush()

    def close(self) -> dict | None:
        """Stop the relay; returns its final counts."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        time.sleep(0.05)  # let the pump read the last line
        return self.stats

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    main()
