"""Issue 12 on the blocking adapter: many outcomes in one call (wait_all, send_many), a
disposition wakes only its own waiter, and a lone waiter reads the socket itself."""

from __future__ import annotations

import os
import select
import sys
import threading
import time
import types
from collections.abc import Callable
from typing import Any

import pytest

import amqp10_sync as amqp
import amqp10_sync._waits
from amqp10_proto import (
    Accepted,
    Error,
    Message,
    MessageReceived,
    Modified,
    Rejected,
    Released,
)
from amqp10_proto import (
    Delivery as CoreDelivery,
)
from amqp10_proto.errors import ConnectionClosedError, LinkDetachedError

from .fakepeer import FakePeer

HANG = 10.0  # a hang guard, not a timing assertion


def eventually(what: Callable[[], object], text: str) -> None:
    end = time.monotonic() + HANG
    while not what():
        assert time.monotonic() < end, text
        time.sleep(0.005)


def receiving(receiver: Any, timeout: float) -> tuple[threading.Thread, list[BaseException]]:
    """A thread blocked in ``receiver.receive(timeout)``, started; what it raised."""
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            receiver.receive(timeout=timeout)
        except BaseException as exc:
            errors.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    return waiter, errors


class HoldingPeer(FakePeer):
    """FakePeer that holds each message whose body starts with b"wait-" until a message
    b"settle <that body>" comes (on any link), and detaches the link a b"detach" came on."""

    def __init__(self, **options: Any) -> None:
        self.held: dict[bytes, tuple[Any, Any]] = {}
        super().__init__(**options)

    def _on(self, ev: Any) -> None:
        if isinstance(ev, MessageReceived):
            body = ev.message.body
            if body.startswith(b"wait-"):
                self.held[body] = (ev.link, ev.delivery)
                self.received.append(body)
                return
            if body.startswith(b"settle "):
                link, delivery = self.held.pop(body[len(b"settle "):])
                link.accept(delivery)
                if not ev.delivery.settled:
                    ev.link.accept(ev.delivery)
                return
            if body == b"detach":
                ev.link.detach(Error(condition="amqp:link:detach-forced", description="bye"))
                return
        super()._on(ev)


@pytest.fixture
def peer() -> Any:
    p = HoldingPeer()
    yield p
    p.close()


# -- wait_all and send_many --------------------------------------------------------------

def test_wait_all_returns_each_outcome_in_order_a_refusal_among_them_not_raised(peer: Any) -> None:
    with amqp.open_connection(peer.url, sasl=None, timeout=10) as conn, conn.open_session() as session:
        sender = session.open_sender("q")
        bodies = [b"a", b"reject", b"b", b"release", b"modify", b"c"]
        handles = [sender.send_nowait(Message(body)) for body in bodies]
        states = sender.wait_all(handles, timeout=HANG)
        assert [type(s) for s in states] == [Accepted, Rejected, Accepted, Released, Modified,
                                             Accepted]
        rejected = states[1]
        assert isinstance(rejected, Rejected) and rejected.error is not None
        assert rejected.error.condition == "amqp:precondition-failed"
        assert peer.received == bodies  # sent once each, in order


def test_send_many_sends_in_order_and_waits_for_every_outcome(peer: Any) -> None:
    with amqp.open_connection(peer.url, sasl=None, timeout=10) as conn, conn.open_session() as session:
        sender = session.open_sender("q")
        bodies = [b"%d" % i for i in range(100)]  # (the peer's credit: 100)
        bodies[50] = b"reject"
        states = sender.send_many([Message(b) for b in bodies], timeout=HANG)
        assert len(states) == 100
        assert isinstance(states[50], Rejected)
        assert all(isinstance(s, Accepted) for i, s in enumerate(states) if i != 50)
        assert peer.received == bodies


def test_send_many_beyond_credit_queues_the_rest_and_sends_it_as_credit_comes() -> None:
    peer = HoldingPeer(credit=5)
    try:
        with amqp.open_connection(peer.url, sasl=None, timeout=10) as conn, conn.open_session() as session:
            sender = session.open_sender("q")
            done: list[Any] = []
            worker = threading.Thread(target=lambda: done.append(
                sender.send_many([Message(b"%d" % i) for i in range(20)], timeout=HANG)))
            worker.start()
            eventually(lambda: len(peer.received) == 5 and sender.queued == 15,
                       "5 sent on the peer's credit, 15 queued for more")
            peer.grants = 100
            worker.join(HANG)
            assert done and [type(s) for s in done[0]] == [Accepted] * 20
            assert peer.received == [b"%d" % i for i in range(20)]
    finally:
        peer.close()


