"""WebSocket against plain TCP (issue 13): each adapter over amqp:// and amqpws:// to one peer.

Usage: python bench/ws.py [--count 20000] [--rounds 3] [--peers amqp10,rhea]
                         [--adapters sync,asyncio,trio] [--port 35836] [--ws-port 35837]
                         [--no-azure] [--layer-only] [--quick]

Peers, each serving both transports from the same process and the same queues:
``amqp10``, the embedded broker run as a separate process (``amqp10 broker --port P
--ws-port W``: it does not share our interpreter, so the client's CPU is its own), and
``rhea``, rhea's broker with its WebSocket listener (tests/interop/peers.py's WS_PEERS;
rhea sends one WebSocket message per AMQP frame). Per round, for every peer, transport
and client (interleaved, so a burst of load hits them alike): send COUNT messages of
1 KiB through the bulk path (``send_many``: every outcome awaited) and receive COUNT
(``receive`` + ``accept`` each, credit 1000). Anchor: the Azure SDK's ``_pyamqp``
(``TransportType.AmqpOverWebsocket`` against ``Amqp``, in a child interpreter; it
has no bulk path, so its send waits for each outcome: compare its ratio, not its rate),
unless ``--no-azure``. Prints per client the medians of msg/s and of client CPU ms
per 1000 messages on each transport, and the ws/plain ratios (throughput: above 0.7 is
the target; CPU: the WebSocket's cost per message).

Then the client's layer alone (``amqp10_ws.WebSocketLayer``, no socket): 1 MiB of
AMQP bytes framed from 16 KiB and from 1 KiB writes, and read (in 64 KiB reads) from
16 KiB messages and from 1 KiB ones (one per AMQP frame: rhea's way). Best of 5,
ms per MiB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import timeit
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from _bench import BODY, ROOT, Measure, machine

PARTS = ("send", "recv")
TRANSPORTS = ("plain", "ws")


@dataclass(frozen=True)
class Peer:
    """A peer serving amqp:// on ``port`` and amqpws:// on ``ws_port`` (same queues)."""

    name: str
    port: int
    ws_port: int

    def url(self, transport: str) -> str:
        if transport == "ws":
            return f"amqpws://127.0.0.1:{self.ws_port}/"
        return f"amqp://127.0.0.1:{self.port}"


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


