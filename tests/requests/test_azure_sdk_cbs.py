"""The Azure SDK's own clients (azure-servicebus ``_pyamqp``, a test-only dependency)
against the embedded broker: its CBS client puts its SAS token to $cbs (taken when good,
refused with the SDK's own TokenAuthFailure, status 401, when wrongly signed or
expired), and its management link peeks a queue through <queue>/$management. This
shows our server side speaks the dialect the real service speaks to that client."""

from __future__ import annotations

import importlib
import time
from typing import Any

import pytest

import amqp10_sync
from amqp10_cli import RunningBroker
from amqp10_cli._broker_nodes import BrokerNodes
from amqp10_proto import Message
from amqp10_proto._sas import generate_sas_token

# Imported (never skipped: the dev extra installs the SDK), as Any: the SDK's annotations are partial (untyped calls).
_auth: Any = importlib.import_module("azure.servicebus._pyamqp.authentication")
_client: Any = importlib.import_module("azure.servicebus._pyamqp.client")
_error: Any = importlib.import_module("azure.servicebus._pyamqp.error")
AccessToken, JWTTokenAuth, SASTokenAuth = _auth.AccessToken, _auth.JWTTokenAuth, _auth.SASTokenAuth
TokenAuthFailure: type[Exception] = _error.TokenAuthFailure


def open_client(broker: RunningBroker, auth: Any) -> Any:
    client = _client.AMQPClient(f"127.0.0.1:{broker.port}", auth=auth, use_tls=False,
                        socket_timeout=10, auth_timeout=10)
    client.open()
    deadline = time.monotonic() + 15
    try:
        while not client.client_ready():  # the SDK's CBS handshake runs in here
            assert time.monotonic() < deadline, "the SDK's CBS handshake did not finish"
            time.sleep(0.01)
    except BaseException:
        client.close()
        raise
    return client


def test_sdk_puts_a_good_sas_token(broker: RunningBroker, nodes: BrokerNodes) -> None:
    uri = f"sb://127.0.0.1:{broker.port}/sdk-good"
    client = open_client(broker, SASTokenAuth(uri, uri, "policy", "secret"))
    try:
        taken = {aud: exp for per_conn in list(nodes.tokens.values()) for aud, exp in
                 per_conn.items()}
        assert uri in taken and taken[uri] > time.time()
    finally:
        client.close()


def test_sdk_token_signed_with_the_wrong_key_is_refused(broker: RunningBroker) -> None:
    uri = f"sb://127.0.0.1:{broker.port}/sdk-bad"
    with pytest.raises(TokenAuthFailure) as info:
        open_client(broker, SASTokenAuth(uri, uri, "policy", "not-the-key"))
    assert "401" in str(info.value) and "signature" in str(info.value)


def test_sdk_expired_token_is_refused(broker: RunningBroker) -> None:
    uri = f"sb://127.0.0.1:{broker.port}/sdk-expired"
    expired = int(time.time()) - 5

    def get_token(*_: Any) -> Any:
        # The SDK only checks the expiry it is told, so tell it a later one.
        return AccessToken(generate_sas_token(uri, "policy", "secret", expired),
                           int(time.time()) + 3600)

    auth = JWTTokenAuth(uri, uri, get_token, token_type=b"servicebus.windows.net:sastoken")
    with pytest.raises(TokenAuthFailure) as info:
        open_client(broker, auth)
    assert "401" in str(info.value) and "expired" in str(info.value)


def test_sdk_management_client_peeks(broker: RunningBroker) -> None:
    # The call Service Bus's receiver.peek_messages makes: its own management link to
    # <entity>/$management, operation com.microsoft:peek-message, type entity-mgmt.
    utils: Any = importlib.import_module("azure.servicebus._pyamqp.utils")
    sdk_message: Any = importlib.import_module("azure.servicebus._pyamqp.message")
    queue = f"sdk-peek-{int(time.time() * 1000)}"
    with amqp10_sync.open_connection(broker.url, timeout=10) as conn, \
            conn.open_session() as session, session.open_sender(queue) as sender:
        for body in (b"one", b"two", b"three"):
            sender.send(Message(body))
        uri = f"sb://127.0.0.1:{broker.port}/{queue}"
        client = open_client(broker, SASTokenAuth(uri, uri, "policy", "secret"))
        try:
            request = sdk_message.Message(value={"from-sequence-number": utils.amqp_long_value(1),
                                                 "message-count": 5},
                                          application_properties={})
            status, description, reply = client.mgmt_request(
                request, operation=utils.amqp_string_value("com.microsoft:peek-message"),
                operation_type=utils.amqp_string_value(b"entity-mgmt"),
                node=f"{queue}/$management".encode(), timeout=10)
        finally:
            client.close()
    assert (status, description) == (200, b"OK")
    peeked = [Message.decode(item[b"message"]).body for item in reply.value[b"messages"]]
    assert peeked == [b"two", b"three"]
