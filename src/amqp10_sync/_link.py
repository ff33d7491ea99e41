"""Blocking senders and receivers, and the message a receiver hands out.

The core link holds credit, delivery counts and settlement; these classes only
wait until an event makes the call possible or finished (each on what it waits
for: its delivery, its receiver, its handle; see ``_waits``), and keep the
application's queue of received messages.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from typing_extensions import Self

from amqp10_proto import (
    BATCH_MESSAGE_FORMAT,
    Accepted,
    DeliveryState,
    EncodedMessage,
    Error,
    LinkDetached,
    LinkState,
    Message,
    encode_batch,
)
from amqp10_proto import Delivery as CoreDelivery
from amqp10_proto import Receiver as CoreReceiver
from amqp10_proto import Sender as CoreSender
from amqp10_proto import errors as amqp_errors
from amqp10_proto.client import (
    HasTxnId,
    LinkBase,
    ReceivedSections,
    ReceiverBase,
    SenderBase,
    check_settle,
    check_settle_once,
    sendable,
    timeout_or,
    txn_id_of,
)
from amqp10_proto.client import SendOptions as _Opts

from ._waits import WRITTEN

if TYPE_CHECKING:
    from ._connection import Connection
    from ._session import Session

__all__ = ["Queued", "ReceivedMessage", "Receiver", "Sender"]

log = logging.getLogger("amqp10")
#: Bytes queued and not yet written above which senders wait (backpressure).
HIGH_WATER = 4 << 20
#: ``send_many`` writes after this many messages (one write for a run, not one each).
_RUN = 64


class _Link(LinkBase["Session"]):
    """What senders and receivers share: attach, detach (the state and its checks are
    amqp10_proto.client.LinkBase's; these wait for them on the connection's condition)."""

    _core: CoreSender | CoreReceiver
    _conn: Connection
    _session: Session

    def wait_detached(self, timeout: float | None = None) -> bool:
        """Block until the link is gone (detached by either side, its session or connection
        over); see ``error``. Waits at most ``timeout`` s (None: until then); True if gone."""
        conn = self._conn
        end = None if timeout is None else time.monotonic() + timeout_or(0.0, timeout)
        with conn._cond:
            conn._wait_until(self._gone, end)
            return self._gone()

    def _wait_attached(self, end: float, needs_remote: bool) -> None:
        if not self._conn._wait_until(lambda: self._attach_done(needs_remote), end):
            raise self._attach_failed()
        self._check()

    def close(self, timeout: float | None = None, error: Error | None = None) -> None:
        """Detach (close) the link; wait up to ``timeout`` for the peer's detach.

        Returns at once if the link, its session or its connection is already over.
        """
        self._end(timeout, error, True)

    def detach(self, timeout: float | None = None, error: Error | None = None) -> None:
        """Detach without closing (2.6.6: closed=false): the peer keeps the terminus, so a
        link of the same name attached later resumes it (a durable subscription). The
        link is over for this object as after :meth:`close`."""
        self._end(timeout, error, False)

    def _end(self, timeout: float | None, error: Error | None, closed: bool) -> None:
        conn = self._conn
        end = conn._deadline(timeout)
        with conn._cond:
            if self._detach_nowait(error, closed) and not conn._wait_until(self._detach_done,
                                                                           end):
                raise self._detach_timeout(conn._span(timeout))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        except Exception:
            if exc[0] is None:
                raise
            log.debug("error closing a link after an exception", exc_info=True)


class Queued:
    """A message :meth:`Sender.send_nowait` accepted while the link had no credit.

    The connection sends it, in call order, as soon as the peer grants credit
    (2.6.7); ``delivery`` is set then. Pass it to :meth:`Sender.wait_settled`.
    """

    __slots__ = ("delivery", "message", "opts", "settled")

    def __init__(self, message: Message | EncodedMessage | bytes, settled: bool | None,
                 opts: _Opts | None = None) -> None:
        self.message = message
        self.settled = settled
        self.opts = opts
        self.delivery: CoreDelivery | None = None

    def __repr__(self) -> str:
        return f"<Queued {'sent' if self.delivery is not None else 'waiting for credit'}>"


class Sender(SenderBase["Session"], _Link):
    """A sending link; ``send`` is safe from many threads, and concurrent sends are pipelined.

    Messages sent while the link has no credit wait in a bounded queue, in call
    order; whichever thread handles the peer's next flow (the I/O thread, or a
    caller reading the socket for itself while it waits: see ``_waits``) sends
    them, so a sender is never one thread hand-off per credit grant behind a
    peer that grants credit a few messages at a time.
    """

    _core: CoreSender

    def __init__(self, session: Session, core: CoreSender, *, queue_size: int = 1000,
                 **extra: Any) -> None:
        super().__init__(session, core, **extra)
        self._queue: deque[Queued] = deque()
        self._queue_size = queue_size
        self._room_waiters = 0
        # What a sender waiting for room in the queue waits on (a keyed wait, so that
        # the caller of a bulk send reads the socket itself while it waits: _waits),
        # and how many times the queue went down to half with someone waiting.
        self._room = object()
        self._room_turns = 0

    @property
    def queued(self) -> int:
        """Messages accepted by :meth:`send_nowait` and waiting for credit."""
        return len(self._queue)

    def send(self, message: Message | bytes | EncodedMessage, *, timeout: float | None = None,
             settled: bool | None = None, message_format: int = 0,
             delivery_tag: bytes | None = None,
             txn: HasTxnId | None = None) -> DeliveryState | None:
        """Send ``message``; wait for credit, then for the peer's outcome (unsettled mode).

        ``message``: a Message; bytes are a data body (``Message(data)``); a message
        encoded already goes as ``EncodedMessage(data)``; anything else is a TypeError.

        Returns the outcome (``Accepted()``), or None for a pre-settled send (which
        returns once written). Raises MessageRejected / MessageReleased /
        MessageModified with the peer's error, TimeoutError, or LinkDetachedError /
        SessionEndedError / ConnectionClosedError. A timeout while waiting for credit
        withdraws the message; a timeout after it went out leaves it tracked by
        the core: it is not sent twice.

        ``message_format`` (2.7.5, a uint) and ``delivery_tag`` (2.8.7: at most 32 bytes,
        unique among this link's unsettled) go on the transfer; ``txn`` (from
        ``session.transaction()``) posts the message in that transaction (4.4.1). They
        are checked first: TypeError / ValueError / TransactionError, nothing sent.
        """
        conn = self._conn
        end = conn._deadline(timeout)
        with conn._lock:  # (the condition's lock, entered without its Python call)
            opts = self._send_options(message_format, delivery_tag, txn, self._queue)
            return self._wait_one(self._send_locked(message, timeout, end, settled, opts=opts),
                                  timeout, end)

    def send_batch(self, messages: Iterable[Message | bytes | EncodedMessage], *,
                   timeout: float | None = None, settled: bool | None = None,
                   txn: HasTxnId | None = None) -> DeliveryState | None:
        """Send ``messages`` as one batch message in Azure's format (``encode_batch``,
        message-format ``BATCH_MESSAGE_FORMAT``): one delivery, one outcome for all, as
        the Azure SDK's ``send_messages(batch)``; otherwise as :meth:`send`."""
        return self.send(encode_batch(messages), timeout=timeout, settled=settled,
                         message_format=BATCH_MESSAGE_FORMAT, txn=txn)

    def send_nowait(self, message: Message | bytes | EncodedMessage, *,
                    timeout: float | None = None, settled: bool | None = None,
                    message_format: int = 0, delivery_tag: bytes | None = None,
                    txn: HasTxnId | None = None) -> CoreDelivery | Queued:
        """Send without waiting for the outcome, nor for credit; the bulk path.

        Returns the delivery, or a :class:`Queued` handle when the link has no
        credit now (the message goes out as soon as it has); pass either to
        :meth:`wait_settled` or :meth:`wait_all` later. Waits (up to ``timeout``)
        only when ``queue_size`` messages are already waiting for credit. The options
        are :meth:`send`'s.
        """
        conn = self._conn
        with conn._lock:
            opts = self._send_options(message_format, delivery_tag, txn, self._queue)
            return self._send_locked(message, timeout, conn._deadline(timeout), settled,
                                     opts=opts)

    def send_many(self, messages: Iterable[Message | bytes | EncodedMessage], *,
                  timeout: float | None = None, message_format: int = 0,
                  txn: HasTxnId | None = None) -> list[DeliveryState | None]:
        """Send every message and wait for all their outcomes: ``send_nowait`` each, then
        :meth:`wait_all`, within ``timeout`` in all; the outcomes in order, not raised.
        On TimeoutError the messages still waiting for credit are withdrawn (never
        sent); those sent are tracked to their outcome as ever. ``message_format`` and
        ``txn`` apply to each message (see :meth:`send`)."""
        conn = self._conn
        end = conn._deadline(timeout)
        handles: list[CoreDelivery | Queued] = []
        with conn._cond:
            opts = self._send_options(message_format, None, txn)
            queue = self._queue
            size = self._queue_size
            batch: list[Queued] = []  # behind a non-empty queue: queued in one go
            room = 0  # how many more the batch takes before the queue is full
            try:
                for message in messages:
                    if not room:
                        if batch:
                            self._enqueue(batch, handles)  # full: the next one waits for room
                            batch = []
                        if not queue or len(queue) >= size:
                            handles.append(self._send_locked(
                                message, timeout, end, None,
                                flush=len(handles) % _RUN == _RUN - 1, opts=opts))
                            continue
                        # Nothing goes out before the queue does (call order), and nothing
                        # changes while we hold the lock: the checks and the pump once
                        # per run of messages, not once each (issue 12 item 2).
                        conn._after()  # the transfers made before it go out now
                        room = size - len(queue)
                    room -= 1
                    if type(message) is not Message:
                        message = sendable(message)
                    batch.append(Queued(message, None, opts))
                if batch:
                    self._enqueue(batch, handles)
            except BaseException:
                self._withdraw(handles)  # the call failed: none of it waits to go out later
                raise
            finally:
                conn._after()
            return self._wait_all_locked(handles, timeout, end)

    def _send_locked(self, message: Message | bytes | EncodedMessage, timeout: float | None,
                     end: float, settled: bool | None, flush: bool = True,
                     opts: _Opts | None = None) -> CoreDelivery | Queued:
        """(Lock held) hand ``message`` to the core, or queue it for credit; written at once
        unless ``flush`` is False (``send_many`` writes a run of messages at a time)."""
        if type(message) is not Message:
            message = sendable(message)  # TypeError here, not in the I/O thread later
        conn = self._conn
        queue = self._queue
        core = self._core
        if not queue and core.sendable and conn._out_bytes < HIGH_WATER and not self._resend:
            delivery = self._transfer(message, settled, opts)
            if core.drain_requested:
                core.drained()  # nothing else waits to be sent (2.6.7)
            if flush:
                conn._after()
            return delivery
        self._check_sending()
        if len(queue) >= self._queue_size:
            conn._after()  # what was handed over goes out while this waits
            self._room_waiters += 1
            try:
                ok = self._wait_for_room(end)
            finally:
                self._room_waiters -= 1
            if self._gone():
                self._check()
                raise amqp_errors.LinkDetachedError(f"link {self.name!r} is not attached")
            if not ok:
                raise TimeoutError(f"link {self.name!r}: no credit to send within "
                                   f"{conn._span(timeout)} s")
        handle = Queued(message, settled, opts)
        queue.append(handle)
        if core.credit > 0 or self._resend or core.drain_requested:
            self._pump()
            if flush:
                conn._after()
        else:
            # No credit: the pump would send nothing, and the core has nothing new to
            # write; it runs when the peer's flow comes (one pass a credit grant, not one
            # a queued message: issue 12 item 2).
            self._count_available(len(queue))
        return handle

    def _enqueue(self, batch: list[Queued], handles: list[CoreDelivery | Queued]) -> None:
        """(Lock held, ``send_many``) queue ``batch`` behind the non-empty queue, with the
        checks ``_send_locked`` makes of each message, made once."""
        self._check_sending()
        self._queue.extend(batch)
        handles.extend(batch)
        core = self._core
        if core.credit > 0 or self._resend or core.drain_requested:
            self._pump()
        else:
            self._count_available(len(self._queue))

    def _wait_for_room(self, end: float) -> bool:
        """Wait (lock held) until the queue has room or the link is gone; False on timeout.

        Room is made known a half queue at a time (``_room_made``): a caller that
        queues many messages wakes once per half queue, not once per credit grant. A
        caller alone reads the socket itself meanwhile (``_wait_until``): the I/O
        thread is not woken by each credit grant to hand it the room, and the bulk
        send is one thread's work, as on asyncio or trio (issue 12 item 2: 20-35 %
        more messages a second).
        """
        queue = self._queue
        size = self._queue_size
        half = size // 2
        turns = self._room_turns

        def room() -> bool:
            # The driving caller goes on once the queue is down to half; a woken one
            # once it was (since it began waiting) and room is still there (others
            # woken with it may have filled it again).
            n = len(queue)
            return n <= half or (n < size and self._room_turns != turns) or self._gone()

        return self._conn._wait_until(room, end, self._room) or len(queue) < size

    def _room_made(self) -> None:
        """(Lock held) the queue went down to half or less: wake the senders waiting."""
        self._room_turns += 1
        self._conn._notify(self._room)

    def _transfer(self, message: Message | EncodedMessage | bytes,
                  settled: bool | None, opts: _Opts | None = None) -> CoreDelivery:
        """Hand one message to the core (lock held, credit available)."""
        # (The plain send without _core_send's call: once per message of a bulk send.)
        delivery = self._core.send(message, settled=settled) if opts is None \
            else self._core_send(message, settled, opts)
        if delivery.settled:
            # Pre-settled: done once the socket took the bytes queued up to this
            # transfer; the connection sets that mark when it takes the bytes.
            delivery.context = -1
            self._conn._unmarked.append(delivery)
        else:
            self._track(delivery, message)  # sent again if the transport goes first
        return delivery

    def _pump(self) -> None:
        """Send queued messages while there is credit and room to write (lock held)."""
        queue = self._queue
        core = self._core
        conn = self._conn
        keyed = conn._keyed
        presettled = False
        if self._resend and not self._pump_resends():
            return  # what was in doubt after a reconnect goes first, in its order
        sent = 0
        while queue and core.sendable and conn._out_bytes < HIGH_WATER:
            handle = queue.popleft()
            delivery = handle.delivery = self._transfer(handle.message, handle.settled,
                                                        handle.opts)
            handle.message = b""  # the core holds the encoded frames now
            presettled |= delivery.settled
            if keyed:  # (nobody waits on a handle of send_many, while it waits for room)
                # Its waiter now waits for the outcome (or the write): moved, not woken.
                conn._rekey(handle, WRITTEN if delivery.settled else delivery)
            sent += 1
            if sent == 1 and not conn._is_ssl and conn._ws is None:
                # The round's first transfer goes out now: the peer starts on it while
                # the rest are encoded, and its next credit comes back sooner (unless the
                # round is short, or the peer shares our CPU: EarlyWrites).
                conn._early_writes.round_begun(len(queue), core.credit, conn._flush)
        if queue and core.state is LinkState.ATTACHED and core.credit > 0:
            conn._stalled.add(self)  # blocked by the write buffer: pump after the next write
        if core.drain_requested and (not queue or core.credit == 0):
            core.drained()  # nothing (more) to send: give the credit back (2.6.7)
        if presettled:
            conn._notify(WRITTEN)  # done once written: their waiters look again
        if self._room_waiters and len(queue) <= self._queue_size // 2:
            self._room_made()  # at half: a wake per half queue, not per credit grant
        self._count_available(len(queue))

    def wait_settled(self, delivery: CoreDelivery | Queued, *,
                     timeout: float | None = None) -> DeliveryState | None:
        """Wait for the outcome of a :meth:`send_nowait` handle (see :meth:`send`)."""
        conn = self._conn
        end = conn._deadline(timeout)
        with conn._lock:
            return self._wait_one(delivery, timeout, end)

    def wait_all(self, handles: Iterable[CoreDelivery | Queued], *,
                 timeout: float | None = None) -> list[DeliveryState | None]:
        """Wait for the outcomes of many :meth:`send_nowait` handles, within ``timeout`` in
        all: each handle's outcome in order (Accepted, Rejected, Released, Modified ...;
        None for a pre-settled one), returned, not raised. Raises only TimeoutError,
        LinkDetachedError, SessionEndedError or ConnectionClosedError. On TimeoutError
        the handles still waiting for credit are withdrawn, as by :meth:`wait_settled`."""
        conn = self._conn
        end = conn._deadline(timeout)
        with conn._cond:
            return self._wait_all_locked(handles, timeout, end)

    def _wait_all_locked(self, handles: Iterable[CoreDelivery | Queued], timeout: float | None,
                         end: float) -> list[DeliveryState | None]:
        # One wait per handle whose outcome is not here yet, each on its own delivery:
        # O(n) in all, as outcomes mostly come in order (a ranged disposition at a time).
        handles = list(handles)
        states: list[DeliveryState | None] = []
        try:
            for handle in handles:
                try:
                    states.append(self._wait_one(handle, timeout, end))
                except amqp_errors.DeliveryFailed as exc:
                    states.append(exc.state)  # type: ignore[arg-type]  # the peer's outcome
        except TimeoutError:
            self._withdraw(handles)  # as for one handle: what still waits for credit never goes
            raise
        return states

    def _withdraw(self, handles: list[CoreDelivery | Queued]) -> None:
        """(Lock held) take the handles still waiting for credit out of the queue."""
        unsent = {h for h in handles if isinstance(h, Queued) and h.delivery is None}
        if unsent:
            queue = self._queue
            kept = [h for h in queue if h not in unsent]
            queue.clear()
            queue.extend(kept)
            self._count_available(len(queue))
            if self._room_waiters:
                self._room_made()

    def _wait_one(self, delivery: CoreDelivery | Queued, timeout: float | None,
                  end: float) -> DeliveryState | None:
        """(Lock held) wait for one handle's outcome (see :meth:`send`)."""
        # Accepted and settled already (the usual case after a ranged disposition, in
        # wait_all and wait_settled): the outcome as below, without the waits' set-up.
        sent = delivery.delivery if isinstance(delivery, Queued) else delivery
        if (sent is not None and sent.remote_settled and sent.context is None
                and type(sent.remote_state) is Accepted and not self._forward):
            return sent.remote_state
        conn = self._conn
        if isinstance(delivery, Queued):
            handle = delivery
            finished = self._finished

            def key() -> object:  # where _pump moves its waiter once it is sent
                sent = handle.delivery
                return handle if sent is None else WRITTEN if sent.settled else sent

            ok = conn._wait_until(lambda: (handle.delivery is not None
                                           and finished(handle.delivery)) or self._gone(),
                                  end, key)
            if handle.delivery is None:
                with contextlib.suppress(ValueError):
                    self._queue.remove(handle)  # withdrawn: it is never sent
                self._check()
                if not ok:
                    raise TimeoutError(f"link {self.name!r}: no credit to send within "
                                       f"{conn._span(timeout)} s")
                raise amqp_errors.LinkDetachedError(
                    f"link {self.name!r} ended before the message was sent")
            delivery = handle.delivery
        if delivery.context is not None:  # pre-settled: done once the socket took it
            written = conn._written
            ok = conn._wait_until(lambda: written(delivery) or conn.closed, end, WRITTEN)
            if not written(delivery):
                conn._check()
                if not ok:
                    raise TimeoutError("the message was not written within the timeout")
            return None
        ok = conn._wait_until(lambda: self._outcome_ready(delivery), end,
                              self._resolve(delivery) if self._forward else delivery)
        return self._outcome(delivery, ok, conn._span(timeout))

    def _finished(self, delivery: CoreDelivery) -> bool:
        """Its outcome is here (or the link or connection is over); pre-settled: written."""
        if delivery.context is not None:
            return bool(self._conn._written(delivery) or self._conn.closed)
        return bool(self._outcome_ready(delivery))

    def _on_flow_event(self, event: Any) -> None:
        self._pump()  # credit arrived (or a drain request): send what waits for it

    def _recovered(self) -> None:
        super()._recovered()
        self._pump()

    def _detached(self, event: LinkDetached) -> None:
        super()._detached(event)
        if self._lost:
            return  # the transport went: the queue waits for the next one
        self._drop_queue()

    def _never_back(self) -> None:
        super()._never_back()
        self._drop_queue()

    def _drop_queue(self) -> None:
        """The link is over: what waits for credit is never sent (their wait_settled
        raises); say so for those not waited on, and wake the senders waiting for room."""
        if self._queue:
            log.warning("%s: link %r ended with %d message(s) still waiting for credit; "
                        "they were not sent", self._conn.label, self.name, len(self._queue))
            self._queue.clear()
        self._room_made()


