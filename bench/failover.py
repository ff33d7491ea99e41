"""Failover benchmark on the 3-node RabbitMQ cluster: python-qpid-proton's reconnecting Container as the anchor.

Usage: python bench/failover.py [--failovers 20] [--clients proton,sync,asyncio,trio]
                               [--window 2.0] [--size 1024]

Starts the cluster of tests/interop/cluster.py (ports 35821-35823; stopped after if this
run started it). For each client, in a subprocess of its own: one connection given all
three node URLs, with a sender and a receiver on one fresh quorum queue
(``/amq/queue/NAME``), sending at-least-once (at most 100 unsettled) and accepting every
message, the queue's backlog kept under 1000. Then FAILOVERS rounds of:
  (a) WINDOW seconds of steady traffic: messages/s accepted and received ("before");
  (b) SIGKILL of the node the client is on now (rabbitmq-cluster-node kill); its time is
      the earlier of /proc showing the node's beam.smp dead (polled every 0.5 ms) and the
      client seeing its connection drop;
  (c) time from the SIGKILL to the client's next connection being open, to the first
      Accepted outcome and to the first message received on it;
  (d) WINDOW seconds of traffic after that ("after");
  (e) restart of the killed node (not timed), so the next kill finds three nodes.
The client's RSS is read after each round. Prints one line per round, then per client
the median time to reconnect, the median and worst times to the first accepted and
received message, the median throughput before and after, and RSS after the first and
the last round, with ratios to python-qpid-proton (time: below 1 is faster;
throughput: above 1 is more).

A client is a function ``run_NAME(urls, address, probe, body)`` that runs until
``probe.stop`` is set and reports through ``probe``; amqp10's adapters plug in as
``run_sync``, ``run_asyncio`` and ``run_trio`` once they reconnect (issue 9).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from tests.interop.cluster import Cluster

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.interop.cluster, the cluster's one driver

WINDOW_UNSETTLED = 100  # sends awaiting their outcome, at most
MAX_BACKLOG = 1000  # accepted and not yet received, at most: keeps the queue short


# -- the client side (a worker subprocess) ----------------------------------------------------

class Probe:
    """What a client reports, bumped by the client's thread and read by the command thread.

    ``stop`` is set when the client must close and return. Times are ``time.monotonic()``,
    which is system-wide on Linux, so the controller compares them with its own.
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.accepted = 0
        self.received = 0
        self.duplicates = 0  # received with a sequence number at or below the highest seen
        self.in_doubt = 0  # sends without an outcome when their connection dropped
        self.connects = 0
        self.node = 0  # port of the node the client is connected to (0: none)
        self._top = 0
        self.dropped_at: float | None = None  # the first disconnect since arm()
        self.reconnected: float | None = None  # the first connection opened after that drop
        self.first_accepted: float | None = None  # the first outcome after that drop
        self.first_received: float | None = None  # the first message after that drop

    def arm(self) -> None:
        """Start watching for the next drop and the first traffic after it."""
        with self._lock:
            self.dropped_at = self.reconnected = None
            self.first_accepted = self.first_received = None

    def on_connected(self, url: str) -> None:
        with self._lock:
            self.connects += 1
            self.node = urlsplit(url).port or 0
            if self.dropped_at is not None and self.reconnected is None:
                self.reconnected = time.monotonic()

    def on_disconnected(self, unsettled: int) -> None:
        with self._lock:
            self.node = 0
            self.in_doubt += unsettled
            if self.dropped_at is None:
                self.dropped_at = time.monotonic()

    def on_accepted(self) -> None:
        with self._lock:
            self.accepted += 1
            if self.dropped_at is not None and self.first_accepted is None:
                self.first_accepted = time.monotonic()

    def on_received(self, seq: int) -> None:
        with self._lock:
            self.received += 1
            if seq <= self._top:
                self.duplicates += 1
            self._top = max(self._top, seq)
            if self.dropped_at is not None and self.first_received is None:
                self.first_received = time.monotonic()

    def room(self, unsettled: int) -> bool:
        """Whether one more send fits the unsettled window and the backlog bound."""
        return unsettled < WINDOW_UNSETTLED and self.accepted - self.received < MAX_BACKLOG

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"t": time.monotonic(), "accepted": self.accepted, "received": self.received,
                    "duplicates": self.duplicates, "in_doubt": self.in_doubt,
                    "connects": self.connects, "node": self.node, "dropped_at": self.dropped_at,
                    "reconnected": self.reconnected,
                    "first_accepted": self.first_accepted,
                    "first_received": self.first_received, "rss_kib": _rss_kib()}


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def message_body(seq: int, body: bytes) -> bytes:
    """The payload: an 8-byte sequence number, then the padding."""
    return seq.to_bytes(8, "big") + body[8:]


