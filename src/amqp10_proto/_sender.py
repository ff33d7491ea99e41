"""The sending end of a link (2.6): transfers while it has link-credit (2.6.7), the
outcomes and settlement of what it sent (2.6.12), resending after recovery."""

from __future__ import annotations

import struct
from typing import Any

from ._checks import (
    EncodedMessage,
    check_delivery_state,
    message_parts,
)
from ._definitions import (
    ReceiverSettleMode,
    Role,
    SenderSettleMode,
    TransactionalState,
)
from ._delivery import Delivery, DeliveryState
from ._encoder import encode
from ._errors import LocalProtocolError
from ._events import (
    CreditGranted,
    credit_granted,
    deliveries_updated,
)
from ._framing import transfer_performative, usual_transfer_head
from ._linkbase import (
    _ATTACHED,
    _TERMINAL,
    _UINT,
    Link,
    check_delivery_tag,
    check_message_format,
    serial_diff,
    txn_state,
)
from ._message import Message
from ._performatives import Attach, Flow, Transfer
from ._resume import ResumeAction
from ._state import SessionState

__all__ = ["Sender"]

_MAPPED = SessionState.MAPPED
_UNSETTLED = SenderSettleMode.UNSETTLED
_SETTLED = SenderSettleMode.SETTLED
_pack_I = struct.Struct(">I").pack


