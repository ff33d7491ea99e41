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
from amqp10_proto import DeliveryUpdated, Message


def read(msg: Message, event: DeliveryUpdated) -> None:
    reveal_type(msg.properties)  # R:message.properties
    reveal_type(msg.header)  # R:message.header
    reveal_type(event.state)  # R:event.state
    assert msg.properties is not None
    print(msg.properties.mesage_id)  # E:attr-defined
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
    types = {
        "connection": f"{p}._connection.Connection",
        "session": f"{p}._session.Session",
        "session.connection": f"{p}._connection.Connection",
        "sender": f"{p}._link.Sender",
        "sender.aenter": f"{p}._link.Sender",
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
}

# -- what waits for an edit in a file another engineer holds -----------------------------
_LINK_SESSION = ("{f}: `class _Link(LinkBase)` -> `class _Link(LinkBase[\"Session\"])`, and "
                 "the Sender/Receiver bases likewise ({sender}, {receiver})")
_SEND = ("{f}: Sender.send / wait_settled (and the private waits they return) "
         "`-> Any` -> `-> DeliveryState | None` (from amqp10_proto import DeliveryState)")
_PROPS = ("src/amqp10_proto/client.py: ReceivedSections.header `-> Any` -> `-> Header | None`, "
          ".properties `-> Any` -> `-> Properties | None`")

_SYNC_LINK = "src/amqp10_sync/_link.py"
_ASYNCIO_LINK = "src/amqp10_asyncio/_link.py"
_TRIO_LINK = "src/amqp10_trio/_link.py"


def _async_pending(f: str) -> dict[str, str]:
    return {
        "sender.aenter": f"{f}: `async def __aenter__(self) -> Any` -> `-> Self` "
                         "(from typing_extensions import Self)",
        "sender.session": _LINK_SESSION.format(
            f=f, sender='SenderBase["Session"]',
            receiver='AsyncReceiverBase["Session", ReceivedMessage], which needs '
                     'src/amqp10_proto/_asyncreceiver.py generic in the session too'),
        "receiver.session": _LINK_SESSION.format(
            f=f, sender='SenderBase["Session"]',
            receiver='AsyncReceiverBase["Session", ReceivedMessage], which needs '
                     'src/amqp10_proto/_asyncreceiver.py generic in the session too'),
        "send": _SEND.format(f=f),
        "wait_settled": _SEND.format(f=f),
        "msg.header": _PROPS,
        "msg.properties": _PROPS,
        "E:arg-type": "src/amqp10_proto/_asyncreceiver.py: accept/reject/release/modify "
                      "`msg: Any` -> `msg: M`",
        "E:attr-defined": _PROPS,
    }


_ENTER = (f"{_SYNC_LINK}: `def __enter__(self) -> Any` -> `-> Self` "
          "(from typing_extensions import Self)")
_SYNC_EXTRA = {
    "sender.session": _LINK_SESSION.format(f=_SYNC_LINK, sender='SenderBase["Session"]',
                                           receiver='ReceiverBase["Session"]'),
    "send": _SEND.format(f=_SYNC_LINK),
    "wait_settled": _SEND.format(f=_SYNC_LINK),
    "msg.header": _PROPS,
    "msg.properties": _PROPS,
    "E:attr-defined": _PROPS,
}
_SYNC_EXTRA["receiver.session"] = _SYNC_EXTRA["sender.session"]

#: package -> key -> the edits that make it pass; each is a strict xfail until then.
PENDING: dict[str, dict[str, str]] = {
    "amqp10_sync": {
        k: "; ".join(filter(None, (_ENTER, _SYNC_EXTRA.get(k))))
        for k in ("sender", "sender.session", "send", "wait_settled", "receiver",
                  "receiver.session", "receiver.address", "msg", "msg.header",
                  "msg.properties", "delivery.remote_state", "receive_batch",
                  "iteration", "E:attr-defined")
    },
    "amqp10_asyncio": _async_pending(_ASYNCIO_LINK),
    "amqp10_trio": _async_pending(_TRIO_LINK),
}
