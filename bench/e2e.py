"""End-to-end benchmark against the Qpid Proton C broker: amqp10 adapters and the anchors.

Usage: python bench/e2e.py [--count 20000] [--rtt 2000] [--rounds 3] [--port 35831]
                          [--adapters sync,asyncio,trio] [--parts send,many,waitall,recv,rtt]
                          [--tls] [--no-azure] [--quick] [--placement any|same|split]

Starts the broker with ../shared/peers/start-qpid-broker (and stops it after, if
it started it), then, ROUNDS times, for python-qpid-proton used its recommended high-throughput
way (MessagingHandler, credit-driven sending, prefetch 1000), for each amqp10 adapter,
and for the anchors below:
  (a) send COUNT messages of 1 KiB at-least-once (every outcome awaited); the
      adapters send_nowait each, then wait_settled per message ("send"); and, the
      adapters only, ``send_many(messages)`` in one call ("many") and send_nowait
      each, then one ``wait_all(handles)`` ("waitall"): issue 12's bulk path,
      printed against proton's send and Proton C's (the messages these two put
      on the queue are taken off, untimed, after the receive part);
  (b) receive COUNT and accept each;
  (c) RTT sequential send-then-receive round trips (median and p99), each timed
      from the send to the message's arrival (as proton's handler times it in
      on_message); every send's outcome is awaited and every message accepted
      before the next round trip starts.
``--parts`` picks which of them run. Anchors: Proton C (bench/proton_c_send.c,
built with gcc against Debian's libqpid-proton when both are there; sending only) and
the Azure SDK's ``_pyamqp`` (azure-servicebus in the venv shared/peers makes; its send
waits for each outcome, it has no bulk path), unless ``--no-azure``.
``--tls``: the broker serves amqp:// and amqps:// on one port (certificates made
here), and every client runs over both in the same round; the TLS / plain ratios of
throughput and CPU per message are printed too.
``--placement same|split`` pins the broker and this process (the client, and the anchors
it starts) to one CPU or to two (the broker must then be started here): a ping-pong of the
broker's 5-credit rounds runs at one rate when the two share a CPU and at about half when
each wake-up has to reach another one, and the scheduler ("any", the default) mostly
splits them, now and then not, which makes the rates bimodal between runs.
Prints, per client, the median over the rounds of messages/s and of client CPU
seconds per 1000 messages, and their ratios to proton's medians; round trips are
pooled over the rounds (median and p99). Rounds interleave the clients, so a
burst of load on the machine hits them alike.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import proton
from _bench import (
    BODY,
    Measure,
    add_placement_arg,
    azure,
    azure_available,
    gcc_build,
    machine,
    place,
    placement_line,
    qpid_broker,
    run_container,
    tls_qpid_broker,
)
from proton.handlers import MessagingHandler

PARTS = ("send", "many", "waitall", "recv", "rtt")
#: The parts that put COUNT messages on the queue (the adapters' bulk calls: theirs only).
BULK = ("many", "waitall")


@dataclass(frozen=True)
class Target:
    """Where the clients connect: the broker's port, and the CA to trust for amqps://."""

    port: int
    ca: Path | None = None

    @property
    def url(self) -> str:
        return f"{'amqps' if self.ca else 'amqp'}://127.0.0.1:{self.port}"

    def ssl_context(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=str(self.ca)) if self.ca else None

    def proton_domain(self) -> Any:
        if self.ca is None:
            return None
        domain = proton.SSLDomain(proton.SSLDomain.MODE_CLIENT)
        domain.set_trusted_ca_db(str(self.ca))
        # (the chain only: proton 0.40 refused VERIFY_PEER_NAME with the IP address in the SAN)
        domain.set_peer_authentication(proton.SSLDomain.VERIFY_PEER)
        return domain


# -- python-qpid-proton, the anchor ----------------------------------------------------------

class _ProtonClient(MessagingHandler):  # type: ignore[misc]
    def __init__(self, target: Target, address: str, count: int, prefetch: int = 10) -> None:
        super().__init__(prefetch=prefetch)
        self.target, self.address, self.count = target, address, count

    def connect(self, event: Any) -> Any:
        return event.container.connect(self.target.url, ssl_domain=self.target.proton_domain(),
                                       reconnect=False)


