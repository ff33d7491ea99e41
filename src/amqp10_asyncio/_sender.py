"""The asyncio sender: a queue for what waits for credit, and one future per wait.

Messages that cannot go out at once (no credit, the transport's buffer full, the
connection reconnecting) wait in the link's bounded queue, in call order; the
pump sends them as credit comes (2.6.7), so no task is woken for credit. A
wait for outcomes is a :class:`~._wake.Waiter` kept on the deliveries it waits
for: an outcome wakes only its own waiters (issue 12).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from amqp10_proto import (
    Accepted,
    DeliveryState,
    EncodedMessage,
    LinkDetached,
    Message,
)
from amqp10_proto import Delivery as CoreDelivery
from amqp10_proto import Sender as CoreSender
from amqp10_proto import errors as amqp_errors
from amqp10_proto.client import AsyncBatchSending, HasTxnId, SenderBase, sendable
from amqp10_proto.client import SendOptions as _Opts

from ._link import _Link
from ._wake import PRESETTLED, TERMINAL, Waiter, add_waiter, release

if TYPE_CHECKING:
    import asyncio

    from ._session import Session

__all__ = ["Handle", "Queued", "Sender"]

log = logging.getLogger("amqp10")


class Queued:
    """A message :meth:`Sender.send_nowait` accepted while the link could not send it
    at once (no credit, the transport's buffer full, or reconnecting).

    It goes out in call order as soon as it can; ``delivery`` is set then. Pass it
    to :meth:`Sender.wait_settled` or :meth:`Sender.wait_all`.
    """

    __slots__ = ("delivery", "message", "opts", "settled", "waiter")

    def __init__(self, message: Message | EncodedMessage, settled: bool | None,
                 opts: _Opts | None = None) -> None:
        self.message: Message | EncodedMessage | None = message
        self.settled = settled
        self.opts = opts
        self.delivery: CoreDelivery | None = None
        self.waiter: Any = None  # the waits on it until it is sent (see _wake)

    def __repr__(self) -> str:
        return f"<Queued {'sent' if self.delivery is not None else 'waiting for credit'}>"


#: What ``send_nowait`` returns: the delivery, or the queued message.
Handle: TypeAlias = CoreDelivery | Queued


class Sender(AsyncBatchSending, SenderBase["Session"], _Link):
    """A sending link; ``send`` is safe from many tasks at once, and concurrent sends pipeline.

    What cannot be sent at once waits in a queue of ``queue_size`` messages
    (``open_sender``), sent in order as the peer grants credit.
    """

    _core: CoreSender

    def __init__(self, session: Session, core: CoreSender, *, queue_size: int = 1000,
                 **extra: Any) -> None:
        super().__init__(session, core, **extra)
        self._queue: deque[Queued] = deque()
        self._queue_size = queue_size
        self._room: deque[asyncio.Future[bool]] = deque()  # calls waiting for queue room
        self._room_waiting = 0

    @property
    def queued(self) -> int:
        """Messages accepted and waiting for credit (at most ``queue_size``)."""
        return len(self._queue)

    # -- sending ------------------------------------------------------------------------
    async def send(self, message: Message | bytes | EncodedMessage, *,
                   timeout: float | None = None, settled: bool | None = None,
                   message_format: int = 0, delivery_tag: bytes | None = None,
                   txn: HasTxnId | None = None) -> DeliveryState | None:
        """Send ``message``; wait for credit, then for the peer's outcome (unsettled mode).

        ``message``: a Message; bytes are a data body (``Message(data)``); a message
        encoded already goes as ``EncodedMessage(data)``; anything else is a TypeError.

        Returns the outcome (``Accepted()``), or None for a pre-settled send (which
        returns once handed to the transport). Raises MessageRejected /
        MessageReleased / MessageModified with the peer's error, TimeoutError, or
        LinkDetachedError / SessionEndedError / ConnectionClosedError. A timeout or
        a cancel before the message went out withdraws it; after, it stays tracked
        by the core: it is not sent twice.

        ``message_format`` (2.7.5, a uint) and ``delivery_tag`` (2.8.7: at most 32 bytes,
        unique among this link's unsettled) go on the transfer; ``txn`` (from
        ``session.transaction()``) posts the message in that transaction (4.4.1). They
        are checked first: TypeError / ValueError / TransactionError, nothing sent.
        """
        conn = self._conn
        span = conn._span(timeout)  # (asked once: the deadline and the error's text)
        end = conn._loop.time() + span
        opts = self._send_options(message_format, delivery_tag, txn, self._queue)
        # Its caller holds the message anyway: it joins the queue whatever its length,
        # and the task wakes once, for the outcome.
        handle = self._hand(message, settled, opts)
        ok = True
        try:
            # (_wait's loop, inline: one coroutine less alive per waiting send; nor is
            # the handles' tuple kept across the wait.)
            while (future := self._arm((handle,), end)) is not None:
                if not await future:
                    ok = False
                    break
        except BaseException:
            self._withdraw((handle,))  # cancelled: what is not sent yet never will be
            raise
        return self._result(handle, ok, span, True)

    async def send_nowait(self, message: Message | bytes | EncodedMessage, *,
                          timeout: float | None = None, settled: bool | None = None,
                          message_format: int = 0, delivery_tag: bytes | None = None,
                          txn: HasTxnId | None = None) -> Handle:
        """Hand ``message`` over without waiting for its outcome or for credit: the bulk path.

        Returns the delivery, or a :class:`Queued` handle when the link cannot send
        now (it goes out, in order, as soon as it can); pass either to
        :meth:`wait_settled` or :meth:`wait_all`. Waits (up to ``timeout``) only
        while ``queue_size`` messages already wait for credit. The options are
        :meth:`send`'s.
        """
        opts = self._send_options(message_format, delivery_tag, txn, self._queue)
        # (_send's check, inline: no coroutine of its own, and the deadline only
        # for a wait; a timeout given is checked all the same.)
        if len(self._queue) >= self._queue_size:
            message = await self._send_when_room(message, timeout)
        elif timeout is not None:
            self._conn._span(timeout)  # TypeError / ValueError now, as with a wait
        return self._hand(message, settled, opts)

    async def send_many(self, messages: Iterable[Message | bytes | EncodedMessage], *,
                        timeout: float | None = None, message_format: int = 0,
                        txn: HasTxnId | None = None) -> list[DeliveryState | None]:
        """``send_nowait`` each message, then :meth:`wait_all`: their outcomes, in order.

        ``timeout`` covers the whole call; when it passes, or the call is cancelled,
        the messages not sent yet are withdrawn. ``message_format`` and ``txn`` apply
        to each message (see :meth:`send`).
        """
        conn = self._conn
        end = conn._deadline(timeout)
        opts = self._send_options(message_format, None, txn)
        handles: list[Handle] = []
        it = iter(messages)
        try:
            # Handed over a queueful at a time (issue 12: no coroutine, no pump per message
            # while the link waits for credit); a full queue waits for room as send_nowait.
            while not self._hand_many(it, handles, opts):
                if self._gone():
                    self._check()
                    raise amqp_errors.LinkDetachedError(f"link {self.name!r} is not attached")
                await self._wait_room(timeout, end)
            ok = await self._wait(handles, end)
        except BaseException:
            self._withdraw(handles)
            raise
        return self._results(handles, ok, conn._span(timeout))

    async def _send_when_room(self, message: Message | bytes | EncodedMessage,
                              timeout: float | None) -> Message | EncodedMessage:
        """Wait until the queue has room (``queue_size``) for ``message``; the message
        as the queue takes it."""
        end = self._conn._deadline(timeout)
        if type(message) is not Message:
            message = sendable(message)  # TypeError now, before any wait
        if self._gone():
            self._check()
            raise amqp_errors.LinkDetachedError(f"link {self.name!r} is not attached")
        await self._wait_room(timeout, end)
        return message

    def _hand(self, message: Message | bytes | EncodedMessage, settled: bool | None,
              opts: _Opts | None = None) -> Handle:
        """Send ``message`` now, or queue it for credit (whatever the queue's length)."""
        if type(message) is not Message:
            message = sendable(message)  # TypeError here, not in the pump later
        queue = self._queue
        conn = self._conn
        core = self._core
        if not queue and core.sendable and not conn._paused and not self._lost \
                and not self._resend:
            delivery = self._transfer(message, settled, opts)
            if core.drain_requested:
                core.drained()  # 2.6.7: nothing else waits to be sent
                conn._after()
            else:
                conn._after_soon()
            return delivery
        if self._gone():  # (while reconnecting it is not: the message waits its turn)
            self._check()
            raise amqp_errors.LinkDetachedError(f"link {self.name!r} is not attached")
        handle = Queued(message, settled, opts)
        queue.append(handle)
        self._queued_one()
        return handle

    def _queued_one(self) -> None:
        """A message joined the queue: pump it if the link may send (credit came while
        others waited, or resends), else only count it (2.6.7 ``available``)."""
        core = self._core
        # (No credit, no send: the bulk case, answered without asking the link and its
        # session, 2.6.7.)
        if self._resend or core.drain_requested or (core.credit > 0 and core.sendable):
            if self._pump():
                self._conn._after_soon()
        else:
            core.available = len(self._queue)

    def _hand_many(self, it: Iterator[Message | bytes | EncodedMessage], out: list[Handle],
                   opts: _Opts | None) -> bool:
        """``_hand`` each message of ``it`` into ``out`` until the queue is full (False)
        or ``it`` is exhausted (True). The link's state is looked at once per run of
        queued messages: nothing between two of them can change it (no wait, no core
        call), except a direct send's flush, after which it is looked at again."""
        queue = self._queue
        size = self._queue_size
        conn = self._conn
        core = self._core
        append = out.append
        new = Queued.__new__
        checked = pump = False
        for message in it:
            if type(message) is not Message:
                message = sendable(message)  # TypeError here, not in the pump later
            if not queue:
                append(self._hand(message, None, opts))  # (may flush: look again)
                checked = False
            else:
                if not checked:
                    if self._gone():
                        self._check()
                        raise amqp_errors.LinkDetachedError(
                            f"link {self.name!r} is not attached")
                    # (Rare: credit while others wait, resends, a drain.)
                    pump = bool(self._resend) or core.drain_requested or core.sendable
                    checked = True
                # Queued(message, None, opts) without its __init__ call (a class's call
                # of a Python __init__ is not inlined as a function's is: ~40 % less).
                handle = new(Queued)
                handle.message = message
                handle.settled = None
                handle.opts = opts
                handle.delivery = handle.waiter = None
                queue.append(handle)
                append(handle)
                if pump:
                    if self._pump():
                        conn._after_soon()
                    checked = False
            if len(queue) >= size:
                core.available = len(queue)
                return False
        if queue:
            core.available = len(queue)
        return True

    async def _wait_room(self, timeout: float | None, end: float) -> None:
        """Wait until the queue has room (once it is down to half, the pump wakes one
        waiter per free slot: a bulk sender wakes once per half queue)."""
        conn = self._conn
        self._room_waiting += 1
        try:
            while len(self._queue) >= self._queue_size:
                room = self._room
                if len(room) > 2 * self._room_waiting + 16:  # drop the waits that are over
                    self._room = room = deque(f for f in room if not f.done())
                future: asyncio.Future[bool] = conn._loop.create_future()
                room.append(future)
                ok = await conn._park(future, end)
                if self._gone():
                    self._check()
                    raise amqp_errors.LinkDetachedError(f"link {self.name!r} is not attached")
                if not ok:
                    raise TimeoutError(f"link {self.name!r}: no credit to send within "
                                       f"{conn._span(timeout)} s")
        finally:
            self._room_waiting -= 1

    def _transfer(self, message: Message | EncodedMessage, settled: bool | None,
                  opts: _Opts | None = None) -> CoreDelivery:
        """Hand one message to the core (credit available)."""
        delivery = self._core_send(message, settled, opts)
        if delivery.settled:
            delivery.context = PRESETTLED  # done once handed to the transport
        else:
            self._track(delivery, message)  # sent again if the transport goes first
        return delivery

    def _pump(self) -> int:
        """Send queued messages while the link may (2.6.7: credit; the transport's room);
        the connection writes them after. Wakes the senders waiting for room. Returns
        nonzero if it queued frames to write."""
        conn = self._conn
        if self._resend:
            done = self._pump_resends()  # what was in doubt after a reconnect goes first
            conn._rouse()  # their deliveries were replaced or settled: waiters look again
            if not done:
                return 1
        queue = self._queue
        core = self._core
        sent = 0
        send = core.send
        track = self._track
        payloads = self._payloads
        while queue and core.credit > 0 and core.sendable and not conn._paused:
            handle = queue.popleft()
            message = handle.message
            assert message is not None
            # (_transfer's work, inline: this loop is a bulk sender's per-message cost.)
            if handle.opts is None:
                delivery = send(message, settled=handle.settled)
            else:
                delivery = self._core_send(message, handle.settled, handle.opts)
            handle.delivery = delivery
            handle.message = None  # the core holds the encoded frames now
            waiter = handle.waiter
            if delivery.settled:
                delivery.context = PRESETTLED  # done once handed to the transport
                if waiter is not None:
                    handle.waiter = None
                    release(waiter)
            else:
                # Kept to be sent again if the transport goes first: _track's usual case
                # inline, _track itself when its sweep is due.
                payloads[delivery] = message
                if len(payloads) >= self._sweep_at:
                    track(delivery, message)
                if waiter is not None:
                    handle.waiter = None
                    delivery.context = waiter
            sent += 1
            if sent == 1 and conn._plain:
                # The round's first transfer goes out now: the peer starts on it while
                # the rest are encoded, and its next credit comes back sooner (unless the
                # round is short, or the peer shares our CPU: EarlyWrites).
                conn._early_writes.round_begun(len(queue), core.credit, conn._flush)
        if queue and conn._paused and core.sendable:
            conn._stalled.add(self)  # pumped again when the transport takes more
        if core.drain_requested and (not queue or core.credit == 0):
            core.drained()  # 2.6.7: nothing (more) to send; the credit goes back
            sent += 1  # (a flow to write)
        self._count_available(len(queue))
        room = self._room
        free = self._queue_size - len(queue)
        if room and 2 * free >= self._queue_size:
            while room and free > 0:
                future = room.popleft()
                if not future.done():
                    future.set_result(True)
                    free -= 1
        return sent

    def _withdraw(self, handles: Iterable[Handle]) -> None:
        """Take the handles' messages not sent yet out of the queue: they never go."""
        gone = {id(h) for h in handles if type(h) is Queued and h.delivery is None}
        if gone:
            self._queue = deque(h for h in self._queue if id(h) not in gone)
            self._count_available(len(self._queue))

    # -- outcomes ---------------------------------------------------------------------------
    async def wait_settled(self, delivery: Handle, *,
                           timeout: float | None = None) -> DeliveryState | None:
        """Wait for the outcome of a :meth:`send_nowait` handle (see :meth:`send`).

        A timeout while the message still waits for credit withdraws it.
        """
        conn = self._conn
        span = conn._span(timeout)
        end = conn._loop.time() + span
        ok = True
        # (_wait's loop, inline, as in send: a bulk sender's wait on each handle is
        # mostly over before it begins.)
        while (future := self._arm((delivery,), end)) is not None:
            if not await future:
                ok = False
                break
        return self._result(delivery, ok, span, True)

    async def wait_all(self, handles: Iterable[Handle], *,
                       timeout: float | None = None) -> list[DeliveryState | None]:
        """Wait for the outcomes of many :meth:`send_nowait` handles at once, O(n) in all.

        Returns each one's outcome in order: Accepted / Rejected / Released / Modified
        objects, not raised (None for a pre-settled send). Raises TimeoutError (the
        messages still waiting for credit are withdrawn), or LinkDetachedError /
        SessionEndedError / ConnectionClosedError if the link ends first.
        """
        conn = self._conn
        handles = list(handles)
        ok = await self._wait(handles, conn._deadline(timeout))
        return self._results(handles, ok, conn._span(timeout))

    def _finished(self, handle: Handle) -> bool:
        """Nothing more to wait for: settled, pre-settled and sent, or never going to be."""
        if isinstance(handle, Queued):
            if handle.delivery is None:
                return self._gone()
            handle = handle.delivery
        return handle.context is PRESETTLED or self._outcome_ready(handle)

    async def _wait(self, handles: Sequence[Handle] | tuple[Handle, ...], end: float) -> bool:
        """Wait until every handle is finished; False if the loop time ``end`` passed first."""
        while (future := self._arm(handles, end)) is not None:
            if not await future:
                return False
            if future.left <= 0 and not self._forward:
                # Woken by the last outcome it counted, not by a rare event: every handle
                # is finished, no second pass over them all (with resends, one looks).
                return True
        return True

    def _arm(self, handles: Sequence[Handle] | tuple[Handle, ...],
             end: float) -> Waiter | None:
        """One pass of a wait: None if every handle is finished, else a future to await,
        resolved when the last one is (True), by a rare event (True: pass again), or at
        the loop time ``end`` (False).

        One future for the whole wait, kept on each unfinished delivery (or queued
        message): each outcome is O(1), and the last one wakes the caller. Not a
        coroutine: with thousands of sends waiting, each layer of coroutine between the
        caller and its future is one more object alive per wait.
        """
        conn = self._conn
        waiter: Waiter | None = None
        # Whether the link is gone, for the messages still queued: asked once per
        # pass (nothing in the pass can change it), not once per message.
        gone: bool | None = None
        # With no resends (no reconnect), a delivery settled by the peer is finished
        # without a call (3.4: settled means its outcome is final): a bulk wait's
        # usual case, one look per message.
        plain = not self._forward
        for handle in handles:
            if isinstance(handle, Queued):
                delivery = handle.delivery
                if delivery is None:
                    if gone is None:
                        gone = self._gone()
                    if gone:
                        continue
                elif (plain and delivery.remote_settled) or self._finished(delivery):
                    continue
            elif (plain and handle.remote_settled) or self._finished(handle):
                continue
            if waiter is None:
                waiter = Waiter(conn._loop)
            waiter.left += 1
            if isinstance(handle, Queued):
                if handle.delivery is None:
                    handle.waiter = add_waiter(handle.waiter, waiter)
                    continue
                handle = handle.delivery
            if self._forward:
                handle = self._resolve(handle)  # resent after a reconnect
            handle.context = add_waiter(handle.context, waiter)
        if waiter is None:
            return None
        conn._sleepers.add(waiter, end)
        return waiter

    def _result(self, handle: Handle, ok: bool, span: float,
                raise_outcome: bool) -> DeliveryState | None:
        """After a wait: the handle's outcome (raised if ``raise_outcome`` and not
        accepted), or the exception for an unfinished one."""
        if isinstance(handle, Queued):
            delivery = handle.delivery
        else:
            delivery = handle
        # The usual case without a call: accepted (3.4), with no resend in between.
        if delivery is not None and type(delivery.remote_state) is Accepted \
                and delivery.context is not PRESETTLED and not self._forward:
            return delivery.remote_state
        name = self.name
        if isinstance(handle, Queued):
            if handle.delivery is None:
                self._withdraw((handle,))
                self._check()
                if not ok:
                    raise TimeoutError(f"link {name!r}: no credit to send within {span} s")
                raise amqp_errors.LinkDetachedError(
                    f"link {name!r} ended before the message was sent")
            handle = handle.delivery
        if handle.context is PRESETTLED:
            return None
        if not raise_outcome:
            delivery = self._resolve(handle) if self._forward else handle
            if delivery.remote_settled or isinstance(delivery.remote_state, TERMINAL):
                return delivery.remote_state or Accepted()
        return self._outcome(handle, ok, span)

    def _results(self, handles: Sequence[Handle], ok: bool,
                 span: float) -> list[DeliveryState | None]:
        if not ok:
            self._withdraw(handles)
        result = self._result
        if self._forward:
            return [result(h, ok, span, False) for h in handles]
        out: list[DeliveryState | None] = []
        append = out.append
        for h in handles:
            # The usual case without a call: sent, settled by the peer with its outcome
            # (3.4; None only for an accept that the settlement implies).
            d = h.delivery if isinstance(h, Queued) else h
            if d is not None and d.remote_settled and d.context is not PRESETTLED:
                append(d.remote_state or Accepted())
            else:
                append(result(h, ok, span, False))
        return out

    # -- events -----------------------------------------------------------------------------
    def _on_flow_event(self, event: Any) -> None:
        self._pump()  # credit came, or a drain request (2.6.7): send what waits for it

    def _recovered(self) -> None:
        super()._recovered()
        self._pump()

    def _detached(self, event: LinkDetached) -> None:
        super()._detached(event)
        if not self._lost:  # (the transport went: the queue waits for the next one)
            self._drop_queue()

    def _never_back(self) -> None:
        super()._never_back()
        self._drop_queue()

    def _drop_queue(self) -> None:
        """The link is over: what waits for credit is never sent (its waits raise, woken
        by the event that ended the link); say so for what nobody waits on."""
        if self._queue:
            log.warning("%s: link %r ended with %d message(s) still waiting for credit; "
                        "they were not sent", self._conn.label, self.name, len(self._queue))
            self._queue.clear()