def run_proton(urls: list[str], address: str, probe: Probe, body: bytes) -> None:
    """python-qpid-proton 0.40: Container.connect(urls=..., reconnect=Backoff(...)).

    On a new connection proton re-attaches every link and writes, for each delivery
    that was in flight when the old one dropped, an empty transfer with settled=true;
    RabbitMQ 3.10 ends the session on it ("Unexpected frame"), and MessagingHandler
    then closes the connection for good. So the sender link is closed and freed when
    the connection drops, and a new one (a fresh name) is made on the next open; the
    receiver is left to proton's reconnect. The in-flight sends are not resent.
    """
    import proton
    from proton.handlers import MessagingHandler
    from proton.reactor import Backoff, Container

    class Failover(MessagingHandler):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(prefetch=100)  # auto-accept: each message when on_message returns
            self.conn: Any = None
            self.container: Any = None
            self.sender: Any = None
            self.seq = 0
            self.unsettled = 0

        def on_start(self, event: Any) -> None:
            # Retries go round the URLs: three tries without delay, then 0.05 s, 0.1 s ... 2 s.
            self.conn = event.container.connect(
                urls=urls, reconnect=Backoff(initial=0.05, factor=2, max_delay=2.0))
            self.container = event.container
            event.container.create_receiver(self.conn, address)
            event.container.schedule(0.05, self)

        def on_timer_task(self, event: Any) -> None:
            if probe.stop.is_set():
                self.conn.close()
            else:
                event.container.schedule(0.05, self)

        def on_connection_opened(self, event: Any) -> None:
            probe.on_connected(event.connection.connected_address)
            if self.sender is None:
                self.sender = self.container.create_sender(self.conn, address,
                                                           name=f"sender-{uuid.uuid4()}")

        def on_disconnected(self, event: Any) -> None:
            probe.on_disconnected(self.unsettled)
            self.unsettled = 0  # proton does not resend them; their outcome never comes
            if self.sender is not None:
                self.sender.close()
                self.sender.free()
                self.sender = None

        def on_sendable(self, event: Any) -> None:
            self._send()

        def _send(self) -> None:
            while self.sender is not None and self.sender.credit and probe.room(self.unsettled):
                self.seq += 1
                self.sender.send(proton.Message(body=message_body(self.seq, body)))
                self.unsettled += 1

        def on_settled(self, event: Any) -> None:
            self.unsettled = max(0, self.unsettled - 1)
            if event.delivery.remote_state == proton.Delivery.ACCEPTED:
                probe.on_accepted()
            self._send()

        def on_message(self, event: Any) -> None:
            probe.on_received(int.from_bytes(bytes(event.message.body[:8]), "big"))
            self._send()

    Container(Failover()).run()


def _policy(reconnect: Any, probe: Probe, unsettled: Callable[[], int]) -> Any:
    """proton's schedule (0.05 s doubling to 2 s) as amqp10's Reconnect, wired to the probe."""
    # --first-delay (passed to the worker in its environment): wait that long before the
    # first try after a drop, e.g. out a quorum queue's election (docs/howto/resilience.md).
    first = float(os.environ.get("AMQP10_BENCH_FIRST_DELAY", "0"))
    return reconnect(first_delay=first, initial_delay=0.05, multiplier=2.0, max_delay=2.0,
                     max_duration=None,
                     on_disconnect=lambda info: probe.on_disconnected(unsettled()),
                     on_reconnect=lambda info: probe.on_connected(info.url))


