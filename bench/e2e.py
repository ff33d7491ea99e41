"""End-to-end benchmark against the Qpid Proton C broker: amqp10 adapters and python-qpid-proton.

Usage: python bench/e2e.py [--count 20000] [--rtt 2000] [--rounds 3] [--port 35831]
                          [--adapters sync,asyncio,trio]

Starts the broker with ../shared/peers/start-qpid-broker (and stops it after, if
it started it), then, ROUNDS times, for python-qpid-proton used its recommended high-throughput
way (MessagingHandler, credit-driven sending, prefetch 1000) and for each
amqp10 adapter:
  (a) send COUNT messages of 1 KiB at-least-once (every outcome awaited);
  (b) receive COUNT and accept each;
  (c) RTT sequential send-then-receive round trips (median and p99), each timed
      from the send to the message's arrival (as proton's handler times it in
      on_message); every send's outcome is awaited and every message accepted
      before the next round trip starts.
Prints, per client, the median over the rounds of messages/s and of client CPU
seconds per 1000 messages, and their ratios to proton's medians; round trips are
pooled over the rounds (median and p99). Rounds interleave the clients, so a
burst of load on the machine hits them alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import proton
from proton.handlers import MessagingHandler
from proton.reactor import Container

ROOT = Path(__file__).resolve().parent.parent
PEERS = Path(os.environ.get("AMQP10_PEERS_DIR", ROOT.parent / "shared" / "peers"))
BODY = b"x" * 1024


class Measure:
    """Wall time and this process's CPU time of a block."""

    def __enter__(self) -> Measure:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


# -- python-qpid-proton, the anchor ----------------------------------------------------------

class _ProtonSend(MessagingHandler):  # type: ignore[misc]
    def __init__(self, url: str, address: str, count: int) -> None:
        super().__init__()
        self.url, self.address, self.count = url, address, count
        self.sent = self.confirmed = 0

    def on_start(self, event: Any) -> None:
        conn = event.container.connect(self.url)
        event.container.create_sender(conn, self.address)

    def on_sendable(self, event: Any) -> None:
        while event.sender.credit and self.sent < self.count:
            event.sender.send(proton.Message(body=BODY))
            self.sent += 1

    def on_accepted(self, event: Any) -> None:
        self.confirmed += 1
        if self.confirmed == self.count:
            event.connection.close()


class _ProtonReceive(MessagingHandler):  # type: ignore[misc]
    def __init__(self, url: str, address: str, count: int) -> None:
        super().__init__(prefetch=1000)
        self.url, self.address, self.count = url, address, count
        self.received = 0

    def on_start(self, event: Any) -> None:
        conn = event.container.connect(self.url)
        event.container.create_receiver(conn, self.address)

    def on_message(self, event: Any) -> None:
        self.received += 1
        if self.received == self.count:
            event.connection.close()


class _ProtonRoundTrips(MessagingHandler):  # type: ignore[misc]
    def __init__(self, url: str, address: str, count: int) -> None:
        super().__init__(prefetch=10)
        self.url, self.address, self.count = url, address, count
        self.times: list[float] = []
        self.t0 = 0.0
        self.sender: Any = None
        self.ready = 0

    def on_start(self, event: Any) -> None:
        conn = event.container.connect(self.url)
        self.sender = event.container.create_sender(conn, self.address)
        event.container.create_receiver(conn, self.address)

    def _next(self) -> None:
        self.t0 = time.perf_counter()
        self.sender.send(proton.Message(body=BODY))

    def on_link_opened(self, event: Any) -> None:
        self.ready += 1

    def on_sendable(self, event: Any) -> None:
        if not self.times and self.t0 == 0.0 and self.ready >= 2:
            self._next()

    def on_message(self, event: Any) -> None:
        self.times.append(time.perf_counter() - self.t0)
        if len(self.times) == self.count:
            event.connection.close()
        else:
            self._next()


