"""Issue 14's loose ends in the shared layer, told on two cores: a link keeps the
properties of the peer's last flow (2.7.4, what transactional acquisition reads, 4.4.3);
a message in doubt after a reconnect is sent again in its own message-format (2.7.5);
a message settled in a transaction settles once like any other (4.4.2); the defaults are
the public constants, and the adapters' transactions the public shared classes."""

from __future__ import annotations

import inspect
from collections import deque
from types import SimpleNamespace
from typing import Any

import pytest

import amqp10_asyncio
import amqp10_sync
import amqp10_trio
from amqp10_proto import (
    BATCH_MESSAGE_FORMAT,
    DEFAULT_CHANNEL_MAX,
    DEFAULT_HANDLE_MAX,
    DEFAULT_INCOMING_WINDOW,
    DEFAULT_LINK_CREDIT,
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_OUTGOING_WINDOW,
    Accepted,
    Connection,
    Delivery,
    DeliveryResumed,
    Message,
    MessageReceived,
    Rejected,
    ResumeAction,
    TransactionalState,
    client,
)
from amqp10_proto._checks import check_settle_once
from amqp10_proto._linkresume import SenderResumption
from amqp10_proto.client import AsyncClientTransaction, ClientTransaction
from amqp10_proto.performatives import Transfer

from ..corepair import CorePair, linked_pair
from ..test_engine_links import wire_frames
from ..test_link_recovery import _reattach

# {sym8 "txn-id": vbin8 b"txn-1"}: the flow properties of a transactional acquisition.
TXN_PROPERTIES = b"\xc1\x10\x02\xa3\x06txn-id\xa0\x05txn-1"


def _flow_with(link: Any, properties: dict[str, Any] | None) -> None:
    """``link``'s flow frame (its own state), carrying ``properties``."""
    flow = link.session._flow_frame(handle=link.handle, delivery_count=link.delivery_count,
                                    link_credit=link.credit)
    flow.properties = properties
    link.session._send(flow)


# -- 2.7.4: the peer's flow properties -------------------------------------------------------

def test_each_role_keeps_the_properties_of_the_peers_last_flow() -> None:
    p, sender, receiver = linked_pair(credit=0)
    assert sender.remote_flow_properties is None and receiver.remote_flow_properties is None
    _flow_with(receiver, {"txn-id": b"txn-1"})  # the receiver's flow, to our sender
    p.pump()
    assert TXN_PROPERTIES in b"".join(p.wire["server"])  # as it went on the wire
    assert sender.remote_flow_properties == {"txn-id": b"txn-1"}
    _flow_with(sender, {"echoed": True})  # and the sender's, to the receiver
    p.pump()
    assert receiver.remote_flow_properties == {"echoed": True}
    receiver.add_credit(1)  # a flow without properties: the last flow had none
    p.pump()
    assert sender.remote_flow_properties is None and sender.credit == 1


# -- 2.7.5: a resend keeps its message-format ---------------------------------------------

class _Resender(SenderResumption):
    """A sender's in-doubt messages as the adapters keep them, on a new core link."""

    def __init__(self, core: Any, resend: list[tuple[Delivery, Any]]) -> None:
        self._core = core
        self._resend = deque(resend)
        self._forward = {}
        self._resent = 0
        self._conn = SimpleNamespace(_resent_total=0)
        self._attach_args = {}
        self.tracked: list[Delivery] = []

    def _track(self, delivery: Delivery, message: Any) -> None:
        self.tracked.append(delivery)


def _in_doubt(link: Any, tag: bytes) -> Delivery:
    """A batch delivery of the link's lost incarnation (its outcome never came)."""
    return Delivery(link, 0, tag, BATCH_MESSAGE_FORMAT)


def test_an_at_least_once_resend_goes_in_the_old_deliverys_format() -> None:
    p, sender, _ = linked_pair()
    old = _in_doubt(sender, b"old")
    resender = _Resender(sender, [(old, Message(b"batch"))])
    assert resender._pump_resends()
    p.pump()
    (transfer,) = [f for f in wire_frames(p, "client") if isinstance(f, Transfer)]
    assert transfer.message_format == BATCH_MESSAGE_FORMAT
    (ev,) = p.events("server", MessageReceived)
    assert ev.delivery.message_format == BATCH_MESSAGE_FORMAT
    assert resender._forward[old] is resender.tracked[0] and resender._resent == 1


