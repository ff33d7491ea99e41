"""User-style programs for the typing test, one per adapter, and what mypy must say of them.

Each ``reveal_type`` line ends with ``# R:<key>``; :data:`EXPECTED` holds the type mypy
must reveal there. A line ending ``# E:<code>`` must be a mypy error with that code
(a misspelt attribute is an error, not an Any). ``{amqp}`` is the adapter's package.
The programs are only type-checked, never run.
"""

from __future__ import annotations

SYNC = '''
import amqp10_sync as amqp
from amqp10_proto import Message


def main() -> None:
    with amqp.open_connection("amqp://127.0.0.1") as conn:
        reveal_type(conn)  # R:connection
        with conn.open_session() as session:
            reveal_type(session)  # R:session
            reveal_type(session.connection)  # R:session.connection
            with session.open_sender("q") as sender:
                reveal_type(sender)  # R:sender
                reveal_type(sender.session)  # R:sender.session
                reveal_type(sender.send(Message(b"x")))  # R:send
                reveal_type(sender.wait_settled(sender.send_nowait(b"x")))  # R:wait_settled
            with session.open_receiver("q") as receiver:
                reveal_type(receiver)  # R:receiver
                reveal_type(receiver.session)  # R:receiver.session
                reveal_type(receiver.address)  # R:receiver.address
                msg = receiver.receive(timeout=1)
                reveal_type(msg)  # R:msg
                reveal_type(msg.header)  # R:msg.header
                reveal_type(msg.properties)  # R:msg.properties
                reveal_type(msg.delivery.remote_state)  # R:delivery.remote_state
                reveal_type(receiver.receive_batch(2))  # R:receive_batch
                for each in receiver:
                    reveal_type(each)  # R:iteration
                    break
                receiver.accept(42)  # E:arg-type
                assert msg.properties is not None
                print(msg.properties.mesage_id)  # E:attr-defined
'''

ASYNC = '''
import {amqp} as amqp
from amqp10_proto import Message


async def main() -> None:
    async with amqp.open_connection("amqp://127.0.0.1") as conn:
        reveal_type(conn)  # R:connection
        async with conn.open_session() as session:
            reveal_type(session)  # R:session
            reveal_type(session.connection)  # R:session.connection
            async with session.open_sender("q") as sender:
                reveal_type(sender)  # R:sender
                reveal_type(sender.session)  # R:sender.session
                reveal_type(await sender.send(Message(b"x")))  # R:send
                delivery = await sender.send_nowait(b"x")
                reveal_type(await sender.wait_settled(delivery))  # R:wait_settled
            opened = await session.open_sender("q")
            async with opened as entered:
                reveal_type(entered)  # R:sender.aenter
            async with session.open_receiver("q") as receiver:
                reveal_type(receiver)  # R:receiver
                reveal_type(receiver.session)  # R:receiver.session
                reveal_type(receiver.address)  # R:receiver.address
                msg = await receiver.receive(timeout=1)
                reveal_type(msg)  # R:msg
                reveal_type(msg.header)  # R:msg.header
                reveal_type(msg.properties)  # R:msg.properties
                reveal_type(msg.delivery.remote_state)  # R:delivery.remote_state
                reveal_type(await receiver.receive_batch(2))  # R:receive_batch
                async for each in receiver:
                    reveal_type(each)  # R:iteration
                    break
                await receiver.accept(42)  # E:arg-type
                assert msg.properties is not None
                print(msg.properties.mesage_id)  # E:attr-defined
'''

CORE = '''
from amqp10_proto import Declared, DeliveryUpdated, Link, Message, Receiver


def read(msg: Message, event: DeliveryUpdated, link: Link, receiver: Receiver) -> None:
    reveal_type(msg.properties)  # R:message.properties
    reveal_type(msg.header)  # R:message.header
    reveal_type(event.state)  # R:event.state
    reveal_type(link.remote_source)  # R:link.remote_source
    reveal_type(link.remote_target)  # R:link.remote_target
    assert msg.properties is not None
    reveal_type(msg.properties.message_id)  # R:properties.message_id
    reveal_type(msg.properties.reply_to)  # R:properties.reply_to
    print(msg.properties.mesage_id)  # E:attr-defined
    if isinstance(event.state, Declared):
        reveal_type(event.state.txn_id)  # R:declared.txn_id
    receiver.settle(event.delivery, "accepted")  # E:arg-type
'''

_STATE = " | ".join(f"amqp10_proto.{name}" for name in (
    "_definitions.Received", "_definitions.Accepted", "_definitions.Rejected",
    "_definitions.Released", "_definitions.Modified", "_definitions.Declared",
    "_definitions.TransactionalState", "_types.Described"))
#: What ``send`` and ``wait_settled`` give back: the peer's state (a failure raises), or
#: None for a pre-settled send; and a delivery's state, None until set.
OUTCOME = DELIVERY_STATE = _STATE + " | None"


def expected(package: str) -> dict[str, str]:
    """The revealed type of each ``# R:`` key in ``package``'s program."""
    p = package
    sender = f"{p}._sender.Sender" if p == "amqp10_asyncio" else f"{p}._link.Sender"
    types = {
        "connection": f"{p}._connection.Connection",
        "session": f"{p}._session.Session",
        "session.connection": f"{p}._connection.Connection",
        "sender": sender,
        "sender.aenter": sender,
        "sender.session": f"{p}._session.Session",
        "send": OUTCOME,
        "wait_settled": OUTCOME,
        "receiver": f"{p}._link.Receiver",
        "receiver.session": f"{p}._session.Session",
        "receiver.address": "str | None",
        "msg": f"{p}._link.ReceivedMessage",
        "msg.header": "amqp10_proto._definitions.Header | None",
        "msg.properties": "amqp10_proto._definitions.Properties | None",
        "delivery.remote_state": DELIVERY_STATE,
        "receive_batch": f"list[{p}._link.ReceivedMessage]",
        "iteration": f"{p}._link.ReceivedMessage",
    }
    if p == "amqp10_sync":
        del types["sender.aenter"]
    return types


CORE_EXPECTED = {
    "message.properties": "amqp10_proto._definitions.Properties | None",
    "message.header": "amqp10_proto._definitions.Header | None",
    "event.state": DELIVERY_STATE,
    "link.remote_source": "amqp10_proto._definitions.Source | amqp10_proto._types.Described "
                          "| None",
    "link.remote_target": "amqp10_proto._definitions.Target | amqp10_proto._definitions."
                          "Coordinator | amqp10_proto._types.Described | None",
    # 3.2.11-3.2.16: message-id-ulong, -uuid, -binary, -string; address-string; 4.5.1 binary
    "properties.message_id": "int | uuid.UUID | bytes | str | None",
    "properties.reply_to": "str | None",
    "declared.txn_id": "bytes",
}
