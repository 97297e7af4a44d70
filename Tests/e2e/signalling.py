"""Client side of Cohort's WebSocket signalling (docs/PROTOCOL.md).

Kept apart from the media code on purpose.  One JSON object per text frame:

  client → server  {"type":"join","id":"1","token":…,"name":…,"sdp":<offer>,"audioMode":"forward"}
  server → client  {"type":"joined","id":"1","participantId":…,"room":…,"sdp":<answer>,
                    "slots":{mid:{"participantId","track"}},"slotsVersion":n,"roster":[…]}
                   {"type":"slots","map":{…},"version":n}   (full map; applied only if n is newer)
                   {"type":"roster","participants":[…]}
                   {"type":"error","id":…,"code":…,"message":…}
  client → server  {"type":"leave","id":"2"}

Internally the slot map is kept as a list of {"mid","kind","participantId","name","track"}.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from websockets.asyncio.client import ClientConnection, connect


class SignallingError(Exception):
    """The server answered a request with ``{"type":"error"}``, or the
    connection ended before the answer arrived."""

    def __init__(self, code: str, message: str, reply: dict | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.reply = reply


@dataclass
class Change:
    """One observed server event: monotonic time and its payload."""

    at: float
    value: Any


@dataclass
class SignallingState:
    """What the server has told this client so far."""

    participant_id: str | None = None
    room: str | None = None
    slots: list[dict] = field(default_factory=list)
    roster: list[dict] = field(default_factory=list)
    slot_changes: list[Change] = field(default_factory=list)
    roster_changes: list[Change] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    other: list[dict] = field(default_factory=list)
    slots_version: int = 0
    # Every message's `type`, in wire order.
    order: list[str] = field(default_factory=list)

    def slot_map(self) -> dict[str, dict]:
        """Current slots keyed by mid."""
        return {s["mid"]: s for s in self.slots if "mid" in s}

    def mids_of(self, participant_id: str, kind: str | None = None) -> list[str]:
        """Mids currently carrying ``participant_id`` (optionally one kind)."""
        return [
            s["mid"]
            for s in self.slots
            if s.get("participantId") == participant_id and (kind is None or s.get("kind") == kind)
        ]


class CohortSignalling:
    """One WebSocket session with the Cohort control plane."""

    def __init__(self, ws_url: str, *, timeout: float = 10.0) -> None:
        self.ws_url = ws_url
        self.timeout = timeout
        self.state = SignallingState()
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task | None = None
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future] = {}
        self._changed = asyncio.Condition()
        self.opened_at: float | None = None

    async def connect(self) -> None:
        """Open the WebSocket (bounded by ``timeout``)."""
        self._ws = await asyncio.wait_for(connect(self.ws_url, max_size=None), self.timeout)
        self.opened_at = time.monotonic()
        self._reader = asyncio.create_task(self._read_loop())

    async def join(self, token: str, name: str, sdp: str, audio_mode: str = "forward") -> dict:
        """Send ``join`` and return the ``joined`` reply (raises SignallingError)."""
        reply = await self.request({"type": "join", "token": token, "name": name, "sdp": sdp, "audioMode": audio_mode})
        if reply.get("type") != "joined":
            raise SignallingError("unexpected-reply", f"expected joined, got {reply.get('type')}", reply)
        return reply

    async def leave(self) -> None:
        """Send ``leave``; does not wait for any reply."""
        await self.send({"type": "leave", "id": str(next(self._ids))})

    async def request(self, message: dict) -> dict:
        """Send ``message`` with a fresh id and await the reply bearing it."""
        message = dict(message, id=str(next(self._ids)))
        future = asyncio.get_running_loop().create_future()
        self._pending[message["id"]] = future
        try:
            await self.send(message)
            reply = await asyncio.wait_for(future, self.timeout)
        finally:
            self._pending.pop(message["id"], None)
        if reply.get("type") == "error":
            raise SignallingError(reply.get("code", "?"), reply.get("message", ""), reply)
        return reply

    async def request_burst(self, messages: list[dict]) -> list[dict]:
        """Send every message (fresh ids) back to back without waiting, then
        await their replies; returns them in sending order, errors included."""
        loop = asyncio.get_running_loop()
        sent = []
        for message in messages:
            message = dict(message, id=str(next(self._ids)))
            self._pending[message["id"]] = loop.create_future()
            sent.append(message["id"])
            await self.send(message)
        try:
            return [await asyncio.wait_for(self._pending[i], self.timeout) for i in sent]
        finally:
            for i in sent:
                self._pending.pop(i, None)

    async def send(self, message: dict) -> None:
        """Send one JSON text frame."""
        assert self._ws is not None, "connect() first"
        await asyncio.wait_for(self._ws.send(json.dumps(message)), self.timeout)

    async def wait_until(self, predicate: Callable[[SignallingState], bool], timeout: float | None = None) -> None:
        """Wait until ``predicate(state)`` holds (TimeoutError otherwise)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.state)), timeout or self.timeout)

    async def close(self) -> None:
        """Close the socket and stop the reader (idempotent)."""
        if self._ws is not None:
            try:
                await asyncio.wait_for(self._ws.close(), 3)
            except Exception:
                pass
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None

    # -- incoming ----------------------------------------------------------

    async def _read_loop(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                if not isinstance(raw, str):
                    continue  # the protocol is text frames only
                try:
                    message = json.loads(raw)
                except json.JSONDecodeError:
                    self.state.other.append({"unparsable": raw})
                    continue
                await self._dispatch(message)
        except Exception:
            pass  # closed; pending requests fail below
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(SignallingError("closed", "connection closed before reply"))

    async def _dispatch(self, message: dict) -> None:
        kind = message.get("type")
        mid = message.get("id")
        self.state.order.append(str(kind))
        if kind == "error":
            self.state.errors.append(message)
        if kind == "joined":
            # Applied here, in wire order, so later pushes are judged against it.
            self.state.participant_id = message.get("participantId")
            self.state.room = message.get("room")
            # A roster push that overtook the reply is newer than its roster
            # (the server registers the connection before answering).
            if not self.state.roster_changes:
                await self._set_roster(message.get("roster", []))
            await self._set_slots(message.get("slots", {}), message.get("slotsVersion"))
        if mid is not None and mid in self._pending:
            future = self._pending[mid]
            if not future.done():
                future.set_result(message)
            return
        if kind == "slots":
            await self._set_slots(message.get("map", {}), message.get("version"))
        elif kind == "roster":
            await self._set_roster(message.get("participants", []))
        elif kind != "error":
            self.state.other.append(message)
        async with self._changed:
            self._changed.notify_all()

    async def _set_slots(self, wire: dict, version: int | None) -> None:
        # Pushes may overtake the joined reply: keep only newer maps.
        if version is not None:
            if version <= self.state.slots_version:
                return
            self.state.slots_version = version
        names = {r.get("participantId"): r.get("name") for r in self.state.roster}
        slots = [
            {"mid": mid, "kind": "video" if src.get("track") in ("camera", "screen") else "audio",
             "participantId": src.get("participantId"), "name": names.get(src.get("participantId")),
             "track": src.get("track")}
            for mid, src in wire.items()
        ]
        self.state.slots = slots
        self.state.slot_changes.append(Change(time.monotonic(), list(slots)))
        async with self._changed:
            self._changed.notify_all()

    async def _set_roster(self, roster: list[dict]) -> None:
        self.state.roster = list(roster)
        self.state.roster_changes.append(Change(time.monotonic(), list(roster)))
        async with self._changed:
            self._changed.notify_all()