def _run_container(handler: Any, timeout: float = 300.0) -> None:
    """Run a proton Container to its end, failing (not hanging) after ``timeout`` s."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            Container(handler).run()
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"python-qpid-proton did not finish within {timeout} s")
    if failure:
        raise failure[0]


def proton_run(port: int, count: int, rtt: int) -> dict[str, Any]:
    url = f"amqp://127.0.0.1:{port}"
    address = f"bench-proton-{uuid.uuid4().hex[:6]}"
    send = _ProtonSend(url, address, count)
    with Measure() as m_send:
        _run_container(send)
    recv = _ProtonReceive(url, address, count)
    with Measure() as m_recv:
        _run_container(recv)
    assert recv.received == count, recv.received
    rt = _ProtonRoundTrips(url, f"{address}-rt", rtt)
    _run_container(rt)
    return {"send": m_send, "recv": m_recv, "rtt": rt.times}


# -- amqp10 ------------------------------------------------------------------------------------

def sync_run(port: int, count: int, rtt: int) -> dict[str, Any]:
    import amqp10_sync
    from amqp10_proto import Message

    address = f"bench-sync-{uuid.uuid4().hex[:6]}"
    url = f"amqp://127.0.0.1:{port}"
    with amqp10_sync.open_connection(url, timeout=60) as conn:
        session = conn.open_session()
        sender = session.open_sender(address)
        with Measure() as m_send:
            # The bulk path: queue as credit allows, then await every outcome.
            deliveries = [sender.send_nowait(Message(BODY)) for _ in range(count)]
            for d in deliveries:
                sender.wait_settled(d)
        sender.close()
        receiver = session.open_receiver(address, credit=1000)
        with Measure() as m_recv:
            for _ in range(count):
                msg = receiver.receive(timeout=30)
                receiver.accept(msg)
        receiver.close()
        rt_sender = session.open_sender(f"{address}-rt")
        rt_receiver = session.open_receiver(f"{address}-rt", credit=10)
        times = []
        for _ in range(rtt):
            # Timed as proton's handler times it: from the send to the message's arrival.
            # The send's outcome is still awaited, and the message accepted, before the next.
            t0 = time.perf_counter()
            handle = rt_sender.send_nowait(Message(BODY))
            msg = rt_receiver.receive(timeout=30)
            times.append(time.perf_counter() - t0)
            rt_receiver.accept(msg)
            rt_sender.wait_settled(handle, timeout=30)
    return {"send": m_send, "recv": m_recv, "rtt": times}


async def _async_body(amqp: Any, port: int, count: int, rtt: int, name: str) -> dict[str, Any]:
    """The same three measurements through an async adapter (asyncio or trio)."""
    from amqp10_proto import Message

    address = f"bench-{name}-{uuid.uuid4().hex[:6]}"
    async with amqp.open_connection(f"amqp://127.0.0.1:{port}", timeout=60) as conn:
        session = await conn.open_session()
        sender = await session.open_sender(address)
        with Measure() as m_send:
            deliveries = [await sender.send_nowait(Message(BODY)) for _ in range(count)]
            for d in deliveries:
                await sender.wait_settled(d)
        await sender.close()
        receiver = await session.open_receiver(address, credit=1000)
        with Measure() as m_recv:
            for _ in range(count):
                msg = await receiver.receive(timeout=30)
                await receiver.accept(msg)
        await receiver.close()
        rt_sender = await session.open_sender(f"{address}-rt")
        rt_receiver = await session.open_receiver(f"{address}-rt", credit=10)
        times = []
        for _ in range(rtt):
            # Timed as proton's handler times it: from the send to the message's arrival.
            # The send's outcome is still awaited, and the message accepted, before the next.
            t0 = time.perf_counter()
            handle = await rt_sender.send_nowait(Message(BODY))
            msg = await rt_receiver.receive(timeout=30)
            times.append(time.perf_counter() - t0)
            await rt_receiver.accept(msg)
            await rt_sender.wait_settled(handle, timeout=30)
    return {"send": m_send, "recv": m_recv, "rtt": times}


def asyncio_run(port: int, count: int, rtt: int) -> dict[str, Any]:
    import asyncio

    import amqp10_asyncio

    result: dict[str, Any] = asyncio.run(_async_body(amqp10_asyncio, port, count, rtt, "asyncio"))
    return result


def trio_run(port: int, count: int, rtt: int) -> dict[str, Any]:
    import trio

    import amqp10_trio

    result: dict[str, Any] = trio.run(_async_body, amqp10_trio, port, count, rtt, "trio")
    return result


RUNNERS: dict[str, Callable[[int, int, int], dict[str, Any]]] = {
    "sync": sync_run, "asyncio": asyncio_run, "trio": trio_run}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--rtt", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--port", type=int, default=35831)
    ap.add_argument("--adapters", default=",".join(RUNNERS))
    args = ap.parse_args(argv)
    start = subprocess.run(["bash", str(PEERS / "start-qpid-broker"), str(args.port)],
                           capture_output=True, text=True)
    if start.returncode != 0:
        print(start.stdout, start.stderr, file=sys.stderr)
        return 1
    ours = "already running" not in start.stderr
    names = ["proton", *args.adapters.split(",")]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    try:
        for _ in range(args.rounds):
            runs["proton"].append(proton_run(args.port, args.count, args.rtt))
            for name in names[1:]:
                runs[name].append(RUNNERS[name](args.port, args.count, args.rtt))
    finally:
        if ours:
            subprocess.run(["bash", str(PEERS / "stop-qpid-broker"), str(args.port)],
                           capture_output=True)
    n = args.count
    med = statistics.median

    def row(name: str) -> dict[str, float]:
        rs = runs[name]
        times = sorted(t for r in rs for t in r["rtt"])
        return {
            "send": med(n / r["send"].wall for r in rs),
            "send_cpu": med(r["send"].cpu / n * 1000 for r in rs),
            "recv": med(n / r["recv"].wall for r in rs),
            "recv_cpu": med(r["recv"].cpu / n * 1000 for r in rs),
            "p50": med(times) * 1e6,
            "p99": times[max(0, int(len(times) * 0.99) - 1)] * 1e6,
        }

    rows = {name: row(name) for name in names}
    base = rows["proton"]
    print(f"python {sys.version.split()[0]}, python-qpid-proton "
          f"{'.'.join(map(str, proton.VERSION))}; {n} messages of 1 KiB, {args.rtt} round "
          f"trips; medians of {args.rounds} rounds")
    print(f"{'client':<8} {'send/s':>9} {'x':>6} {'cpu/1k':>7} {'recv/s':>9} {'x':>6} "
          f"{'cpu/1k':>7} {'rtt p50 µs':>10} {'x':>6} {'p99 µs':>8}")
    for name, r in rows.items():
        print(f"{name:<8} {r['send']:>9,.0f} {r['send'] / base['send']:>6.2f} "
              f"{r['send_cpu']:>7.3f} {r['recv']:>9,.0f} {r['recv'] / base['recv']:>6.2f} "
              f"{r['recv_cpu']:>7.3f} {r['p50']:>10.0f} {r['p50'] / base['p50']:>6.2f} "
              f"{r['p99']:>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
