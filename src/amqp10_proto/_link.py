"""Links (2.6): attach and detach, flow control by credit, deliveries and settlement.

A :class:`Sender` sends messages as transfers while it has link-credit; a
:class:`Receiver` grants credit and settles what arrives. The link holds its
half of 2.6.7's flow state (delivery-count, link-credit, drain) and its
unsettled deliveries; frames go out through its session.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from types import EllipsisType
from typing import TYPE_CHECKING, Any

from ._checks import (
    EncodedMessage,
    check_credit,
    check_delivery_state,
    check_error,
    check_modify,
    message_parts,
)
from ._definitions import (
    _DELIVERY_STATE_TYPES,
    Accepted,
    Coordinator,
    Error,
    Modified,
    ReceiverSettleMode,
    Rejected,
    Released,
    Role,
    SenderSettleMode,
    Source,
    Target,
    TransactionalState,
)
from ._delivery import Delivery, DeliveryState
from ._encoder import encode
from ._errors import DecodeError, LocalProtocolError, RemoteProtocolError
from ._events import (
    CreditGranted,
    DeliveryResumed,
    DrainCompleted,
    LinkAttached,
    LinkDetached,
    LinkFailed,
    LinkResumed,
    MessageReceived,
    MessageUndecodable,
    TransferAborted,
    credit_granted,
    deliveries_updated,
    message_received,
)
from ._framing import transfer_performative, usual_transfer_head
from ._message import Message, data_only_message
from ._performatives import Attach, Detach, Flow, Transfer
from ._resume import RESUMED, Resolution, ResumeAction, resolve
from ._state import LINK_TABLE, Input, LinkState, SessionState, transition
from ._types import Described

if TYPE_CHECKING:
    from ._session import Session


__all__ = ["Link", "Receiver", "Sender", "check_delivery_tag", "check_message_format"]

_UINT = 1 << 32
# Enum members looked up once (a member through its class costs a lookup each time).
_ATTACHED = LinkState.ATTACHED
_MAPPED = SessionState.MAPPED
_MIXED = SenderSettleMode.MIXED
_UNSETTLED = SenderSettleMode.UNSETTLED
_SETTLED = SenderSettleMode.SETTLED
_RECEIVER = Role.RECEIVER
_TERMINAL = (Accepted, Rejected, Released, Modified)
_ACCEPTED = Accepted()  # it has no fields: one instance serves every accept
_pack_I = struct.Struct(">I").pack


def _check_map(unsettled: Mapping[bytes, DeliveryState | None] | None
               ) -> dict[bytes, DeliveryState | None] | None:
    """The caller's unsettled map (2.7.3) as a dict, its keys checked as delivery-tags
    (2.8.7) and its values as delivery states (or null: no state yet)."""
    if unsettled is None:
        return None
    out = dict(unsettled)
    for tag, state in out.items():
        if not isinstance(tag, (bytes, bytearray)) or len(tag) > 32:
            raise LocalProtocolError(f"unsettled map key {tag!r} is not a delivery-tag "
                                     "(binary, at most 32 bytes; 2.8.7)")
        if state is not None and type(state) not in _DELIVERY_STATE_TYPES:
            raise LocalProtocolError(f"unsettled map value {state!r:.60} for tag {tag!r} is "
                                     "not a delivery state (2.7.3, 3.4)")
    return {bytes(t): v for t, v in out.items()}


def check_message_format(message_format: object) -> int:
    """A transfer's message-format (2.7.5: a uint; 0 is the AMQP message, others are
    formats such as Azure's batch 0x80013700): TypeError / ValueError otherwise."""
    if not isinstance(message_format, int) or isinstance(message_format, bool):
        raise TypeError(f"message_format must be an int (2.7.5: uint), not "
                        f"{type(message_format).__name__}")
    if not 0 <= message_format < _UINT:
        raise ValueError(f"message_format must be 0 .. 2**32-1 (2.7.5: uint), "
                         f"not {message_format!r}")
    return message_format


