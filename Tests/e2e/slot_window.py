"""Deltas of a page's received slots over a measurement window, for the
bandwidth tests (``test_downlink_cap_chromium.py``, ``test_simulcast_chromium.py``).

Both take two snapshots of the web client's getStats() in the same shape:
``inbound`` (by mid: bytes, frames, concealed, samples, ... and timestamp)
and ``slots`` (by mid: [participantId, track]).
"""

from __future__ import annotations

from collections.abc import Iterator


def slot_windows(before: dict, after: dict, pid: dict[str, str], names: list[str] | dict, name: str,
                 window: float) -> Iterator[tuple[str, str, str, dict, dict, float]]:
    """For every other participant's slot on ``name``'s page that received
    something: (other, mid, track, stats after, stats before, seconds between
    them; ``window`` when the slot is new)."""
    for other in names:
        if other == name:
            continue
        for mid, (who, track) in after["slots"].items():
            if who != pid[other] or mid not in after["inbound"]:
                continue
            a, b = after["inbound"][mid], before["inbound"].get(mid, {})
            seconds = (a["timestamp"] - b.get("timestamp", a["timestamp"] - window * 1000)) / 1000
            yield other, mid, track, a, b, seconds


def concealed_fraction(a: dict, b: dict) -> float:
    """Audio concealed over the window (1.0 when nothing was received)."""
    samples = a["samples"] - b.get("samples", 0)
    return (a["concealed"] - b.get("concealed", 0)) / samples if samples else 1.0
