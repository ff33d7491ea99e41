"""The Azure how-to's programs (docs/howto/azure.md includes them from here), run by
tests/requests/test_azure_examples.py against the embedded broker's $cbs and
$management nodes.

The imports name private modules until the packages export these names (then:
``from amqp10_sync import CbsClient, ManagementClient`` and
``from amqp10_proto import parse_connection_string, SasCredential ...``).
"""

from __future__ import annotations

import time
from typing import Any

import amqp10_sync as amqp
from amqp10_proto import Int, Message, SaslAnonymous
from amqp10_proto._cbs import JWT_TOKEN_TYPE, AccessToken, SasCredential
from amqp10_proto._connstr import ConnectionString, parse_connection_string
from amqp10_sync._requests import CbsClient, ManagementClient


def connect(connection_string: str, **options: Any) -> tuple[amqp.Connection, ConnectionString]:
    """Open the namespace a connection string names: SASL ANONYMOUS, then CBS."""
    cs = parse_connection_string(connection_string)
    return amqp.open_connection(cs.url, sasl=SaslAnonymous(), **options), cs


def authorize_with_key(session: amqp.Session, cs: ConnectionString) -> CbsClient:
    """Put a SAS token for the entity on $cbs and keep it fresh (a thread renews it at
    90 % of its life) until ``cbs.close()``."""
    assert cs.key_name and cs.key, "this connection string holds a ready SAS, not a key"
    cbs = CbsClient(session)
    cbs.open()
    cbs.authorize(cs.audience(), SasCredential(cs.key_name, cs.key, ttl=3600))
    cbs.start_refresh()
    return cbs


def authorize_with_token(session: amqp.Session, audience: str, get_jwt: Any) -> CbsClient:
    """The same with a token you get elsewhere (an Entra ID token from azure-identity's
    ``credential.get_token("https://servicebus.azure.net/.default")``, say)."""

    def provider(audience: str) -> AccessToken:
        token, expires_on = get_jwt()
        return AccessToken(token=token, expires_at=expires_on, token_type=JWT_TOKEN_TYPE)

    cbs = CbsClient(session)
    cbs.open()
    cbs.authorize(audience, provider)
    cbs.start_refresh()
    return cbs


def peek(session: amqp.Session, queue: str, count: int = 10,
         from_sequence_number: int = 0) -> list[Message]:
    """Service Bus's peek on the entity's management node: messages stay where they are."""
    with ManagementClient(session, f"{queue}/$management") as mgmt:
        reply = mgmt.call("com.microsoft:peek-message", type="entity-mgmt",
                          body={"from-sequence-number": from_sequence_number,
                                "message-count": Int(count)}, timeout=30)
    if reply.body is None:  # 204: nothing to peek
        return []
    return [Message.decode(item["message"]) for item in reply.body["messages"]]


def main(connection_string: str) -> None:
    conn, cs = connect(connection_string, timeout=30)
    with conn, conn.open_session() as session:
        cbs = authorize_with_key(session, cs)
        assert cs.entity is not None
        with session.open_sender(cs.entity) as sender:
            sender.send(Message(b"hello"), timeout=30)
        for msg in peek(session, cs.entity, count=5):
            print("peeked", msg.body)
        expires = cbs.refresh.expires_at(cs.audience()) or 0
        print(f"token valid for {expires - time.time():.0f} s more")
        cbs.close()
