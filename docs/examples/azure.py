"""Azure Service Bus and Event Hubs over AMQP 1.0 with the blocking adapter.

Neither service is reachable from the tests: tests/test_docs.py and
tests/requests/test_azure_examples.py run these functions against the embedded broker
(its ``$cbs`` node checks SAS tokens and, like Azure, refuses a link before its token;
its WebSocket listener takes Azure's path; tinyproxy stands in for a corporate proxy).
That broker ignores the session filter and keeps a batch whole, so what is checked is
our side of each exchange. Names, addresses and filter formats follow Microsoft's AMQP
1.0 guides and the Azure SDKs; check them against your namespace.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import amqp10_sync as amqp
from amqp10_proto import (
    JWT_TOKEN_TYPE,
    SESSION_FILTER,
    AccessToken,
    ConnectionString,
    Int,
    Message,
    Properties,
    SasCredential,
    SaslAnonymous,
    SaslPlain,
    filter_value,
    generate_sas_token,
    parse_connection_string,
    selector_filter,
    session_filter,
)
from amqp10_proto.client import ProxyOption

#: Azure's AMQP-over-WebSocket endpoint: this path, on port 443.
WEBSOCKET_PATH = "/$servicebus/websocket"


def connect_with_sas_key(host: str, key_name: str, key: str, **options: Any) -> amqp.Connection:
    """amqps:// on 5671 with SASL PLAIN: the SAS policy's name as user, its key as password.

    ``host`` is ``<namespace>.servicebus.windows.net``. Giving ``SaslPlain`` explicitly
    spares percent-encoding the key (``+``, ``/``, ``=``) into the URL.
    """
    return amqp.open_connection(f"amqps://{host}/", sasl=SaslPlain(key_name, key), **options)


def endpoint_url(cs: ConnectionString, *, websocket: bool = False) -> str:
    """The URL to open: ``amqps://<namespace>/`` (TLS on 5671), or with ``websocket``
    ``amqpwss://<namespace>/$servicebus/websocket`` (TLS on 443). A development endpoint
    (``UseDevelopmentEmulator=true``) is plain ``amqp://`` or ``amqpws://``."""
    if not websocket:
        return cs.url
    scheme = "amqpws" if cs.emulator else "amqpwss"
    host = f"[{cs.host}]" if ":" in cs.host else cs.host
    port = "" if cs.port is None else f":{cs.port}"
    return f"{scheme}://{host}{port}{WEBSOCKET_PATH}"


def connect(connection_string: str, *, websocket: bool = False,
            http_proxy: ProxyOption = None,
            **options: Any) -> tuple[amqp.Connection, ConnectionString]:
    """Open the namespace a connection string names: SASL ANONYMOUS, then tokens on $cbs.

    ``http_proxy``: None reads ``HTTPS_PROXY`` (and ``NO_PROXY``) from the environment,
    False goes direct, ``"http://user:password@proxy:3128"`` uses that proxy.
    """
    cs = parse_connection_string(connection_string)
    conn = amqp.open_connection(endpoint_url(cs, websocket=websocket), sasl=SaslAnonymous(),
                                http_proxy=http_proxy, **options)
    return conn, cs


def authorize_with_key(session: amqp.Session, cs: ConnectionString) -> amqp.CbsClient:
    """Put a SAS token for the entity on $cbs and keep it fresh (a thread renews it at
    90 % of its life, and after a reconnect) until ``cbs.close()``."""
    assert cs.key_name and cs.key, "this connection string holds a ready SAS, not a key"
    cbs = amqp.CbsClient(session)
    cbs.open()
    cbs.authorize(cs.audience(), SasCredential(cs.key_name, cs.key, ttl=3600))
    cbs.start_refresh()
    return cbs


def authorize_with_token(session: amqp.Session, audience: str,
                         get_jwt: Callable[[], tuple[str, float]]) -> amqp.CbsClient:
    """The same with a token you get elsewhere: ``get_jwt()`` returns the token and when
    it expires (an Entra ID token from azure-identity, say:
    ``t = credential.get_token("https://servicebus.azure.net/.default")``, then
    ``(t.token, t.expires_on)``). Passed through as it is, type ``jwt``."""

    def provider(audience: str) -> AccessToken:
        token, expires_on = get_jwt()
        return AccessToken(token=token, expires_at=expires_on, token_type=JWT_TOKEN_TYPE)

    cbs = amqp.CbsClient(session)
    cbs.open()
    cbs.authorize(audience, provider)
    cbs.start_refresh()
    return cbs


