"""Protocol-core throughput: two engines back to back, no sockets.

Usage: python bench/core.py [--count N] [--credit N] [--size BYTES] [--repeat R] [--profile]

The issue's scenario: a client sends ``--count`` messages (default 100 000) of
``--size`` bytes (default 1 KiB body, one data section) unsettled over one link;
the server's receiver grants ``--credit`` (default 1000) and accepts each
message; the client sees every outcome. Both cores run in this one process and
thread, so the figures count both sides' work: encoding and framing transfers,
parsing them, decoding messages, dispositions (coalesced into ranges, since the
pump works in batches), flows and events.

The pump works in rounds: the client sends as many messages as it has credit
for; its bytes go to the server; the server accepts every message that arrived
and tops the credit up by as many (one flow); its bytes go back to the client,
which takes the outcomes. Connection, session and link setup are not timed.

It prints messages per second and microseconds per message (wall clock,
``time.perf_counter``), the CPU time (``time.process_time``), the bytes and
rounds, and checks that every message arrived and was settled on both sides.
``--repeat R`` runs R times, each on a fresh pair, and reports each and the best.
``--profile`` runs the same loop under cProfile and prints the top 25
functions by own time (the throughput figures are then the profiler's, slower).
Run it on an idle machine: cProfile's clock is the wall clock.
"""

from __future__ import annotations

import argparse
import cProfile
import platform
import pstats
import sys
import time
from dataclasses import dataclass

from amqp10_proto import (
    Accepted,
    Connection,
    CreditGranted,
    DeliveryUpdated,
    Event,
    LinkAttached,
    Message,
    MessageReceived,
    Receiver,
    RemoteAttach,
    RemoteBegin,
    Sender,
)


@dataclass
class Pair:
    client: Connection
    server: Connection
    sender: Sender
    receiver: Receiver


PHASES = [
    ("client", "Message() + sender.send()"),
    ("client", "data_to_send()"),
    ("server", "receive_data(): transfers"),
    ("server", "events, accept(), add_credit()"),
    ("server", "data_to_send()"),
    ("client", "receive_data(): disposition, flow"),
    ("client", "events"),
]


@dataclass
class Result:
    count: int
    wall: float
    cpu: float
    rounds: int
    bytes_c2s: int
    bytes_s2c: int
    received: int
    outcomes: int
    phases: list[float]


def pump(a: Connection, b: Connection) -> None:
    """Move bytes both ways until neither side has more (setup only)."""
    for _ in range(100):
        x = a.data_to_send()
        y = b.data_to_send()
        if not x and not y:
            return
        if x:
            b.receive_data(x)
        if y:
            a.receive_data(y)
    raise RuntimeError("the pair did not settle down")


def drain(conn: Connection) -> list[Event]:
    events = []
    while (ev := conn.next_event()) is not None:
        events.append(ev)
    return events


def setup(credit: int) -> Pair:
    """An open pair: one session, a client sender attached to a server receiver with credit."""
    client = Connection(role="client", container_id="bench-client")
    server = Connection(role="server", container_id="bench-server")
    client.open()
    server.open()
    pump(client, server)
    session = client.begin_session()
    pump(client, server)
    (rb,) = [e for e in drain(server) if isinstance(e, RemoteBegin)]
    rb.session.begin()
    pump(client, server)
    sender = session.attach_sender("q")
    pump(client, server)
    (ra,) = [e for e in drain(server) if isinstance(e, RemoteAttach)]
    receiver = ra.link
    assert isinstance(receiver, Receiver)
    receiver.attach()
    receiver.add_credit(credit)
    pump(client, server)
    assert any(isinstance(e, LinkAttached) for e in drain(client))
    drain(server)
    assert sender.attached and receiver.attached
    assert sender.credit == credit, sender.credit
    return Pair(client, server, sender, receiver)