class _ProtonSend(_ProtonClient):
    def __init__(self, target: Target, address: str, count: int) -> None:
        super().__init__(target, address, count)
        self.sent = self.confirmed = 0

    def on_start(self, event: Any) -> None:
        event.container.create_sender(self.connect(event), self.address)

    def on_sendable(self, event: Any) -> None:
        while event.sender.credit and self.sent < self.count:
            event.sender.send(proton.Message(body=BODY))
            self.sent += 1

    def on_accepted(self, event: Any) -> None:
        self.confirmed += 1
        if self.confirmed == self.count:
            event.connection.close()


class _ProtonReceive(_ProtonClient):
    def __init__(self, target: Target, address: str, count: int) -> None:
        super().__init__(target, address, count, prefetch=1000)
        self.received = 0

    def on_start(self, event: Any) -> None:
        event.container.create_receiver(self.connect(event), self.address)

    def on_message(self, event: Any) -> None:
        self.received += 1
        if self.received == self.count:
            event.connection.close()


class _ProtonRoundTrips(_ProtonClient):
    def __init__(self, target: Target, address: str, count: int) -> None:
        super().__init__(target, address, count)
        self.times: list[float] = []
        self.t0 = 0.0
        self.sender: Any = None
        self.ready = 0

    def on_start(self, event: Any) -> None:
        conn = self.connect(event)
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


def proton_run(target: Target, count: int, rtt: int, parts: set[str]) -> dict[str, Any]:
    address = f"bench-proton-{uuid.uuid4().hex[:6]}"
    result: dict[str, Any] = {}
    if parts & {"send", "recv", *BULK}:  # (its send is the bulk parts' anchor too)
        with Measure() as result["send"]:
            run_container(_ProtonSend(target, address, count))
    if "recv" in parts:
        recv = _ProtonReceive(target, address, count)
        with Measure() as result["recv"]:
            run_container(recv)
        assert recv.received == count, recv.received
    if "rtt" in parts:
        rt = _ProtonRoundTrips(target, f"{address}-rt", rtt)
        run_container(rt)
        result["rtt"] = rt.times
    return result


class _Timed:
    """A Measure-like result read from another process (wall and CPU seconds)."""

    def __init__(self, wall: float, cpu: float) -> None:
        self.wall, self.cpu = wall, cpu


def proton_c_run(target: Target, count: int, rtt: int, parts: set[str]) -> dict[str, Any]:
    """Proton C's sender (bench/proton_c_send.c); the messages are then drained by proton."""
    binary = gcc_build(Path(__file__).with_name("proton_c_send.c"), ["-lqpid-proton"])
    assert binary is not None
    address = f"bench-c-{uuid.uuid4().hex[:6]}"
    proc = subprocess.run([str(binary), "127.0.0.1", str(target.port), address, str(count)],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"proton_c_send failed: {proc.stderr}")
    out = json.loads(proc.stdout)
    assert out["accepted"] == count, out
    drain = _ProtonReceive(target, address, count)  # leave the broker empty
    run_container(drain)
    return {"send": _Timed(out["wall"], out["cpu"])}


def azure_run(target: Target, count: int, rtt: int, parts: set[str]) -> dict[str, Any]:
    """The Azure SDK's _pyamqp (bench/_azure_anchor.py, in its own venv).

    Its send waits for each outcome (about 7 ms each here), so it moves at most 2 000
    messages and 200 round trips; its times are scaled to COUNT messages.
    """
    address = f"bench-azure-{uuid.uuid4().hex[:6]}"
    tls_ca = str(target.ca) if target.ca else None
    n = min(count, 2000)
    result: dict[str, Any] = {}
    if parts & {"send", "recv"}:
        r = azure("send", port=target.port, address=address, count=n, tls_ca=tls_ca)
        result["send"] = _Timed(r["wall"] * count / r["count"], r["cpu"] * count / r["count"])
    if "recv" in parts:
        r = azure("receive", port=target.port, address=address, count=n, tls_ca=tls_ca)
        result["recv"] = _Timed(r["wall"] * count / n, r["cpu"] * count / n)
    if "rtt" in parts:
        result["rtt"] = azure("rtt", port=target.port, address=f"{address}-rt",
                              count=min(rtt, 200), tls_ca=tls_ca)["times"]
    return result