class ReceivedMessage(ReceivedSections["Receiver"]):
    """A message from a :class:`Receiver`, with its delivery (settle it with accept etc.).

    The message's sections are readable here directly (``body``, ``properties``,
    ``application_properties`` ...); ``message`` is the whole ``Message``.
    """

    __slots__ = ()

    def accept(self, *, timeout: float | None = None, txn: HasTxnId | None = None) -> None:
        """Accept this message (see :meth:`Receiver.accept`)."""
        self.receiver.accept(self, timeout=timeout, txn=txn)

    def reject(self, error: Error | None = None, *, timeout: float | None = None,
               txn: HasTxnId | None = None) -> None:
        """Reject this message (see :meth:`Receiver.reject`)."""
        self.receiver.reject(self, error, timeout=timeout, txn=txn)

    def release(self, *, timeout: float | None = None, txn: HasTxnId | None = None) -> None:
        """Release this message (see :meth:`Receiver.release`)."""
        self.receiver.release(self, timeout=timeout, txn=txn)

    def modify(self, *, delivery_failed: bool = True, undeliverable_here: bool = False,
               message_annotations: dict[Any, Any] | None = None,
               timeout: float | None = None, txn: HasTxnId | None = None) -> None:
        """Settle this message as modified (see :meth:`Receiver.modify`)."""
        self.receiver.modify(self, delivery_failed=delivery_failed,
                             undeliverable_here=undeliverable_here,
                             message_annotations=message_annotations, timeout=timeout,
                             txn=txn)


