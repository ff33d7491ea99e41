"""Large messages (issue 12, item 4): time and peak memory of one big message each way.

Usage: python bench/large.py [--sizes 12.5,50,200,500] [--port 35831]
                             [--clients proton,sync,asyncio,trio] [--quick]

For each size (MiB) and client, one fresh interpreter sends one message of that
size to the Qpid Proton C broker and waits for its outcome, then another receives
it (``max_message_size=None``) and reads its body's length. Each prints its wall
time and its peak resident set (``ru_maxrss``), both before the body exists
(imports, connection, link: the baseline) and at the end. Printed per case: the
seconds, MiB/s, the peak RSS, and (peak - baseline) / size, the multiple of the
message the case held at its peak (the sender's own body included, as issue 12
counts it). Target: at most 2x on receive and send, time linear in the size.
``--quick``: 1 and 12.5 MiB. python-qpid-proton (BlockingConnection) is the anchor.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import sys
import time
import uuid
from typing import Any

from _bench import child, machine, max_rss_bytes, qpid_broker

MIB = 1 << 20


def _report(seconds: float, base: int) -> None:
    print(json.dumps({"seconds": seconds, "base": base, "peak": max_rss_bytes()}))


def run_proton(url: str, address: str, size: int, direction: str) -> None:
    import proton
    from proton.utils import BlockingConnection

    conn = BlockingConnection(url, timeout=600)
    if direction == "send":
        sender = conn.create_sender(address)
        base = max_rss_bytes()
        start = time.perf_counter()
        sender.send(proton.Message(body=bytes(size)), timeout=600)
    else:
        receiver = conn.create_receiver(address, credit=0)  # receive() grants 1
        base = max_rss_bytes()
        start = time.perf_counter()
        msg = receiver.receive(timeout=600)
        assert len(msg.body) == size  # (the Qpid broker's deliveries come settled)
    seconds = time.perf_counter() - start
    conn.close()
    _report(seconds, base)


def run_sync(url: str, address: str, size: int, direction: str) -> None:
    import amqp10_sync
    from amqp10_proto import Message

    with amqp10_sync.open_connection(url, timeout=600) as conn:
        session = conn.open_session()
        if direction == "send":
            sender = session.open_sender(address)
            base = max_rss_bytes()
            start = time.perf_counter()
            sender.send(Message(bytes(size)))
        else:
            # Manual credit: the message moves only once the clock runs.
            receiver = session.open_receiver(address, credit=0, max_message_size=None)
            base = max_rss_bytes()
            start = time.perf_counter()
            receiver.add_credit(1)
            msg = receiver.receive()
            assert len(msg.body) == size
            receiver.accept(msg)
        seconds = time.perf_counter() - start
    _report(seconds, base)


async def _run_async(amqp: Any, url: str, address: str, size: int, direction: str) -> None:
    from amqp10_proto import Message

    async with amqp.open_connection(url, timeout=600) as conn:
        session = await conn.open_session()
        if direction == "send":
            sender = await session.open_sender(address)
            base = max_rss_bytes()
            start = time.perf_counter()
            await sender.send(Message(bytes(size)))
        else:
            receiver = await session.open_receiver(address, credit=0, max_message_size=None)
            base = max_rss_bytes()
            start = time.perf_counter()
            granted = receiver.add_credit(1)  # a coroutine on asyncio, a plain call on trio
            if inspect.isawaitable(granted):
                await granted
            msg = await receiver.receive()
            assert len(msg.body) == size
            await receiver.accept(msg)
        seconds = time.perf_counter() - start
    _report(seconds, base)


def run_asyncio(url: str, address: str, size: int, direction: str) -> None:
    import amqp10_asyncio

    asyncio.run(_run_async(amqp10_asyncio, url, address, size, direction))


def run_trio(url: str, address: str, size: int, direction: str) -> None:
    import trio

    import amqp10_trio

    trio.run(_run_async, amqp10_trio, url, address, size, direction)


CLIENTS = {"proton": run_proton, "sync": run_sync, "asyncio": run_asyncio, "trio": run_trio}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="12.5,50,200,500", help="MiB, comma-separated")
    ap.add_argument("--port", type=int, default=35831)
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--quick", action="store_true", help="1 and 12.5 MiB")
    ap.add_argument("--child", nargs=3, metavar=("CLIENT", "DIRECTION", "ADDRESS"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    url = f"amqp://127.0.0.1:{args.port}"
    if args.child:
        name, direction, address = args.child
        CLIENTS[name](url, address, args.size, direction)
        return 0
    sizes = [1.0, 12.5] if args.quick else [float(s) for s in args.sizes.split(",")]
    rows = []
    with qpid_broker(args.port):
        for mib in sizes:
            size = int(mib * MIB)
            for name in args.clients.split(","):
                address = f"large-{name}-{uuid.uuid4().hex[:6]}"
                for direction in ("send", "receive"):
                    r = child("large.py", ["--child", name, direction, address,
                                           "--size", str(size), "--port", str(args.port)],
                              timeout=1800)
                    rows.append((mib, name, direction, r))
                    print(f"  ({mib} MiB {name} {direction} done)", file=sys.stderr, flush=True)
    print(f"{machine()}; one message per case, each side in a fresh interpreter")
    print(f"{'MiB':>6} {'client':<8} {'direction':<8} {'seconds':>8} {'MiB/s':>7} "
          f"{'s/100 MiB':>9} {'peak RSS MiB':>12} {'(peak-base)/size':>16}")
    for mib, name, direction, r in rows:
        print(f"{mib:>6g} {name:<8} {direction:<8} {r['seconds']:>8.3f} "
              f"{mib / r['seconds']:>7.0f} {r['seconds'] / mib * 100:>9.3f} "
              f"{r['peak'] / MIB:>12.1f} {(r['peak'] - r['base']) / (mib * MIB):>16.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