# -- amqp10 ------------------------------------------------------------------------------------

def sync_run(target: Target, count: int, rtt: int, parts: set[str]) -> dict[str, Any]:
    import amqp10_sync
    from amqp10_proto import Message

    address = f"bench-sync-{uuid.uuid4().hex[:6]}"
    result: dict[str, Any] = {}
    with amqp10_sync.open_connection(target.url, ssl_context=target.ssl_context(),
                                     timeout=60) as conn:
        session = conn.open_session()
        if parts & {"send", "recv", *BULK}:
            sender = session.open_sender(address)
            if parts & {"send", "recv"}:
                with Measure() as result["send"]:
                    # Queue as credit allows, then await every outcome, one by one.
                    deliveries = [sender.send_nowait(Message(BODY)) for _ in range(count)]
                    for d in deliveries:
                        sender.wait_settled(d)
            if "many" in parts:
                with Measure() as result["many"]:
                    sender.send_many([Message(BODY) for _ in range(count)], timeout=120)
            if "waitall" in parts:
                with Measure() as result["waitall"]:
                    sender.wait_all([sender.send_nowait(Message(BODY)) for _ in range(count)],
                                    timeout=120)
            sender.close()
        extra = count * len(parts & set(BULK))  # the bulk parts' messages, taken off untimed
        if "recv" in parts or extra:
            receiver = session.open_receiver(address, credit=1000)
            with Measure() as result["recv"]:
                for _ in range(count if "recv" in parts else 0):
                    msg = receiver.receive(timeout=30)
                    receiver.accept(msg)
            for _ in range(extra):
                receiver.accept(receiver.receive(timeout=30))
            receiver.close()
            if "recv" not in parts:
                del result["recv"]
        if "rtt" in parts:
            rt_sender = session.open_sender(f"{address}-rt")
            rt_receiver = session.open_receiver(f"{address}-rt", credit=10)
            times = result["rtt"] = []
            for _ in range(rtt):
                # Timed as proton's handler times it: from the send to the message's arrival.
                # The send's outcome is still awaited, and the message accepted, before the next.
                t0 = time.perf_counter()
                handle = rt_sender.send_nowait(Message(BODY))
                msg = rt_receiver.receive(timeout=30)
                times.append(time.perf_counter() - t0)
                rt_receiver.accept(msg)
                rt_sender.wait_settled(handle, timeout=30)
    return result


async def _async_body(amqp: Any, target: Target, count: int, rtt: int, parts: set[str],
                      name: str) -> dict[str, Any]:
    """The same three measurements through an async adapter (asyncio or trio)."""
    from amqp10_proto import Message

    address = f"bench-{name}-{uuid.uuid4().hex[:6]}"
    result: dict[str, Any] = {}
    async with amqp.open_connection(target.url, ssl_context=target.ssl_context(),
                                    timeout=60) as conn:
        session = await conn.open_session()
        if parts & {"send", "recv", *BULK}:
            sender = await session.open_sender(address)
            if parts & {"send", "recv"}:
                with Measure() as result["send"]:
                    deliveries = [await sender.send_nowait(Message(BODY)) for _ in range(count)]
                    for d in deliveries:
                        await sender.wait_settled(d)
            if "many" in parts:
                with Measure() as result["many"]:
                    await sender.send_many([Message(BODY) for _ in range(count)], timeout=120)
            if "waitall" in parts:
                with Measure() as result["waitall"]:
                    handles = [await sender.send_nowait(Message(BODY)) for _ in range(count)]
                    await sender.wait_all(handles, timeout=120)
            await sender.close()
        extra = count * len(parts & set(BULK))  # the bulk parts' messages, taken off untimed
        if "recv" in parts or extra:
            receiver = await session.open_receiver(address, credit=1000)
            with Measure() as result["recv"]:
                for _ in range(count if "recv" in parts else 0):
                    msg = await receiver.receive(timeout=30)
                    await receiver.accept(msg)
            for _ in range(extra):
                await receiver.accept(await receiver.receive(timeout=30))
            await receiver.close()
            if "recv" not in parts:
                del result["recv"]
        if "rtt" in parts:
            rt_sender = await session.open_sender(f"{address}-rt")
            rt_receiver = await session.open_receiver(f"{address}-rt", credit=10)
            times = result["rtt"] = []
            for _ in range(rtt):
                # Timed as proton's handler times it: from the send to the message's arrival.
                # The send's outcome is still awaited, and the message accepted, before the next.
                t0 = time.perf_counter()
                handle = await rt_sender.send_nowait(Message(BODY))
                msg = await rt_receiver.receive(timeout=30)
                times.append(time.perf_counter() - t0)
                await rt_receiver.accept(msg)
                await rt_sender.wait_settled(handle, timeout=30)
    return result


