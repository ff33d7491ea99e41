"""Many concurrent senders on one link (issue 12, item 1), against the Qpid Proton C broker.

Usage: python bench/concurrency.py [--count 20000] [--port 35831] [--rounds 1]
                                   [--adapters sync,asyncio,trio] [--quick]
                                   [--placement any|same|split] [--per-caller K]

COUNT messages of 1 KiB go through ``send()`` (which waits for the outcome), split
among N concurrent callers: asyncio tasks (``asyncio.gather``) and trio tasks (a
nursery) for N = 1, 10, 100, 1 000, 10 000, threads on the blocking adapter for
N = 1, 10, 100, 1 000; each caller sends its share one after the other. Then
"100 links": one session, 100 senders, one caller per link. Every row is a fresh
connection. Printed: msg/s (median of the rounds), the ratio to the same adapter's
10-caller row (issue 12's target: 10 000 callers within 0.8x of 10) and to
python-qpid-proton's credit-driven send of COUNT messages on one link, and on 100
links, in the same run; and the process's CPU time per message, with the same ratio
by CPU (the broker's turnaround, which moves between runs on a VM, is not in it).
``--placement same|split`` pins the broker and the client to one CPU or to two, as in
bench/e2e.py. ``--per-caller K`` raises a row's count to K messages per caller (K x N):
with the default split, 10 000 callers send two messages each, and that row measures
the start and the end of 10 000 tasks (or 1 000 threads) as much as the sends in
flight; with ``--per-caller 20`` every row is a sustained load. The Azure SDK's
``_pyamqp`` has no such workload (its SendClient does one blocking send at a time), so
it is not an anchor here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from typing import Any

import proton
from _bench import (
    BODY,
    add_placement_arg,
    asyncio_all,
    machine,
    place,
    placement_line,
    qpid_broker,
    run_container,
    trio_all,
)
from e2e import Target, _ProtonClient, _ProtonSend

LINKS = 100


class _ProtonSendLinks(_ProtonClient):
    """COUNT messages over LINKS senders of one session, each sending as its credit allows."""

    def __init__(self, target: Target, address: str, count: int) -> None:
        super().__init__(target, address, count)
        self.sent: dict[Any, int] = {}
        self.confirmed = 0

    def on_start(self, event: Any) -> None:
        conn = self.connect(event)
        for i in range(LINKS):
            event.container.create_sender(conn, f"{self.address}-{i}")

    def on_sendable(self, event: Any) -> None:
        share = self.count // LINKS
        n = self.sent.get(event.sender, 0)
        while event.sender.credit and n < share:
            event.sender.send(proton.Message(body=BODY))
            n += 1
        self.sent[event.sender] = n

    def on_accepted(self, event: Any) -> None:
        self.confirmed += 1
        if self.confirmed == self.count // LINKS * LINKS:
            event.connection.close()


def proton_one(target: Target, count: int, n: int) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    run_container(_ProtonSend(target, f"conc-proton-{uuid.uuid4().hex[:6]}", count))
    return count / (time.perf_counter() - start), (time.process_time() - cpu) / count * 1e6


def proton_links(target: Target, count: int, n: int) -> tuple[float, float]:
    handler = _ProtonSendLinks(target, f"conc-proton-{uuid.uuid4().hex[:6]}", count)
    start, cpu = time.perf_counter(), time.process_time()
    run_container(handler)
    return (handler.confirmed / (time.perf_counter() - start),
            (time.process_time() - cpu) / handler.confirmed * 1e6)


def sync_rate(target: Target, count: int, n: int, links: int = 1) -> tuple[float, float]:
    """msg/s of ``n`` threads sharing ``count`` sends over ``links`` senders, and the
    process's CPU µs per message meanwhile."""
    import amqp10_sync
    from amqp10_proto import Message

    address = f"conc-sync-{uuid.uuid4().hex[:6]}"
    with amqp10_sync.open_connection(target.url, timeout=120) as conn:
        session = conn.open_session()
        senders = [session.open_sender(f"{address}-{i}") for i in range(links)]
        share = count // n
        failures: list[BaseException] = []
        gate = threading.Barrier(n + 1)

        def caller(i: int) -> None:
            sender = senders[i % links]
            gate.wait()
            try:
                for _ in range(share):
                    sender.send(Message(BODY))
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=caller, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        gate.wait()
        start = time.perf_counter()
        cpu = time.process_time()
        for t in threads:
            t.join(600)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
        if failures or any(t.is_alive() for t in threads):
            raise RuntimeError(f"sync, {n} threads: {failures[:1] or 'a thread hung'}")
    return share * n / elapsed, cpu / (share * n) * 1e6


