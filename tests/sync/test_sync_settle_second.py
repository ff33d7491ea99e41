"""rcv-settle-mode second (2.8.3): our outcome goes out unsettled, and accept() (or
reject, release, modify) returns only once the sender settled; it times out if the
sender never does. The sender is the core-based test server (tests/serverpeer.py);
real peers that answer "first" (proton, rhea) or refuse the mode (RabbitMQ) too."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

import amqp10_sync as amqp
from amqp10_proto import Accepted, Message, ReceiverSettleMode, Released
from amqp10_proto.errors import ConnectionClosedError, SessionEndedError
from tests.serverpeer import ServerPeer

from .conftest import start


def test_accept_and_release_wait_until_the_sender_settles() -> None:
    with ServerPeer(messages=2, settle_second=0.5) as server:
        with amqp.open_connection(server.url, sasl=None) as conn, conn.open_session() as s:
            receiver = s.open_receiver("q", credit=10, rcv_settle_mode="second")
            assert receiver._core.rcv_settle_mode is ReceiverSettleMode.SECOND
            first, second = receiver.receive(timeout=10), receiver.receive(timeout=10)
            for msg, settle in ((first, first.accept), (second, second.release)):
                t0 = time.monotonic()
                settle(timeout=10)
                returned = time.monotonic()
                assert returned - t0 >= 0.4, "returned before the sender settled"
                assert msg.settled
                assert server.settled_at[msg.delivery.id] <= returned
            assert not conn.closed
        states = {d: (type(state), settled) for d, state, settled in server.dispositions}
        # Our outcomes went out unsettled: the sender settles first in mode second.
        assert states == {first.delivery.id: (Accepted, False),
                          second.delivery.id: (Released, False)}


def test_accept_times_out_when_the_sender_never_settles() -> None:
    with ServerPeer(messages=1, settle_second=None) as server:
        with amqp.open_connection(server.url, sasl=None, reconnect=False) as conn, \
                conn.open_session() as s:
            receiver = s.open_receiver("q", credit=10, rcv_settle_mode="second")
            msg = receiver.receive(timeout=10)
            t0 = time.monotonic()
            with pytest.raises(TimeoutError, match="settle"):
                msg.accept(timeout=0.5)
            assert 0.45 <= time.monotonic() - t0 < 3
            assert not msg.settled
            # The link and connection stay usable after the timeout.
            assert not receiver.detached and not conn.closed
            with pytest.raises(TimeoutError):
                receiver.receive(timeout=0.1)
            # A wait for settlement ends with ConnectionClosedError when the peer dies.
            errors: list[BaseException] = []

            def wait() -> None:
                try:
                    msg.accept(timeout=30)
                except BaseException as exc:
                    errors.append(exc)

            waiter = threading.Thread(target=wait)
            waiter.start()
            time.sleep(0.2)
            server.kill()
            waiter.join(5)
            assert not waiter.is_alive(), "accept() hung after the peer died"
            assert len(errors) == 1 and isinstance(errors[0], ConnectionClosedError), errors
        # Each accept said "accepted, not settled" (2.8.3); nothing was settled.
        assert [(type(st), settled) for _, st, settled in server.dispositions] == \
            [(Accepted, False)] * 2
        assert server.settled_at == {}


@pytest.mark.parametrize("name", ["proton-broker", "rhea-broker"])
def test_a_peer_that_answers_first_makes_accept_return_at_once(name: str) -> None:
    # Both brokers answer an attach asking for mode second with mode first (2.8.3).
    peer = start(name)
    q = f"amqp10-sync-second-{uuid.uuid4().hex[:8]}"
    with amqp.open_connection(f"amqp://127.0.0.1:{peer.port}") as conn, \
            conn.open_session() as session:
        with session.open_sender(q) as sender:
            sender.send(Message(b"one"))
        receiver = session.open_receiver(q, credit=5, rcv_settle_mode="second")
        assert receiver._core.rcv_settle_mode is ReceiverSettleMode.FIRST
        msg = receiver.receive(timeout=10)
        t0 = time.monotonic()
        msg.accept(timeout=10)
        assert time.monotonic() - t0 < 1 and msg.settled
        receiver.close()


def test_rabbitmq_refuses_mode_second_with_a_clear_error() -> None:
    # RabbitMQ 3.10 ends the session with amqp:not-implemented (its quirk 4).
    peer = start("rabbitmq")
    with amqp.open_connection(f"amqp://127.0.0.1:{peer.port}") as conn:
        session = conn.open_session()
        with pytest.raises(SessionEndedError) as info:
            session.open_receiver(f"amqp10-sync-second-{uuid.uuid4().hex[:8]}",
                                  rcv_settle_mode="second")
        assert info.value.condition == "amqp:not-implemented"
        assert not conn.closed
