"""Trio senders and receivers, and the message a receiver hands out.

The core link holds credit, delivery counts and settlement; these classes only
wait (on the connection's broadcast event) until an event makes the call
possible or finished, and keep the application's queue of received messages.

Cancellation: every core call is made with no checkpoint between the check that
allows it and the call, and its output is queued for the writer task at once.
A send cancelled while it waits for credit sent nothing; one cancelled after
the message went out leaves the delivery tracked by the core to its settlement.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections import deque
from collections.abc import Hashable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import trio
from typing_extensions import Self

from amqp10_proto import (
    Accepted,
    DeliveryState,
    EncodedMessage,
    LinkDetached,
    LinkFailed,
    LinkState,
    Message,
)
from amqp10_proto import Delivery as CoreDelivery
from amqp10_proto import Receiver as CoreReceiver
from amqp10_proto import Sender as CoreSender
from amqp10_proto import errors as amqp_errors
from amqp10_proto.client import (
    AsyncBatchSending,
    AsyncLinkEnding,
    AsyncReceivedMessage,
    AsyncReceiverBase,
    HasTxnId,
    LinkBase,
    SenderBase,
    sendable,
)
from amqp10_proto.client import SendOptions as _Opts

from ._waits import Parked, Waits

if TYPE_CHECKING:
    from ._connection import Connection
    from ._session import Session

__all__ = ["Handle", "Queued", "ReceivedMessage", "Receiver", "Sender"]

log = logging.getLogger("amqp10")
#: Bytes queued and not yet written above which senders wait (backpressure).
HIGH_WATER = 4 << 20
#: What a pre-settled message's wait waits for: its bytes written (``Sender._waiting_on``).
_WRITE = object()


class _Link(AsyncLinkEnding, LinkBase["Session"]):
    """What senders and receivers share: attach, detach (the state and its checks are
    amqp10_proto.client.LinkBase's; these wait for them in trio's way)."""

    _core: CoreSender | CoreReceiver
    _conn: Connection
    _session: Session

    async def wait_detached(self) -> None:
        """Return once the link is gone (detached by the peer, its session or connection over)."""
        await self._conn._wait_until(self._gone, None)

    async def _wait_attached(self, end: float, needs_remote: bool) -> None:
        try:
            ok = await self._conn._wait_until(lambda: self._attach_done(needs_remote), end)
        except BaseException:
            self._detach_nowait()  # cancelled: do not leave a half-attached link behind
            raise
        if not ok:
            raise self._attach_failed()
        self._check()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is not None:
            # Leaving on an exception (maybe a cancellation): detach without waiting.
            self._detach_nowait()
            return
        await self.close()


class Queued(Parked):
    """A message :meth:`Sender.send_nowait` accepted while the link had no credit.

    It goes out, in call order, as soon as the peer grants credit (2.6.7);
    ``delivery`` is set then. Pass it to :meth:`Sender.wait_settled` or
    :meth:`Sender.wait_all`. (Internally, it is also the park record of the task
    that waits for it: one object less alive per waiting send.)
    """

    __slots__ = ("delivery", "message", "opts", "settled")

    def __init__(self, message: Message | EncodedMessage, settled: bool | None,
                 opts: _Opts | None = None) -> None:
        self.waits = None  # (Parked's: no task parked on it yet)
        self.key = None
        self.task = None
        self.end = math.inf
        self.listed = False
        self.message: Message | EncodedMessage | None = message
        self.settled = settled
        self.opts = opts
        self.delivery: CoreDelivery | None = None

    def __repr__(self) -> str:
        return f"<Queued {'sent' if self.delivery is not None else 'waiting for credit'}>"


#: What :meth:`Sender.send_nowait` returns: the delivery, or the message waiting for credit.
Handle = CoreDelivery | Queued


class Sender(AsyncBatchSending, SenderBase["Session"], _Link):
    """A sending link; ``send`` is safe from many tasks at once, and concurrent sends are pipelined.

    Messages wait for credit in a bounded queue, in call order; the connection's
    reader sends them as the peer grants credit (2.6.7). Each wait is woken only
    when its own condition changed: an outcome wakes the tasks waiting on that
    delivery, room in the queue wakes as many tasks as there is room for, so ten
    thousand concurrent ``send`` calls cost what ten do, per message.
    """

    _core: CoreSender

    def __init__(self, session: Session, core: CoreSender, *, queue_size: int = 1000,
                 **extra: Any) -> None:
        super().__init__(session, core, **extra)
        self._queue: deque[Queued] = deque()
        self._queue_size = queue_size
        #: Tasks waiting for room in the queue, first come first served.
        self._room: deque[trio.Event] = deque()
        #: Tasks waiting on one delivery (its outcome) or queued message (its transfer).
        self._waiters = Waits()

    @property
    def queued(self) -> int:
        """Messages accepted by :meth:`send_nowait` and waiting for credit."""
        return len(self._queue)

    async def send(self, message: Message | bytes | EncodedMessage, *,
                   timeout: float | None = None, settled: bool | None = None,
                   message_format: int = 0, delivery_tag: bytes | None = None,
                   txn: HasTxnId | None = None) -> DeliveryState | None:
        """Send ``message``; wait for credit, then for the peer's outcome (unsettled mode).

        ``message``: a Message; bytes are a data body (``Message(data)``); a message
        encoded already goes as ``EncodedMessage(data)``; anything else is a TypeError.

        Returns the outcome (``Accepted()``), or None for a pre-settled send (which
        returns once written). Raises MessageRejected / MessageReleased /
        MessageModified with the peer's error, TimeoutError, or LinkDetachedError /
        SessionEndedError / ConnectionClosedError. Cancelled (or timed out) while waiting for
        credit, nothing was sent; after the message went out, it stays tracked by
        the core to its settlement and is never sent twice.

        ``message_format`` (2.7.5, a uint) and ``delivery_tag`` (2.8.7: at most 32 bytes,
        unique among this link's unsettled) go on the transfer; ``txn`` (from
        ``session.transaction()``) posts the message in that transaction (4.4.1). They
        are checked first: TypeError / ValueError / TransactionError, nothing sent.
        """
        end = self._conn._deadline(timeout)
        opts = self._send_options(message_format, delivery_tag, txn, self._queue)
        if type(message) is not Message:
            message = sendable(message)  # TypeError now, before any wait
        await trio.lowlevel.checkpoint_if_cancelled()
        # Its message waits for credit in the queue, past queue_size if it must: this
        # task holds it anyway, and waiting for room too would be one more wake per send.
        handle = self._hand(message, settled, opts, bounded=False)
        assert handle is not None
        try:
            # _wait_one's loop, here: one coroutine less alive per waiting send.
            waits = self._waiters
            span = self._conn._span(timeout)
            while (key := self._waiting_on(handle)) is not None:
                if key is _WRITE:
                    return await self._wait_one(handle, end, span)  # pre-settled
                if await trio.lowlevel.wait_task_rescheduled(waits.park(key, end, handle)):
                    break  # the deadline came first
            return self._result(handle, span)
        finally:
            if isinstance(handle, Queued) and handle.delivery is None:
                self._withdraw([handle])  # timed out or cancelled: it is never sent

    async def send_nowait(self, message: Message | bytes | EncodedMessage, *,
                          timeout: float | None = None, settled: bool | None = None,
                          message_format: int = 0, delivery_tag: bytes | None = None,
                          txn: HasTxnId | None = None) -> Handle:
        """Hand ``message`` over without waiting for its outcome or for credit; the bulk path.

        Returns the delivery, or a :class:`Queued` handle when the link has no
        credit now (the message goes out, in order, as soon as it has); pass either
        to :meth:`wait_settled` or :meth:`wait_all`. Waits (up to ``timeout``) only
        while ``queue_size`` messages already wait for credit. The options are
        :meth:`send`'s.
        """
        opts = self._send_options(message_format, delivery_tag, txn, self._queue)
        if type(message) is not Message:
            message = sendable(message)  # TypeError now, before any wait
        await trio.lowlevel.checkpoint_if_cancelled()
        # (The hand-over is no coroutine: a send_nowait loop's cost per message.)
        handle = self._hand(message, settled, opts, bounded=True)
        if handle is None:  # the queue is full: wait for room, in turn
            handle = await self._hand_when_room(
                message, timeout, self._conn._deadline(timeout), settled, opts)
        return handle

    async def send_many(self, messages: Iterable[Message | bytes | EncodedMessage], *,
                        timeout: float | None = None, settled: bool | None = None,
                        message_format: int = 0,
                        txn: HasTxnId | None = None) -> list[DeliveryState | None]:
        """:meth:`send_nowait` each message, then :meth:`wait_all`: their outcomes, in order.

        ``timeout`` bounds the whole call. A rejected (released, modified) message's
        outcome is in the list, not raised. ``message_format`` and ``txn`` apply to
        each message (see :meth:`send`).
        """
        conn = self._conn
        end = conn._deadline(timeout)
        opts = self._send_options(message_format, None, txn)
        handles: list[Handle] = []
        it = iter(messages)
        await trio.lowlevel.checkpoint_if_cancelled()
        while (full := self._queue_many(it, handles, settled, opts)) is not None:
            # The queue is full: this one waits for room as send_nowait's would.
            handles.append(await self._hand_when_room(full, timeout, end, settled, opts))
        return await self._wait_all(handles, end, conn._span(timeout))

    async def wait_all(self, handles: Iterable[Handle], *,
                       timeout: float | None = None) -> list[DeliveryState | None]:
        """The outcome of each :meth:`send_nowait` handle, in order, in one call.

        Accepted / Rejected / Released / Modified objects (None for a pre-settled
        message, once written), not raised. Raises TimeoutError if they are not all
        settled within ``timeout`` (the handles still waiting for credit are then
        withdrawn, never sent), LinkDetachedError, SessionEndedError or
        ConnectionClosedError.
        """
        conn = self._conn
        return await self._wait_all(list(handles), conn._deadline(timeout), conn._span(timeout))

    async def _wait_all(self, handles: list[Handle], end: float,
                        span: float) -> list[DeliveryState | None]:
        await trio.lowlevel.checkpoint_if_cancelled()
        out: list[DeliveryState | None] = [None] * len(handles)
        done = False
        try:
            # The last first: outcomes come about in send order, so once it is here the
            # others mostly are too, and the whole batch costs a wake or two, not one each.
            usual = not self._forward  # (resends stand for some: the general path)
            for i in range(len(handles) - 1, -1, -1):
                handle = handles[i]
                delivery = handle.delivery if isinstance(handle, Queued) else handle
                if usual and delivery is not None and delivery.remote_settled \
                        and type(state := delivery.remote_state) is Accepted \
                        and delivery.context is None:
                    out[i] = state  # the usual outcome, as _outcome gives it
                    continue
                try:
                    if delivery is not None and self._finished(delivery):
                        out[i] = self._done(delivery, span)  # (no wait: no coroutine)
                    else:
                        out[i] = await self._wait_one(handle, end, span)
                except amqp_errors.DeliveryFailed as exc:
                    out[i] = cast(DeliveryState, exc.state)  # the peer's outcome
            done = True
        finally:
            if not done:
                self._withdraw([h for h in handles if isinstance(h, Queued)])
        return out

    async def wait_settled(self, delivery: Handle, *, timeout: float | None = None,
                           _end: float | None = None) -> DeliveryState | None:
        """Wait for the outcome of a :meth:`send_nowait` handle (see :meth:`send`).

        Timed out or cancelled while the message still waits for credit, it is
        withdrawn: it is never sent.
        """
        conn = self._conn
        end = _end if _end is not None else conn._deadline(timeout)
        try:
            return await self._wait_one(delivery, end, conn._span(timeout))
        finally:
            if isinstance(delivery, Queued) and delivery.delivery is None:
                self._withdraw([delivery])

    async def _wait_one(self, handle: Handle, end: float, span: float) -> DeliveryState | None:
        """Wait for one handle: its transfer (if it waits for credit), then its outcome
        (or, pre-settled, its bytes written), until ``end``. Each park carries the
        deadline (``Waits``: no cancel scope per wait) and no closure: with ten thousand
        sends waiting, each object a wait keeps alive is more work for the garbage
        collector."""
        waits = self._waiters
        while (key := self._waiting_on(handle)) is not None:
            if key is _WRITE:
                # Pre-settled: done once the stream took its bytes (the connection's
                # byte-mark heap, which has no deadline of its own).
                delivery = handle.delivery if isinstance(handle, Queued) else handle
                assert delivery is not None
                with trio.move_on_at(end):
                    await self._conn._sent(delivery.context)
                break
            if await trio.lowlevel.wait_task_rescheduled(waits.park(key, end, handle)):
                break  # the deadline came first
        return self._result(handle, span)

    def _waiting_on(self, handle: Handle) -> Hashable | None:
        """What a wait for ``handle`` parks on now: the queued message until it is sent
        (or the link is gone), then its delivery (its resend, after a reconnect) until
        the outcome is here; ``_WRITE`` while a pre-settled one's bytes are not all
        written; None once there is nothing (more) to wait for."""
        if isinstance(handle, Queued):
            delivery = handle.delivery
            if delivery is None:
                return None if self._gone() else handle
        else:
            delivery = handle
        if delivery.context is not None:
            return None if self._finished(delivery) else _WRITE
        if self._outcome_ready(delivery):
            return None
        return self._resolve(delivery) if self._forward else delivery

    def _result(self, handle: Handle, span: float) -> DeliveryState | None:
        """After the wait for ``handle``: its outcome, or the error for it."""
        delivery = handle.delivery if isinstance(handle, Queued) else handle
        if delivery is None:
            self._check()
            if not self._gone():
                raise TimeoutError(f"link {self.name!r}: no credit to send within {span} s")
            raise amqp_errors.LinkDetachedError(
                f"link {self.name!r} ended before the message was sent")
        return self._done(delivery, span)

    def _done(self, delivery: CoreDelivery, span: float) -> DeliveryState | None:
        """After the wait for ``delivery``: its outcome, or the error for it."""
        if delivery.context is not None:  # pre-settled: done once the stream took its bytes
            if not self._finished(delivery):
                self._conn._check()
                raise TimeoutError("the message was not written within the timeout")
            return None
        return self._outcome(delivery, self._outcome_ready(delivery), span)

    def _finished(self, delivery: CoreDelivery) -> bool:
        """Nothing more to wait for: the outcome is here (or the link is over); for a
        pre-settled delivery, its bytes are written (or the connection is over)."""
        mark = delivery.context
        if mark is None:
            return self._outcome_ready(delivery)
        conn = self._conn
        return bool(conn._sent_total >= mark or conn.closed)

    def _wake_all(self) -> None:
        """The link, its session or connection changed state: every waiter looks again."""
        self._waiters.wake_all()
        room = self._room
        for event in room:
            event.set()
        room.clear()

    # -- sending and the queue -----------------------------------------------------------
    async def _hand_when_room(self, message: Message | EncodedMessage,
                              timeout: float | None, end: float, settled: bool | None,
                              opts: _Opts | None) -> Handle:
        """``message`` found the queue full: wait, in turn, for room (until ``end``), then
        hand it over."""
        if not await self._wait_room(end):
            self._check()
            raise TimeoutError(f"link {self.name!r}: no credit to send within "
                               f"{self._conn._span(timeout)} s")
        handle = self._hand(message, settled, opts, bounded=False)
        assert handle is not None
        return handle

    def _hand(self, message: Message | EncodedMessage, settled: bool | None,
              opts: _Opts | None, *, bounded: bool) -> Handle | None:
        """Hand ``message`` over now: to the core if the link has credit and nothing waits
        before it (the delivery), else to the queue (its Queued handle); None if
        ``bounded`` and the queue is full (nothing done). The caller made its cancel
        check just before: no checkpoint from there to the core call, so the send
        happens whole or not at all."""
        queue = self._queue
        core = self._core
        conn = self._conn
        if not queue and core.sendable and not self._resend \
                and conn._unwritten < HIGH_WATER:
            delivery = self._transfer(message, settled, opts)
            if core.drain_requested:
                core.drained()  # nothing else waits to be sent (2.6.7)
            conn._after()
            return delivery
        self._check_sending()
        if bounded and len(queue) >= self._queue_size:
            return None
        handle = Queued(message, settled, opts)
        queue.append(handle)
        if core.sendable or core.drain_requested or self._resend:
            self._pump()
            conn._after()
        else:
            core.available = len(queue)  # 2.6.7 (_count_available: a queue is there)
        return handle

    def _queue_many(self, messages: Iterator[Message | bytes | EncodedMessage],
                    handles: list[Handle], settled: bool | None,
                    opts: _Opts | None) -> Message | EncodedMessage | None:
        """send_many's hand-over: ``_hand``'s work for each message of ``messages``, in
        one loop (no coroutine per message; the link looked at once per run of queued
        messages, as nothing can change it between two of them but a core call of ours,
        after which it is looked at again; ``available`` counted once). Returns the first
        message that finds the queue full (``_hand_when_room`` waits for room), None at
        the end."""
        queue = self._queue
        size = self._queue_size
        core = self._core
        conn = self._conn
        append = handles.append
        looked = False
        for message in messages:
            if type(message) is not Message:
                message = sendable(message)  # TypeError now, before any wait
            if len(queue) >= size:
                self._count_available(len(queue))
                return message
            if not queue and core.sendable and not self._resend \
                    and conn._unwritten < HIGH_WATER:
                append(self._transfer(message, settled, opts))  # (as _hand: credit now)
                if core.drain_requested:
                    core.drained()
                conn._after()
                looked = False
                continue
            if not looked:
                self._check_sending()
                looked = True
                # (Credit, a drain request or resends come with a read, a task of ours:
                # not while this loop runs. Asked once per run, as the link's state is.)
                could_send = core.sendable or core.drain_requested or self._resend
            handle = Queued(message, settled, opts)
            queue.append(handle)
            append(handle)
            if could_send:
                self._pump()
                conn._after()
                looked = False
        self._count_available(len(queue))
        return None

    async def _wait_room(self, end: float) -> bool:
        """Wait, in turn, for room in the queue; False past ``end``. Raises if the link
        is gone meanwhile."""
        queue = self._queue
        room = self._room
        event = trio.Event()
        room.append(event)
        try:
            with trio.move_on_at(end):
                while True:
                    await event.wait()
                    if self._gone():
                        self._check()
                        raise amqp_errors.LinkDetachedError(
                            f"link {self.name!r} is not attached")
                    if len(queue) < self._queue_size:
                        return True
                    event = trio.Event()
                    room.appendleft(event)  # keep its turn
            return False
        finally:
            if not event.is_set():
                with contextlib.suppress(ValueError):
                    room.remove(event)

    def _withdraw(self, handles: list[Queued]) -> None:
        """Take messages still waiting for credit out of the queue: they are never sent."""
        gone = {id(h) for h in handles if h.delivery is None}
        if not gone:
            return
        for h in handles:
            if h.delivery is None:
                # Not kept until the wait's record leaves its deadline line (it may stay
                # listed there until that deadline): a large message is freed now.
                h.message = None
        queue = self._queue
        kept = [h for h in queue if id(h) not in gone]
        queue.clear()  # (in place: waits hold the queue)
        queue.extend(kept)
        self._count_available(len(queue))
        self._wake_room()

    def _wake_room(self) -> None:
        """Wake as many tasks waiting for room as there is room for, in their order."""
        room = self._room
        free = self._queue_size - len(self._queue)
        while room and free > 0:
            room.popleft().set()
            free -= 1

    def _transfer(self, message: Message | EncodedMessage, settled: bool | None,
                  opts: _Opts | None = None) -> CoreDelivery:
        """Hand one message to the core (credit available)."""
        delivery = self._core_send(message, settled, opts)
        if delivery.settled:
            # Pre-settled: done once the stream took the bytes queued up to this transfer;
            # the connection sets that mark (``context``) when it takes the bytes.
            self._conn._unmarked.append(delivery)
        else:
            self._track(delivery, message)  # sent again if the transport goes first
        return delivery

    def _pump(self) -> None:
        """Send queued messages, in order, while there is credit and room to write."""
        if self._resend and not self._pump_resends():
            return  # what was in doubt after a reconnect goes first, in its order
        queue = self._queue
        core = self._core
        conn = self._conn
        waiters = self._waiters
        before = len(queue)
        # (The write buffer fills only when the writer takes the core's bytes, after this.)
        if conn._unwritten < HIGH_WATER:
            send = core.send
            payloads = self._payloads
            unmarked = conn._unmarked
            wake = waiters.wake
            parked = waiters._tasks  # (mostly empty: wait_all waits on its last handle)
            first = True
            while queue and core.sendable:
                handle = queue.popleft()
                message, handle.message = handle.message, None  # the core holds its frames
                assert message is not None
                # (_transfer's work, inline: this loop is a bulk sender's cost per message.)
                if handle.opts is None:
                    delivery = send(message, settled=handle.settled)
                else:
                    delivery = self._core_send(message, handle.settled, handle.opts)
                if delivery.settled:
                    unmarked.append(delivery)  # done once its bytes are written
                else:
                    # Kept to be sent again if the transport goes first: _track's insert,
                    # with its sweep of the settled ones only when that is due.
                    payloads[delivery] = message
                    if len(payloads) >= self._sweep_at:
                        self._track(delivery, message)
                handle.delivery = delivery
                if parked:
                    wake(handle)  # its waiter now waits for the outcome (or the write)
                if first:
                    first = False
                    # The round's first transfer goes out now: the peer starts on it while
                    # the rest are encoded, and its next credit comes back sooner (unless
                    # the round is short, or the peer shares our CPU: EarlyWrites). (Not
                    # while a sender is held back by HIGH_WATER: that write would pump it
                    # from inside this one.)
                    if not conn._stalled and not conn._direct_spent \
                            and type(conn._stream) is trio.SocketStream:
                        conn._early_writes.round_begun(len(queue), core.credit,
                                                       conn._write_early)
        moved = len(queue) < before
        if queue and core.state is LinkState.ATTACHED and core.credit > 0:
            conn._stalled.add(self)  # blocked by the write buffer: pump after the next write
        if core.drain_requested and (not queue or core.credit == 0):
            core.drained()  # nothing (more) to send: give the credit back (2.6.7)
        if moved and self._room and len(queue) <= self._queue_size // 2:
            self._wake_room()  # from half empty on: a wake per half queue, not per credit
        self._count_available(len(queue))

    def _pump_resends(self) -> bool:
        had = bool(self._resend)
        done = super()._pump_resends()
        if had:
            self._wake_all()  # resent deliveries now stand for the waited-on ones
        return done

    def _on_flow_event(self, event: Any) -> None:
        self._pump()  # credit arrived (or a drain request): send what waits for it

    def _recovered(self) -> None:
        super()._recovered()
        self._pump()

    def _detached(self, event: LinkDetached) -> None:
        super()._detached(event)
        self._wake_all()
        if not self._lost:
            self._drop_queue()  # (the transport went: the queue waits for the next one)

    def _on_failed(self, event: LinkFailed) -> None:
        super()._on_failed(event)
        self._wake_all()

    def _never_back(self) -> None:
        super()._never_back()
        self._drop_queue()

    def _drop_queue(self) -> None:
        """The link is over: what waits for credit is never sent (its waits raise)."""
        if self._queue:
            log.warning("%s: link %r ended with %d message(s) still waiting for credit; "
                        "they were not sent", self._conn.label, self.name, len(self._queue))
            self._queue.clear()
        self._wake_all()


class ReceivedMessage(AsyncReceivedMessage["Receiver"]):
    """A message from a :class:`Receiver`, with its delivery (settle it with accept etc.).

    The message's sections are readable here directly (``body``, ``properties``,
    ``application_properties`` ...); ``message`` is the whole ``Message``.
    ``await msg.accept()`` is ``await receiver.accept(msg)``; likewise reject,
    release and modify.
    """

    __slots__ = ()


class Receiver(AsyncReceiverBase["Session", ReceivedMessage], _Link):
    """A receiving link: ``receive``, ``receive_batch``, ``async for``; credit refilled as you consume.

    The calls are amqp10_proto.client.AsyncReceiverBase's; trio's own part is the
    checkpoints: a cancelled call does nothing, and a settlement yields once.
    """

    _core: CoreReceiver
    _message_class = ReceivedMessage

    def add_credit(self, n: int) -> None:
        """Manual credit (receivers opened with ``credit=0``): let the peer send ``n`` more.

        Does not wait (not async): it only queues a flow frame.
        """
        self._add_credit(n)

    async def _checkpoint(self) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()

    async def _settled(self) -> None:
        self._conn._after_soon()  # written with the burst's other settlements, by the writer
        await trio.lowlevel.cancel_shielded_checkpoint()