class Receiver(ReceiverBase["Session"], _Link):
    """A receiving link: ``receive``, ``receive_batch``, iteration; credit refilled as you consume."""

    _core: CoreReceiver
    _buffer: deque[ReceivedMessage]
    _message_class = ReceivedMessage

    def _deliver(self, event: Any) -> None:
        super()._deliver(event)
        self._conn._notify(self)  # a message wakes this receiver's waiters only

    # -- receiving ----------------------------------------------------------------------
    def receive(self, timeout: float | None = None) -> ReceivedMessage:
        """The next message; raises TimeoutError if none arrives within ``timeout``."""
        conn = self._conn
        end = conn._deadline(timeout)
        with conn._lock:
            buffer = self._buffer
            if not buffer:
                ok = conn._wait_until(lambda: buffer or self._gone(), end, self)
                if not buffer:
                    raise self._no_message(ok, conn._span(timeout))
            msg = buffer.popleft()
            self._refill(flush=True)
            return msg

    def receive_batch(self, n: int, timeout: float | None = None) -> list[ReceivedMessage]:
        """Up to ``n`` messages: return once ``n`` are here or ``timeout`` passed (maybe [])."""
        conn = self._conn
        end = conn._deadline(timeout)
        want = self._batch_size(n)
        with conn._cond:
            buffer = self._buffer
            conn._wait_until(lambda: len(buffer) >= want or self._gone(), end, self)
            if not buffer and self._gone():
                raise self._no_message(True, conn._span(timeout))
            return self._take(n)

    def __iter__(self) -> Iterator[ReceivedMessage]:
        """Messages as they arrive, until the link (or connection) is closed by us.

        Waits without a timeout; raises LinkDetachedError / SessionEndedError /
        ConnectionClosedError if the peer ends it.
        """
        conn = self._conn
        buffer = self._buffer
        while True:
            with conn._cond:
                conn._wait_until(lambda: buffer or self._gone(), None, self)
                if not buffer:
                    if self._iteration_over():
                        return
                    raise self._no_message(True, 0)
                msg = buffer.popleft()
                self._refill(flush=True)
            yield msg

    # -- credit ---------------------------------------------------------------------------
    def add_credit(self, n: int) -> None:
        """Manual credit (receivers opened with ``credit=0``): let the peer send ``n`` more."""
        with self._conn._cond:
            self._add_credit(n)

    def drain(self, timeout: float | None = None) -> None:
        """Ask the peer to use all outstanding credit now or give it back; wait until done."""
        conn = self._conn
        end = conn._deadline(timeout)
        with conn._cond:
            before = self._drain_start()
            ok = conn._wait_until(lambda: self._drains != before or self._gone(), end)
            self._drain_result(before, ok)

    # -- settling -------------------------------------------------------------------------
    # In rcv-settle-mode second (2.8.3) the outcome goes out unsettled and each of these
    # waits, up to ``timeout``, for the sender to settle; in mode first they return at once.
    # The arguments are checked first (TypeError / ValueError, nothing sent). A message
    # settles once: another outcome later is a ValueError (see client.check_settle_once).
    # With ``txn`` (session.transaction()) the outcome is given in that transaction
    # (4.4.2: transactional retirement), applied when it commits; TransactionError first
    # if it cannot be used.
    def accept(self, msg: ReceivedMessage, *, timeout: float | None = None,
               txn: HasTxnId | None = None) -> None:
        """Settle ``msg`` as accepted (3.4.2); in rcv-settle-mode second, wait for the sender."""
        self._settle(msg, timeout, txn, "accept")

    def reject(self, msg: ReceivedMessage, error: Error | None = None, *,
               timeout: float | None = None, txn: HasTxnId | None = None) -> None:
        """Settle ``msg`` as rejected, with ``error`` for the sender (3.4.3)."""
        self._settle(msg, timeout, txn, "reject", error)

    def release(self, msg: ReceivedMessage, *, timeout: float | None = None,
                txn: HasTxnId | None = None) -> None:
        """Settle ``msg`` as released: the broker may deliver it again, to anyone (3.4.4)."""
        self._settle(msg, timeout, txn, "release")

    def modify(self, msg: ReceivedMessage, *, delivery_failed: bool = True,
               undeliverable_here: bool = False,
               message_annotations: dict[Any, Any] | None = None,
               timeout: float | None = None, txn: HasTxnId | None = None) -> None:
        """The modified outcome (RabbitMQ 3.10 lacks it and ends the session)."""
        self._settle(msg, timeout, txn, "modify", delivery_failed=delivery_failed,
                     undeliverable_here=undeliverable_here,
                     message_annotations=message_annotations)

    def _settle(self, msg: ReceivedMessage, timeout: float | None, txn: HasTxnId | None,
                how: str, *args: Any, **kwargs: Any) -> None:
        conn = self._conn
        delivery = check_settle(msg, how, args, kwargs, timeout)  # nothing sent if wrong
        txn_id = txn_id_of(txn)  # TransactionError for one not usable now, nothing sent
        with conn._cond:
            check_settle_once(self, delivery, how, args, kwargs)  # a message settles once
            wait = self._settle_start(delivery, how, args,
                                      kwargs if txn_id is None else dict(kwargs, txn_id=txn_id))
            if wait is None:
                return
            if not wait:
                if self._buffer:
                    conn._after_soon()  # more to settle: one write for the burst
                else:
                    conn._after()  # the application waits next: write now, from here
                return
            conn._after()
            # Woken by its disposition; by any event while it stands for another (2.6.13).
            key = delivery if self._settling(delivery) is delivery else None
            ok = conn._wait_until(lambda: self._settle_done(delivery), conn._deadline(timeout),
                                  key)
            self._settle_result(delivery, ok, conn._span(timeout))
