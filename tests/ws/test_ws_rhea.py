"""Our client layer against a WebSocket server we did not write: rhea_broker's listener
(rhea 3.0.5 on the npm ``ws`` 8.18 server, ../shared/peers), through a small pump (a plain
socket, amqp10_ws and an amqp10_proto core). It takes only the subprotocol ``amqp``, so
it also shows our client failing typed when the server refuses the upgrade."""

from __future__ import annotations

import os

import pytest

from amqp10_proto import Accepted, Message, SaslPlain
from amqp10_ws import WebSocketHandshakeError
from tests.interop.peers import Peer, start

from .wspump import WsPump, body_of

GUEST = SaslPlain("guest", "guest")


@pytest.fixture(scope="module")
def rhea() -> Peer:
    peer = start("rhea-broker-ws")
    assert peer.ws_port is not None
    return peer


def ws_port(peer: Peer) -> int:
    assert peer.ws_port is not None
    return peer.ws_port


@pytest.mark.parametrize("path", ["/", "/$servicebus/websocket"])
def test_we_send_and_receive_over_rheas_websocket(rhea: Peer, path: str) -> None:
    queue = f"ws-rhea-{os.urandom(4).hex()}"
    with WsPump(ws_port(rhea), path=path, sasl=GUEST) as ws:
        session = ws.begin()
        assert ws.ws is not None and ws.ws.subprotocol == "amqp"
        sent = [Message(f"to rhea {i}".encode(), application_properties={"i": i})
                for i in range(5)]
        assert ws.send(session, queue, *sent) == [Accepted()] * 5
        got = ws.receive(session, queue, 5)
    assert [body_of(m) for m in got] == [f"to rhea {i}".encode() for i in range(5)]
    assert [(m.application_properties or {}).get("i") for m in got] == list(range(5))


def test_what_we_send_over_websocket_arrives_over_rheas_tcp_port(rhea: Peer) -> None:
    queue = f"ws-rhea-tcp-{os.urandom(4).hex()}"
    payload = os.urandom(1024 * 1024)  # split in many AMQP frames and WebSocket frames
    with WsPump(ws_port(rhea), sasl=GUEST, timeout=30) as ws:
        assert ws.send(ws.begin(), queue, Message(payload)) == [Accepted()]
    with WsPump(rhea.port, sasl=GUEST, ws=False, timeout=30) as tcp:
        (got,) = tcp.receive(tcp.begin(), queue, 1)
    assert body_of(got) == payload
    with WsPump(rhea.port, sasl=GUEST, ws=False, timeout=30) as tcp:
        assert tcp.send(tcp.begin(), queue, Message(payload[::-1])) == [Accepted()]
    with WsPump(ws_port(rhea), sasl=GUEST, timeout=30) as ws:
        (back,) = ws.receive(ws.begin(), queue, 1)
    assert body_of(back) == payload[::-1]


def test_rhea_refusing_our_upgrade_is_a_typed_error(rhea: Peer) -> None:
    # rhea_broker takes only "amqp" (unless told otherwise): offering only the draft's
    # name gets HTTP 400, which our client reports with the status, never a hang.
    with pytest.raises(WebSocketHandshakeError) as info, \
            WsPump(ws_port(rhea), sasl=GUEST, subprotocols=("AMQPWSB10",)) as ws:
        ws.begin()
    assert info.value.status == 400
