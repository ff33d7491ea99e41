"""Idle cost: CPU an open, idle connection spends per minute, per adapter.

Usage: python bench/idle.py [--seconds 60] [--idle-timeout 60] [--port 35831]
                            [--adapters sync,asyncio,trio] [--quick]

Starts the Qpid Proton C broker (stopped after if this script started it). Each
adapter runs in its own process, all at once: it opens a connection (asking the
broker for heartbeats at half of ``--idle-timeout``), a session, a sender and a
receiver waiting for messages, then measures its own CPU time over ``--seconds``
of doing nothing, and checks the connection is still open at the end. The issue's
bar: under 10 ms of CPU per minute. An interpreter that only sleeps is measured
the same way for reference.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from _bench import asyncio_all, machine, trio_all

ROOT = Path(__file__).resolve().parent.parent
PEERS = Path(os.environ.get("AMQP10_PEERS_DIR", ROOT.parent / "shared" / "peers"))
SETTLE = 1.0  # seconds after opening before measuring


def _measure(seconds: float, sleep: Any) -> float:
    """CPU seconds this process spends while ``sleep(seconds)`` runs."""
    cpu = time.process_time()
    sleep(seconds)
    return time.process_time() - cpu


def idle_none(port: int, seconds: float, idle_timeout: float) -> tuple[float, bool]:
    return _measure(seconds, time.sleep), True


def idle_sync(port: int, seconds: float, idle_timeout: float) -> tuple[float, bool]:
    import amqp10_sync

    address = f"idle-{uuid.uuid4().hex[:6]}"
    with amqp10_sync.open_connection(f"amqp://127.0.0.1:{port}",
                                     idle_timeout=idle_timeout) as conn:
        session = conn.open_session()
        session.open_sender(address)
        receiver = session.open_receiver(address, credit=100)
        got: list[Any] = []
        waiter = threading.Thread(  # a thread blocked in receive, as an application would be
            target=lambda: got.append(receiver.receive(timeout=seconds + SETTLE + 5)),
            daemon=True)
        waiter.start()
        time.sleep(SETTLE)
        cpu = _measure(seconds, time.sleep)
        alive = not conn.closed
        receiver.close()
    return cpu, alive


async def _idle_async(amqp: Any, sleep: Any, spawn: Any, port: int, seconds: float,
                      idle_timeout: float) -> tuple[float, bool]:
    address = f"idle-{uuid.uuid4().hex[:6]}"
    async with amqp.open_connection(f"amqp://127.0.0.1:{port}",
                                    idle_timeout=idle_timeout) as conn:
        session = await conn.open_session()
        await session.open_sender(address)
        receiver = await session.open_receiver(address, credit=100)
        result: list[Any] = []

        async def measure() -> None:
            await sleep(SETTLE)
            cpu = time.process_time()
            await sleep(seconds)
            result.append(time.process_time() - cpu)
            result.append(not conn.closed)

        async def wait_for_message() -> None:
            with contextlib.suppress(TimeoutError):
                await receiver.receive(timeout=seconds + SETTLE)

        await spawn(measure, wait_for_message)
        await receiver.close()
    return result[0], result[1]


def idle_asyncio(port: int, seconds: float, idle_timeout: float) -> tuple[float, bool]:
    import asyncio

    import amqp10_asyncio

    result: tuple[float, bool] = asyncio.run(_idle_async(
        amqp10_asyncio, asyncio.sleep, asyncio_all, port, seconds, idle_timeout))
    return result


def idle_trio(port: int, seconds: float, idle_timeout: float) -> tuple[float, bool]:
    import trio

    import amqp10_trio

    result: tuple[float, bool] = trio.run(
        _idle_async, amqp10_trio, trio.sleep, trio_all, port, seconds, idle_timeout)
    return result


RUNNERS = {"(sleep only)": idle_none, "sync": idle_sync, "asyncio": idle_asyncio,
           "trio": idle_trio}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--idle-timeout", type=float, default=60.0)
    ap.add_argument("--port", type=int, default=35831)
    ap.add_argument("--adapters", default="sync,asyncio,trio")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 2 s idle")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.seconds = 2.0
    if args.child:
        cpu, alive = RUNNERS[args.child](args.port, args.seconds, args.idle_timeout)
        print(json.dumps({"cpu": cpu, "alive": alive}))
        return 0
    start = subprocess.run(["bash", str(PEERS / "start-qpid-broker"), str(args.port)],
                           capture_output=True, text=True)
    if start.returncode != 0:
        print(start.stdout, start.stderr, file=sys.stderr)
        return 1
    ours = "already running" not in start.stderr
    names = ["(sleep only)", *args.adapters.split(",")]
    try:
        procs = {name: subprocess.Popen(
            [sys.executable, __file__, "--child", name, "--port", str(args.port),
             "--seconds", str(args.seconds), "--idle-timeout", str(args.idle_timeout)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in names}
        outputs = {name: p.communicate(timeout=args.seconds + 120) for name, p in procs.items()}
    finally:
        if ours:
            subprocess.run(["bash", str(PEERS / "stop-qpid-broker"), str(args.port)],
                           capture_output=True)
    print(machine())
    print(f"idle for {args.seconds:.0f} s, idle-timeout {args.idle_timeout:g} s "
          f"(heartbeats from the broker every {args.idle_timeout / 2:g} s)")
    print(f"{'adapter':<13} {'CPU ms/min':>10} {'still open':>10}")
    failed = False
    for name in names:
        out, err = outputs[name]
        if procs[name].returncode != 0:
            print(f"{name}: failed\n{err[-3000:]}", file=sys.stderr)
            failed = True
            continue
        result = json.loads(out.strip().splitlines()[-1])
        per_minute = result["cpu"] * 1000 * 60 / args.seconds
        print(f"{name:<13} {per_minute:>10.2f} {'yes' if result['alive'] else 'NO':>10}")
        failed |= not result["alive"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
