"""Make aioice offer a host candidate on 127.0.0.1.

aioice's ``get_host_addresses`` skips 127.0.0.1 on purpose, so inside a
network namespace that has only loopback (``unshare -n``) an aiortc peer would
gather no candidate at all. The end-to-end tests and the SDP fixture capture
run in such a namespace, so they call ``install()`` before creating any
RTCPeerConnection. It replaces the module-level function that
``aioice.ice.Connection.gather_candidates`` looks up at call time.
"""

import aioice.ice

_original = aioice.ice.get_host_addresses


def _loopback_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    addresses = list(_original(use_ipv4, use_ipv6))
    if use_ipv4 and "127.0.0.1" not in addresses:
        addresses.insert(0, "127.0.0.1")
    return addresses


def install() -> None:
    """Patch aioice so 127.0.0.1 is gathered as a host candidate (idempotent)."""
    aioice.ice.get_host_addresses = _loopback_host_addresses