def test_wait_all_times_out_and_withdraws_what_still_waits_for_credit() -> None:
    peer = HoldingPeer(credit=2)
    try:
        with amqp.open_connection(peer.url, sasl=None, timeout=10) as conn, conn.open_session() as session:
            sender = session.open_sender("q")
            handles = [sender.send_nowait(Message(b"wait-%d" % i)) for i in range(5)]
            assert sender.queued == 3
            with pytest.raises(TimeoutError):
                sender.wait_all(handles, timeout=0.3)
            assert sender.queued == 0  # never sent: the timeout withdrew them
            peer.grants = 10
            eventually(lambda: sender.credit == 10, "the new credit arrived")
            assert peer.received == [b"wait-0", b"wait-1"]  # the rest did not go later
            assert not sender.detached
    finally:
        peer.close()


def test_send_many_times_out_when_the_peer_never_settles(peer: Any) -> None:
    with amqp.open_connection(peer.url, sasl=None, timeout=10) as conn, conn.open_session() as session:
        sender = session.open_sender("q")
        with pytest.raises(TimeoutError):
            sender.send_many([Message(b"a"), Message(b"wait-1"), Message(b"b")], timeout=0.3)
        assert peer.received == [b"a", b"wait-1", b"b"]  # sent: tracked, not withdrawn


def test_a_link_detached_mid_batch_raises_link_detached_from_wait_all(peer: Any) -> None:
    with amqp.open_connection(peer.url, sasl=None, timeout=10) as conn, conn.open_session() as session:
        sender = session.open_sender("q")
        # (The peer detaches as it reads b"detach": the last send, or it would raise.)
        handles = [sender.send_nowait(Message(b)) for b in (b"a", b"wait-1", b"b", b"detach")]
        with pytest.raises(LinkDetachedError) as info:
            sender.wait_all(handles, timeout=HANG)
        assert info.value.condition == "amqp:link:detach-forced"
        assert sender.wait_settled(handles[2], timeout=1) == Accepted()  # settled before
        assert conn.open_session().open_sender("q2").send(b"x", timeout=HANG) == Accepted()


def test_wait_all_of_nothing_and_of_pre_settled_sends(peer: Any) -> None:
    with amqp.open_connection(peer.url, sasl=None, timeout=10) as conn, conn.open_session() as session:
        sender = session.open_sender("q", settle_mode="mixed")
        assert sender.wait_all([], timeout=1) == []
        handles = [sender.send_nowait(Message(b"p"), settled=True),
                   sender.send_nowait(Message(b"u"), settled=False)]
        assert sender.wait_all(handles, timeout=HANG) == [None, Accepted()]


# -- who is woken --------------------------------------------------------------------------

def test_a_disposition_wakes_its_own_waiter_only(peer: Any) -> None:
    n = 20
    with amqp.open_connection(peer.url, sasl=None, timeout=30) as conn, conn.open_session() as session:
        sender = session.open_sender("q")
        trigger = session.open_sender("t", settle_mode="settled")
        results: dict[int, Any] = {}

        def work(i: int) -> None:
            results[i] = sender.send(Message(b"wait-%d" % i), timeout=30)

        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()

        def keyed() -> dict[Any, list[Any]]:
            with conn._cond:
                return {k: list(v) for k, v in conn._keyed.items()}

        # Every message is held by the peer; at least n - 1 threads wait on their delivery
        # (one may be reading the socket for itself instead).
        eventually(lambda: len(peer.held) == n and sum(map(len, keyed().values())) >= n - 1,
                   "the senders did not all wait")
        before = keyed()
        chosen = next(iter(before))
        body = sender._payloads[chosen].body
        trigger.send(Message(b"settle " + body), timeout=HANG)
        eventually(lambda: len(results) == 1, "the settled send did not return")
        (i,) = results
        assert body == b"wait-%d" % i and results[i] == Accepted()
        after = keyed()
        assert chosen not in after
        for key, waiters in before.items():
            if key is not chosen:
                # The same lock objects: those threads were not woken (a woken thread that
                # waits again waits on a new one).
                assert [id(w) for w in after[key]] == [id(w) for w in waiters]
        for body in list(peer.held):
            trigger.send(Message(b"settle " + body), timeout=HANG)
        for t in threads:
            t.join(HANG)
        assert sorted(results) == list(range(n))
        assert all(r == Accepted() for r in results.values())


@pytest.fixture
def long_drive(monkeypatch: pytest.MonkeyPatch) -> None:
    """A caller reads for itself as long as it waits (not DRIVE_MAX): time to look at it."""
    monkeypatch.setattr(amqp10_sync._waits, "DRIVE_MAX", 60.0)


