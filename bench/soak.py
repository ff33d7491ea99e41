"""Soak: a million messages through one link, resident memory sampled as they pass.

Usage: python bench/soak.py [--count 1000000] [--port 35831] [--adapters sync,asyncio,trio]

Starts the Qpid Proton C broker (../shared/peers/start-qpid-broker; stopped after
if this script started it). For each adapter, in a fresh process: one connection,
one sender and one receiver on the same queue, sending and receiving at once
(at-least-once: every outcome awaited, every message accepted), until COUNT
messages have gone through. Prints the resident set size at the 100 000th
message and at the last one, and their ratio (the issue's bar: within 10 %).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PEERS = Path(os.environ.get("AMQP10_PEERS_DIR", ROOT.parent / "shared" / "peers"))
BODY = b"s" * 256
WINDOW = 500  # outcomes awaited in batches of this many sends
SAMPLE_EVERY = 50_000


def rss_kib() -> int:
    """This process's resident set size in KiB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


class Samples:
    """RSS after every SAMPLE_EVERY received messages (and the 100 000th)."""

    def __init__(self) -> None:
        self.points: list[tuple[int, int]] = []

    def maybe(self, n: int) -> None:
        if n % SAMPLE_EVERY == 0 or n == 100_000:
            self.points.append((n, rss_kib()))


def soak_sync(port: int, count: int) -> Samples:
    import amqp10_sync
    from amqp10_proto import Message

    address = f"soak-sync-{uuid.uuid4().hex[:6]}"
    samples = Samples()
    with amqp10_sync.open_connection(f"amqp://127.0.0.1:{port}", timeout=60) as conn:
        session = conn.open_session()
        sender = session.open_sender(address)
        receiver = session.open_receiver(address, credit=500)
        errors: list[BaseException] = []

        def send_all() -> None:
            try:
                for start in range(0, count, WINDOW):
                    handles = [sender.send_nowait(Message(BODY))
                               for _ in range(min(WINDOW, count - start))]
                    for h in handles:
                        sender.wait_settled(h)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=send_all)
        thread.start()
        got = 0
        while got < count:
            for msg in receiver.receive_batch(200, timeout=30):
                msg.accept()
                got += 1
                samples.maybe(got)
            if errors:
                raise errors[0]
        thread.join(60)
        if errors:
            raise errors[0]
    return samples


async def _soak_async(amqp: Any, port: int, count: int, spawn: Any) -> Samples:
    from amqp10_proto import Message

    address = f"soak-async-{uuid.uuid4().hex[:6]}"
    samples = Samples()
    async with amqp.open_connection(f"amqp://127.0.0.1:{port}", timeout=60) as conn:
        session = await conn.open_session()
        sender = await session.open_sender(address)
        receiver = await session.open_receiver(address, credit=500)

        async def send_all() -> None:
            for start in range(0, count, WINDOW):
                handles = [await sender.send_nowait(Message(BODY))
                           for _ in range(min(WINDOW, count - start))]
                for h in handles:
                    await sender.wait_settled(h)

        async def receive_all() -> None:
            got = 0
            while got < count:
                for msg in await receiver.receive_batch(200, timeout=30):
                    await msg.accept()
                    got += 1
                    samples.maybe(got)

        await spawn(send_all, receive_all)
    return samples


def soak_asyncio(port: int, count: int) -> Samples:
    import asyncio

    import amqp10_asyncio

    async def spawn(*fns: Any) -> None:
        await asyncio.gather(*(fn() for fn in fns))

    result: Samples = asyncio.run(_soak_async(amqp10_asyncio, port, count, spawn))
    return result


def soak_trio(port: int, count: int) -> Samples:
    import trio

    import amqp10_trio

    async def spawn(*fns: Any) -> None:
        async with trio.open_nursery() as nursery:
            for fn in fns:
                nursery.start_soon(fn)

    result: Samples = trio.run(_soak_async, amqp10_trio, port, count, spawn)
    return result


RUNNERS = {"sync": soak_sync, "asyncio": soak_asyncio, "trio": soak_trio}


def child(adapter: str, port: int, count: int) -> int:
    t0 = time.perf_counter()
    samples = RUNNERS[adapter](port, count)
    print(json.dumps({"adapter": adapter, "seconds": time.perf_counter() - t0,
                      "points": samples.points}))
    return 0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--port", type=int, default=35831)
    ap.add_argument("--adapters", default="sync,asyncio,trio")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args.child, args.port, args.count)
    start = subprocess.run(["bash", str(PEERS / "start-qpid-broker"), str(args.port)],
                           capture_output=True, text=True)
    if start.returncode != 0:
        print(start.stdout, start.stderr, file=sys.stderr)
        return 1
    ours = "already running" not in start.stderr
    failed = False
    try:
        print(f"{'adapter':<8} {'messages':>9} {'seconds':>8} {'msg/s':>7} "
              f"{'RSS@100k KiB':>13} {'RSS@end KiB':>12} {'end/100k':>9}")
        for adapter in args.adapters.split(","):
            proc = subprocess.run(
                [sys.executable, __file__, "--child", adapter, "--port", str(args.port),
                 "--count", str(args.count)], capture_output=True, text=True, timeout=3600)
            if proc.returncode != 0:
                print(f"{adapter}: failed\n{proc.stderr[-3000:]}", file=sys.stderr)
                failed = True
                continue
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            points = dict(result["points"])
            at_100k = points.get(100_000) or min(points.items())[1]
            last = points[max(points)]
            print(f"{adapter:<8} {args.count:>9,} {result['seconds']:>8.1f} "
                  f"{args.count / result['seconds']:>7,.0f} {at_100k:>13,} {last:>12,} "
                  f"{last / at_100k:>9.3f}")
            print("   RSS KiB by message: " + ", ".join(
                f"{n // 1000}k={kib:,}" for n, kib in result["points"]))
    finally:
        if ours:
            subprocess.run(["bash", str(PEERS / "stop-qpid-broker"), str(args.port)],
                           capture_output=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