def run_sync(urls: list[str], address: str, probe: Probe, body: bytes) -> None:
    """amqp10_sync: open_connection(urls, reconnect=Reconnect(...)); the sends in doubt at a
    drop are resent by the adapter. A producer thread keeps up to 100 sends in flight
    (send_nowait, wait_settled oldest first); this thread receives and accepts."""
    import amqp10_sync as amqp
    from amqp10_proto import Message
    from amqp10_proto.errors import DeliveryFailed, SettlementLost

    pending: deque[Any] = deque()
    policy = _policy(amqp.Reconnect, probe, pending.__len__)
    with _traceback_to_log(), amqp.open_connection(urls, reconnect=policy, timeout=60) as conn:
        probe.on_connected(conn.url or "")
        sender = conn.open_session().open_sender(address)
        receiver = conn.open_session().open_receiver(address, credit=100)
        failed: list[BaseException] = []

        def produce() -> None:
            seq = 0
            try:
                while not probe.stop.is_set():
                    if probe.room(len(pending)):
                        seq += 1
                        pending.append(sender.send_nowait(Message(message_body(seq, body)),
                                                          timeout=60))
                    elif pending:
                        with contextlib.suppress(DeliveryFailed):  # not accepted: not counted
                            sender.wait_settled(pending[0], timeout=60)
                            probe.on_accepted()
                        pending.popleft()
                    else:
                        time.sleep(0.001)  # the receiver is behind: the backlog bound
            except BaseException as exc:
                failed.append(exc)
                probe.stop.set()

        producer = threading.Thread(target=produce, name="producer")
        producer.start()
        try:
            while not probe.stop.is_set():
                try:
                    msg = receiver.receive(timeout=0.1)
                except TimeoutError:
                    continue
                with contextlib.suppress(SettlementLost):  # it comes again: counted twice
                    msg.accept()
                probe.on_received(int.from_bytes(bytes(msg.body)[:8], "big"))
        finally:
            probe.stop.set()
            producer.join(60)
        if failed:
            raise failed[0]


async def _run_async(amqp: Any, urls: list[str], address: str, probe: Probe,
                     body: bytes) -> None:
    """run_sync's client on amqp10_asyncio or amqp10_trio (one API): two tasks."""
    import asyncio

    import trio

    from amqp10_proto import Message
    from amqp10_proto.errors import DeliveryFailed, SettlementLost

    is_trio = amqp.__name__ == "amqp10_trio"
    sleep = trio.sleep if is_trio else asyncio.sleep
    pending: deque[Any] = deque()
    async with amqp.open_connection(urls, reconnect=_policy(amqp.Reconnect, probe,
                                                            pending.__len__),
                                    timeout=60) as conn:
        probe.on_connected(conn.url or "")
        sender = await (await conn.open_session()).open_sender(address)
        receiver = await (await conn.open_session()).open_receiver(address, credit=100)

        async def produce() -> None:
            seq = 0
            while not probe.stop.is_set():
                if probe.room(len(pending)):
                    seq += 1
                    pending.append(await sender.send_nowait(Message(message_body(seq, body)),
                                                            timeout=60))
                elif pending:
                    with contextlib.suppress(DeliveryFailed):  # not accepted: not counted
                        await sender.wait_settled(pending[0], timeout=60)
                        probe.on_accepted()
                    pending.popleft()
                else:
                    await sleep(0.001)  # the receiver is behind: the backlog bound

        async def consume() -> None:
            while not probe.stop.is_set():
                try:
                    msg = await receiver.receive(timeout=0.1)
                except TimeoutError:
                    continue
                with contextlib.suppress(SettlementLost):  # it comes again: counted twice
                    await msg.accept()
                probe.on_received(int.from_bytes(bytes(msg.body)[:8], "big"))

        try:
            if is_trio:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(produce)
                    nursery.start_soon(consume)
            else:
                await asyncio.gather(produce(), consume())
        finally:
            probe.stop.set()


def run_asyncio(urls: list[str], address: str, probe: Probe, body: bytes) -> None:
    import asyncio

    import amqp10_asyncio

    if not hasattr(amqp10_asyncio, "Reconnect"):
        raise NotImplementedError("amqp10_asyncio does not reconnect yet")
    with _traceback_to_log():
        asyncio.run(_run_async(amqp10_asyncio, urls, address, probe, body))


def run_trio(urls: list[str], address: str, probe: Probe, body: bytes) -> None:
    import trio

    import amqp10_trio

    if not hasattr(amqp10_trio, "Reconnect"):
        raise NotImplementedError("amqp10_trio does not reconnect yet")
    with _traceback_to_log():
        trio.run(_run_async, amqp10_trio, urls, address, probe, body)


@contextlib.contextmanager
def _traceback_to_log() -> Iterator[None]:
    """A client's failure in full on stderr (the worker's log; the controller gets one line)."""
    try:
        yield
    except BaseException:
        traceback.print_exc()
        raise


CLIENTS: dict[str, Callable[[list[str], str, Probe, bytes], None]] = {
    "proton": run_proton, "sync": run_sync, "asyncio": run_asyncio, "trio": run_trio}


