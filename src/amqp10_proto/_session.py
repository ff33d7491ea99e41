"""Sessions (2.5): begin and end, the transfer windows, delivery ids, link handles.

A session numbers the transfers it sends (next-outgoing-id) and receives
(next-incoming-id), keeps the peer within the incoming window it advertised
and itself within the peer's (2.5.6), allocates delivery-ids and link handles,
and turns the dispositions its links queue into ranged frames.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._checks import check_credit, check_link_options
from ._definitions import (
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
)
from ._delivery import Delivery, DeliveryState
from ._encoder import encode
from ._errors import LocalProtocolError, RemoteProtocolError
from ._events import (
    Event,
    RemoteAttach,
    SessionBegun,
    SessionEnded,
    SessionFailed,
    delivery_updated,
)
from ._framing import _pack_hdr
from ._link import Link, Receiver, Sender
from ._linkbase import _LinkError
from ._performatives import Attach, Begin, Detach, Disposition, End, Flow, Transfer
from ._state import SESSION_TABLE, Input, LinkState, SessionState, transition
from ._txn import CoordinatorLink

if TYPE_CHECKING:
    from ._connection import Connection

__all__ = ["Session"]

_UINT = 1 << 32
#: 3.4's terminal outcomes (the exact types, not a transactional-state around one).
_OUTCOMES = frozenset((Accepted, Rejected, Released, Modified))
# Enum members looked up once (a member through its class costs a lookup each time).
_MAPPED = SessionState.MAPPED
_ATTACHED = LinkState.ATTACHED
_SENDER = Role.SENDER
_RECEIVER = Role.RECEIVER
#: Link states in which a flow from the peer still means something (2.6.7).
_FLOWING = frozenset((LinkState.ATTACHED, LinkState.ATTACH_SENT, LinkState.ATTACH_RCVD))


def _in_range(links: list[Link], first: int, span: int) -> list[Delivery]:
    """The unsettled deliveries of ``links`` whose ids are ``first`` .. ``first + span``
    (serial, 2.7.6: a disposition's range), in id order."""
    end = first + span + 1
    one = links[0].unsettled if len(links) == 1 else None
    if span < (len(one) if one is not None else sum(len(lk.unsettled) for lk in links)):
        ids = range(first, end) if end <= _UINT else [(first + i) % _UINT
                                                       for i in range(span + 1)]
        if one is not None:
            # A Delivery is always true: filter(None) keeps exactly the ids found.
            return list(filter(None, map(one.get, ids)))
        hits = []
        for did in ids:
            for lk in links:
                d = lk.unsettled.get(did)
                if d is not None:
                    hits.append(d)
                    break
        return hits
    # A wide range: look through what is unsettled instead of every id.
    hits = [d for lk in links for did, d in lk.unsettled.items() if (did - first) % _UINT <= span]
    hits.sort(key=lambda d: (d.id - first) % _UINT)
    return hits


def _sent_in_range(sender: Sender, first: int, span: int) -> list[Delivery]:
    """``_in_range`` for one sender: the range found without a lookup per id when it is
    every unsettled one (a bulk send's round, settled at once).

    A sender's deliveries enter its map in delivery-id order (each takes the session's
    next id, 2.7.5; serial order, fewer than 2**31 held): when the map holds
    ``span`` + 1 of them, the first being ``first`` and the last ``first`` + ``span``,
    they are exactly the range. Not for a receiver's map, whose ids the peer chose.
    """
    unsettled = sender.unsettled
    if len(unsettled) == span + 1:
        hits = list(unsettled.values())
        if hits[0].id == first and hits[-1].id == (first + span) & 0xFFFFFFFF:
            return hits
    return _in_range([sender], first, span)


def _flow_at(next_outgoing_id: int, outgoing_window: int) -> int:
    """The next-outgoing-id at which fewer than half of the ``outgoing_window`` we give at
    ``next_outgoing_id`` is left (2.5.6, serial): when our flow restates the window.
    Compared with each transfer's id, it spares a countdown per transfer."""
    return (next_outgoing_id + outgoing_window - (outgoing_window >> 1) + 1) & 0xFFFFFFFF


class NumberPool:
    """Unused numbers below a limit (channels 2.5.1, handles 2.6.2), each taken in O(log n).

    Released numbers wait in a min-heap; past them a high-water mark counts on.
    Every number below the mark that is not in the heap is in use, so ``take``
    still gives the lowest unused one, without scanning what is in use.
    """

    __slots__ = ("_free", "_next")

    def __init__(self) -> None:
        self._free: list[int] = []
        self._next = 0

    def take(self, limit: int) -> int | None:
        """The lowest unused number, now in use; None if every one up to ``limit`` is."""
        free = self._free
        if free:
            # The mark is above every released number: if the least is past the
            # limit, so is everything else.
            return heapq.heappop(free) if free[0] <= limit else None
        n = self._next
        if n > limit:
            return None
        self._next = n + 1
        return n

    def release(self, n: int) -> None:
        """``n`` (taken before, once) is unused again."""
        if n == self._next - 1:
            self._next = n
        else:
            heapq.heappush(self._free, n)


class Session:
    """A session on a connection: the place links live and transfers are numbered."""

    def __init__(self, conn: Connection, channel: int, *, incoming_window: int,
                 outgoing_window: int, handle_max: int, properties: dict[str, Any] | None,
                 offered_capabilities: list[str] | None = None,
                 desired_capabilities: list[str] | None = None) -> None:
        self.connection = conn
        self.channel = channel
        self.remote_channel: int | None = None
        self.state = SessionState.UNMAPPED
        self.incoming_window = incoming_window
        self.outgoing_window = outgoing_window
        self.handle_max = handle_max
        self.properties = properties
        self.offered_capabilities = offered_capabilities
        self.desired_capabilities = desired_capabilities
        #: The peer's begin (2.7.2), once it arrived.
        self.remote_begin: Begin | None = None
        self.remote_error: Error | None = None
        # 2.5.6 session flow state.
        self.next_outgoing_id = 0
        self.next_incoming_id: int | None = None
        self._incoming_left = incoming_window
        #: The next-outgoing-id at which we restate our flow (2.5.6: when fewer than half
        #: the outgoing window we last gave is left).
        self._flow_at = _flow_at(self.next_outgoing_id, outgoing_window)
        self.remote_incoming_window = 0
        self.remote_outgoing_window = 0
        self._next_delivery_id = 0
        self._next_incoming_delivery: int | None = None
        self._links: dict[int, Link] = {}  # by our handle
        self._handles = NumberPool()
        #: Our links by (name, our role): 2.6.1 a link is named once per direction.
        self._by_name: dict[tuple[str, Role], Link] = {}
        self._remote_links: dict[int, Link] = {}  # by the peer's handle
        self._blocked: list[tuple[Link, Delivery, Transfer, memoryview | bytes]] = []
        self._dispositions: list[tuple[Role, int, bool, Any]] = []
        self._link_seq = 0
        #: Free for the application or adapter (e.g. its own session object).
        self.context: Any = None

    # -- public ------------------------------------------------------------------
    @property
    def links(self) -> list[Link]:
        return list(self._links.values())

    @property
    def mapped(self) -> bool:
        return self.state is _MAPPED

    def attach_sender(self, target: str | Target | None, *, name: str | None = None,
                      source: str | Source | None = None,
                      snd_settle_mode: SenderSettleMode = SenderSettleMode.MIXED,
                      rcv_settle_mode: ReceiverSettleMode = ReceiverSettleMode.FIRST,
                      max_message_size: int | None = None,
                      properties: dict[str, Any] | None = None,
                      offered_capabilities: list[str] | None = None,
                      desired_capabilities: list[str] | None = None,
                      auto_settle: bool = True,
                      unsettled: Mapping[bytes, DeliveryState | None] | None = None,
                      incomplete_unsettled: bool = False, dynamic: bool = False) -> Sender:
        """Attach a sending link to ``target`` (an address, a Target, or None for anonymous relay).

        ``dynamic=True`` (``target`` None) asks the peer to create a node and name it
        (3.5.4): the address is in the peer's attach (``link.remote_target``).

        ``unsettled`` (delivery-tag -> state, e.g. ``unsettled_map(detached.unsettled,
        sender=True)``) resumes a link of the same ``name`` (2.6.13): our attach
        carries it, and once the peer's attach brings its own, :class:`LinkResumed`
        says per tag what to do; act with ``sender.resume(tag, message)``.
        """
        if dynamic:
            if target is not None:
                raise ValueError("a dynamic sender takes no target address: the peer names "
                                 "the node (3.5.4)")
            tgt: Any = Target(dynamic=True)
        else:
            tgt = Target(address=target) if isinstance(target, str) or target is None else target
        src = Source(address=source) if isinstance(source, str) or source is None else source
        # Checked before the link exists (TypeError / ValueError); a controller's sender
        # may target a Coordinator (4.2).
        check_link_options(source=src, target=tgt, name=name, max_message_size=max_message_size,
                           properties=properties, offered_capabilities=offered_capabilities,
                           desired_capabilities=desired_capabilities, coordinator=True)
        link = Sender(self, self._link_name(name, "sender"), self._new_handle(), source=src,
                      target=tgt, snd_settle_mode=snd_settle_mode,
                      rcv_settle_mode=rcv_settle_mode, max_message_size=max_message_size,
                      properties=properties, offered_capabilities=offered_capabilities,
                      desired_capabilities=desired_capabilities, auto_settle=auto_settle,
                      unsettled=unsettled, incomplete_unsettled=incomplete_unsettled)
        self._add_link(link)
        return link

    def attach_receiver(self, source: str | Source | None, *, credit: int = 0,
                        name: str | None = None, target: str | Target | None = None,
                        dynamic: bool = False,
                        snd_settle_mode: SenderSettleMode = SenderSettleMode.MIXED,
                        rcv_settle_mode: ReceiverSettleMode = ReceiverSettleMode.FIRST,
                        max_message_size: int | None = None,
                        properties: dict[str, Any] | None = None,
                        offered_capabilities: list[str] | None = None,
                        desired_capabilities: list[str] | None = None,
                        unsettled: Mapping[bytes, DeliveryState | None] | None = None,
                        incomplete_unsettled: bool = False) -> Receiver:
        """Attach a receiving link from ``source`` with ``credit`` granted once attached.

        ``dynamic=True`` asks the peer to create a node and name it (3.5.3).
        ``unsettled`` (delivery-tag -> our state, e.g. ``unsettled_map(detached.unsettled,
        sender=False)``) resumes a link of the same ``name`` (2.6.13): each tag is a
        message the earlier incarnation received whole. The core applies the
        resolution to the sender's resumed transfers (:class:`DeliveryResumed`, never
        a second MessageReceived).
        """
        if isinstance(source, Source):
            src = source
        else:
            src = Source(address=source, dynamic=dynamic)
        tgt = Target(address=target) if isinstance(target, str) or target is None else target
        check_credit(credit)
        check_link_options(source=src, target=tgt, name=name, max_message_size=max_message_size,
                           properties=properties, offered_capabilities=offered_capabilities,
                           desired_capabilities=desired_capabilities)
        link = Receiver(self, self._link_name(name, "receiver"), self._new_handle(), source=src,
                        target=tgt, snd_settle_mode=snd_settle_mode,
                        rcv_settle_mode=rcv_settle_mode, max_message_size=max_message_size,
                        properties=properties, offered_capabilities=offered_capabilities,
                        desired_capabilities=desired_capabilities, credit=credit,
                        unsettled=unsettled, incomplete_unsettled=incomplete_unsettled)
        self._add_link(link)
        return link

    def begin(self) -> None:
        """Answer a peer's begin (a :class:`RemoteBegin` event) with ours."""
        if self.state is not SessionState.BEGIN_RCVD:
            raise LocalProtocolError(f"session is {self.state.value}, not awaiting an answer")
        self._send_begin()

    def end(self, error: Error | None = None) -> None:
        """End the session (its links detach with it), with an optional error."""
        if self.state in (SessionState.END_SENT, SessionState.ENDED):
            return
        if self.state is SessionState.BEGIN_RCVD:
            self._send_begin()
        new = transition(SESSION_TABLE, "session", self.state, Input.SEND_END)
        self._flush_dispositions()
        self.connection._send_frame(self.channel, End(error=error))
        self.state = new
        # 2.5.5: ending a session detaches its links; they send nothing more.
        for link in self._links.values():
            link._session_ending()
        self._blocked.clear()
        if new is SessionState.ENDED:
            self._finish(self.remote_error, local=False)

    def _fail(self, error: Error) -> None:
        """The peer broke a session rule: say so at once (SessionFailed), then end with ``error``."""
        if self.state in (SessionState.END_SENT, SessionState.ENDED):
            return
        self._emit(SessionFailed(session=self, error=error))
        self.end(error)

    # -- internals used by links ----------------------------------------------------
    def _emit(self, event: Event) -> None:
        self.connection._events.append(event)

    def _send(self, performative: Any) -> None:
        if self.state is not _MAPPED:
            if self.state is SessionState.BEGIN_RCVD:
                # Answering a link on a session the application has not answered
                # yet: our begin must go first (2.5.2).
                self._send_begin()
            elif self.state in (SessionState.END_SENT, SessionState.ENDED):
                raise LocalProtocolError(f"session is {self.state.value}; it sends nothing more")
        if type(performative) is not Transfer:
            # Outcomes go out before a later flow (a release, then more credit, must
            # reach the peer in that order); transfers travel the other way and need not wait.
            self._flush_dispositions()
        self.connection._send_frame(self.channel, performative)

    def _move(self, event: Input) -> SessionState:
        self.state = transition(SESSION_TABLE, "session", self.state, event)
        return self.state

    def _link_name(self, name: str | None, kind: str) -> str:
        if name is not None:
            return name
        self._link_seq += 1
        return f"{self.connection.container_id}-{kind}-{self.channel}-{self._link_seq}-{id(self):x}"

    def _new_handle(self) -> int:
        limit = self.handle_max
        if self.remote_begin is not None:
            limit = min(limit, self.remote_begin.handle_max)
        handle = self._handles.take(limit)
        if handle is None:
            raise LocalProtocolError(f"no free link handle (handle-max {limit}, 2.7.2)")
        return handle

    def _add_link(self, link: Link) -> None:
        key = (link.name, link.role)
        if self.state not in (SessionState.BEGIN_SENT, _MAPPED) or key in self._by_name:
            self._handles.release(link.handle)
            if key in self._by_name:
                raise LocalProtocolError(f"a {link.role.name.lower()} link named {link.name!r} "
                                         "is already attached on this session")
            raise LocalProtocolError(f"session is {self.state.value}; links attach to a live session")
        self._register(link)
        try:
            link._send_attach()
        except LocalProtocolError:
            self._unregister(link)  # refused: as if never asked for
            raise

    def _register(self, link: Link) -> None:
        self._links[link.handle] = link
        self._by_name.setdefault((link.name, link.role), link)

    def _unregister(self, link: Link) -> None:
        """Forget ``link`` and free its handle for the next (2.6.2)."""
        if self._links.get(link.handle) is link:
            del self._links[link.handle]
            self._handles.release(link.handle)
        key = (link.name, link.role)
        if self._by_name.get(key) is link:
            del self._by_name[key]

    def _link_gone(self, link: Link, unsettled: Iterable[Delivery]) -> None:
        self._unregister(link)
        if link.remote_handle is not None and self._remote_links.get(link.remote_handle) is link:
            del self._remote_links[link.remote_handle]
        self._blocked = [b for b in self._blocked if b[0] is not link]

    @property
    def _can_send(self) -> bool:
        return (self.state is _MAPPED and self.remote_incoming_window > 0
                and not self._blocked)

    def _flow_frame(self, **link_fields: Any) -> Flow:
        self._flow_at = _flow_at(self.next_outgoing_id, self.outgoing_window)
        return Flow(next_incoming_id=self.next_incoming_id, incoming_window=self._incoming_left,
                    next_outgoing_id=self.next_outgoing_id, outgoing_window=self.outgoing_window,
                    **link_fields)

    def _send_split(self, link: Link, delivery: Delivery, parts: list[bytes], size: int,
                    settled: bool, resume: bool = False, txn_state: Any = None) -> None:
        """Queue the transfers of a delivery too large for one frame (2.7.5: split to the
        peer's max-frame-size); what the window does not allow yet waits in ``_blocked``.
        ``txn_state`` (a transactional send) goes on every one of them (4.4.1)."""
        conn = self.connection
        first = Transfer(handle=link.handle, delivery_id=delivery.id, delivery_tag=delivery.tag,
                         message_format=delivery.message_format, settled=settled,
                         resume=resume, state=delivery.state if resume else txn_state)
        # Several frames: one copy of the payload, then views of it.
        payload = memoryview(parts[0] if len(parts) == 1 else b"".join(parts))
        first.more = True
        frames: list[tuple[Transfer, memoryview]] = []
        pos = 0
        transfer = first
        while True:
            perf_len = len(encode(transfer))
            room = conn.remote_max_frame_size - 8 - perf_len
            if room <= 0:
                raise LocalProtocolError("the peer's max-frame-size is too small for a transfer")
            chunk = payload[pos:pos + room]
            pos += len(chunk)
            transfer.more = pos < size
            frames.append((transfer, chunk))
            if pos >= size:
                break
            transfer = Transfer(handle=link.handle, more=True, state=txn_state)
        for i, (transfer, chunk) in enumerate(frames):
            if self.remote_incoming_window > 0 and not self._blocked:
                self._transfer_frame(encode(transfer), [chunk], len(chunk))  # type: ignore[list-item]
            else:
                # The window closed part way: keep the rest of this one delivery
                # (bounded by its size) until the peer's flow reopens it.
                self._blocked.extend((link, delivery, t, c) for t, c in frames[i:])
                break

    def _transfer_frame(self, perf: bytes, parts: list[bytes], size: int) -> None:
        self._transfer_head(_pack_hdr(8 + len(perf) + size, 2, 0, self.channel) + perf, parts)

    def _transfer_head(self, head: bytes, parts: list[bytes]) -> None:
        """Queue one transfer frame: ``head`` (frame header and performative), then ``parts``."""
        # 2.5.6: each transfer frame takes one transfer-id and one unit of window.
        n = self.next_outgoing_id
        self.next_outgoing_id = n = n + 1 if n < 0xFFFFFFFF else 0  # serial: one int made
        self.remote_incoming_window -= 1
        out = self.connection._out
        out.append(head)
        out.extend(parts)  # the payload is not copied until data_to_send() joins it
        if n == self._flow_at:
            self.connection._send_frame(self.channel, self._flow_frame())

    def _drop_blocked(self, link: Link) -> None:
        """A link detaches: the frames its deliveries still had waiting go nowhere."""
        if self._blocked:
            self._blocked = [b for b in self._blocked if b[0] is not link]

    def _settle_blocked(self, delivery: Delivery) -> bool:
        """Mark the last held-back frame of ``delivery`` settled; False if none is held back.

        A disposition would overtake the frames still waiting (2.6.12), so the
        settlement rides on the delivery's own last transfer instead.
        """
        for _, d, transfer, _ in reversed(self._blocked):
            if d is delivery:
                transfer.settled = True
                return True
        return False

    def _abort(self, link: Link, delivery: Delivery) -> bool:
        """Drop the unsent frames of ``delivery`` and send an aborted transfer; False if none."""
        if not any(b[1] is delivery for b in self._blocked):
            return False
        self._blocked = [b for b in self._blocked if b[1] is not delivery]
        # The abort itself is a transfer frame and needs the window too; if it is
        # shut, the abort waits in line like any other frame.
        abort = Transfer(handle=link.handle, delivery_id=delivery.id, aborted=True, settled=True)
        if self.remote_incoming_window > 0 and not self._blocked:
            self._transfer_frame(encode(abort), [], 0)
        else:
            self._blocked.append((link, delivery, abort, b""))
        return True

    def _unblock(self) -> None:
        while self._blocked and self.remote_incoming_window > 0:
            _, _, transfer, chunk = self._blocked.pop(0)
            self._transfer_frame(encode(transfer), [chunk], len(chunk))  # type: ignore[list-item]

    def _queue_disposition(self, role: Role, delivery_id: int, settled: bool, state: Any) -> None:
        if not self._dispositions:
            # data_to_send() flushes only the sessions that have some, not all of them.
            self.connection._disposing.append(self)
        self._dispositions.append((role, delivery_id, settled, state))

    def _flush_dispositions(self) -> None:
        """Coalesce the queued dispositions into ranges (first..last) and send them."""
        pending = self._dispositions
        if not pending:
            return
        self._dispositions = []
        pending.sort(key=lambda d: (d[0], d[1]))
        conn = self.connection
        role, first, settled, state = pending[0]
        last = first
        for r, did, s, st in pending[1:]:
            if r is role and did == last + 1 and s == settled and (st is state or st == state):
                last = did
                continue
            conn._send_frame(self.channel, Disposition(role=role, first=first,
                                                       last=None if last == first else last,
                                                       settled=settled, state=state))
            role, first, settled, state = r, did, s, st
            last = did
        conn._send_frame(self.channel, Disposition(role=role, first=first,
                                                   last=None if last == first else last,
                                                   settled=settled, state=state))

    # -- frames from the peer ----------------------------------------------------------
    def _begin_frame(self) -> Begin:
        return Begin(
            remote_channel=self.remote_channel, next_outgoing_id=self.next_outgoing_id,
            incoming_window=self.incoming_window, outgoing_window=self.outgoing_window,
            handle_max=self.handle_max, offered_capabilities=self.offered_capabilities,
            desired_capabilities=self.desired_capabilities, properties=self.properties)

    def _send_begin(self) -> None:
        new = transition(SESSION_TABLE, "session", self.state, Input.SEND_BEGIN)
        self.connection._send_frame(self.channel, self._begin_frame())
        self.state = new
        if self.state is _MAPPED:
            self._emit(SessionBegun(session=self))

    def _on_begin(self, begin: Begin, remote_channel: int) -> None:
        self._move(Input.RECV_BEGIN)
        self.remote_channel = remote_channel
        if self.state is SessionState.END_SENT:
            return
        self.remote_begin = begin
        self.remote_channel = remote_channel
        # 2.5.6: the peer numbers its transfers from its next-outgoing-id.
        self.next_incoming_id = begin.next_outgoing_id
        self.remote_incoming_window = begin.incoming_window
        self.remote_outgoing_window = begin.outgoing_window
        if self.state is _MAPPED:
            self._emit(SessionBegun(session=self))

    def _on_end(self, end: End) -> None:
        self.remote_error = end.error
        answered = self.state is not SessionState.BEGIN_RCVD
        self._move(Input.RECV_END)
        if self.state is SessionState.END_RCVD:
            if not answered:
                # Our begin was never sent: send it so the end has a session to end.
                self.connection._send_frame(self.channel, self._begin_frame())
            self._move(Input.SEND_END)
            self._flush_dispositions()
            self.connection._send_frame(self.channel, End())
            self._finish(end.error, local=False)
        else:
            self._finish(end.error, local=True)

    def _finish(self, error: Error | None, local: bool, with_connection: bool = False) -> None:
        self.state = SessionState.ENDED
        for link in list(self._links.values()):
            link._abandon(error, local, with_connection)
        self._blocked.clear()
        self._dispositions.clear()
        self.connection._session_gone(self)
        self._emit(SessionEnded(session=self, error=error, local=local,
                                with_connection=with_connection))

    def _abandon(self, error: Error | None, local: bool) -> None:
        """The connection ended under the session (no end exchanged)."""
        if self.state is not SessionState.ENDED:
            self._finish(error, local, with_connection=True)

    def _check_live(self, what: str) -> bool:
        """False when frames are to be ignored: we sent end and wait for the peer's (2.5.5)."""
        if self.state is _MAPPED or self.state is SessionState.BEGIN_RCVD:
            return True  # BEGIN_RCVD: the peer may pipeline attaches behind its begin
        if self.state is SessionState.END_SENT:
            return False
        raise RemoteProtocolError(f"{what} on a session in state {self.state.value}",
                                  condition="amqp:illegal-state")

    def _on_attach(self, attach: Attach) -> None:
        if not self._check_live("attach"):
            return
        handle = attach.handle
        if handle > self.handle_max:
            raise RemoteProtocolError(f"handle {handle} exceeds handle-max {self.handle_max}",
                                      condition="amqp:connection:framing-error")
        if handle in self._remote_links:
            raise RemoteProtocolError(f"handle {handle} is already in use",
                                      condition="amqp:session:handle-in-use")
        # Our end of the link plays the other role (2.6.1).
        role = Role.SENDER if attach.role is Role.RECEIVER else Role.RECEIVER
        link = self._by_name.get((attach.name, role))
        if link is not None and link.remote_handle is None:
            self._remote_links[handle] = link
            link._on_remote_attach(attach)
            return
        # Peer-initiated (2.6.3): the application answers with attach() or refuse().
        try:
            handle_ours = self._new_handle()
        except LocalProtocolError:
            raise RemoteProtocolError(
                "the peer attached a link but its handle-max leaves us no handle to answer with",
                condition="amqp:resource-limit-exceeded") from None
        common = dict(source=attach.source, target=attach.target,
                      snd_settle_mode=attach.snd_settle_mode,
                      rcv_settle_mode=attach.rcv_settle_mode, max_message_size=None,
                      properties=None, offered_capabilities=None, desired_capabilities=None)
        # 4.2: a sender to a Coordinator is a transaction controller's control link.
        receiver = CoordinatorLink if isinstance(attach.target, Coordinator) else Receiver
        new: Link = (Sender(self, attach.name, handle_ours, **common)  # type: ignore[arg-type]
                     if role is Role.SENDER else
                     receiver(self, attach.name, handle_ours, **common))  # type: ignore[arg-type]
        self._register(new)
        self._remote_links[handle] = new
        new._on_remote_attach(attach)
        self._emit(RemoteAttach(link=new))

    def _link_for(self, handle: int | None, what: str) -> Link:
        link = self._remote_links.get(handle) if handle is not None else None
        if link is None:
            raise RemoteProtocolError(f"{what} for handle {handle}, which is not attached",
                                      condition="amqp:session:unattached-handle")
        return link

    def _on_detach(self, detach: Detach) -> None:
        if not self._check_live("detach"):
            return
        self._link_for(detach.handle, "detach")._on_remote_detach(detach)

    def _on_flow(self, flow: Flow) -> None:
        if self.state is not _MAPPED and not self._check_live("flow"):
            return
        # 2.5.6: remote-incoming-window = next-incoming-id(flow) + incoming-window(flow)
        #        - next-outgoing-id(ours); a null next-incoming-id means "from our start".
        nid = flow.next_incoming_id
        was_open = self.remote_incoming_window > 0 and not self._blocked
        window = ((0 if nid is None else nid) + flow.incoming_window - self.next_outgoing_id) % _UINT
        self.remote_incoming_window = window if window < 1 << 31 else 0
        self.remote_outgoing_window = flow.outgoing_window
        if self._blocked:
            self._unblock()
        handle = flow.handle
        if handle is not None:
            link = self._remote_links.get(handle)
            if link is None:
                link = self._link_for(handle, "flow")  # raises: unattached-handle
            state = link.state
            if state is _ATTACHED or state in _FLOWING:  # an Enum's hash is a Python call
                link._on_flow(flow)
        elif flow.echo:
            self.connection._send_frame(self.channel, self._flow_frame())
        if not was_open and self._can_send:
            for link in self._links.values():
                if isinstance(link, Sender) and link.credit > 0 and link.attached:
                    link._on_window_open()

    def _on_transfer(self, transfer: Transfer, payload: bytes) -> None:
        if self.state is not _MAPPED and not self._check_live("transfer"):
            return
        # 2.5.6: the peer must stay within the incoming window we gave it.
        left = self._incoming_left
        if left <= 0:
            # 2.5.6 / 2.8.16: a session error; the session ends, the connection goes on.
            self._fail(Error(condition="amqp:session:window-violation",
                             description="transfer beyond the session's incoming window"))
            return
        self._incoming_left = left - 1
        self.next_incoming_id = (self.next_incoming_id + 1) & 0xFFFFFFFF  # type: ignore[operator]
        link = self._remote_links.get(transfer.handle)
        if type(link) is not Receiver and not isinstance(link, Receiver):
            link = self._link_for(transfer.handle, "transfer")
            raise RemoteProtocolError(f"transfer on our sending link {link.name!r}",
                                      condition="amqp:invalid-field")
        did = transfer.delivery_id
        current = link._current
        try:
            if (current is None and did is not None and not transfer.more
                    and not transfer.aborted and link.state is _ATTACHED):
                link._whole(transfer, payload, did)  # the common case
            else:
                if current is None:
                    if did is None:
                        raise RemoteProtocolError(
                            "the first transfer of a delivery has no delivery-id",
                            condition="amqp:invalid-field")
                elif did is None:
                    did = current.id
                elif did != current.id:
                    raise RemoteProtocolError("a continuation transfer changed its delivery-id",
                                              condition="amqp:invalid-field")
                if link.state is _ATTACHED:
                    link._on_transfer(transfer, payload, did)
                else:
                    link._discard(transfer, did)  # we are detaching: drop, but keep count
        except _LinkError as exc:
            link._fail(Error(condition=exc.condition, description=exc.description))
        if self._incoming_left <= self.incoming_window >> 1:
            self._incoming_left = self.incoming_window
            self.connection._send_frame(self.channel, self._flow_frame())

    def _on_disposition(self, disp: Disposition) -> None:
        if self.state is not _MAPPED and not self._check_live("disposition"):
            return
        first = disp.first
        last = disp.last if disp.last is not None else first
        span = (last - first) % _UINT
        # Deliveries the disposition is about: ours if the peer is the receiver.
        role = _SENDER if disp.role is _RECEIVER else _RECEIVER
        links = []  # a loop, not a comprehension: no frame of its own (one link, usually)
        for lk in self._links.values():
            if lk.role is role and lk.unsettled:
                links.append(lk)
        if not links:
            return
        state = disp.state
        if disp.settled and type(state) in _OUTCOMES and len(links) == 1:
            # The usual answer to a bulk send: a receiver settling a range with one
            # outcome, to one auto-settling sender.
            lk = links[0]
            if type(lk) is Sender and lk.auto_settle:
                lk._settled_by_peer(_sent_in_range(lk, first, span), state)  # type: ignore[arg-type]
                return
        hits = _in_range(links, first, span)
        settled = disp.settled
        events = self.connection._events
        for d in hits:
            # 2.7.6: the peer's state and settlement of each delivery in the range.
            if state is not None:
                d.remote_state = state
            if settled:
                d.remote_settled = True
            events.append(delivery_updated(d, d.remote_state, d.remote_settled))
            d.link._after_disposition(d)
