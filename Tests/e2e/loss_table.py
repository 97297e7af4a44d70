"""Prints the Chromium loss table (``loss_measure.py``) for a server binary
as Markdown: ``Scripts/loss-table.sh`` runs it inside a loopback-only
network namespace.  Not a test: it asserts nothing.

    COHORT_BINARY=/path/to/cohort python Tests/e2e/loss_table.py [--levels 0,1,3,5] [--window 15]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import conftest  # noqa: E402  (aioice patch, run())
from chromium import Chromium  # noqa: E402
from cohort_server import BINARY  # noqa: E402
from loss_measure import NAMES, details, measure_level, table  # noqa: E402


async def main(args: argparse.Namespace) -> None:
    started = time.monotonic()
    browsers = [Chromium() for _ in NAMES]
    levels = []
    try:
        await asyncio.gather(*(b.start() for b in browsers))
        for x in args.levels:
            levels.append(await measure_level(browsers, x, binary=BINARY, seed=args.seed, warmup=args.warmup,
                                              window=args.window, log=lambda s: print(s, file=sys.stderr)))
            print(details(levels[-1]), file=sys.stderr)
    finally:
        await asyncio.gather(*(b.close() for b in browsers), return_exceptions=True)
    print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
          f"server {BINARY}, warm-up {args.warmup:g} s, window {args.window:g} s, seed {args.seed}, "
          f"{time.monotonic() - started:.0f} s\n")
    print(table(levels))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", type=lambda s: [float(x) for x in s.split(",")], default=[0.0, 1.0, 3.0, 5.0])
    parser.add_argument("--window", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=11)
    a = parser.parse_args()
    conftest.run(main(a), timeout=60 + len(a.levels) * (a.window + a.warmup + 45))