def worker_main(name: str, urls: list[str], address: str, size: int) -> int:
    """Run one client; answer ``stats`` and ``arm`` on stdin with a JSON line; ``stop`` ends it."""
    probe = Probe()
    out_lock = threading.Lock()

    def say(obj: dict[str, Any]) -> None:
        with out_lock:
            sys.stdout.write(json.dumps(obj) + "\n")
            sys.stdout.flush()

    def commands() -> None:
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "arm":
                probe.arm()
            if cmd in ("arm", "stats"):
                say(probe.snapshot())
            elif cmd == "stop":
                break
        probe.stop.set()  # "stop", or the controller went away

    threading.Thread(target=commands, daemon=True).start()
    try:
        CLIENTS[name](urls, address, probe, b"x" * size)
    except BaseException as exc:
        say({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    say({**probe.snapshot(), "final": True})
    return 0


# -- the controller ---------------------------------------------------------------------------

class Worker:
    """A client subprocess and its command pipe (every answer awaited with a timeout)."""

    def __init__(self, name: str, urls: list[str], address: str, size: int) -> None:
        self.name = name
        fd, self.log = tempfile.mkstemp(prefix=f"failover-{name}-", suffix=".log")
        with open(fd, "wb") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [sys.executable, __file__, "--worker", name, "--urls", ",".join(urls),
                 "--address", address, "--size", str(size)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stream: TextIO) -> None:
        for line in stream:
            self.lines.put(line)

    def ask(self, cmd: str, timeout: float = 10.0) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(cmd + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # the worker ended: its last line says why
        return self.answer(timeout)

    def answer(self, timeout: float) -> dict[str, Any]:
        try:
            reply: dict[str, Any] = json.loads(self.lines.get(timeout=timeout))
        except queue.Empty:
            raise TimeoutError(f"{self.name}: no answer within {timeout} s "
                               f"(log: {self.log})") from None
        if "error" in reply:
            raise RuntimeError(f"{self.name}: {reply['error']}")
        return reply

    def wait_for(self, ready: Callable[[dict[str, Any]], bool],
                 timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            stats = self.ask("stats")
            if ready(stats):
                return stats
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: not there within {timeout} s: {stats}")
            time.sleep(0.02)

    def stop(self) -> dict[str, Any]:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write("stop\n")
            self.proc.stdin.close()
            return self.answer(30.0)
        finally:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def kill_and_time(cluster: Cluster, port: int) -> float:
    """SIGKILL the node on ``port`` by its script; return when /proc shows its beam.smp dead."""
    pid = int((cluster_state(port) / "rabbitmq.pid").read_text().strip())
    seen: list[float] = []

    def watch() -> None:
        stat = Path(f"/proc/{pid}/stat")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                state = stat.read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                state = "gone"
            if state in ("Z", "X", "gone"):
                seen.append(time.monotonic())
                return
            time.sleep(0.0005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    before = time.monotonic()
    cluster.kill(port)
    watcher.join(30)
    return seen[0] if seen else before


def cluster_state(port: int) -> Path:
    from tests.interop.cluster import PEERS_STATE

    return PEERS_STATE / f"rabbitmq-{port}"


def run_client(name: str, cluster: Cluster, failovers: int, window: float,
               size: int) -> list[dict[str, Any]]:
    """FAILOVERS rounds with one client; one dict of figures per round."""
    address = f"bench-failover-{name}-{uuid.uuid4().hex[:6]}"
    cluster.declare_quorum(address, cluster.ports[0])
    worker = Worker(name, cluster.urls(), f"/amq/queue/{address}", size)
    rounds: list[dict[str, Any]] = []
    try:
        worker.wait_for(lambda s: s["accepted"] > 0 and s["received"] > 0, timeout=60)
        for i in range(failovers):
            s0 = worker.ask("stats")
            time.sleep(window)
            s1 = worker.wait_for(lambda s: s["node"] != 0, timeout=30)
            node = s1["node"]
            worker.ask("arm")
            killed_at = kill_and_time(cluster, node)
            s2 = worker.wait_for(lambda s: s["first_accepted"] is not None
                                 and s["first_received"] is not None
                                 and s["reconnected"] is not None, timeout=120)
            # The kernel closes a killed process's sockets during its exit, a few ms before
            # /proc shows it a zombie: the earlier of the two is the closer to the SIGKILL.
            killed_at = min(killed_at, s2["dropped_at"])
            time.sleep(window)
            s3 = worker.ask("stats")
            rounds.append({
                "round": i + 1, "node": node, "to": s3["node"],
                "drop": s2["dropped_at"] - killed_at,
                "connected": s2["reconnected"] - killed_at,
                "accepted": s2["first_accepted"] - killed_at,
                "received": s2["first_received"] - killed_at,
                "before": rate(s0, s1, "accepted"), "before_recv": rate(s0, s1, "received"),
                "after": rate(s2, s3, "accepted"), "after_recv": rate(s2, s3, "received"),
                "rss_kib": s3["rss_kib"]})
            print_round(name, rounds[-1])
            cluster.start(node)
        final = worker.stop()
        print(f"  {name}: {final['accepted']} accepted, {final['received']} received, "
              f"{final['duplicates']} received again, {final['in_doubt']} sends without an "
              f"outcome when their connection dropped, {final['connects']} connections")
    finally:
        if worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait(5)
        log = Path(worker.log)
        if not log.read_text(errors="replace").strip():
            log.unlink()  # kept only when the client wrote something there
        cluster.ensure_up()
        cluster.delete_queue(address)
    return rounds


def rate(a: dict[str, Any], b: dict[str, Any], key: str) -> float:
    """Messages per second of counter ``key`` between two snapshots."""
    return float((b[key] - a[key]) / (b["t"] - a["t"]))


def print_round(name: str, r: dict[str, Any]) -> None:
    print(f"  {name:<8} round {r['round']:>2}: node {r['node']} -> {r['to']}: ms from the kill "
          f"to drop seen {r['drop'] * 1e3:5.1f}, reconnected {r['connected'] * 1e3:6.1f}, "
          f"first accepted {r['accepted'] * 1e3:7.1f}, first received "
          f"{r['received'] * 1e3:7.1f}; msg/s {r['before']:5.0f} -> {r['after']:5.0f}; "
          f"RSS {r['rss_kib']} KiB", flush=True)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--failovers", type=int, default=20)
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--window", type=float, default=2.0)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--first-delay", type=float, default=0.0,
                    help="amqp10's Reconnect(first_delay=...): seconds before the first try")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--urls", help=argparse.SUPPRESS)
    ap.add_argument("--address", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.urls.split(","), args.address, args.size)
    if args.size < 8:
        ap.error("--size must be at least 8 (the sequence number)")
    os.environ["AMQP10_BENCH_FIRST_DELAY"] = str(args.first_delay)  # the workers inherit it

    from tests.interop.cluster import CLUSTER

    names = ["proton", *(n for n in args.clients.split(",") if n != "proton")]
    CLUSTER.start_cluster()
    results: dict[str, list[dict[str, Any]]] = {}
    try:
        for name in names:
            try:
                results[name] = run_client(name, CLUSTER, args.failovers, args.window,
                                           args.size)
            except RuntimeError as exc:
                if "NotImplementedError" not in str(exc):
                    raise
                print(f"  {name}: skipped ({exc})", flush=True)
    finally:
        CLUSTER.stop_cluster()
    print_table(results, args)
    return 0


def print_table(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    import proton

    med = statistics.median
    print(f"python {sys.version.split()[0]}, python-qpid-proton "
          f"{'.'.join(map(str, proton.VERSION))}; RabbitMQ 3.10.8 3-node cluster, quorum queue; "
          f"{args.failovers} failovers, messages of {args.size} B, {args.window} s windows, "
          f"amqp10 first_delay {args.first_delay} s")
    print(f"{'client':<8} {'connected ms':>12} {'accepted ms':>11} {'max':>7} {'x':>5} "
          f"{'received ms':>11} {'max':>7} {'x':>5} {'before/s':>8} {'after/s':>8} {'x':>5} "
          f"{'RSS KiB':>15}")
    base = results.get("proton")
    for name, rounds in results.items():
        acc = [r["accepted"] * 1e3 for r in rounds]
        rec = [r["received"] * 1e3 for r in rounds]
        before, after = med(r["before"] for r in rounds), med(r["after"] for r in rounds)
        ratio: dict[str, float] = {
            key: (med(r[key] for r in rounds) / med(r[key] for r in base)) if base else 0.0
            for key in ("accepted", "received", "after")}
        print(f"{name:<8} {med(r['connected'] for r in rounds) * 1e3:>12.0f} "
              f"{med(acc):>11.0f} {max(acc):>7.0f} {ratio['accepted']:>5.2f} "
              f"{med(rec):>11.0f} {max(rec):>7.0f} {ratio['received']:>5.2f} {before:>8.0f} "
              f"{after:>8.0f} {ratio['after']:>5.2f} "
              f"{rounds[0]['rss_kib']:>7} -> {rounds[-1]['rss_kib']:<6}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
