"""Shared pytest setup for the end-to-end tests.

The suite runs inside a loopback-only network namespace (Scripts/test.sh:
``unshare -n bash -c 'ip link set lo up && … pytest Tests/e2e'``).  Tests are
plain functions that call ``run(coro, timeout)``: pytest-asyncio is not
needed, and every test is bounded by its own timeout.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Awaitable, TypeVar

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import aioice_loopback  # noqa: E402,F401  (patch before any peer exists)
import ifaddr  # noqa: E402

T = TypeVar("T")


def run(coro: Awaitable[T], timeout: float = 30.0) -> T:
    """Run ``coro`` on a fresh event loop, failing after ``timeout`` s."""

    async def bounded() -> T:
        # asyncio.wait, not wait_for: a TimeoutError raised inside the test
        # must surface as itself, not as the test's overall timeout.
        task = asyncio.ensure_future(coro)
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise AssertionError(f"test did not finish within {timeout} s")
        return task.result()

    return asyncio.run(bounded())


def non_loopback_addresses() -> list[str]:
    """IPv4 addresses of this network namespace other than 127.0.0.0/8."""
    return [
        ip.ip
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if isinstance(ip.ip, str) and not ip.ip.startswith("127.")
    ]


def pytest_report_header(config) -> str:  # noqa: ANN001 - pytest hook
    others = non_loopback_addresses()
    if others:
        return f"e2e: NOT in a loopback-only namespace (also {', '.join(others)}); ICE still uses 127.0.0.1 only"
    return "e2e: loopback-only network namespace"
