"""Azure Service Bus and Event Hubs over AMQP 1.0 with the blocking adapter.

Neither service is reachable from the documentation's tests: they run these
functions against a local broker, which ignores the Azure-specific filters, so
what is checked is that the code runs and builds the links it should. Names,
addresses and filter formats follow Microsoft's AMQP 1.0 protocol guide and the
Azure SDKs; check them against your namespace.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from typing import Any

import amqp10_sync as amqp
from amqp10_proto import AmqpValue, Described, Message, Properties, SaslPlain, Source, Symbol

# A session-enabled Service Bus queue: the filter's value is the session id to lock
# (None: the next available session).
SESSION_FILTER = "com.microsoft:session-filter"
# Event Hubs: where in the partition to start, as a selector on message annotations.
SELECTOR_FILTER = "apache.org:selector-filter:string"


def connect_with_sas_key(host: str, key_name: str, key: str, **options: Any) -> amqp.Connection:
    """amqps:// on 5671 with SASL PLAIN: the SAS policy's name as user, its key as password.

    ``host`` is ``<namespace>.servicebus.windows.net``. Giving ``SaslPlain`` explicitly
    spares percent-encoding the key (``+``, ``/``, ``=``) into the URL.
    """
    return amqp.open_connection(f"amqps://{host}/", sasl=SaslPlain(key_name, key), **options)


def send_to_queue(conn: amqp.Connection, queue: str, body: bytes,
                  session_id: str | None = None) -> None:
    """Send one message; a session-enabled queue needs the session id in ``group_id``."""
    with conn.open_session() as session, session.open_sender(queue) as sender:
        sender.send(Message(body, properties=Properties(group_id=session_id)), timeout=30)


def receive_from_session(conn: amqp.Connection, queue: str, session_id: str | None,
                         count: int) -> list[bytes]:
    """Receive from one session of a session-enabled queue (None: any free session)."""
    bodies = []
    with (
        conn.open_session() as session,
        session.open_receiver(queue, credit=count,
                              filters={SESSION_FILTER: session_id}) as receiver,
    ):
        # Service Bus answers with the session it locked in the attached source's filter.
        source = receiver.remote_source
        print(f"locked session: {source.filter if isinstance(source, Source) else None}")
        for msg in receiver.receive_batch(count, timeout=10):
            msg.accept()  # "complete" in Service Bus terms
            bodies.append(msg.body)
    return bodies


def event_hubs_address(hub: str, consumer_group: str, partition: int) -> str:
    """The address of one partition of an event hub, as seen by one consumer group."""
    return f"{hub}/ConsumerGroups/{consumer_group}/Partitions/{partition}"


def offset_filter(offset: str) -> dict[str, Any]:
    """Start after ``offset`` ("-1": the beginning of the partition, "@latest": new events)."""
    return {SELECTOR_FILTER: Described(Symbol(SELECTOR_FILTER),
                                       f"amqp.annotation.x-opt-offset > '{offset}'")}


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
    """A Shared Access Signature for ``resource_uri`` (``sb://<namespace>/<entity>``)."""
    expiry = str(int(time.time() + ttl))
    resource = urllib.parse.quote(resource_uri, safe="")
    to_sign = f"{resource}\n{expiry}".encode()
    signature = base64.b64encode(hmac.new(key.encode(), to_sign, hashlib.sha256).digest())
    return (f"SharedAccessSignature sr={resource}"
            f"&sig={urllib.parse.quote(signature, safe='')}&se={expiry}&skn={key_name}")


def put_token(conn: amqp.Connection, audience: str, token: str,
              token_type: str = "servicebus.windows.net:sastoken") -> int:
    """Claims-based security: hand a token to the ``$cbs`` node; its status code (200 ok).

    Not a helper of the package, and not run against Azure by the tests: a sketch of
    the request/response exchange the Azure SDKs make after a SASL ANONYMOUS login.
    """
    with (
        conn.open_session() as session,
        session.open_receiver("$cbs", target="$cbs", credit=1) as replies,
        session.open_sender("$cbs", source="$cbs") as requests,
    ):
        request = Message(AmqpValue(token), properties=Properties(message_id="put-token-1"),
                          application_properties={"operation": "put-token",
                                                  "type": token_type, "name": audience})
        requests.send(request, timeout=30)
        reply = replies.receive(timeout=30)
        reply.accept()
        status: int = (reply.application_properties or {}).get("status-code", 0)
        return status
