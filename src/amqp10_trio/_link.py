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

import logging
from collections import deque
from types import TracebackType
from typing import TYPE_CHECKING, Any

import trio

from amqp10_proto import Delivery as CoreDelivery
from amqp10_proto import (
    Error,
    LinkState,
    Message,
)
from amqp10_proto import Receiver as CoreReceiver
from amqp10_proto import Sender as CoreSender
from amqp10_proto import errors as amqp_errors
from amqp10_proto.client import AsyncReceivedMessage, LinkBase, ReceiverBase, SenderBase

if TYPE_CHECKING:
    from ._connection import Connection
    from ._session import Session

__all__ = ["ReceivedMessage", "Receiver", "Sender"]

log = logging.getLogger("amqp10")
_HIGH_WATER = 4 << 20  # keep in step with _connection.HIGH_WATER


class _Link(LinkBase):
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

    async def close(self, timeout: float | None = None, error: Error | None = None) -> None:
        """Detach (close) the link; wait up to ``timeout`` for the peer's detach.

        Returns at once if the link, its session or its connection is already over.
        """
        conn = self._conn
        end = conn._deadline(timeout)
        if self._detach_nowait(error) and not await conn._wait_until(self._detach_done, end):
            raise self._detach_timeout(conn._span(timeout))

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is not None:
            # Leaving on an exception (maybe a cancellation): detach without waiting.
            self._detach_nowait()
            return
        await self.close()


class Sender(SenderBase, _Link):
    """A sending link; ``send`` is safe from many tasks at once, and concurrent sends are pipelined."""

    _core: CoreSender

    def __init__(self, session: Session, core: CoreSender, **extra: Any) -> None:
        super().__init__(session, core, **extra)
        self._waiting = 0

    async def send(self, message: Message | bytes, *, timeout: float | None = None,
                   settled: bool | None = None) -> Any:
        """Send ``message``; wait for credit, then for the peer's outcome (unsettled mode).

        Returns the outcome (``Accepted()``), or None for a pre-settled send (which
        returns once written). Raises MessageRejected / MessageReleased /
        MessageModified with the peer's error, TimeoutError, or LinkDetached /
        SessionEnded / ConnectionClosed. Cancelled (or timed out) while waiting for
        credit, nothing was sent; after the message went out, it stays tracked by
        the core to its settlement and is never sent twice.
        """
        end = self._conn._deadline(timeout)
        delivery = await self._send(message, timeout, end, settled)
        return await self.wait_settled(delivery, timeout=timeout, _end=end)

    async def send_nowait(self, message: Message | bytes, *, timeout: float | None = None,
                          settled: bool | None = None) -> CoreDelivery:
        """Send without waiting for the outcome (waits only for credit); the bulk path.

        Returns the delivery; pass it to :meth:`wait_settled` later.
        """
        return await self._send(message, timeout, self._conn._deadline(timeout), settled)

    async def _send(self, message: Message | bytes, timeout: float | None, end: float,
                    settled: bool | None) -> CoreDelivery:
        conn = self._conn
        core = self._core
        await trio.lowlevel.checkpoint_if_cancelled()
        if not (core.sendable and conn._unwritten < _HIGH_WATER):
            self._waiting += 1
            try:
                ok = await conn._wait_written(
                    lambda: (core.sendable and conn._unwritten < _HIGH_WATER)
                    or core.state is not LinkState.ATTACHED or conn.closed, end)
            finally:
                self._waiting -= 1
            if core.state is not LinkState.ATTACHED or conn.closed:
                self._check()
                raise amqp_errors.LinkDetached(f"link {self.name!r} is not attached")
            if not ok:
                raise TimeoutError(f"link {self.name!r}: no credit to send within "
                                   f"{conn._span(timeout)} s")
        # No checkpoint from the check above to here: the send happens whole or not at all.
        delivery = core.send(message, settled=settled)
        presettled = delivery.settled
        if core.drain_requested and (self._waiting == 0 or core.credit == 0):
            core.drained()
        conn._after()
        # Written once the stream took this many bytes; pre-settled or not.
        delivery.context = (conn._queued_total, presettled)
        return delivery

    async def wait_settled(self, delivery: CoreDelivery, *, timeout: float | None = None,
                           _end: float | None = None) -> Any:
        """Wait for the outcome of a delivery from :meth:`send_nowait` (see :meth:`send`)."""
        conn = self._conn
        end = _end if _end is not None else conn._deadline(timeout)
        mark, presettled = delivery.context
        if presettled:
            ok = await conn._wait_written(lambda: conn._sent_total >= mark or conn.closed, end)
            if conn._sent_total < mark:
                conn._check()
                if not ok:
                    raise TimeoutError("the message was not written within the timeout")
            return None

        ok = await conn._wait_until(lambda: self._outcome_ready(delivery), end)
        return self._outcome(delivery, ok, conn._span(timeout))

    def _on_flow_event(self, event: Any) -> None:
        core = self._core
        if getattr(event, "drain", False) and self._waiting == 0 and core.drain_requested:
            core.drained()  # nothing queued here: give the credit back (2.6.7)