def asyncio_run(target: Target, count: int, rtt: int, parts: set[str]) -> dict[str, Any]:
    import asyncio

    import amqp10_asyncio

    result: dict[str, Any] = asyncio.run(
        _async_body(amqp10_asyncio, target, count, rtt, parts, "asyncio"))
    return result


def trio_run(target: Target, count: int, rtt: int, parts: set[str]) -> dict[str, Any]:
    import trio

    import amqp10_trio

    result: dict[str, Any] = trio.run(_async_body, amqp10_trio, target, count, rtt, parts,
                                      "trio")
    return result


Runner = Callable[[Target, int, int, set[str]], dict[str, Any]]
RUNNERS: dict[str, Runner] = {"sync": sync_run, "asyncio": asyncio_run, "trio": trio_run}


def _stats(rs: list[dict[str, Any]], n: int) -> dict[str, float]:
    """Medians over the rounds of one client on one transport (absent parts are absent)."""
    med = statistics.median
    out: dict[str, float] = {}
    for part in ("send", "many", "waitall", "recv"):
        if rs and part in rs[0]:
            out[part] = med(n / r[part].wall for r in rs)
            out[f"{part}_cpu"] = med(r[part].cpu / n * 1000 for r in rs)
    if rs and "rtt" in rs[0]:
        times = sorted(t for r in rs for t in r["rtt"])
        out["p50"] = med(times) * 1e6
        out["p99"] = times[max(0, int(len(times) * 0.99) - 1)] * 1e6
    return out