def run(pair: Pair, count: int, size: int) -> Result:
    """Send ``count`` messages of ``size`` bytes through the pair; time it."""
    client, server, sender, receiver = pair.client, pair.server, pair.sender, pair.receiver
    body = b"x" * size
    sent = received = outcomes = rounds = bytes_c2s = bytes_s2c = 0
    c_send, c_recv, c_event = client.data_to_send, client.receive_data, client.next_event
    s_send, s_recv, s_event = server.data_to_send, server.receive_data, server.next_event
    send, accept = sender.send, receiver.accept
    clock = time.perf_counter
    phases = [0.0] * len(PHASES)

    cpu0 = time.process_time()
    t0 = clock()
    while outcomes < count:
        rounds += 1
        t1 = clock()
        # Client: send up to the credit.
        n = min(sender.credit, count - sent)
        for _ in range(n):
            send(Message(body))
        sent += n
        t2 = clock()
        data = c_send()
        t3 = clock()
        if data:
            bytes_c2s += len(data)
            s_recv(data)
        t4 = clock()
        # Server: accept what arrived, top the credit up by as much.
        got = 0
        while (ev := s_event()) is not None:
            if type(ev) is MessageReceived:
                accept(ev.delivery)
                got += 1
        if got:
            received += got
            receiver.add_credit(got)
        t5 = clock()
        data = s_send()
        t6 = clock()
        if data:
            bytes_s2c += len(data)
            c_recv(data)
        t7 = clock()
        # Client: take the outcomes.
        while (ev := c_event()) is not None:
            if type(ev) is DeliveryUpdated:
                if ev.settled and type(ev.state) is Accepted:
                    outcomes += 1
            elif type(ev) is not CreditGranted:
                raise AssertionError(f"unexpected client event {ev!r}")
        t8 = clock()
        for i, dt in enumerate((t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6, t8 - t7)):
            phases[i] += dt
        if not n and not got and not data:
            raise AssertionError(f"stalled after {sent} sent, {received} received, "
                                 f"{outcomes} settled; credit {sender.credit}")
    wall = clock() - t0
    cpu = time.process_time() - cpu0

    assert sent == count, sent
    assert received == count, received
    assert outcomes == count, outcomes
    assert not sender.unsettled, f"{len(sender.unsettled)} left unsettled on the sender"
    assert not receiver.unsettled, f"{len(receiver.unsettled)} left unsettled on the receiver"
    return Result(count, wall, cpu, rounds, bytes_c2s, bytes_s2c, received, outcomes, phases)


def header(*, count: int, size: int, credit: int, profiled: bool) -> None:
    print(f"python {platform.python_version()} ({platform.python_implementation()}), "
          f"{platform.machine()}{', under cProfile' if profiled else ''}")
    print(f"{count} messages of {size} B, unsettled, credit {credit}, each accepted")


def report(r: Result, *, phases: bool) -> None:
    print(f"  received {r.received}, settled on both sides {r.outcomes}; {r.rounds} rounds, "
          f"client->server {r.bytes_c2s / 1e6:.1f} MB, server->client {r.bytes_s2c / 1e3:.1f} kB")
    print(f"  wall {r.wall:7.3f} s  {r.count / r.wall:9,.0f} msg/s  "
          f"{r.wall / r.count * 1e6:6.2f} µs/msg")
    print(f"  cpu  {r.cpu:7.3f} s  {r.count / r.cpu:9,.0f} msg/s  "
          f"{r.cpu / r.count * 1e6:6.2f} µs/msg")
    if phases:
        print("  where the wall time goes (µs/msg):")
        for (side, what), t in zip(PHASES, r.phases):
            print(f"    {side:<7}{what:<36}{t / r.count * 1e6:6.2f}")
        for side in ("client", "server"):
            t = sum(t for (sd, _), t in zip(PHASES, r.phases) if sd == side)
            print(f"    {side:<7}{'total':<36}{t / r.count * 1e6:6.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="two protocol cores back to back")
    parser.add_argument("--count", type=int, default=100_000, help="messages (default 100000)")
    parser.add_argument("--credit", type=int, default=1000, help="receiver credit (default 1000)")
    parser.add_argument("--size", type=int, default=1024, help="body bytes (default 1024)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs, each on a fresh pair; the best is reported last")
    parser.add_argument("--profile", action="store_true",
                        help="run under cProfile and print the top 25 by own time")
    args = parser.parse_args(argv)
    if args.count < 1 or args.credit < 1 or args.size < 0 or args.repeat < 1:
        parser.error("--count, --credit and --repeat must be positive, --size not negative")

    header(count=args.count, size=args.size, credit=args.credit, profiled=args.profile)
    if args.profile:
        prof = cProfile.Profile()
        result = prof.runcall(run, setup(args.credit), args.count, args.size)
        report(result, phases=False)
        print()
        pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(25)
        return 0
    results = []
    for i in range(args.repeat):
        if args.repeat > 1:
            print(f"run {i + 1}/{args.repeat}:")
        results.append(run(setup(args.credit), args.count, args.size))
        report(results[-1], phases=args.repeat == 1)
    if args.repeat > 1:
        best = min(results, key=lambda r: r.wall)
        print(f"best of {args.repeat} (by wall time): run {results.index(best) + 1}")
        report(best, phases=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