class ReceivedMessage(AsyncReceivedMessage):
    """A message from a :class:`Receiver`, with its delivery (settle it with accept etc.).

    The message's sections are readable here directly (``body``, ``properties``,
    ``application_properties`` ...); ``message`` is the whole ``Message``.
    ``await msg.accept()`` is ``await receiver.accept(msg)``; likewise reject,
    release and modify.
    """

    __slots__ = ()


class Receiver(ReceiverBase, _Link):
    """A receiving link: ``receive``, ``receive_batch``, ``async for``; credit refilled as you consume."""

    _core: CoreReceiver
    _buffer: deque[ReceivedMessage]
    _message_class = ReceivedMessage

    # -- receiving ----------------------------------------------------------------------
    async def receive(self, timeout: float | None = None) -> ReceivedMessage:
        """The next message; raises TimeoutError if none arrives within ``timeout``.

        Cancelled while waiting, no message is taken.
        """
        conn = self._conn
        end = conn._deadline(timeout)
        buffer = self._buffer
        await trio.lowlevel.checkpoint_if_cancelled()
        if not buffer:
            ok = await conn._wait_until(lambda: buffer or self._gone(), end)
            if not buffer:
                raise self._no_message(ok, conn._span(timeout))
        msg = buffer.popleft()
        self._refill(flush=True)
        return msg

    async def receive_batch(self, n: int, timeout: float | None = None) -> list[ReceivedMessage]:
        """Up to ``n`` messages: return once ``n`` are here or ``timeout`` passed (maybe [])."""
        conn = self._conn
        end = conn._deadline(timeout)
        want = self._batch_size(n)
        buffer = self._buffer
        await trio.lowlevel.checkpoint_if_cancelled()
        await conn._wait_until(lambda: len(buffer) >= want or self._gone(), end)
        if not buffer and self._gone():
            raise self._no_message(True, conn._span(timeout))
        return self._take(n)

    def __aiter__(self) -> Receiver:
        """``async for msg in receiver``: messages as they arrive, until we close the link.

        Waits without a timeout; raises LinkDetached / SessionEnded /
        ConnectionClosed if the peer ends it.
        """
        return self

    async def __anext__(self) -> ReceivedMessage:
        buffer = self._buffer
        await self._conn._wait_until(lambda: buffer or self._gone(), None)
        if not buffer:
            if self._iteration_over():
                raise StopAsyncIteration
            raise self._no_message(True, 0)
        msg = buffer.popleft()
        self._refill(flush=True)
        return msg

    # -- credit ---------------------------------------------------------------------------
    def add_credit(self, n: int) -> None:
        """Manual credit (receivers opened with ``credit=0``): let the peer send ``n`` more.

        Does not wait (not async): it only queues a flow frame.
        """
        self._add_credit(n)

    async def drain(self, timeout: float | None = None) -> None:
        """Ask the peer to use all outstanding credit now or give it back; wait until done."""
        conn = self._conn
        end = conn._deadline(timeout)
        await trio.lowlevel.checkpoint_if_cancelled()
        before = self._drain_start()
        ok = await conn._wait_until(lambda: self._drains != before or self._gone(), end)
        self._drain_result(before, ok)

    # -- settling -------------------------------------------------------------------------
    # In rcv-settle-mode second (2.8.3) the outcome goes out unsettled and each of these
    # waits, up to ``timeout``, for the sender to settle; in mode first they return at once.
    async def accept(self, msg: ReceivedMessage, *, timeout: float | None = None) -> None:
        """Settle ``msg`` as accepted (3.4.2); in rcv-settle-mode second, wait for the sender."""
        await self._settle(msg, timeout, "accept")

    async def reject(self, msg: ReceivedMessage, error: Error | None = None, *,
                     timeout: float | None = None) -> None:
        """Settle ``msg`` as rejected, with ``error`` for the sender (3.4.3)."""
        await self._settle(msg, timeout, "reject", error)

    async def release(self, msg: ReceivedMessage, *, timeout: float | None = None) -> None:
        """Settle ``msg`` as released: the broker may deliver it again, to anyone (3.4.4)."""
        await self._settle(msg, timeout, "release")

    async def modify(self, msg: ReceivedMessage, *, delivery_failed: bool = True,
                     undeliverable_here: bool = False,
                     message_annotations: dict[Any, Any] | None = None,
                     timeout: float | None = None) -> None:
        """The modified outcome (RabbitMQ 3.10 lacks it and ends the session)."""
        await self._settle(msg, timeout, "modify", delivery_failed=delivery_failed,
                           undeliverable_here=undeliverable_here,
                           message_annotations=message_annotations)

    async def _settle(self, msg: ReceivedMessage, timeout: float | None, how: str, *args: Any,
                      **kwargs: Any) -> None:
        # Cancellation is checked first: a cancelled settle said nothing to the peer.
        await trio.lowlevel.checkpoint_if_cancelled()
        conn = self._conn
        delivery = msg.delivery
        wait = self._settle_start(delivery, how, args, kwargs)
        if wait is None:
            return
        conn._after()
        if not wait:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        ok = await conn._wait_until(lambda: self._settle_done(delivery), conn._deadline(timeout))
        self._settle_result(delivery, ok, conn._span(timeout))
