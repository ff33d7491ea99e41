"""The Azure how-to's programs (docs/examples/azure.py) against the embedded broker's
$cbs (keys policy/secret), $management and WebSocket listener, through tinyproxy, and
across a reconnect; the broker of the last tests refuses, as Azure does, a link whose
entity no token put on its connection covers (``BrokerNodes.require_tokens``)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest

import amqp10_sync
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import (
    BATCH_MESSAGE_FORMAT,
    Error,
    ErrorCondition,
    Message,
    decode_batch,
    generate_sas_token,
)
from amqp10_proto.errors import LinkDetachedError, ProxyAuthenticationError, RequestUnauthorized
from tests.faultproxy import FaultProxy
from tests.proxy.tinyproxy import AUTH, Proxy, start_proxy, stop_proxies

from .azure_examples import azure as ex

KEYS = {"policy": "secret"}


def connection_string(port: int, entity: str, key: str = "secret") -> str:
    return (f"Endpoint=sb://127.0.0.1:{port}/;SharedAccessKeyName=policy;"
            f"SharedAccessKey={key};EntityPath={entity};UseDevelopmentEmulator=true")


def entity() -> str:
    return f"azq-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def azure_like() -> Iterator[RunningBroker]:
    """$cbs with SAS validation, tokens required before links, a WebSocket listener."""
    with start_broker(allow_anonymous=True, sas_keys=KEYS, ws_port=0) as running:
        running.broker.nodes.require_tokens = True
        yield running


@pytest.fixture(scope="module")
def auth_proxy() -> Iterator[Proxy]:
    yield start_proxy(AUTH)
    stop_proxies()


def test_main_sends_peeks_and_holds_a_token(broker: RunningBroker,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    ex.main(connection_string(broker.port, entity()))
    out = capsys.readouterr().out
    assert "peeked b'hello'" in out
    assert re.search(r"token valid for (3599|3600) s more", out), out


def test_a_wrong_key_is_refused(broker: RunningBroker) -> None:
    conn, cs = ex.connect(connection_string(broker.port, "azq-x", key="wrong"), timeout=10)
    with conn, conn.open_session() as session, pytest.raises(RequestUnauthorized):
        ex.authorize_with_key(session, cs)


def test_token_callable(broker: RunningBroker) -> None:
    audience = f"sb://127.0.0.1:{broker.port}/jwt-ish"

    def get_jwt() -> tuple[str, float]:
        # The embedded broker checks SAS tokens only; a SAS token under the JWT type is
        # refused (400), which shows the type travels as given.
        return generate_sas_token(audience, "policy", "secret", time.time() + 60), time.time() + 60

    conn, _ = ex.connect(connection_string(broker.port, "x"), timeout=10)
    with conn, conn.open_session() as session, pytest.raises(Exception) as info:
        ex.authorize_with_token(session, audience, get_jwt)
    assert getattr(info.value, "status_code", None) == 400


def test_peek_of_an_empty_queue(broker: RunningBroker) -> None:
    conn, _ = ex.connect(connection_string(broker.port, "x"), timeout=10)
    q = f"empty-{uuid.uuid4().hex[:8]}"
    with conn, conn.open_session() as session, session.open_sender(q):  # the queue exists
        assert ex.peek(session, q) == []


def test_the_websocket_url_is_azures() -> None:
    cs = ex.parse_connection_string("Endpoint=sb://ns.servicebus.windows.net/;"
                                    "SharedAccessKeyName=p;SharedAccessKey=k")
    assert ex.endpoint_url(cs) == "amqps://ns.servicebus.windows.net/"
    assert ex.endpoint_url(cs, websocket=True) == \
        "amqpwss://ns.servicebus.windows.net/$servicebus/websocket"


def test_without_a_token_the_entity_is_refused(azure_like: RunningBroker) -> None:
    """What makes the tests below mean something: no token, no link, as on Azure."""
    conn, cs = ex.connect(connection_string(azure_like.port, entity()), timeout=10)
    with conn, conn.open_session() as session, pytest.raises(LinkDetachedError) as info:
        session.open_sender(cs.entity)
    assert isinstance(info.value.error, Error)
    assert info.value.error.condition == ErrorCondition.UNAUTHORIZED_ACCESS


def test_main_over_websocket_through_a_proxy(azure_like: RunningBroker, auth_proxy: Proxy,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert azure_like.ws_port is not None
    text = connection_string(azure_like.ws_port, entity())
    ex.main(text, websocket=True, http_proxy=auth_proxy.url)
    out = capsys.readouterr().out
    assert "peeked b'hello'" in out, out
    # The proxy was in the path: without its credentials it refuses the tunnel.
    with pytest.raises(ProxyAuthenticationError) as info:
        ex.main(text, websocket=True, http_proxy=auth_proxy.url_without_credentials)
    assert info.value.status in (401, 407)
    assert info.value.proxy == f"127.0.0.1:{auth_proxy.port}"


def test_a_batch_is_one_delivery_of_the_orders(azure_like: RunningBroker) -> None:
    conn, cs = ex.connect(connection_string(azure_like.port, entity()), timeout=10)
    with conn, conn.open_session() as session:
        cbs = ex.authorize_with_key(session, cs)
        ex.send_orders(conn, cs.entity, [b"one", b"two", b"three"], session_id="s-1")
        with session.open_receiver(cs.entity) as receiver:
            msg = receiver.receive(timeout=10)
            msg.accept()
        cbs.close()
    assert msg.delivery.message_format == BATCH_MESSAGE_FORMAT
    inner = decode_batch(msg.message)
    assert [m.body for m in inner] == [b"one", b"two", b"three"]
    assert [m.properties.message_id for m in inner if m.properties] == [
        "order-0", "order-1", "order-2"]
    assert msg.message.properties is not None and msg.message.properties.group_id == "s-1"


def test_the_token_is_put_again_after_a_reconnect(azure_like: RunningBroker) -> None:
    """The how-to's reconnect paragraph with its own code: the send after the cut waits
    for the token, then for the link, and goes through."""
    fast = amqp10_sync.Reconnect(initial_delay=0.05, max_delay=0.2, max_duration=20)
    with FaultProxy(azure_like.port) as cutter:
        conn, cs = ex.connect(connection_string(cutter.port, entity()), reconnect=fast,
                              timeout=10)
        with conn, conn.open_session() as session:
            cbs = ex.authorize_with_key(session, cs)
            sender = session.open_sender(cs.entity)
            sender.send(Message(b"before"))
            cutter.cut()
            sender.send(Message(b"after"), timeout=15)
            assert conn.reconnects == 1
            assert [m.body for m in ex.peek(session, cs.entity)] == [b"before", b"after"]
            cbs.close()