@pytest.mark.usefixtures("long_drive")
def test_a_lone_waiter_reads_for_itself_and_the_io_thread_reads_again_after(peer: Any) -> None:
    with amqp.open_connection(peer.url, sasl=None, timeout=10) as conn, conn.open_session() as session:
        receiver = session.open_receiver("r", credit=10)
        sender = session.open_sender("q")
        outcome: list[BaseException] = []
        me: list[int] = []

        def wait() -> None:
            me.append(threading.get_ident())
            try:
                receiver.receive(timeout=3)
            except BaseException as exc:
                outcome.append(exc)

        readers: list[int] = []
        read = conn._read

        def recorded() -> bool:
            readers.append(threading.get_ident())
            return read()

        waiter = threading.Thread(target=wait)
        waiter.start()
        eventually(lambda: me and conn._driver == me[0], "the lone waiter did not read")
        conn._read = recorded  # type: ignore[method-assign]
        # What comes meanwhile (an outcome) is read by the waiting thread, not the I/O thread.
        delivery = sender.send_nowait(Message(b"x"))
        assert isinstance(delivery, CoreDelivery)  # (credit there: sent at once)
        eventually(lambda: delivery.remote_settled, "the outcome was not read")
        assert readers and set(readers) == {me[0]}
        waiter.join(HANG)
        assert outcome and isinstance(outcome[0], TimeoutError)
        # Nobody waits now: the I/O thread reads again and handles what comes unasked.
        eventually(lambda: not conn._parked, "the I/O thread did not take the reading back")
        later = sender.send_nowait(Message(b"y"))
        assert isinstance(later, CoreDelivery)
        eventually(lambda: later.remote_settled, "the outcome was not read by anyone")
        assert conn._driver == 0


@pytest.mark.usefixtures("long_drive")
def test_a_waiter_reading_for_itself_learns_of_a_close_by_another_thread(peer: Any) -> None:
    with amqp.open_connection(peer.url, sasl=None, timeout=10) as conn, conn.open_session() as session:
        receiver = session.open_receiver("r", credit=10)
        waiter, errors = receiving(receiver, 30)
        eventually(lambda: conn._driver, "the waiter did not read for itself")
        receiver.close(timeout=HANG)  # its wait on the general condition: the driver reads
        waiter.join(HANG)
        assert not waiter.is_alive()
        assert errors and isinstance(errors[0], LinkDetachedError)

        waiter, errors = receiving(session.open_receiver("r2", credit=10), 30)
        eventually(lambda: conn._driver, "the waiter did not read for itself")
        conn.close(timeout=HANG)
        waiter.join(HANG)
        assert errors and isinstance(errors[0], ConnectionClosedError)


def test_a_long_wait_leaves_the_reading_to_the_io_thread(peer: Any) -> None:
    # (The idle cost: a receive blocked for minutes must not keep the I/O thread waking.)
    with amqp.open_connection(peer.url, sasl=None, timeout=10) as conn, conn.open_session() as session:
        receiver = session.open_receiver("r", credit=10)
        sender = session.open_sender("q")
        waiter, errors = receiving(receiver, 3)
        eventually(lambda: conn._waiting == 1 and not conn._driver and not conn._parked,
                   "the receive did not hand the reading over after DRIVE_MAX")
        later = sender.send_nowait(Message(b"y"))  # read by the I/O thread for nobody
        assert isinstance(later, CoreDelivery)
        eventually(lambda: later.remote_settled, "the outcome was not read")
        waiter.join(HANG)
        assert errors and isinstance(errors[0], TimeoutError)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="FD_SETSIZE is Linux's 1024")
def test_a_socket_beyond_select_s_range_is_read_by_the_io_thread(
        peer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # In a process with more than 1 024 files open the connection's descriptor is out of
    # select()'s range: a lone waiter cannot read for itself, and leaves it to the I/O
    # thread (its selector has no such limit) at once; before, it retried select() until
    # DRIVE_MAX with the I/O thread parked: thousands of calls and 50 ms per send.
    import resource  # (POSIX only)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # Raised up to the hard limit if need be (no privilege needed), put back after.
    assert hard == resource.RLIM_INFINITY or hard >= 1200, \
        f"the hard limit of open files ({hard}) is below the 1 200 this test opens"
    if soft != resource.RLIM_INFINITY and soft < 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1200, hard))
    calls = [0]
    real = select.select

    def counted(*args: Any) -> Any:
        calls[0] += 1
        return real(*args)

    monkeypatch.setattr(amqp10_sync._waits, "select", types.SimpleNamespace(select=counted))
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with amqp.open_connection(peer.url, sasl=None, timeout=10) as conn, \
                conn.open_session() as session:
            assert conn._sock.fileno() >= 1024
            sender = session.open_sender("q")
            outcomes = [sender.send(Message(b"m%d" % i), timeout=HANG) for i in range(20)]
    finally:
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert all(type(o) is Accepted for o in outcomes)
    assert calls[0] <= 3 * 20, calls
