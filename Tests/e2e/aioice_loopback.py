"""Make aiortc usable inside a loopback-only network namespace.

Importing this module (before any peer connection gathers candidates) applies
two small patches:

1. aioice gathers host candidates from ``aioice.ice.get_host_addresses``,
   which deliberately skips 127.0.0.1.  Inside ``unshare -n`` loopback is the
   only interface, so aiortc would offer no candidate at all.  We replace the
   function so that it returns exactly 127.0.0.1 (when IPv4 is enabled):
   every peer in these tests lives on this machine, and restricting ICE to
   loopback also guarantees that a run outside the namespace never sends a
   connectivity check to another host.

2. aiortc falls back to a public Google STUN server when a configuration has
   no ``iceServers``.  We make that default an empty list, so no STUN request
   can ever be attempted, whatever configuration a caller passes.

The patches are idempotent; ``apply()`` may be called any number of times.
"""

from __future__ import annotations

import aioice.ice
from aiortc.rtcicetransport import RTCIceGatherer

LOOPBACK_V4 = "127.0.0.1"

_original_get_host_addresses = aioice.ice.get_host_addresses


def loopback_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """Host addresses for ICE gathering: 127.0.0.1 only (IPv6 is not used)."""
    return [LOOPBACK_V4] if use_ipv4 else []


def _no_default_ice_servers(cls) -> list:  # noqa: ANN001 - classmethod shape
    return []


def apply() -> None:
    """Install both patches (idempotent)."""
    aioice.ice.get_host_addresses = loopback_host_addresses
    RTCIceGatherer.getDefaultIceServers = classmethod(_no_default_ice_servers)


def applied() -> bool:
    """True when both patches are in place."""
    return (
        aioice.ice.get_host_addresses is loopback_host_addresses
        and RTCIceGatherer.getDefaultIceServers() == []
    )


apply()