async def _async_rate(amqp: Any, spawn: Any, target: Target, count: int, n: int,
                      links: int, name: str) -> tuple[float, float]:
    """msg/s of ``n`` tasks sharing ``count`` sends over ``links`` senders, and the
    process's CPU µs per message meanwhile."""
    from amqp10_proto import Message

    address = f"conc-{name}-{uuid.uuid4().hex[:6]}"
    async with amqp.open_connection(target.url, timeout=120) as conn:
        session = await conn.open_session()
        senders = [await session.open_sender(f"{address}-{i}") for i in range(links)]
        share = count // n

        async def caller(i: int) -> None:
            sender = senders[i % links]
            for _ in range(share):
                await sender.send(Message(BODY), timeout=600)

        start = time.perf_counter()
        cpu = time.process_time()
        await spawn(*(lambda i=i: caller(i) for i in range(n)))
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
    return share * n / elapsed, cpu / (share * n) * 1e6


def asyncio_rate(target: Target, count: int, n: int, links: int = 1) -> tuple[float, float]:
    import asyncio

    import amqp10_asyncio

    return asyncio.run(_async_rate(amqp10_asyncio, asyncio_all, target, count, n, links,
                                   "asyncio"))


def trio_rate(target: Target, count: int, n: int, links: int = 1) -> tuple[float, float]:
    import trio

    import amqp10_trio

    rate: tuple[float, float] = trio.run(_async_rate, amqp10_trio, trio_all, target, count, n,
                                         links, "trio")
    return rate


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--port", type=int, default=35831)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--adapters", default="sync,asyncio,trio")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 200 messages, N <= 100")
    ap.add_argument("--per-caller", type=int, default=0,
                    help="at least this many messages per caller in each row (K x N)")
    add_placement_arg(ap)
    args = ap.parse_args(argv)
    levels = {"sync": [1, 10, 100, 1000], "asyncio": [1, 10, 100, 1000, 10000],
              "trio": [1, 10, 100, 1000, 10000]}
    if args.quick:
        args.count, args.rounds = 200, 1
        levels = {k: [n for n in v if n <= 100] for k, v in levels.items()}
    rates = {"sync": sync_rate, "asyncio": asyncio_rate, "trio": trio_rate}
    target = Target(args.port)
    rows: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with qpid_broker(args.port, place(args.placement)):
        for _ in range(args.rounds):
            rows.setdefault(("proton", "1 link"), []).append(
                proton_one(target, args.count, 1))
            rows.setdefault(("proton", f"{LINKS} links"), []).append(
                proton_links(target, args.count, 1))
            for name in args.adapters.split(","):
                for n in levels[name]:
                    count = max(args.count, n, n * args.per_caller)
                    rows.setdefault((name, str(n)), []).append(rates[name](target, count, n))
                    print(f"  ({name} {n} done)", file=sys.stderr, flush=True)
                rows.setdefault((name, f"{LINKS} links"), []).append(
                    rates[name](target, args.count, LINKS, LINKS))
    print(f"{machine()}; python-qpid-proton {'.'.join(map(str, proton.VERSION))}; "
          f"{args.count} messages of 1 KiB per row (at least {max(1, args.per_caller)} per "
          f"caller), send() awaiting each outcome; median of {args.rounds} round(s); "
          f"{placement_line(args.placement)}")
    print("CPU: the process's CPU time per message over the row (all its threads); 'CPU x 10'\n"
          "is the 10-caller row's CPU per message over this row's: the adapter's own cost,\n"
          "which the broker's turnaround (it moves between runs on this VM) does not enter.")
    print(f"{'client':<8} {'callers':>10} {'msg/s':>9} {'x 10 callers':>12} {'x proton':>9} "
          f"{'CPU us/msg':>10} {'CPU x 10':>9}")
    med = {key: statistics.median(r for r, _ in v) for key, v in rows.items()}
    cpu = {key: statistics.median(c for _, c in v) for key, v in rows.items()}
    for (name, callers), rate in med.items():
        ten = med.get((name, "10"))
        ten_cpu = cpu.get((name, "10"))
        anchor = med["proton", f"{LINKS} links" if "links" in callers else "1 link"]
        per = cpu[name, callers]
        print(f"{name:<8} {callers:>10} {rate:>9,.0f} "
              f"{(f'{rate / ten:.2f}' if ten else '-'):>12} {rate / anchor:>9.2f} "
              f"{per:>10.1f} {(f'{ten_cpu / per:.2f}' if ten_cpu else '-'):>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