def check_delivery_tag(tag: object) -> bytes | None:
    """A caller's delivery-tag: None (the link numbers them) or binary of at most 32
    bytes (2.8.7); TypeError / ValueError otherwise."""
    if tag is None:
        return None
    if not isinstance(tag, (bytes, bytearray, memoryview)):
        raise TypeError(f"delivery_tag must be bytes or None, not {type(tag).__name__}")
    tag = bytes(tag)
    if len(tag) > 32:
        raise ValueError(f"delivery_tag is at most 32 bytes (2.8.7), not {len(tag)}")
    return tag


def txn_state(txn_id: object, outcome: object = None, *, settling: bool = False
              ) -> TransactionalState:
    """The transactional-state (4.5.5) that puts a transfer (``settling=False``) or an
    outcome (``settling=True``: one of 3.4's four) in transaction ``txn_id`` (4.4)."""
    if type(txn_id) is not bytes:
        raise TypeError(f"txn_id must be bytes (4.5.1: binary), not {type(txn_id).__name__}")
    if settling and not isinstance(outcome, _TERMINAL):
        raise TypeError("a transactional settlement needs its outcome (4.4.2): Accepted(), "
                        f"Rejected(...), Released() or Modified(...), not {outcome!r:.60}")
    return TransactionalState(txn_id=txn_id, outcome=outcome)  # type: ignore[arg-type]


def serial_diff(a: int, b: int) -> int:
    """a - b in RFC 1982 serial arithmetic on 32 bits (2.6.7: delivery-count)."""
    d = (a - b) % _UINT
    return d - _UINT if d >= 1 << 31 else d