TAG = b"\x00\x00\x00\x07"


@pytest.mark.parametrize(("r_map", "action"), [({}, ResumeAction.RESEND),
                                               ({TAG: None}, ResumeAction.RESUME)])
def test_a_resumed_or_resent_delivery_keeps_its_format(r_map: dict[bytes, Any],
                                                       action: ResumeAction) -> None:
    p = CorePair()
    sender, _ = _reattach(p, client_sends=True, s_map={TAG: None}, r_map=r_map)
    assert sender.pending_resume[TAG].action is action
    p.events("client")
    old = _in_doubt(sender, TAG)
    resender = _Resender(sender, [(old, Message(b"batch"))])
    assert resender._pump_resends()
    p.pump()
    (transfer,) = [f for f in wire_frames(p, "client") if isinstance(f, Transfer)]
    assert transfer.message_format == BATCH_MESSAGE_FORMAT
    assert bool(transfer.resume) is (action is ResumeAction.RESUME)
    kind = DeliveryResumed if action is ResumeAction.RESUME else MessageReceived
    (ev,) = p.events("server", kind)
    assert ev.delivery.message_format == BATCH_MESSAGE_FORMAT


# -- 4.4.2: settled in a transaction, settled once ------------------------------------------

class _Receiver:
    def _settling(self, delivery: Delivery) -> Delivery:
        return delivery


def test_a_transactional_outcome_is_the_one_the_message_settled_with() -> None:
    _, _, receiver = linked_pair()
    delivery = Delivery(receiver, 0, b"t")
    delivery.state = TransactionalState(txn_id=b"txn-1", outcome=Accepted())
    check_settle_once(_Receiver(), delivery, "accept", (), {})  # the same: no error
    with pytest.raises(ValueError, match="settled as accepted already"):
        check_settle_once(_Receiver(), delivery, "reject", (None,), {})
    delivery.state = TransactionalState(txn_id=b"txn-1", outcome=Rejected())
    with pytest.raises(ValueError, match="settles once"):
        check_settle_once(_Receiver(), delivery, "release", (), {})
    # A transactional acquisition with no outcome yet (4.4.3) is no settlement.
    delivery.state = TransactionalState(txn_id=b"txn-1")
    check_settle_once(_Receiver(), delivery, "release", (), {})



# -- the defaults and the public names the adapters use -------------------------------------

def test_the_core_and_the_adapters_default_to_the_public_constants() -> None:
    """Each default is the constant itself, not a copy of its value: a constant changed
    in ``_defaults`` changes the default (ints above 256 are distinct objects unless
    they are the same constant)."""
    def default(func: Any, name: str) -> Any:
        return inspect.signature(func).parameters[name].default

    assert default(Connection, "max_frame_size") is DEFAULT_MAX_FRAME_SIZE
    assert default(Connection, "channel_max") is DEFAULT_CHANNEL_MAX
    for name, value in (("incoming_window", DEFAULT_INCOMING_WINDOW),
                        ("outgoing_window", DEFAULT_OUTGOING_WINDOW),
                        ("handle_max", DEFAULT_HANDLE_MAX)):
        assert default(Connection.begin_session, name) is value
    assert client.DEFAULT_MAX_MESSAGE_SIZE is DEFAULT_MAX_MESSAGE_SIZE
    for amqp in (amqp10_sync, amqp10_asyncio, amqp10_trio):
        assert default(amqp.Session.open_receiver, "credit") == DEFAULT_LINK_CREDIT
        assert default(amqp.Session.open_receiver, "max_message_size") \
            is DEFAULT_MAX_MESSAGE_SIZE


def test_the_adapters_transactions_are_the_public_shared_classes() -> None:
    assert issubclass(amqp10_sync.Transaction, ClientTransaction)
    assert issubclass(amqp10_asyncio.Transaction, AsyncClientTransaction)
    assert issubclass(amqp10_trio.Transaction, AsyncClientTransaction)
