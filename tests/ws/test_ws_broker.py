"""The embedded broker's WebSocket listener: the same queues, SASL and limits as its TCP
port, through amqp10_ws's server layer; a 10 MiB message both ways; hostile WebSocket
input (the exact bytes) answered and closed, never hanging, the broker serving on."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Accepted, ConnectionClosed, Message, SaslPlain
from amqp10_ws import WebSocketHandshakeError

from .wspump import AMQP_HEADER, WsPump, body_of, frame, parse_frames, upgrade

GUEST = SaslPlain("guest", "guest")


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(ws_port=0, users={"guest": "guest"}, handshake_timeout=1.0) as running:
        yield running


@pytest.fixture(scope="module")
def small() -> Iterator[RunningBroker]:
    """A broker taking WebSocket frames of at most 64 KiB."""
    with start_broker(ws_port=0, ws_max_frame_size=64 * 1024) as running:
        yield running


def ws_of(running: RunningBroker) -> int:
    """The broker's WebSocket port (these brokers all have one)."""
    assert running.ws_port is not None
    return running.ws_port


def test_the_ws_url_names_the_listener(broker: RunningBroker) -> None:
    assert broker.ws_url == f"amqpws://127.0.0.1:{ws_of(broker)}/"
    assert ws_of(broker) != broker.port


def test_the_same_queues_over_websocket_and_tcp(broker: RunningBroker) -> None:
    with WsPump(ws_of(broker), path="/$servicebus/websocket", sasl=GUEST) as ws:
        assert ws.ws is not None
        session = ws.begin()
        assert ws.ws.subprotocol == "amqp"
        sent = [Message(f"ws-{i}".encode()) for i in range(3)]
        assert ws.send(session, "ws-tcp", *sent) == [Accepted()] * 3
    with WsPump(broker.port, sasl=GUEST, ws=False) as tcp:
        got = tcp.receive(tcp.begin(), "ws-tcp", 3)
    assert [body_of(m) for m in got] == [b"ws-0", b"ws-1", b"ws-2"]


def test_the_same_sasl_a_wrong_password_is_refused(broker: RunningBroker) -> None:
    with WsPump(ws_of(broker), sasl=SaslPlain("guest", "wrong")) as ws:
        closed = ws.wait_for(ConnectionClosed)
    assert closed.error is not None and "unauthorized-access" in str(closed.error.condition)


def test_a_ten_mib_message_both_ways(broker: RunningBroker) -> None:
    payload = os.urandom(10 * 1024 * 1024)
    with WsPump(ws_of(broker), sasl=GUEST, timeout=60) as ws:
        session = ws.begin()
        assert ws.send(session, "big", Message(payload)) == [Accepted()]
        (got,) = ws.receive(session, "big", 1)
    assert body_of(got) == payload


# -- hostile input: what a raw socket gets back ----------------------------------------------

