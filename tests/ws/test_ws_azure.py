"""The Azure SDK's own AMQP-over-WebSocket client (azure-servicebus ``_pyamqp`` with
TransportType.AmqpOverWebsocket, on websocket-client: code we did not write) against the
embedded broker's WebSocket listener: it sends and receives, offering Azure's subprotocol
name (``AMQPWSB10``) or the binding's (``amqp``), and what it sends over WebSocket is what
our core receives over TCP, and the other way round."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Accepted, Message, SaslPlain

from .wspump import WsPump

# Imported (never skipped: the dev extra installs the SDK), as Any: the SDK's annotations are partial (untyped calls).
_client: Any = importlib.import_module("azure.servicebus._pyamqp.client")
_transport: Any = importlib.import_module("azure.servicebus._pyamqp._transport")
_auth: Any = importlib.import_module("azure.servicebus._pyamqp.authentication")
_constants: Any = importlib.import_module("azure.servicebus._pyamqp.constants")
_message: Any = importlib.import_module("azure.servicebus._pyamqp.message")
importlib.import_module("websocket")  # websocket-client: the SDK's WebSocket transport

GUEST = SaslPlain("guest", "guest")


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(ws_port=0, users={"guest": "guest"}) as running:
        yield running


@pytest.fixture(params=["AMQPWSB10", "amqp"])
def subprotocol(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """What the SDK offers: its own default, or the binding's name (as ws_smoke_test does)."""
    assert _transport.AMQP_WS_SUBPROTOCOL == "AMQPWSB10"  # the SDK's default, unchanged
    monkeypatch.setattr(_transport, "AMQP_WS_SUBPROTOCOL", request.param)
    return str(request.param)


def sdk_options(broker: RunningBroker) -> dict[str, Any]:
    return {"auth": _auth.SASLPlainAuth("guest", "guest"),
            "transport_type": _constants.TransportType.AmqpOverWebsocket, "use_tls": False,
            "custom_endpoint_address": f"ws://127.0.0.1:{broker.ws_port}/$servicebus/websocket",
            "socket_timeout": 10}


def sdk_send(broker: RunningBroker, queue: str, values: list[str]) -> None:
    # rcv-settle-mode first: the SDK's SendClient asks for second by default, then acts
    # only on a settled disposition, and our broker honours second (see the report).
    with _client.SendClient("127.0.0.1", queue, **sdk_options(broker),
                            receive_settle_mode=_constants.ReceiverSettleMode.First) as sender:
        for i, value in enumerate(values):
            sender.send_message(_message.Message(
                value=value, application_properties={"seq": i},
                properties=_message.Properties(message_id=f"id-{i}")), timeout=10)


def sdk_receive(broker: RunningBroker, queue: str, count: int) -> list[Any]:
    got: list[Any] = []
    with _client.ReceiveClient("127.0.0.1", queue, link_credit=count, timeout=10,
                               **sdk_options(broker)) as receiver:
        for frame, message in receiver.receive_messages_iter(timeout=10):
            receiver.settle_messages(frame[1], frame[2], "accepted")
            got.append(message)
            if len(got) == count:
                break
    return got


def test_the_sdk_sends_and_receives_over_websocket(broker: RunningBroker,
                                                   subprotocol: str) -> None:
    queue = f"sdk-{subprotocol}"
    sdk_send(broker, queue, [f"{subprotocol}-{i}" for i in range(5)])
    got = sdk_receive(broker, queue, 5)
    assert [m.value for m in got] == [f"{subprotocol}-{i}".encode() for i in range(5)]
    assert [m.application_properties[b"seq"] for m in got] == list(range(5))
    assert queue not in broker.broker.router.queues or not len(broker.broker.router.queues[queue])


def test_what_the_sdk_sends_over_websocket_our_core_receives_over_tcp(
        broker: RunningBroker) -> None:
    sdk_send(broker, "sdk-to-tcp", ["one", "two"])
    with WsPump(broker.port, sasl=GUEST, ws=False) as tcp:
        got = tcp.receive(tcp.begin(), "sdk-to-tcp", 2)
    assert [m.body for m in got] == ["one", "two"]  # amqp-value bodies
    assert [m.properties.message_id for m in got if m.properties] == ["id-0", "id-1"]


def test_what_our_client_sends_over_websocket_the_sdk_receives(broker: RunningBroker) -> None:
    assert broker.ws_port is not None
    with WsPump(broker.ws_port, path="/$servicebus/websocket", sasl=GUEST) as ws:
        outcomes = ws.send(ws.begin(), "ours-to-sdk",
                           *[Message(f"m{i}".encode(),
                                     application_properties={"n": i})
                             for i in range(3)])
    assert outcomes == [Accepted()] * 3
    got = sdk_receive(broker, "ours-to-sdk", 3)
    assert [m.data for m in got] == [[b"m0"], [b"m1"], [b"m2"]]
    assert [m.application_properties[b"n"] for m in got] == [0, 1, 2]
