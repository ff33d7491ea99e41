"""amqp10_sync against hostile peers (issue 10): every wait ends in time, memory stays
bounded, and no peer's behaviour kills the I/O thread. The peers are tests.hostile.servers."""

from __future__ import annotations

import logging
import time
import tracemalloc

import pytest

import amqp10_sync as amqp
from amqp10_proto import Accepted, Message
from amqp10_proto.client import DEFAULT_MAX_MESSAGE_SIZE
from amqp10_proto.errors import ConnectionClosedError, LinkDetachedError, SessionEndedError
from amqp10_proto.performatives import Attach, Detach, Disposition, End, Flow

from .servers import (
    Serve,
    absurd_credit,
    attach_detach_one_read,
    attach_storm,
    close_error,
    encoded,
    endless_delivery,
    flood,
    one_message,
    refused,
    session_storm,
    silence,
    wait_for,
)


def test_flood_of_empty_frames_after_open_leaves_every_wait_its_deadline(serve: Serve) -> None:
    server = serve(flood(20))
    t0 = time.monotonic()
    conn = amqp.open_connection(server.url, sasl=None, connect_timeout=3, timeout=2)
    assert time.monotonic() - t0 < 5
    with pytest.raises(TimeoutError):
        conn.open_session()  # the flood never answers: the 2 s timeout, not the flood's 20
    conn.close(timeout=1)
    assert time.monotonic() - t0 < 10
    assert server.sent > 1 << 20  # the flood did flow the whole time


def test_flood_of_empty_frames_instead_of_open_times_out(serve: Serve) -> None:
    server = serve(flood(20, open_=False))
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        amqp.open_connection(server.url, sasl=None, connect_timeout=3)
    assert time.monotonic() - t0 < 6
    assert server.sent > 1 << 20


def test_a_delivery_that_never_ends_is_cut_at_max_message_size(serve: Serve) -> None:
    limit = 256 << 10
    server = serve(endless_delivery(30))
    with amqp.open_connection(server.url, sasl=None) as conn, conn.open_session() as session:
        tracemalloc.start()
        try:
            t0 = time.monotonic()
            # The peer starts the endless delivery with its attach: the link may fail while
            # open_receiver still waits (it raises then), or in the receive after it.
            with pytest.raises(LinkDetachedError) as info:
                receiver = session.open_receiver("q", max_message_size=limit)
                receiver.receive(timeout=20)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert time.monotonic() - t0 < 10  # woken by the failure, not the timeout
    assert info.value.condition == "amqp:link:message-size-exceeded"
    assert server.sent > limit
    assert peak < 4 * limit + (2 << 20)  # what we held, whatever the peer sent


def test_receivers_have_a_bounded_max_message_size_by_default(serve: Serve) -> None:
    server = serve(one_message(encoded(b"x")))
    with amqp.open_connection(server.url, sasl=None) as conn, conn.open_session() as session:
        session.open_receiver("q").receive(timeout=10).accept()
        session.open_receiver("q2", max_message_size=None)
    limits = [a.max_message_size for a in server.frames_of(Attach)]
    assert limits[0] == DEFAULT_MAX_MESSAGE_SIZE == 100 << 20
    assert not limits[1]  # None: no limit (2.7.3: null or 0)


def test_attach_and_detach_in_one_read_keeps_the_connection(serve: Serve) -> None:
    server = serve(attach_detach_one_read)
    with amqp.open_connection(server.url, sasl=None) as conn:
        conn.open_session()
        wait_for(lambda: server.frames_of(Detach))  # the core answered the peer's detach
        time.sleep(0.2)
        assert not conn.closed
    assert close_error(server) is None