@contextlib.contextmanager
def amqp10_broker(port: int, ws_port: int) -> Iterator[Peer]:
    """The embedded broker in its own process (stopped after), with no queue depth limit."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                      env.get("PYTHONPATH")]))
    for p in (port, ws_port):
        if _answers(p):
            raise RuntimeError(f"port {p} is in use: pick others with --port/--ws-port")
    proc = subprocess.Popen([sys.executable, "-m", "amqp10_cli", "broker", "--port", str(port),
                             "--ws-port", str(ws_port), "--max-queue-depth", "0"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not (_answers(port) and _answers(ws_port)):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the embedded broker did not start: "
                                   f"{proc.stderr.read().decode()[-2000:] if proc.stderr else ''}"
                                   if proc.poll() is not None else "the broker did not listen")
            time.sleep(0.05)
        yield Peer("amqp10", port, ws_port)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextlib.contextmanager
def rhea_broker() -> Iterator[Peer]:
    """rhea's broker with its WebSocket listener (tests/interop/peers.py's; stopped after
    if started here, left running if another session runs it)."""
    sys.path.insert(0, str(ROOT))
    from tests.interop import peers

    peer = peers.start("rhea-broker-ws")
    assert peer.ws_port is not None
    try:
        yield Peer("rhea", peer.port, peer.ws_port)
    finally:
        peers.stop_all()


# -- the clients -------------------------------------------------------------------------------

def sync_run(url: str, count: int, parts: set[str]) -> dict[str, Any]:
    import amqp10_sync
    from amqp10_proto import Message

    address = f"bench-ws-sync-{uuid.uuid4().hex[:6]}"
    result: dict[str, Any] = {}
    with amqp10_sync.open_connection(url, timeout=60) as conn:
        session = conn.open_session()
        sender = session.open_sender(address)
        with Measure() as result["send"]:
            outcomes = sender.send_many([Message(BODY) for _ in range(count)], timeout=300)
        assert len(outcomes) == count
        sender.close()
        receiver = session.open_receiver(address, credit=1000)
        with Measure() as result["recv"]:
            for _ in range(count):
                receiver.accept(receiver.receive(timeout=30))
        receiver.close()
    return {p: result[p] for p in parts}


async def _async_body(amqp: Any, url: str, count: int, parts: set[str],
                      name: str) -> dict[str, Any]:
    from amqp10_proto import Message

    address = f"bench-ws-{name}-{uuid.uuid4().hex[:6]}"
    result: dict[str, Any] = {}
    async with amqp.open_connection(url, timeout=60) as conn:
        session = await conn.open_session()
        sender = await session.open_sender(address)
        with Measure() as result["send"]:
            outcomes = await sender.send_many([Message(BODY) for _ in range(count)],
                                              timeout=300)
        assert len(outcomes) == count
        await sender.close()
        receiver = await session.open_receiver(address, credit=1000)
        with Measure() as result["recv"]:
            for _ in range(count):
                await receiver.accept(await receiver.receive(timeout=30))
        await receiver.close()
    return {p: result[p] for p in parts}


def asyncio_run(url: str, count: int, parts: set[str]) -> dict[str, Any]:
    import asyncio

    import amqp10_asyncio

    result: dict[str, Any] = asyncio.run(_async_body(amqp10_asyncio, url, count, parts,
                                                     "asyncio"))
    return result


def trio_run(url: str, count: int, parts: set[str]) -> dict[str, Any]:
    import trio

    import amqp10_trio

    result: dict[str, Any] = trio.run(_async_body, amqp10_trio, url, count, parts, "trio")
    return result


class _Timed:
    """A Measure-like result read from another process (wall and CPU seconds)."""

    def __init__(self, wall: float, cpu: float) -> None:
        self.wall, self.cpu = wall, cpu


#: The Azure SDK's send waits for each outcome: fewer messages, so a round stays short.
AZURE_MAX = 2000


def azure_run(url: str, count: int, parts: set[str]) -> dict[str, Any]:
    """The Azure SDK's _pyamqp in a child interpreter (its CPU is its own); per message."""
    n = min(count, AZURE_MAX)
    proc = subprocess.run([sys.executable, __file__, "--azure-child"],
                          input=json.dumps({"url": url, "count": n, "parts": sorted(parts)}),
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"the Azure anchor failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # Scaled to COUNT messages, so the table's per-message figures read alike.
    return {p: _Timed(out[p]["wall"] * count / n, out[p]["cpu"] * count / n) for p in parts}


def _azure_child(url: str, count: int, parts: list[str]) -> dict[str, Any]:
    """(In the child) send COUNT with SendClient.send_message, receive COUNT with
    bench/_azure_anchor.py's ``receive`` (given our URL's transport)."""
    import importlib

    import _azure_anchor

    pyamqp: Any = importlib.import_module("azure.servicebus._pyamqp")
    constants: Any = importlib.import_module("azure.servicebus._pyamqp.constants")
    message: Any = importlib.import_module("azure.servicebus._pyamqp.message")
    hostport = url.split("//", 1)[1].rstrip("/")
    port = int(hostport.rsplit(":", 1)[1])
    opts: dict[str, Any] = _azure_anchor._clients(port, None)["opts"]
    if url.startswith("amqpws"):
        opts["transport_type"] = constants.TransportType.AmqpOverWebsocket
        opts["custom_endpoint_address"] = f"ws://{hostport}/"
        # rhea accepts only the binding's registered name (ours takes the SDK's AMQPWSB10 too)
        transport: Any = importlib.import_module("azure.servicebus._pyamqp._transport")
        transport.AMQP_WS_SUBPROTOCOL = "amqp"
    # The anchor's receive builds its client from _clients: ours adds the transport.
    _azure_anchor._clients = lambda port, tls_ca: {"hostname": hostport, "opts": opts}
    address = f"bench-ws-azure-{uuid.uuid4().hex[:6]}"
    out: dict[str, Any] = {}
    # (data=[BODY]: one data section; the embedded broker refuses data=BODY as undecodable)
    with pyamqp.SendClient(hostport, address, receive_settle_mode=constants.ReceiverSettleMode
                           .First, **opts) as snd:
        snd.send_message(message.Message(data=[BODY]), timeout=30)  # warm: the link attached
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count - 1):
            snd.send_message(message.Message(data=[BODY]), timeout=30)
        out["send"] = {"wall": (time.perf_counter() - wall) * count / (count - 1),
                       "cpu": (time.process_time() - cpu) * count / (count - 1)}
    out["recv"] = _azure_anchor.receive(port, address, count)
    return {p: out[p] for p in parts}


Runner = Callable[[str, int, set[str]], dict[str, Any]]
RUNNERS: dict[str, Runner] = {"sync": sync_run, "asyncio": asyncio_run, "trio": trio_run}


# -- the layer alone -------------------------------------------------------------------------

