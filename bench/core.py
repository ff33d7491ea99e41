"""Protocol-core throughput: two engines back to back, no sockets.

Usage: python bench/core.py [--count N] [--credit N] [--size BYTES] [--repeat R] [--profile]
       python bench/core.py --bulk [--count N] [--credit N] [--size BYTES] [--repeat R] [--profile]

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

``--bulk`` is issue 12's bulk send against the Qpid C broker, the sender's core
alone (credit 5 unless ``--credit`` says otherwise): per round, the client core
reads the bytes that broker sends after each batch (a flow granting the next
``--credit``, then one ranged disposition settling the batch as accepted, exactly
as traced from it, see ``qpid_reply``), drains its events, sends ``--credit``
messages and takes its bytes: the work an adapter's pump asks of the core per
credit round. The replies are made before the clock starts; the client's bytes
go nowhere. It prints CPU µs per round and per message, and where the wall time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import platform
import pstats
import sys
import time
from collections.abc import Callable
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


def take_outcomes(next_event: Callable[[], Event | None]) -> tuple[int, int]:
    """Drain the client's events: (deliveries settled as accepted, credit grants).

    Anything else is a failure of the run."""
    accepted = grants = 0
    while (ev := next_event()) is not None:
        if type(ev) is DeliveryUpdated:
            if ev.settled and type(ev.state) is Accepted:
                accepted += 1
        elif type(ev) is CreditGranted:
            grants += 1
        else:
            raise AssertionError(f"unexpected client event {ev!r}")
    return accepted, grants


def check_done(count: int, sent: int, outcomes: int, sender: Sender) -> None:
    """Every message went and came back settled; the sender holds none unsettled."""
    assert sent == count, sent
    assert outcomes == count, outcomes
    assert not sender.unsettled, f"{len(sender.unsettled)} left unsettled on the sender"


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
        outcomes += take_outcomes(c_event)[0]
        t8 = clock()
        for i, dt in enumerate((t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6, t8 - t7)):
            phases[i] += dt
        if not n and not got and not data:
            raise AssertionError(f"stalled after {sent} sent, {received} received, "
                                 f"{outcomes} settled; credit {sender.credit}")
    wall = clock() - t0
    cpu = time.process_time() - cpu0

    check_done(count, sent, outcomes, sender)
    assert received == count, received
    assert not receiver.unsettled, f"{len(receiver.unsettled)} left unsettled on the receiver"
    return Result(count, wall, cpu, rounds, bytes_c2s, bytes_s2c, received, outcomes, phases)


def _uint(n: int) -> bytes:
    """A uint as Proton C encodes it: the smallest form (uint0, smalluint, uint)."""
    return b"\x43" if n == 0 else bytes((0x52, n)) if n < 256 else b"\x70" + n.to_bytes(4, "big")


def _frame(body: bytes) -> bytes:
    return (8 + len(body)).to_bytes(4, "big") + b"\x02\x00\x00\x00" + body


def qpid_reply(first: int, n: int, credit: int) -> bytes:
    """What the Qpid C broker sends a sender after ``n`` transfers from delivery-id ``first``.

    Traced from it (one socket read each): a flow on channel 0 for handle 0 (list8 of nine
    fields: next-incoming-id, incoming-window 2**31-1, next-outgoing-id 0, outgoing-window
    2**31-1, handle, delivery-count, link-credit ``credit``, available null, drain false),
    then a disposition (role receiver, first, last, settled, accepted). Valid for a sender
    whose delivery-ids and transfer-ids started at 0 together, as here.
    """
    count = first + n
    fields = (_uint(count) + b"\x70\x7f\xff\xff\xff\x43\x70\x7f\xff\xff\xff\x43"
              + _uint(count) + _uint(credit) + b"\x40\x42")
    flow = b"\x00\x53\x13\xc0" + bytes((len(fields) + 1, 9)) + fields
    fields = b"\x41" + _uint(first) + _uint(count - 1) + b"\x41\x00\x53\x24\x45"
    disposition = b"\x00\x53\x15\xc0" + bytes((len(fields) + 1, 5)) + fields
    return _frame(flow) + _frame(disposition)


BULK_PHASES = [
    "receive_data(): flow, disposition",
    "events (credit, outcomes)",
    "Message() + sender.send()",
    "data_to_send()",
]


def run_bulk(pair: Pair, count: int, size: int, credit: int) -> Result:
    """The sender's core in the bulk send against the Qpid C broker: ``count`` messages,
    ``credit`` granted per round (see ``qpid_reply``); the server core is set-up only."""
    client, sender = pair.client, pair.sender
    body = b"x" * size
    rounds = -(-count // credit)
    replies = [qpid_reply(r * credit, min(credit, count - r * credit), credit)
               for r in range(rounds)]
    sent = outcomes = granted = bytes_c2s = bytes_s2c = 0
    c_send, c_recv, c_event = client.data_to_send, client.receive_data, client.next_event
    send = sender.send
    clock = time.perf_counter
    phases = [0.0] * len(BULK_PHASES)

    cpu0 = time.process_time()
    t0 = clock()
    for r in range(rounds + 1):
        t1 = clock()
        if r:
            reply = replies[r - 1]
            bytes_s2c += len(reply)
            c_recv(reply)
        t2 = clock()
        accepted, grants = take_outcomes(c_event)
        outcomes += accepted
        granted += grants
        t3 = clock()
        n = min(sender.credit, count - sent)
        for _ in range(n):
            send(Message(body))
        sent += n
        t4 = clock()
        bytes_c2s += len(c_send())
        t5 = clock()
        for i, dt in enumerate((t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            phases[i] += dt
    wall = clock() - t0
    cpu = time.process_time() - cpu0

    check_done(count, sent, outcomes, sender)
    assert granted == rounds, granted
    return Result(count, wall, cpu, rounds, bytes_c2s, bytes_s2c, count, outcomes, phases)


def run_bulk_proton(count: int, size: int, credit: int, *, encode_each: bool = True) -> Result:
    """The same rounds on python-qpid-proton's engine (Proton C through its Python binding).

    A proton client connection and transport are set up against our server core, then
    fed the same replies; per round it drains the collector (settling each delivery the
    broker settled as accepted), sends ``credit`` messages (``proton.Message(body=...)
    .encode()`` each, or once with ``encode_each=False``) and takes the transport's bytes.
    """
    import proton  # the anchor: only this mode needs it

    conn, transport, collector = proton.Connection(), proton.Transport(), proton.Collector()
    transport.bind(conn)
    conn.collect(collector)
    conn.container = "bench-proton"
    conn.open()
    session = conn.session()
    session.open()
    sender = session.sender("bulk")
    sender.target.address = "q"
    sender.open()
    server = Connection(role="server", container_id="bench-server")
    server.open()

    def take() -> bytes:
        n = transport.pending()
        if n <= 0:
            return b""
        data: bytes = transport.peek(n)
        transport.pop(n)
        return data

    for _ in range(20):  # set-up: open, begin, attach, the first credit
        a = take()
        if a:
            server.receive_data(a)
        for ev in drain(server):
            if isinstance(ev, RemoteBegin):
                ev.session.begin()
            elif isinstance(ev, RemoteAttach):
                ev.link.attach()
                assert isinstance(ev.link, Receiver)
                ev.link.add_credit(credit)
        b = server.data_to_send()
        if b:
            transport.push(b)
        if not a and not b:
            break
    assert sender.credit == credit, sender.credit
    while collector.peek() is not None:
        collector.pop()

    body = b"x" * size
    rounds = -(-count // credit)
    replies = [qpid_reply(r * credit, min(credit, count - r * credit), credit)
               for r in range(rounds)]
    encoded = proton.Message(body=body).encode()
    delivery_event, flow_event = proton.Event.DELIVERY, proton.Event.LINK_FLOW
    accepted = proton.Delivery.ACCEPTED
    sent = outcomes = granted = bytes_c2s = bytes_s2c = 0
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for r in range(rounds + 1):
        if r:
            bytes_s2c += len(replies[r - 1])
            transport.push(replies[r - 1])
        while (ev := collector.peek()) is not None:
            if ev.type == delivery_event:
                d = ev.delivery
                if d.remote_state == accepted and d.settled:
                    d.settle()
                    outcomes += 1
            elif ev.type == flow_event:
                granted += 1
            collector.pop()
        n = min(sender.credit, count - sent)
        for i in range(n):
            sender.delivery(str(sent + i).encode())
            sender.send(proton.Message(body=body).encode() if encode_each else encoded)
            sender.advance()
        sent += n
        bytes_c2s += len(take())
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    assert sent == count and outcomes == count, (sent, outcomes)
    return Result(count, wall, cpu, rounds, bytes_c2s, bytes_s2c, count, outcomes, [])


def bulk_anchor(results: list[Result], count: int, size: int, credit: int, repeat: int) -> None:
    """python-qpid-proton's engine on the same rounds, best of ``repeat``, and the ratios."""
    try:
        import proton  # noqa: F401
    except ImportError:
        print("python-qpid-proton: not installed, no anchor")
        return
    best = min(r.cpu for r in results)
    rows = [("amqp10 core (Message() + send each)", best)]
    for label, each in (("python-qpid-proton (Message().encode() each)", True),
                        ("python-qpid-proton (encoded once)", False)):
        cpu = min(run_bulk_proton(count, size, credit, encode_each=each).cpu
                  for _ in range(repeat))
        rows.append((label, cpu))
    rounds = -(-count // credit)
    print(f"CPU per round, best of {repeat} (µs/round, µs/msg, amqp10 / this):")
    for label, cpu in rows:
        print(f"  {label:<46}{cpu / rounds * 1e6:8.2f}{cpu / count * 1e6:7.2f}"
              f"{best / cpu:7.2f}")


def header(*, count: int, size: int, credit: int, profiled: bool) -> None:
    print(f"python {platform.python_version()} ({platform.python_implementation()}), "
          f"{platform.machine()}{', under cProfile' if profiled else ''}")
    print(f"{count} messages of {size} B, unsettled, credit {credit}, each accepted")


def report(r: Result, *, phases: bool, bulk: bool = False) -> None:
    print(f"  received {r.received}, settled on both sides {r.outcomes}; {r.rounds} rounds, "
          f"client->server {r.bytes_c2s / 1e6:.1f} MB, server->client {r.bytes_s2c / 1e3:.1f} kB")
    print(f"  wall {r.wall:7.3f} s  {r.count / r.wall:9,.0f} msg/s  "
          f"{r.wall / r.count * 1e6:6.2f} µs/msg")
    print(f"  cpu  {r.cpu:7.3f} s  {r.count / r.cpu:9,.0f} msg/s  "
          f"{r.cpu / r.count * 1e6:6.2f} µs/msg")
    if bulk:
        print(f"  cpu per round {r.cpu / r.rounds * 1e6:6.2f} µs "
              f"({r.count / r.rounds:g} messages a round)")
    if phases and bulk:
        print("  where the sender's wall time goes (µs/round, µs/msg):")
        for what, t in zip(BULK_PHASES, r.phases):
            print(f"    {what:<36}{t / r.rounds * 1e6:7.2f}{t / r.count * 1e6:7.2f}")
        t = sum(r.phases)
        print(f"    {'total':<36}{t / r.rounds * 1e6:7.2f}{t / r.count * 1e6:7.2f}")
    elif phases:
        print("  where the wall time goes (µs/msg):")
        for (side, what), t in zip(PHASES, r.phases):
            print(f"    {side:<7}{what:<36}{t / r.count * 1e6:6.2f}")
        for side in ("client", "server"):
            t = sum(t for (sd, _), t in zip(PHASES, r.phases) if sd == side)
            print(f"    {side:<7}{'total':<36}{t / r.count * 1e6:6.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="two protocol cores back to back")
    parser.add_argument("--count", type=int, default=100_000, help="messages (default 100000)")
    parser.add_argument("--credit", type=int, default=None,
                        help="receiver credit (default 1000; 5 with --bulk)")
    parser.add_argument("--size", type=int, default=1024, help="body bytes (default 1024)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs, each on a fresh pair; the best is reported last")
    parser.add_argument("--profile", action="store_true",
                        help="run under cProfile and print the top 25 by own time")
    parser.add_argument("--bulk", action="store_true",
                        help="bulk, 5 credits per round: the sender's core against the Qpid "
                             "C broker's replies")
    parser.add_argument("--no-proton", action="store_true",
                        help="with --bulk: skip the python-qpid-proton anchor")
    args = parser.parse_args(argv)
    if args.credit is None:
        args.credit = 5 if args.bulk else 1000
    if args.count < 1 or args.credit < 1 or args.size < 0 or args.repeat < 1:
        parser.error("--count, --credit and --repeat must be positive, --size not negative")

    def once() -> Result:
        if args.bulk:
            return run_bulk(setup(args.credit), args.count, args.size, args.credit)
        return run(setup(args.credit), args.count, args.size)

    header(count=args.count, size=args.size, credit=args.credit, profiled=args.profile)
    if args.bulk:
        print("bulk, 5 credits per round: the sender's core alone, the Qpid C broker's replies"
              if args.credit == 5 else f"bulk, {args.credit} credits per round")
    if args.profile:
        prof = cProfile.Profile()
        result = prof.runcall(once)
        report(result, phases=False, bulk=args.bulk)
        print()
        pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(25)
        return 0
    results = []
    for i in range(args.repeat):
        if args.repeat > 1:
            print(f"run {i + 1}/{args.repeat}:")
        results.append(once())
        report(results[-1], phases=args.repeat == 1, bulk=args.bulk)
    if args.repeat > 1:
        best = min(results, key=lambda r: r.wall)
        print(f"best of {args.repeat} (by wall time): run {results.index(best) + 1}")
        report(best, phases=True, bulk=args.bulk)
    if args.bulk and not args.no_proton:
        bulk_anchor(results, args.count, args.size, args.credit, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