def test_an_exception_handling_an_event_closes_with_internal_error(
        serve: Serve, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(self: object, event: object) -> None:
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(amqp.Receiver, "_deliver", broken)
    server = serve(one_message(encoded(b"x")))
    with amqp.open_connection(server.url, sasl=None) as conn, conn.open_session() as session:
        receiver = session.open_receiver("q")
        with pytest.raises(ConnectionClosedError):
            receiver.receive(timeout=10)
    assert close_error(server).condition == "amqp:internal-error"
    assert "internal error handling MessageReceived" in caplog.text


def test_a_message_over_max_message_size_fails_receive_at_once(serve: Serve) -> None:
    server = serve(one_message(encoded(b"x" * 2048)))
    with amqp.open_connection(server.url, sasl=None) as conn, conn.open_session() as session:
        receiver = session.open_receiver("q", max_message_size=1024)
        t0 = time.monotonic()
        with pytest.raises(LinkDetachedError) as info:
            receiver.receive(timeout=20)
        assert time.monotonic() - t0 < 10
        assert info.value.condition == "amqp:link:message-size-exceeded"


def test_a_message_over_max_message_size_ends_iteration(serve: Serve) -> None:
    server = serve(one_message(encoded(b"x" * 2048)))
    with amqp.open_connection(server.url, sasl=None) as conn, conn.open_session() as session:
        receiver = session.open_receiver("q", max_message_size=1024)
        with pytest.raises(LinkDetachedError):
            for _ in receiver:
                pass


def test_a_message_over_max_message_size_with_the_attach_fails_the_open(serve: Serve) -> None:
    server = serve(one_message(encoded(b"x" * 2048), with_attach=True))
    with amqp.open_connection(server.url, sasl=None) as conn, conn.open_session() as session:
        t0 = time.monotonic()
        with pytest.raises(LinkDetachedError):
            session.open_receiver("q", max_message_size=1024, timeout=20)
        assert time.monotonic() - t0 < 10


def test_transfers_beyond_the_session_window_fail_its_receivers_at_once(serve: Serve) -> None:
    server = serve(one_message(encoded(b"x"), copies=3))
    with amqp.open_connection(server.url, sasl=None) as conn:
        session = conn.open_session(incoming_window=0)
        receiver = session.open_receiver("q")
        t0 = time.monotonic()
        with pytest.raises(SessionEndedError) as info:
            while True:
                receiver.receive(timeout=20)
        assert time.monotonic() - t0 < 10
        assert info.value.condition == "amqp:session:window-violation"
        assert not conn.closed  # a session error: the connection goes on (2.5.6)


def test_an_undecodable_message_is_counted_and_its_credit_granted_again(
        serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    server = serve(one_message(b"\x00\x53\x75\xa0\xff", then=encoded(b"after")))
    caplog.set_level(logging.WARNING, "amqp10")
    with amqp.open_connection(server.url, sasl=None) as conn, conn.open_session() as session:
        receiver = session.open_receiver("q", credit=1)
        msg = receiver.receive(timeout=10)  # only after the credit came back
        assert msg.body == b"after"
        assert receiver.undecodable == 1
    rejected = [d for d in server.frames_of(Disposition) if d.first == 0]
    assert rejected[0].state.error.condition == "amqp:decode-error"
    assert len(server.frames_of(Flow)) >= 2
    assert "could not be decoded" in caplog.text


def test_a_session_storm_is_refused_and_the_connection_goes_on(serve: Serve) -> None:
    server = serve(session_storm(2000))
    with amqp.open_connection(server.url, sasl=None, timeout=20) as conn:
        conn.open_session()
        wait_for(lambda: refused(server, End) == 2000, 20)
    assert close_error(server) is None


def test_an_attach_storm_is_refused_and_the_session_goes_on(serve: Serve) -> None:
    server = serve(attach_storm(2000))
    with amqp.open_connection(server.url, sasl=None, timeout=20) as conn, \
            conn.open_session() as session:
        wait_for(lambda: refused(server, Detach) == 2000, 20)
        session.open_sender("q").send(Message(b"still here"))
    assert close_error(server) is None


def test_absurd_credit_is_taken_as_it_is(serve: Serve) -> None:
    server = serve(absurd_credit)
    with amqp.open_connection(server.url, sasl=None) as conn, conn.open_session() as session:
        sender = session.open_sender("q")
        wait_for(lambda: sender.credit)
        for i in range(5):
            assert sender.send(Message(b"%d" % i)) == Accepted()
        assert sender.credit == 0xFFFFFFFF - 5
    assert close_error(server) is None


def test_a_silent_peer_is_given_up_after_the_idle_timeout(serve: Serve) -> None:
    server = serve(silence())
    conn = amqp.open_connection(server.url, sasl=None, idle_timeout=1, timeout=30,
                                reconnect=False)
    t0 = time.monotonic()
    with pytest.raises(ConnectionClosedError) as info:
        conn.open_session()
    assert time.monotonic() - t0 < 10  # twice the 1 s we advertised, not the 30 s timeout
    assert info.value.condition == "amqp:resource-limit-exceeded"
    conn.close(timeout=1)


def test_a_peer_silent_after_its_header_times_the_open_out(serve: Serve) -> None:
    server = serve(silence(open_=False))
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        amqp.open_connection(server.url, sasl=None, connect_timeout=2)
    assert time.monotonic() - t0 < 6