class Link:
    """What senders and receivers share: identity, termini, state and settle modes."""

    role: Role

    def __init__(self, session: Session, name: str, handle: int, *, source: Source | None,
                 target: Target | None, snd_settle_mode: SenderSettleMode,
                 rcv_settle_mode: ReceiverSettleMode, max_message_size: int | None,
                 properties: dict[str, Any] | None, offered_capabilities: list[str] | None,
                 desired_capabilities: list[str] | None,
                 unsettled: Mapping[bytes, DeliveryState | None] | None = None,
                 incomplete_unsettled: bool = False) -> None:
        self.session = session
        self.name = name
        self.handle = handle
        self.remote_handle: int | None = None
        self.state = LinkState.DETACHED
        self.source: Any = source
        self.target: Any = target
        self.snd_settle_mode = snd_settle_mode
        self.rcv_settle_mode = rcv_settle_mode
        self.max_message_size = max_message_size
        self.properties = properties
        self.offered_capabilities = offered_capabilities
        self.desired_capabilities = desired_capabilities
        #: The peer's attach (2.7.3): what it agreed to. None until it arrives.
        self.remote_attach: Attach | None = None
        #: The properties of the peer's last flow on this link (2.7.4: link state
        #: properties, e.g. a txn-id for transactional acquisition, 4.4.3; go-amqp's
        #: link state properties). None until a flow comes (or if it carried none).
        self.remote_flow_properties: dict[Any, Any] | None = None
        self.remote_error: Error | None = None
        #: The error of a detach we sent (ours, e.g. transfer-limit-exceeded), if any.
        self.local_error: Error | None = None
        self.delivery_count = 0
        self.credit = 0
        #: Deliveries not yet settled by both sides, by delivery-id.
        self.unsettled: dict[int, Delivery] = {}
        #: An incoming delivery whose transfers are still arriving (receivers).
        self._current: Delivery | None = None
        #: Its payload so far, grown in place: one copy of the message, never a list to join.
        self._partial: bytearray | None = None
        #: Free for the application or adapter (e.g. its own link object).
        self.context: Any = None
        # 2.6.13: the unsettled map our attach carries (None: attach, not resume).
        self.local_unsettled: dict[bytes, DeliveryState | None] | None = _check_map(unsettled)
        self.local_incomplete = bool(incomplete_unsettled)
        #: Per delivery-tag, what 2.6.13 made of both maps (empty unless resuming).
        self.resolution: dict[bytes, Resolution] = {}
        #: The tags still to act on: a sender's to resume(), a receiver's resumed
        #: transfers still to come.
        self.pending_resume: dict[bytes, Resolution] = {}

    # -- what the peer agreed to -----------------------------------------------
    # 2.7.3: null when the peer refuses the link (2.6.3), Described for a terminus of a
    # type this implementation does not know (an extension).
    @property
    def remote_source(self) -> Source | Described | None:
        """The source of the peer's attach (3.5.3), None before it (or if it had none)."""
        return None if self.remote_attach is None else self.remote_attach.source

    @property
    def remote_target(self) -> Target | Coordinator | Described | None:
        """The target of the peer's attach (3.5.4; a Coordinator for a transaction
        controller, 4.2), None before it (or if it had none)."""
        return None if self.remote_attach is None else self.remote_attach.target

    @property
    def remote_max_message_size(self) -> int | None:
        a = self.remote_attach
        return None if a is None or not a.max_message_size else a.max_message_size

    @property
    def remote_properties(self) -> dict[Any, Any] | None:
        return None if self.remote_attach is None else self.remote_attach.properties

    @property
    def attached(self) -> bool:
        return self.state is _ATTACHED

    def _move(self, event: Input) -> LinkState:
        self.state = transition(LINK_TABLE, "link", self.state, event)
        return self.state

    # -- attach ------------------------------------------------------------------
    def _attach_frame(self) -> Attach:
        return Attach(
            name=self.name, handle=self.handle, role=self.role,
            snd_settle_mode=self.snd_settle_mode, rcv_settle_mode=self.rcv_settle_mode,
            source=self.source, target=self.target,
            unsettled=self.local_unsettled, incomplete_unsettled=self.local_incomplete,
            initial_delivery_count=self.delivery_count if self.role is Role.SENDER else None,
            max_message_size=self.max_message_size,
            offered_capabilities=self.offered_capabilities,
            desired_capabilities=self.desired_capabilities, properties=self.properties,
        )

    def _send_attach(self) -> None:
        # The state moves only once the frame is accepted (it may be too large).
        new = transition(LINK_TABLE, "link", self.state, Input.SEND_ATTACH)
        self.session._send(self._attach_frame())
        self.state = new
        if new is _ATTACHED:
            self._on_attached()

    def attach(self, *, source: Source | Described | EllipsisType | None = ...,
               target: Target | Coordinator | Described | EllipsisType | None = ...,
               max_message_size: int | None = None,
               properties: dict[str, Any] | None = None,
               unsettled: Mapping[bytes, DeliveryState | None] | None = None,
               incomplete_unsettled: bool = False) -> None:
        """Answer a peer's attach (a :class:`RemoteAttach` event) with ours.

        By default (``...``) the termini echo the peer's; pass others to change what
        is agreed (for example a dynamic node's address), None to refuse one (2.6.3). ``unsettled`` (delivery-tag
        -> state) resumes the link (2.6.13): the deliveries this end still holds
        unsettled from the link's earlier incarnation; :class:`LinkResumed` follows.
        """
        if self.state is not LinkState.ATTACH_RCVD:
            raise LocalProtocolError(f"link {self.name!r} is {self.state.value}, not awaiting an answer")
        self.local_unsettled = _check_map(unsettled)
        self.local_incomplete = bool(incomplete_unsettled)
        remote = self.remote_attach
        assert remote is not None
        self.source = remote.source if isinstance(source, EllipsisType) else source
        self.target = remote.target if isinstance(target, EllipsisType) else target
        if max_message_size is not None:
            self.max_message_size = max_message_size
        if properties is not None:
            self.properties = properties
        self._send_attach()

    def refuse(self, error: Error | None = None) -> None:
        """Refuse a peer's attach (2.6.3): attach with a null terminus, then detach."""
        if self.state is not LinkState.ATTACH_RCVD:
            raise LocalProtocolError(f"link {self.name!r} is {self.state.value}, not awaiting an answer")
        if self.role is Role.SENDER:
            self.source = None
        else:
            self.target = None
        self._send_attach()
        self.detach(error=error or Error(condition="amqp:not-found"))

    def _on_remote_attach(self, attach: Attach) -> None:
        self._move(Input.RECV_ATTACH)
        self.remote_attach = attach
        self.remote_handle = attach.handle
        if self.role is Role.RECEIVER:
            # 2.6.7: the sender's initial-delivery-count starts the count.
            self.delivery_count = attach.initial_delivery_count or 0
            if (self.rcv_settle_mode is ReceiverSettleMode.SECOND and self.state is _ATTACHED
                    and attach.rcv_settle_mode is ReceiverSettleMode.FIRST):
                # 2.8.3: the peer answered that it settles first; a receiver waiting for
                # the sender's settlement would wait for ever, so we settle first too.
                self.rcv_settle_mode = ReceiverSettleMode.FIRST
        if self.state is _ATTACHED:
            self._on_attached()

    def _on_attached(self) -> None:
        self.session._emit(LinkAttached(link=self))
        remote = self.remote_attach
        resuming = remote is not None and (self.local_unsettled is not None
                                           or remote.unsettled is not None)
        if resuming and not self._resolve(remote):  # type: ignore[arg-type]
            return
        self._after_attach()

    def _resolve(self, remote: Attach) -> bool:
        """2.6.13: both maps are known; decide each tag and say so (LinkResumed)."""
        theirs = remote.unsettled
        if theirs is not None and not all(type(t) is bytes and len(t) <= 32 for t in theirs):
            self._fail(Error(condition="amqp:invalid-field",
                             description="the attach's unsettled map keys must be delivery-tags "
                                         "(binary, at most 32 bytes; 2.7.3, 2.8.7)"))
            return False
        if theirs is not None and not all(v is None or type(v) in _DELIVERY_STATE_TYPES
                                          for v in theirs.values()):
            self._fail(Error(condition="amqp:invalid-field",
                             description="the attach's unsettled map values must be delivery "
                                         "states (2.7.3, 3.4)"))
            return False
        ours = self.local_unsettled
        if self.role is Role.SENDER:
            table = resolve(ours, theirs, sender_incomplete=self.local_incomplete,
                            receiver_incomplete=remote.incomplete_unsettled)
            pending = {t: r for t, r in table.items()
                       if r.in_sender and r.action is not ResumeAction.WAIT}
        else:
            table = resolve(theirs, ours, sender_incomplete=remote.incomplete_unsettled,
                            receiver_incomplete=self.local_incomplete)
            pending = {t: r for t, r in table.items() if r.action in RESUMED}
        self.resolution = table
        self.pending_resume = pending
        self.session._emit(LinkResumed(
            link=self, local_unsettled=ours, remote_unsettled=theirs,
            local_incomplete=self.local_incomplete,
            remote_incomplete=bool(remote.incomplete_unsettled), resolution=table))
        return True

    def _after_attach(self) -> None:
        """Hook: a receiver sends the credit it was opened with."""

    # -- detach ------------------------------------------------------------------
    def detach(self, error: Error | None = None, *, closed: bool = True) -> None:
        """Detach the link (closing it unless ``closed=False``), with an optional error."""
        if self.state in (LinkState.DETACH_SENT, LinkState.CLOSED):
            return
        new = transition(LINK_TABLE, "link", self.state, Input.SEND_DETACH)
        self.session._flush_dispositions()
        self.session._send(Detach(handle=self.handle, closed=closed, error=error))
        self.state = new
        self.local_error = error
        # Frames of ours still held back by the window go nowhere now.
        self.session._drop_blocked(self)
        current = self._current
        if current is not None:
            # 2.6.6: what still arrives is discarded; so is what arrived of the delivery
            # in progress (an endless message refused at max-message-size holds nothing).
            self._partial = None
        if new is LinkState.CLOSED:
            self._finish(self.remote_error, closed, local=False)

    def _fail(self, error: Error) -> None:
        """The peer broke a link rule (2.6.6): say so at once (LinkFailed), then detach."""
        if self.state in (LinkState.DETACH_SENT, LinkState.CLOSED):
            return
        self.session._emit(LinkFailed(link=self, error=error))
        self.detach(error)

    def _on_remote_detach(self, detach: Detach) -> None:
        self.remote_error = detach.error
        answered = self.state is not LinkState.ATTACH_RCVD
        self._move(Input.RECV_DETACH)
        if self.state is LinkState.DETACH_RCVD:
            # Answer at once (2.6.6): the application learns of it from the event.
            if not answered:
                # Our attach never went: send it, so the detach has a link to end.
                self.session._send(self._attach_frame())
            self._move(Input.SEND_DETACH)
            self.session._drop_blocked(self)
            self.session._flush_dispositions()
            self.session._send(Detach(handle=self.handle, closed=detach.closed))
            self._finish(detach.error, detach.closed, local=False)
        else:
            self._finish(detach.error or None, detach.closed, local=True)

    def _finish(self, error: Error | None, closed: bool, local: bool,
                with_connection: bool = False) -> None:
        """The link is gone: report what was unsettled and release the handle."""
        self.state = LinkState.CLOSED
        unsettled = tuple(self.unsettled.values())
        self.unsettled.clear()
        credit, self.credit = self.credit, 0
        self.session._link_gone(self, unsettled)
        self.session._emit(LinkDetached(link=self, error=error, closed=closed, local=local,
                                        unsettled=unsettled, with_connection=with_connection,
                                        credit=credit))

    def _session_ending(self) -> None:
        """Our session sent its end: the link is detached with it (2.5.5), sends nothing more."""
        if self.state not in (LinkState.DETACH_SENT, LinkState.CLOSED):
            self.state = LinkState.DETACH_SENT

    def _discard(self, transfer: Transfer, delivery_id: int) -> None:
        """A transfer for a link that is detaching: drop it, but follow a multi-frame delivery."""
        current = self._current
        if transfer.more and not transfer.aborted:
            if current is None:
                self._current = Delivery(self, delivery_id, transfer.delivery_tag or b"")
        else:
            self._current = None

    def _abandon(self, error: Error | None, local: bool, with_connection: bool = False) -> None:
        """The session or connection ended under the link (no detach exchanged)."""
        if self.state is not LinkState.CLOSED:
            self._finish(error, True, local, with_connection)

    # -- flow ----------------------------------------------------------------------
    def _flow_frame(self, *, drain: bool = False, echo: bool = False) -> Flow:
        return self.session._flow_frame(
            handle=self.handle, delivery_count=self.delivery_count, link_credit=self.credit,
            drain=drain, echo=echo, available=self._available())

    def _available(self) -> int | None:
        return None

    def request_flow(self) -> None:
        """Ask the peer for its flow state now (2.6.7: a flow with echo=true), e.g. a
        sender's ``available``; the answer is the usual flow event."""
        if self.state is not _ATTACHED:
            raise LocalProtocolError(f"link {self.name!r} is {self.state.value}, not attached")
        self.session._send(self._flow_frame(drain=bool(getattr(self, "draining", False)),
                                            echo=True))

    def _on_flow(self, flow: Flow) -> None:
        raise NotImplementedError

    def _on_transfer(self, transfer: Transfer, payload: bytes, delivery_id: int) -> None:
        raise RemoteProtocolError(f"transfer on sending link {self.name!r}",
                                  condition="amqp:illegal-state")

    def _after_disposition(self, delivery: Delivery) -> None:
        if delivery.done:
            self.unsettled.pop(delivery.id, None)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, handle={self.handle}, "
                f"state={self.state.value}, credit={self.credit})")


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