def send_to_queue(conn: amqp.Connection, queue: str, body: bytes,
                  session_id: str | None = None) -> None:
    """Send one message; a session-enabled queue needs the session id in ``group_id``."""
    with conn.open_session() as session, session.open_sender(queue) as sender:
        sender.send(Message(body, properties=Properties(group_id=session_id)), timeout=30)


def send_orders(conn: amqp.Connection, queue: str, orders: Iterable[bytes],
                session_id: str | None = None) -> None:
    """Several messages as one batch (one transfer, one outcome), as the SDK's
    ``send_messages(batch)``; put one session's (or partition's) messages in a batch."""
    messages = [Message(body, properties=Properties(message_id=f"order-{i}",
                                                    group_id=session_id))
                for i, body in enumerate(orders)]
    with conn.open_session() as session, session.open_sender(queue) as sender:
        sender.send_batch(messages, timeout=30)


def receive_from_session(conn: amqp.Connection, queue: str, session_id: str | None,
                         count: int) -> list[bytes]:
    """Receive from one session of a session-enabled queue (None: the next free one)."""
    bodies = []
    with (
        conn.open_session() as session,
        session.open_receiver(queue, credit=count,
                              filters=session_filter(session_id)) as receiver,
    ):
        # Service Bus answers with the session it locked, in its attach's filter.
        print("locked session:", filter_value(receiver.remote_source, SESSION_FILTER))
        for msg in receiver.receive_batch(count, timeout=10):
            msg.accept()  # "complete" in Service Bus terms
            bodies.append(msg.body)
    return bodies


def event_hubs_address(hub: str, consumer_group: str, partition: int) -> str:
    """The address of one partition of an event hub, as seen by one consumer group."""
    return f"{hub}/ConsumerGroups/{consumer_group}/Partitions/{partition}"


def offset_filter(offset: str) -> dict[str, Any]:
    """Start after ``offset`` ("-1": the beginning of the partition, "@latest": new events)."""
    return selector_filter(f"amqp.annotation.x-opt-offset > '{offset}'")


def read_partition(conn: amqp.Connection, hub: str, partition: int, offset: str = "-1",
                   consumer_group: str = "$Default", count: int = 10) -> list[Any]:
    """Up to ``count`` events of one partition after ``offset``; each with its offset."""
    events = []
    with (
        conn.open_session() as session,
        session.open_receiver(event_hubs_address(hub, consumer_group, partition),
                              credit=count, filters=offset_filter(offset)) as receiver,
    ):
        for msg in receiver.receive_batch(count, timeout=10):
            annotations = msg.message_annotations or {}
            events.append((annotations.get("x-opt-offset"), msg.body))
            msg.accept()
    return events


def sas_token(resource_uri: str, key_name: str, key: str, ttl: float = 3600) -> str:
    """One Shared Access Signature for ``resource_uri`` (``sb://<namespace>/<entity>``),
    valid ``ttl`` seconds: for a tool that wants the token itself (CbsClient makes its own)."""
    return generate_sas_token(resource_uri, key_name, key, time.time() + ttl)


def peek(session: amqp.Session, queue: str, count: int = 10,
         from_sequence_number: int = 0) -> list[Message]:
    """Service Bus's peek on the entity's management node: messages stay where they are."""
    with amqp.ManagementClient(session, f"{queue}/$management") as mgmt:
        reply = mgmt.call("com.microsoft:peek-message", type="entity-mgmt",
                          body={"from-sequence-number": from_sequence_number,
                                "message-count": Int(count)}, timeout=30)
    if reply.body is None:  # 204: nothing to peek
        return []
    return [Message.decode(item["message"]) for item in reply.body["messages"]]


def main(connection_string: str, *, websocket: bool = False,
         http_proxy: ProxyOption = None) -> None:
    """Connect, authorize, send, peek; over WebSocket and a proxy if asked."""
    conn, cs = connect(connection_string, websocket=websocket, http_proxy=http_proxy,
                       timeout=30)
    with conn, conn.open_session() as session:
        cbs = authorize_with_key(session, cs)  # before any link to the entity
        assert cs.entity is not None
        with session.open_sender(cs.entity) as sender:
            sender.send(Message(b"hello"), timeout=30)
        for msg in peek(session, cs.entity, count=5):
            print("peeked", msg.body)
        expires = cbs.refresh.expires_at(cs.audience()) or 0
        print(f"token valid for {expires - time.time():.0f} s more")
        cbs.close()
