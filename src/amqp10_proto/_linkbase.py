"""What every link (2.6) has: attach and detach, its half of 2.6.7's flow state, its
unsettled deliveries, link recovery; the sending and receiving ends are in _sender and
_receiver, and all three are reached through _link."""

from __future__ import annotations

from collections.abc import Mapping
from types import EllipsisType
from typing import TYPE_CHECKING, Any

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
from ._errors import LocalProtocolError, RemoteProtocolError
from ._events import (
    LinkAttached,
    LinkDetached,
    LinkFailed,
    LinkResumed,
)
from ._performatives import Attach, Detach, Flow, Transfer
from ._resume import RESUMED, Resolution, ResumeAction, resolve
from ._state import LINK_TABLE, Input, LinkState, transition
from ._types import Described

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["Link", "check_delivery_tag", "check_message_format", "serial_diff", "txn_state"]

_UINT = 1 << 32
# Enum members looked up once (a member through its class costs a lookup each time).
_ATTACHED = LinkState.ATTACHED
_TERMINAL = (Accepted, Rejected, Released, Modified)


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


class _LinkError(Exception):
    """A peer's fault that ends one link, not the session (2.6.6: detach with an error)."""

    def __init__(self, condition: str, description: str) -> None:
        super().__init__(description)
        self.condition = condition
        self.description = description