class Sender(Link):
    """The sending end of a link: ``send()`` while it has credit."""

    role = Role.SENDER

    def __init__(self, *args: Any, auto_settle: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Settle a delivery as soon as the peer gives it a terminal outcome.
        self.auto_settle = auto_settle
        self.drain_requested = False
        self._next_tag = 0
        self._initial_count = 0
        #: 2.7.3: the receiver's unsettled map was incomplete; no new delivery may go.
        self._no_new = False
        #: A caller chose a tag: counter tags are checked against the unsettled ones.
        self._own_tags = False
        self._available_count: int | None = None
        #: How the usual first transfers go out on this channel and handle (a packer, the
        #: head's fixed bytes, the frame's size without payload); None past handle 255.
        self._usual = usual_transfer_head(self.session.channel, self.handle)

    @property
    def sendable(self) -> bool:
        """True when ``send()`` would not be refused for want of credit or window."""
        # An adapter asks this before each transfer: the session's half of it
        # (Session._can_send: mapped, 2.5.6 window open, nothing held back) read here,
        # not through a second property.
        session = self.session
        return (self.state is _ATTACHED and self.credit > 0 and session.state is _MAPPED
                and session.remote_incoming_window > 0 and not session._blocked
                and not self._no_new)

    @property
    def can_resume(self) -> bool:
        """True when ``resume()`` of a resumed transfer (no credit needed, 2.6.13) would not
        be refused for the link's state or the session window."""
        return self.state is _ATTACHED and self.session._can_send

    @property
    def receiver_settle_mode(self) -> ReceiverSettleMode:
        """The receiver's settle mode as it attached (2.8.3); FIRST until it has."""
        a = self.remote_attach
        return ReceiverSettleMode.FIRST if a is None else a.rcv_settle_mode

    def send(self, message: Message | bytes | EncodedMessage, *, settled: bool | None = None,
             tag: bytes | None = None, message_format: int = 0,
             txn_id: bytes | None = None) -> Delivery:
        """Send one message as a new delivery.

        ``message`` is a :class:`Message`; bytes are a data body (as ``Message(data)``);
        a message encoded already goes as :class:`EncodedMessage`. ``settled``
        applies in mixed mode; the link's snd-settle-mode decides otherwise.
        Raises :class:`LocalProtocolError` when there is no credit, the session
        window is closed, or the message exceeds the peer's max-message-size, and
        TypeError for anything but a message; nothing is sent then. ``txn_id`` posts it
        in that transaction (4.4.1: every transfer carries a transactional-state).
        ``tag`` is the delivery-tag (2.8.7: at most 32 bytes, unique among the link's
        unsettled, else LocalProtocolError); ``message_format`` a uint (2.7.5), e.g.
        :data:`BATCH_MESSAGE_FORMAT` (TypeError / ValueError otherwise).
        """
        txn = None if txn_id is None else txn_state(txn_id)
        session = self.session
        if (self.credit <= 0 or self.state is not _ATTACHED
                or session.remote_incoming_window <= 0 or session._blocked
                or session.state is not _MAPPED or self._no_new):
            self._refuse_send()
        parts = message.encode_parts() if type(message) is Message else message_parts(message)
        if len(parts) == 2:
            size = len(parts[0]) + len(parts[1])
        else:
            size = sum(map(len, parts))
        a = self.remote_attach
        limit = None if a is None else a.max_message_size
        if limit and size > limit:
            raise LocalProtocolError(
                f"message of {size} bytes exceeds the peer's max-message-size {limit} "
                "(amqp:link:message-size-exceeded)")
        mode = self.snd_settle_mode
        if mode is _UNSETTLED:
            pre_settled = False
        elif mode is _SETTLED:
            pre_settled = True
        else:  # mixed (or a mode given as a plain value)
            pre_settled = False if settled is None else bool(settled)
        if message_format != 0 or type(message_format) is not int:
            check_message_format(message_format)
        # Counters wrap at 2**32 by a compare, not a mask: one int made, not two.
        if tag is None:
            n = self._next_tag
            self._next_tag = n + 1
            tag = _pack_I(n if n <= 0xFFFFFFFF else n & 0xFFFFFFFF)
            if self._own_tags:
                tag = self._free_tag(tag)
            usual_tag = True  # 4 bytes
        else:
            tag = self._check_tag(tag)
            usual_tag = len(tag) == 4
        did = session._next_delivery_id
        session._next_delivery_id = did + 1 if did < 0xFFFFFFFF else 0
        delivery = Delivery(self, did, tag, message_format, pre_settled)
        if not pre_settled:
            self.unsettled[did] = delivery
        # 2.6.7: each delivery uses one credit and advances delivery-count (serial).
        count = self.delivery_count
        self.delivery_count = count + 1 if count < 0xFFFFFFFF else 0
        self.credit -= 1
        if txn is None:
            usual = self._usual
            if (usual is not None and did > 255 and usual_tag and message_format == 0
                    and size <= session.connection._usual_payload_max):
                # The usual transfer, whole in one frame: its head in one pack.
                pack, prefix, base = usual
                session._transfer_head(pack(base + size, prefix, did, 0xA004, tag,
                                            0x4341 if pre_settled else 0x4342), parts)
                return delivery
            perf = transfer_performative(self.handle, did, tag, message_format, pre_settled,
                                         False)
        else:
            delivery.state = txn
            perf = encode(Transfer(handle=self.handle, delivery_id=did, delivery_tag=tag,
                                   message_format=message_format, settled=pre_settled, state=txn))
        conn = session.connection
        if size <= conn._peer_max_frame - 8 - len(perf):
            session._transfer_frame(perf, parts, size)
        else:
            session._send_split(self, delivery, parts, size, pre_settled, txn_state=txn)
        return delivery

    def _check_tag(self, tag: object) -> bytes:
        """The caller's delivery-tag, checked: binary of at most 32 bytes (2.8.7), unique
        among the link's unsettled deliveries (a linear look, only for given tags)."""
        tag = check_delivery_tag(tag)
        assert tag is not None
        if any(d.tag == tag for d in self.unsettled.values()):
            raise LocalProtocolError(f"delivery-tag {tag!r} is in use by an unsettled delivery "
                                     f"on link {self.name!r} (2.8.7: unique among them)")
        self._own_tags = True
        return tag

    def _free_tag(self, tag: bytes) -> bytes:
        """A counter tag that no caller's tag still unsettled holds (2.8.7)."""
        used = {d.tag for d in self.unsettled.values()}
        while tag in used:
            n = self._next_tag
            self._next_tag = n + 1
            tag = _pack_I(n & 0xFFFFFFFF)
        return tag

    @property
    def available(self) -> int | None:
        """Messages waiting for credit at this sender (2.6.7: a flow's ``available``), as
        the application or adapter counts them; None (the default) leaves the field out.
        Set it as the count changes: it rides on the flows that go anyway (an echo, a
        drain's answer), never a flow of its own."""
        return self._available_count

    @available.setter
    def available(self, count: int | None) -> None:
        if count is not None and (type(count) is not int or not 0 <= count < _UINT):
            raise (TypeError if type(count) is not int else ValueError)(
                f"available is a uint (2.6.7) or None, not {count!r}")
        self._available_count = count

    def _available(self) -> int | None:
        return self._available_count

    def _refuse_send(self) -> None:
        if self._no_new:
            raise LocalProtocolError(
                f"link {self.name!r}: the receiver's unsettled map was incomplete (2.7.3); "
                "no new delivery may be sent on this attach, only resumed ones")
        if self.state is _ATTACHED and self.credit > 0 and self.session._can_send:
            return  # nothing wrong after all
        if self.state is not _ATTACHED:
            raise LocalProtocolError(f"link {self.name!r} is {self.state.value}, not attached")
        if self.credit <= 0:
            raise LocalProtocolError(f"link {self.name!r} has no credit (2.6.7)")
        raise LocalProtocolError("the session's outgoing window is closed (2.5.6); "
                                 "wait for the peer's flow")

    def _resolve(self, remote: Attach) -> bool:
        self._no_new = bool(remote.incomplete_unsettled)
        return super()._resolve(remote)

    def resume(self, tag: bytes, message: Message | bytes | EncodedMessage | None = None, *,
               message_format: int = 0) -> Delivery | None:
        """Do what 2.6.13 resolved for ``tag`` (see :class:`LinkResumed`): the sender's half.

        - RESUME: a transfer with resume=true and the same tag carrying ``message``
          (the whole message: a receiver of ours drops what it already has); as for
          :meth:`send`, bytes are a data body and :class:`EncodedMessage` goes as given.
        - SETTLE / RESTATE / ABORT: a resumed transfer with no payload, settled with
          the agreed outcome / unsettled with ours / aborted.
        - RESEND: ``send(message, tag=tag)``, a new delivery (it needs credit).
        - FORGET: nothing is sent; returns None (the outcome is in the resolution).

        Resumed transfers use no link-credit and do not advance delivery-count: they
        continue deliveries the link counted before (2.6.7); they do use the session
        window. Returns the delivery on this link. Raises :class:`LocalProtocolError`
        (nothing sent) for a tag not awaiting resumption (WAIT tags never do: the peer's
        map was incomplete, decide them on a later attach), a missing message, or when the link, window or credit does not allow it now.
        """
        parts = [] if message is None else message_parts(message)  # TypeError before anything
        res = self.pending_resume.get(tag)
        if res is None:
            raise LocalProtocolError(f"no delivery tagged {tag!r} awaits resumption on "
                                     f"link {self.name!r}")
        A = ResumeAction
        action = res.action
        if action is A.FORGET:
            del self.pending_resume[tag]
            return None
        if message is None and action in (A.RESEND, A.RESUME):
            raise LocalProtocolError(f"delivery {tag!r} is to be {action.value}d: pass its message")
        if action is A.RESEND:
            assert message is not None
            delivery = self.send(message, tag=tag, message_format=message_format)
            del self.pending_resume[tag]
            return delivery
        session = self.session
        if (self.state is not _ATTACHED or session.state is not _MAPPED
                or session.remote_incoming_window <= 0 or session._blocked):
            if self.state is not _ATTACHED:
                raise LocalProtocolError(f"link {self.name!r} is {self.state.value}, not attached")
            raise LocalProtocolError("the session's outgoing window is closed (2.5.6); "
                                     "wait for the peer's flow")
        if action is not A.RESUME:
            parts = []
        size = sum(map(len, parts))
        settled = action is A.SETTLE or action is A.ABORT
        state = res.outcome if action is A.SETTLE or action is A.RESTATE else None
        did = session._next_delivery_id
        session._next_delivery_id = (did + 1) & 0xFFFFFFFF
        delivery = Delivery(self, did, tag, message_format, settled)
        delivery.state = state
        if settled:
            # The receiver settles on seeing our settled transfer, with no frame back.
            delivery.remote_settled = True
            delivery.remote_state = state
            delivery.aborted = action is A.ABORT
        else:
            self.unsettled[did] = delivery
        del self.pending_resume[tag]
        transfer = Transfer(handle=self.handle, delivery_id=did, delivery_tag=tag,
                            message_format=message_format, settled=settled, resume=True,
                            aborted=action is A.ABORT, state=state)
        perf = encode(transfer)
        if size <= session.connection._peer_max_frame - 8 - len(perf):
            session._transfer_frame(perf, parts, size)
        else:
            session._send_split(self, delivery, parts, size, settled, resume=True)
        return delivery

    def abort(self, delivery: Delivery) -> None:
        """Abort a delivery whose transfers are not all sent yet (2.6.14).

        The rest of its frames are dropped and a transfer with aborted=true
        tells the receiver to discard what it got; the delivery ends settled.
        """
        if delivery.link is not self:
            raise LocalProtocolError("that delivery is not on this link")
        if not self.session._abort(self, delivery):
            raise LocalProtocolError("that delivery was sent whole; it can no longer be aborted")
        delivery.aborted = delivery.settled = True
        self.unsettled.pop(delivery.id, None)

    def settle(self, delivery: Delivery, state: DeliveryState | None = None) -> None:
        """Settle a delivery we sent (e.g. after the receiver's outcome in rcv-settle-mode second)."""
        check_delivery_state(state)
        if delivery.link is not self:
            raise LocalProtocolError("that delivery is not on this link")
        if delivery.settled:
            return
        delivery.settled = True
        if state is not None:
            delivery.state = state
        self.unsettled.pop(delivery.id, None)
        if self.session._settle_blocked(delivery):
            return  # its last transfer, still held back, will carry settled=true
        if self.state is _ATTACHED:
            self.session._queue_disposition(Role.SENDER, delivery.id, True, state)

    def drained(self) -> None:
        """After a drain request, give back the credit not used (2.6.7: advance delivery-count)."""
        if not self.drain_requested:
            return
        self.drain_requested = False
        if self.credit > 0:
            self.delivery_count = (self.delivery_count + self.credit) % _UINT
            self.credit = 0
        if self.state is _ATTACHED:
            self.session._send(self._flow_frame(drain=True))

    def _on_flow(self, flow: Flow) -> None:
        self.remote_flow_properties = flow.properties
        # 2.6.7: link-credit(snd) = delivery-count(rcv) + link-credit(rcv) - delivery-count(snd).
        rcv_count = flow.delivery_count
        if rcv_count is None:
            # The receiver had not seen our attach: count from our initial value.
            rcv_count = self._initial_count
        # Serial arithmetic (RFC 1982) applies to the counts only: their difference is
        # what we sent that the receiver had not counted yet. The credit is a plain
        # uint, so a grant of 2**31 or more is as good as any other.
        credit = (flow.link_credit or 0) - serial_diff(self.delivery_count, rcv_count)
        self.credit = credit = 0 if credit < 0 else credit if credit < _UINT else _UINT - 1
        self.drain_requested = drain = flow.drain
        self.session.connection._events.append(credit_granted(self, credit, drain))
        if flow.echo:
            self.session._send(self._flow_frame())

    def _send_attach(self) -> None:
        self._initial_count = self.delivery_count
        super()._send_attach()

    def _on_window_open(self) -> None:
        """The session window reopened while we hold credit: sending is possible again."""
        self.session._emit(CreditGranted(link=self, credit=self.credit, drain=self.drain_requested))

    def _settled_by_peer(self, hits: list[Delivery], outcome: DeliveryState) -> None:
        """The receiver settled ``hits`` (unsettled deliveries of this link, in id order)
        with a terminal ``outcome`` (2.7.6, 3.4): one DeliveryUpdated each and, as
        ``_after_disposition`` would with auto_settle, each is settled and forgotten (the
        peer settled too: no frame back). The usual ranged disposition of a bulk send.
        """
        unsettled = self.unsettled
        if len(hits) == len(unsettled):
            unsettled.clear()  # hits are distinct unsettled ones: all of them (a whole round)
        else:
            for d in hits:
                del unsettled[d.id]
        for d in hits:
            d.remote_state = outcome
            d.remote_settled = d.settled = True
        self.session.connection._events.extend(deliveries_updated(hits, outcome, True))

    def _after_disposition(self, delivery: Delivery) -> None:
        state = delivery.remote_state
        if isinstance(state, TransactionalState):
            state = state.outcome  # 4.5.8: the outcome the transaction will apply
        if (self.auto_settle and not delivery.settled and state is not None
                and isinstance(state, _TERMINAL)):
            # A terminal outcome: we are done with it. If the receiver settled
            # too (mode first) no frame is needed; otherwise (mode second) say so.
            delivery.settled = True
            if not delivery.remote_settled:
                self.session._queue_disposition(Role.SENDER, delivery.id, True, None)
        if delivery.settled:
            # Once we settled there is nothing more to hear about it (2.6.12).
            self.unsettled.pop(delivery.id, None)