class Receiver(Link):
    """The receiving end of a link: grant credit, get messages, settle them."""

    role = Role.RECEIVER

    def __init__(self, *args: Any, credit: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.credit = credit
        self.draining = False
        self._in_flight_excess = 0  # deliveries allowed beyond credit after a cut
        #: The resolution of the resumed delivery now arriving in several transfers,
        #: or None while one is ignored (2.7.5: not in our unsettled map).
        self._resuming: Resolution | None = None
        self._resumed_current = False

    def _after_attach(self) -> None:
        if self.credit > 0 and self.state is _ATTACHED:
            self.session._send(self._flow_frame())

    @property
    def sender_settle_mode(self) -> SenderSettleMode:
        a = self.remote_attach
        return SenderSettleMode.MIXED if a is None else a.snd_settle_mode

    def add_credit(self, n: int) -> None:
        """Let the sender send ``n`` more messages (TypeError / ValueError for a bad ``n``)."""
        check_credit(n, "credit to add")
        self.set_credit(self.credit + n)

    def set_credit(self, credit: int) -> None:
        """Set the link-credit (2.6.7); a flow goes out if the link is attached."""
        if type(credit) is not int or not 0 <= credit < _UINT:
            check_credit(credit)  # raises: 2.6.7, link-credit is a uint
        if self.state in (LinkState.DETACH_SENT, LinkState.CLOSED, LinkState.DETACH_RCVD):
            raise LocalProtocolError(f"link {self.name!r} is {self.state.value}")
        if credit < self.credit:
            # 2.6.7: transfers sent under the old credit may still arrive; take
            # them normally rather than detach with transfer-limit-exceeded.
            self._in_flight_excess += self.credit - credit
        elif self.credit > 0:
            # Some senders (RabbitMQ 3.10) count a top-up from their own
            # delivery-count, not ours, and so overrun it by the transfers in
            # flight, at most the credit still outstanding: take those too.
            self._in_flight_excess = max(self._in_flight_excess, self.credit)
        self.credit = credit
        if self.state is _ATTACHED:
            self.session._send(self._flow_frame(drain=self.draining))

    def drain(self) -> None:
        """Ask the sender to use all the credit now or give it back (2.6.7)."""
        if self.state is not _ATTACHED:
            raise LocalProtocolError(f"link {self.name!r} is {self.state.value}, not attached")
        if self.credit == 0:
            self.session._emit(DrainCompleted(link=self))
            return
        self.draining = True
        self.session._send(self._flow_frame(drain=True))

    def _on_flow(self, flow: Flow) -> None:
        self.remote_flow_properties = flow.properties
        # 2.6.7: the sender's delivery-count is authoritative; our credit is
        # what is left of the limit we set.
        if flow.delivery_count is not None:
            # The sender's count ran ahead of ours by what it used or gave back (a
            # drain); serial arithmetic on the counts only, the credit is a plain uint.
            advanced = serial_diff(flow.delivery_count, self.delivery_count)
            self.delivery_count = flow.delivery_count
            self.credit = min(max(0, self.credit - advanced), _UINT - 1)
        if self.draining and self.credit == 0:
            self.draining = False
            self.session._emit(DrainCompleted(link=self))
        if flow.echo:
            self.session._send(self._flow_frame(drain=self.draining))

    def _on_transfer(self, transfer: Transfer, payload: bytes, delivery_id: int) -> None:
        current = self._current
        if current is None and not transfer.more and not transfer.aborted:
            self._whole(transfer, payload, delivery_id)
            return
        if (current is None and (transfer.resume or self.local_incomplete)) or self._resumed_current:
            self._on_resumed(transfer, delivery_id)
            return
        if current is None:
            # 2.6.7: a new delivery needs credit.
            self._use_credit()
            self.delivery_count = (self.delivery_count + 1) % _UINT
            tag = transfer.delivery_tag
            if tag is None:
                raise _LinkError("amqp:invalid-field", "the first transfer has no delivery-tag")
            current = Delivery(self, delivery_id, tag, transfer.message_format or 0,
                               settled=bool(transfer.settled))
            current.remote_settled = bool(transfer.settled)
            if transfer.state is not None:
                current.remote_state = transfer.state
            self._current = current
        elif transfer.settled:
            current.remote_settled = True
            current.settled = True
        if transfer.aborted:
            # 2.6.14: an aborted delivery is discarded, settled on both sides.
            self._current = None
            current.aborted = True
            current.settled = current.remote_settled = True
            self._partial = None
            self.session._emit(TransferAborted(link=self, delivery=current))
            return
        data = self._partial
        if payload:
            size = len(payload) if data is None else len(data) + len(payload)
            limit = self.max_message_size
            if limit and size > limit:
                # Refused before the bytes are kept: an endless delivery never grows past it.
                self._partial = None
                raise _LinkError("amqp:link:message-size-exceeded",
                                 f"message larger than max-message-size {limit}")
            # Grown in place (realloc, amortised): the message is held once, not as
            # chunks plus their join, so decoding it peaks at twice its size.
            if data is None:
                self._partial = data = bytearray(payload)
            else:
                data += payload
        if transfer.more:
            return
        self._current = None
        self._partial = None
        try:
            message = Message.decode(b"" if data is None else data)
        except DecodeError as exc:
            self._undecodable(current, exc)
            return
        if not current.remote_settled:
            self.unsettled[current.id] = current
        self.session._emit(MessageReceived(link=self, delivery=current, message=message))

    def _on_resumed(self, transfer: Transfer, delivery_id: int) -> None:
        """A transfer with resume=true (2.6.13, 2.7.5): a delivery of the link's earlier
        incarnation. Its payload is dropped (we had the message); it uses no credit."""
        current = self._current
        if current is None:
            if not transfer.resume:
                # 2.7.3: we sent an incomplete unsettled map; only resumed deliveries may come.
                raise _LinkError("amqp:illegal-state",
                                 "a new delivery on a link whose unsettled map was incomplete")
            tag = transfer.delivery_tag
            if tag is None:
                raise _LinkError("amqp:invalid-field", "the first transfer has no delivery-tag")
            # 2.7.5: a resumed delivery not in our unsettled map is ignored.
            res = self.pending_resume.pop(tag, None)
            current = Delivery(self, delivery_id, tag, transfer.message_format or 0)
            if res is not None:
                current.state = res.receiver_state
            self._resuming = res
            if transfer.more and not transfer.aborted:
                self._current = current
                self._resumed_current = True
                return
        elif transfer.more and not transfer.aborted:
            return  # the rest of a resumed delivery's payload: we have it already
        self._current = None
        self._resumed_current = False
        res, self._resuming = self._resuming, None
        if res is None:
            return
        if transfer.aborted:
            # 2.6.14: discarded, settled on both sides.
            current.aborted = current.settled = current.remote_settled = True
        elif transfer.settled:
            current.remote_settled = current.settled = True
            if transfer.state is not None:
                current.remote_state = current.state = transfer.state
        else:
            if transfer.state is not None:
                current.remote_state = transfer.state
            self.unsettled[current.id] = current
            # Tag 13: the sender's restated outcome is echoed; else an outcome we gave
            # before goes out again on this link (2.6.13).
            outcome = transfer.state if isinstance(transfer.state, _TERMINAL) else current.state
            if isinstance(outcome, _TERMINAL):
                current.state = None
                self.settle(current, outcome)
        self.session._emit(DeliveryResumed(link=self, delivery=current, action=res.action))

    def _undecodable(self, delivery: Delivery, exc: DecodeError) -> None:
        """One delivery's message does not decode: refuse it alone, the link goes on.

        Rejected with amqp:decode-error and settled (3.4.2), unless the sender
        settled it already; its credit stays used. Detaching the link instead
        would fail every other delivery, and a pre-settled one would be lost unseen.
        """
        error = Error(condition="amqp:decode-error", description=f"undecodable message: {exc}")
        if not delivery.remote_settled:
            self.unsettled[delivery.id] = delivery
            self.settle(delivery, Rejected(error=error))
        self.session._emit(MessageUndecodable(link=self, delivery=delivery, error=error))

    def _use_credit(self) -> None:
        """Take one credit for a new delivery, or one of the in-flight excess after a cut."""
        if self.credit > 0:
            self.credit -= 1
        elif self._in_flight_excess > 0:
            self._in_flight_excess -= 1
        else:
            raise _LinkError("amqp:link:transfer-limit-exceeded", "transfer without credit (2.6.7)")

    def _whole(self, transfer: Transfer, payload: bytes, delivery_id: int) -> None:
        """A delivery in a single transfer: the common case, kept short."""
        if transfer.resume or self.local_incomplete:
            self._on_resumed(transfer, delivery_id)
            return
        if self.credit <= 0:
            self._use_credit()
            self.credit += 1  # undone by the common path below
        tag = transfer.delivery_tag
        if tag is None:
            raise _LinkError("amqp:invalid-field", "the first transfer has no delivery-tag")
        limit = self.max_message_size
        if limit and len(payload) > limit:
            raise _LinkError("amqp:link:message-size-exceeded",
                             f"message larger than max-message-size {limit}")
        self.credit -= 1
        self.delivery_count = (self.delivery_count + 1) & 0xFFFFFFFF
        settled = transfer.settled is True
        delivery = Delivery(self, delivery_id, tag, transfer.message_format or 0, settled)
        if settled:
            delivery.remote_settled = True
        if transfer.state is not None:
            delivery.remote_state = transfer.state
        message = data_only_message(payload)
        if message is None:
            try:
                message = Message.decode(payload)
            except DecodeError as exc:
                self._undecodable(delivery, exc)
                return
        if not settled:
            self.unsettled[delivery_id] = delivery
        self.session.connection._events.append(message_received(self, delivery, message))

    def settle(self, delivery: Delivery, state: DeliveryState | None = None, *,
               txn_id: bytes | None = None) -> None:
        """Give ``delivery`` an outcome and settle it (2.6.12).

        In rcv-settle-mode second the outcome goes out unsettled and the core
        settles once the sender has (2.8.3); otherwise it is settled at once.
        ``state`` is checked first (TypeError / ValueError): an outcome of 3.4, or None.
        With ``txn_id`` the outcome is given in that transaction (4.4.2: a
        transactional-state carrying it), applied by the peer when it commits.
        A settled delivery is left as it is.
        """
        if state is not _ACCEPTED and state is not None:
            check_delivery_state(state)
        if txn_id is not None:
            state = txn_state(txn_id, state, settling=True)
        if delivery.link is not self:
            raise LocalProtocolError("that delivery is not on this link")
        if delivery.settled:
            return
        second = self.rcv_settle_mode is ReceiverSettleMode.SECOND and not delivery.remote_settled
        prior = delivery.state
        if second and state is not None and prior is not None and state != prior and (
                isinstance(prior, TransactionalState)
                or (isinstance(state, TransactionalState) and isinstance(prior, _TERMINAL))):
            # 4.4.2: an outcome given in a transaction is the transaction's to apply (at its
            # discharge); restated outside it, or in another, the two would contradict.
            raise LocalProtocolError(
                f"delivery {delivery.id} has its outcome already ({prior!r}, waiting "
                "for the sender to settle: mode second); a different one, in or out of a "
                "transaction, cannot be given")
        if state is not None:
            delivery.state = state
        if second:
            if self.state is _ATTACHED:
                self.session._queue_disposition(_RECEIVER, delivery.id, False, delivery.state)
            return
        delivery.settled = True
        self.unsettled.pop(delivery.id, None)
        if not delivery.remote_settled and self.state is _ATTACHED:
            session = self.session
            pending = session._dispositions
            if not pending:  # inline _queue_disposition: this is the hot path
                session.connection._disposing.append(session)
            pending.append((_RECEIVER, delivery.id, True, delivery.state))

    def update(self, delivery: Delivery, state: DeliveryState) -> None:
        """Tell the sender a non-terminal state without settling (e.g. Received, 3.4.1)."""
        check_delivery_state(state)
        if delivery.link is not self:
            raise LocalProtocolError("that delivery is not on this link")
        if delivery.settled:
            raise LocalProtocolError("that delivery is settled already")
        delivery.state = state
        if not delivery.remote_settled and self.state is _ATTACHED:
            self.session._queue_disposition(_RECEIVER, delivery.id, False, state)

    def accept(self, delivery: Delivery) -> None:
        self.settle(delivery, _ACCEPTED)

    def reject(self, delivery: Delivery, error: Error | None = None) -> None:
        """Settle as rejected (3.4.3); ``error`` (an :class:`Error` or None) tells the sender why."""
        check_error(error)
        self.settle(delivery, Rejected(error=error))

    def release(self, delivery: Delivery) -> None:
        self.settle(delivery, Released())

    def modify(self, delivery: Delivery, *, delivery_failed: bool = True,
               undeliverable_here: bool = False,
               message_annotations: dict[Any, Any] | None = None) -> None:
        """Settle as modified (3.4.5): the sender may deliver it again, annotated so."""
        check_modify(delivery_failed, undeliverable_here, message_annotations)
        self.settle(delivery, Modified(delivery_failed=delivery_failed,
                                       undeliverable_here=undeliverable_here,
                                       message_annotations=message_annotations))

    def _after_disposition(self, delivery: Delivery) -> None:
        if delivery.remote_settled and delivery.state is not None and not delivery.settled:
            # Mode second: the sender settled after our outcome; now we settle.
            delivery.settled = True
        if delivery.done:
            self.unsettled.pop(delivery.id, None)

    def _abandon(self, error: Error | None, local: bool, with_connection: bool = False) -> None:
        self._current = None
        self._partial = None
        self._resumed_current = False
        self._resuming = None
        super()._abandon(error, local, with_connection)


class _LinkError(Exception):
    """A peer's fault that ends one link, not the session (2.6.6: detach with an error)."""

    def __init__(self, condition: str, description: str) -> None:
        super().__init__(description)
        self.condition = condition
        self.description = description