def _print_table(rows: dict[str, dict[str, float]], base: dict[str, float],
                 c_base: dict[str, float] | None = None) -> None:
    """One row per client; throughputs also as ratios to proton's (the bulk parts to
    proton's send, which is its bulk path) and, for sending, to Proton C's send."""
    cols = [("send", "send/s", ",.0f"), ("send_cpu", "cpu/1k", ".3f"),
            ("many", "many/s", ",.0f"), ("many_cpu", "cpu/1k", ".3f"),
            ("waitall", "waitall/s", ",.0f"), ("waitall_cpu", "cpu/1k", ".3f"),
            ("recv", "recv/s", ",.0f"), ("recv_cpu", "cpu/1k", ".3f"),
            ("p50", "rtt p50 µs", ".0f"), ("p99", "p99 µs", ".0f")]
    cols = [c for c in cols if any(c[0] in r for r in rows.values())]
    base_of = {"send": "send", "many": "send", "waitall": "send", "recv": "recv", "p50": "p50"}
    c_of = {"send", "many", "waitall"} if c_base and "send" in c_base else set()
    head = f"{'client':<16}"
    for key, label, _ in cols:
        head += f" {label:>10}" + (f" {'x proton':>8}" if key in base_of else "")
        head += f" {'x C':>6}" if key in c_of else ""
    print(head)
    for name, r in rows.items():
        line = f"{name:<16}"
        for key, _, fmt in cols:
            line += f" {format(r[key], fmt):>10}" if key in r else f" {'-':>10}"
            if key in base_of:
                b = base.get(base_of[key])
                line += f" {r[key] / b:>8.2f}" if key in r and b else f" {'-':>8}"
            if key in c_of:
                assert c_base is not None
                line += f" {r[key] / c_base['send']:>6.2f}" if key in r else f" {'-':>6}"
        print(line)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--rtt", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--port", type=int, default=35831)
    ap.add_argument("--adapters", default=",".join(RUNNERS))
    ap.add_argument("--parts", default=",".join(PARTS))
    ap.add_argument("--tls", action="store_true", help="every client over amqp:// and amqps://")
    ap.add_argument("--no-azure", action="store_true")
    ap.add_argument("--quick", action="store_true", help="a smoke run: few messages, one round")
    add_placement_arg(ap)
    args = ap.parse_args(argv)
    if args.quick:
        args.count, args.rtt, args.rounds = min(args.count, 200), min(args.rtt, 20), 1
    parts = set(args.parts.split(","))
    if not parts <= set(PARTS):
        ap.error(f"--parts: pick from {','.join(PARTS)}")
    clients: dict[str, Runner] = {"proton": proton_run}
    if parts & {"send", *BULK} and not args.tls:
        if gcc_build(Path(__file__).with_name("proton_c_send.c"), ["-lqpid-proton"]):
            clients["proton-c"] = proton_c_run
        else:
            print("(no Proton C anchor: gcc or libqpid-proton-dev missing)")
    if not args.no_azure:
        if azure_available():
            clients["azure-pyamqp"] = azure_run
        else:
            print("(no Azure _pyamqp anchor: run shared/peers' peers_ensure_ws_venv first)")
    clients.update({name: RUNNERS[name] for name in args.adapters.split(",")})
    broker_cpus = place(args.placement)
    with tempfile.TemporaryDirectory() as tmp:
        broker: contextlib.AbstractContextManager[Path | None]
        if args.tls:
            broker = tls_qpid_broker(args.port, Path(tmp), broker_cpus)
        else:
            broker = qpid_broker(args.port, broker_cpus)
        with broker as ca:
            targets = {"plain": Target(args.port)}
            if args.tls:
                targets["tls"] = Target(args.port, ca)
            runs: dict[tuple[str, str], list[dict[str, Any]]] = {
                (c, t): [] for t in targets for c in clients}
            for _ in range(args.rounds):
                for tname, target in targets.items():
                    for cname, run in clients.items():
                        runs[cname, tname].append(run(target, args.count, args.rtt, parts))
                        print(f"  ({tname} {cname} done)", file=sys.stderr, flush=True)
    print(f"{machine()}; python-qpid-proton {'.'.join(map(str, proton.VERSION))}; "
          f"{args.count} messages of 1 KiB, {args.rtt} round trips; medians of "
          f"{args.rounds} rounds; parts {','.join(p for p in PARTS if p in parts)}; "
          f"{placement_line(args.placement)}")
    stats = {key: _stats(rs, args.count) for key, rs in runs.items()}
    for tname in targets:
        print(f"-- {targets[tname].url}")
        _print_table({c: stats[c, tname] for c in clients}, stats["proton", tname],
                     stats.get(("proton-c", tname)))
    if args.tls:
        print("-- TLS / plain (CPU per message, and time per message = 1 / throughput)")
        print(f"{'client':<16} {'send cpu':>9} {'send time':>9} {'recv cpu':>9} "
              f"{'recv time':>9} {'rtt p50':>8}")
        for c in clients:
            p, t = stats[c, "plain"], stats[c, "tls"]
            cells = [t[k] / p[k] if k in p else float("nan")
                     for k in ("send_cpu", "send", "recv_cpu", "recv", "p50")]
            cells[1] = 1 / cells[1]  # throughput ratio inverted: time per message
            cells[3] = 1 / cells[3]
            print(f"{c:<16}" + "".join(f" {x:>9.2f}" for x in cells[:4]) + f" {cells[4]:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