def exchange(port: int, data: bytes, *, then_close: bool = False,
             timeout: float = 5.0) -> bytes:
    """Send ``data`` (then our FIN, if asked) and read until the broker closes; fails the
    test if the broker keeps the socket open past ``timeout``."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if then_close:
            sock.shutdown(socket.SHUT_WR)
        got = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                return got
            got += chunk
    raise AssertionError(f"the broker kept the socket open; it sent {got[:200]!r}")


def after_101(answer: bytes) -> bytes:
    head, sep, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ") and sep, answer[:200]
    return rest


@pytest.mark.parametrize("request_bytes, status, text", [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400, b"Connection: Upgrade"),
    (upgrade(None), 400, b"subprotocol 'amqp' or 'AMQPWSB10'"),
    (upgrade("mqtt, wamp"), 400, b"it offered mqtt, wamp"),
    (upgrade().replace(b"Version: 13", b"Version: 7"), 426, b"Sec-WebSocket-Version"),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, b"Bad HTTP message"),
])
def test_a_bad_upgrade_gets_an_http_error_and_the_socket_closes(
        broker: RunningBroker, request_bytes: bytes, status: int, text: bytes) -> None:
    answer = exchange(ws_of(broker), request_bytes)
    assert answer.startswith(b"HTTP/1.1 %d " % status) and text in answer


def close_code(data: bytes) -> int:
    """The code of the (unmasked, short) close frame at the end of ``data``."""
    at = data.rindex(b"\x88")
    return int.from_bytes(data[at + 2:at + 4], "big")


@pytest.mark.parametrize("frames, code", [
    (frame(0x1, b"AMQP\x03\x01\x00\x00"), 1003),            # a text message
    (frame(0x2, b"x" * (64 * 1024 + 1)), 1009),              # over ws_max_frame_size
    (frame(0x2, AMQP_HEADER, mask=None), 1002),              # an unmasked client frame
    (frame(0x0, AMQP_HEADER), 1002),                         # a continuation of nothing
    (bytes([0x82, 0x7F]) + (1 << 63).to_bytes(8, "big") + b"MASK", 1002),  # 2**63 bytes
])
def test_a_bad_frame_gets_a_close_frame_and_the_socket_closes(
        small: RunningBroker, frames: bytes, code: int) -> None:
    rest = after_101(exchange(ws_of(small), upgrade() + frames))
    assert rest[0] == 0x88 and close_code(rest) == code


def test_a_fragmented_header_and_a_ping_are_answered(broker: RunningBroker) -> None:
    data = (upgrade() + frame(0x2, AMQP_HEADER[:2], fin=False) + frame(0x9, b"are you there")
            + frame(0x0, AMQP_HEADER[2:5], fin=False) + frame(0x0, AMQP_HEADER[5:]))
    with socket.create_connection(("127.0.0.1", ws_of(broker)), timeout=5) as sock:
        sock.sendall(data)
        got = b""
        while len(parse_frames(after_101(got) if b"\r\n\r\n" in got else b"")) < 2:
            chunk = sock.recv(65536)
            assert chunk, f"closed before answering: {got!r}"
            got += chunk
    (pong, answer, *_) = parse_frames(after_101(got))
    assert pong == (0xA, b"are you there")
    assert answer[0] == 0x2 and answer[1].startswith(AMQP_HEADER)  # then SASL mechanisms


def test_closing_inside_a_frame_ends_the_connection(broker: RunningBroker) -> None:
    # A frame announcing 108 bytes, cut after the first 8 (the AMQP header), then our FIN.
    half = upgrade() + frame(0x2, AMQP_HEADER + b"x" * 100)[:6 + 8]
    answer = parse_frames(after_101(exchange(ws_of(broker), half, then_close=True)))
    assert answer[0][0] == 0x2 and answer[0][1].startswith(AMQP_HEADER)  # the header taken
    assert [op for op, _ in answer] == [0x2]  # then the socket just closes: no close frame
    wait_until(lambda: not broker.broker.connections)


def test_an_amqp_header_on_the_websocket_port_is_dropped_at_once(broker: RunningBroker) -> None:
    started = time.monotonic()
    assert exchange(ws_of(broker), AMQP_HEADER) == b""
    assert time.monotonic() - started < 1.0  # not the handshake timeout


def test_an_upgrade_never_finished_is_dropped_at_the_handshake_timeout(
        broker: RunningBroker) -> None:
    assert exchange(ws_of(broker), b"GET / HTTP/1.1\r\nHost: x\r\n", timeout=10) == b""


def test_the_broker_serves_on_after_all_that(broker: RunningBroker) -> None:
    wait_until(lambda: not broker.broker.connections)
    with WsPump(ws_of(broker), sasl=GUEST) as ws:
        session = ws.begin()
        assert ws.send(session, "after", Message(b"still here")) == [Accepted()]
        assert [body_of(m) for m in ws.receive(session, "after", 1)] == [b"still here"]


def test_our_client_refused_by_the_listener_fails_typed(broker: RunningBroker) -> None:
    with pytest.raises(WebSocketHandshakeError) as info, \
            WsPump(ws_of(broker), sasl=GUEST, subprotocols=("mqtt",)) as ws:
        ws.begin()
    assert info.value.status == 400


def wait_until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.01)


# -- amqp10 broker --ws-port ------------------------------------------------------------------

def test_the_command_serves_websocket_too() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "amqp10_cli", "broker", "--port", "0",
                             "--ws-port", "0", "--user", "guest:guest"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().decode()
        second = proc.stdout.readline().decode()
        assert first.startswith("amqp10 broker listening on amqp://127.0.0.1:"), first
        found = re.fullmatch(r"amqp10 broker listening for AMQP over WebSocket on "
                             r"amqpws://127\.0\.0\.1:(\d+)/\n", second)
        assert found, second
        with WsPump(int(found[1]), path="/any/path", sasl=GUEST) as ws:
            session = ws.begin()
            assert ws.send(session, "cli", Message(b"hi")) == [Accepted()]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