def layer_bench(total: int = 1 << 20, repeat: int = 5) -> dict[str, float]:
    """ms per MiB of AMQP bytes through the client's sans-IO layer (see the module): only
    the client's calls are timed; the server's frames are made once, beforehand."""
    from amqp10_ws import WebSocketLayer

    client = WebSocketLayer("client", host="127.0.0.1")
    server = WebSocketLayer("server")
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    assert client.open and server.open

    def sending(write: bytes) -> Callable[[], None]:
        def run() -> None:
            out = 0
            for _ in range(total // len(write)):
                client.send(write)
                out += len(client.data_to_send())
            assert out > total // len(write) * len(write)  # the payload and its headers
        return run

    def reading(message: bytes, read: int = 65536) -> Callable[[], None]:
        for _ in range(total // len(message)):
            server.send(message)
        stream = server.data_to_send()
        reads = [stream[at:at + read] for at in range(0, len(stream), read)]
        expect = total // len(message) * len(message)

        def run() -> None:
            got = 0
            for chunk in reads:
                client.receive_data(chunk)
                got += len(client.received())
            assert got == expect, (got, expect)
        return run

    chunk, small = b"a" * 16384, b"b" * 1100  # a 16 KiB write; a 1 KiB transfer and framing
    cases = {"client sends 16 KiB writes": sending(chunk),
             "client sends 1 KiB writes": sending(small),
             "client reads 16 KiB messages": reading(chunk),
             "client reads 1 KiB messages": reading(small)}
    scale = 1000 * (1 << 20) / total
    return {name: min(timeit.repeat(fn, number=1, repeat=repeat)) * scale
            for name, fn in cases.items()}


# -- the report --------------------------------------------------------------------------------

def _stats(rs: list[dict[str, Any]], n: int) -> dict[str, float]:
    med = statistics.median
    out: dict[str, float] = {}
    for part in PARTS:
        if rs and part in rs[0]:
            out[part] = med(n / r[part].wall for r in rs)
            out[f"{part}_cpu"] = med(r[part].cpu / n * 1000 * 1000 for r in rs)  # ms per 1k
    return out


def _print_peer(stats: dict[tuple[str, str], dict[str, float]], clients: list[str],
                parts: list[str]) -> None:
    head = f"{'client':<14}"
    for part in parts:
        head += (f" {part + '/s tcp':>11} {'ws':>9} {'ws/tcp':>7}"
                 f" {'cpu ms/1k tcp':>13} {'ws':>6} {'ws/tcp':>7}")
    print(head)
    for c in clients:
        p, w = stats[c, "plain"], stats[c, "ws"]
        line = f"{c:<14}"
        for part in parts:
            cpu = f"{part}_cpu"
            line += (f" {p[part]:>11,.0f} {w[part]:>9,.0f} {w[part] / p[part]:>7.2f}"
                     f" {p[cpu]:>13.1f} {w[cpu]:>6.1f} {w[cpu] / p[cpu]:>7.2f}")
        print(line)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--peers", default="amqp10,rhea")
    ap.add_argument("--adapters", default=",".join(RUNNERS))
    ap.add_argument("--parts", default=",".join(PARTS))
    ap.add_argument("--port", type=int, default=35836, help="the embedded broker's amqp://")
    ap.add_argument("--ws-port", type=int, default=35837, help="its amqpws://")
    ap.add_argument("--no-azure", action="store_true")
    ap.add_argument("--layer-only", action="store_true", help="only the sans-IO layer's table")
    ap.add_argument("--quick", action="store_true", help="a smoke run: few messages, one round")
    ap.add_argument("--azure-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.azure_child:
        print(json.dumps(_azure_child(**json.loads(sys.stdin.read()))))
        return 0
    if args.quick:
        args.count, args.rounds = min(args.count, 200), 1
    parts = [p for p in PARTS if p in args.parts.split(",")]
    clients: dict[str, Runner] = {name: RUNNERS[name] for name in args.adapters.split(",")}
    if not args.no_azure:
        clients["azure-pyamqp"] = azure_run
    print(machine())
    if not args.layer_only:
        for pname in args.peers.split(","):
            starter = {"amqp10": lambda: amqp10_broker(args.port, args.ws_port),
                       "rhea": rhea_broker}[pname]
            with starter() as peer:
                runs: dict[tuple[str, str], list[dict[str, Any]]] = {
                    (c, t): [] for c in clients for t in TRANSPORTS}
                for _ in range(args.rounds):
                    for cname, run in clients.items():
                        for t in TRANSPORTS:
                            runs[cname, t].append(run(peer.url(t), args.count, set(parts)))
                            print(f"  ({pname} {t} {cname} done)", file=sys.stderr, flush=True)
            print(f"-- peer {pname}: {peer.url('plain')} and {peer.url('ws')}; {args.count} "
                  f"messages of 1 KiB; medians of {args.rounds} rounds (azure-pyamqp: "
                  f"{min(args.count, AZURE_MAX)} messages, each send awaited)")
            stats = {key: _stats(rs, args.count) for key, rs in runs.items()}
            _print_peer(stats, list(clients), parts)
    print("-- the sans-IO layer alone (amqp10_ws.WebSocketLayer), ms per MiB, best of 5")
    for name, ms in layer_bench(1 << (16 if args.quick else 20)).items():
        print(f"{name:<32} {ms:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
