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
from types import TracebackType
from typing import TYPE_CHECKING, Any

import trio
from typing_extensions import Self

from amqp10_proto import Delivery as CoreDelivery
from amqp10_proto import (
    DeliveryState,
    EncodedMessage,
    Error,
    Message,
)
from amqp10_proto import Receiver as CoreReceiver
from amqp10_proto import Sender as CoreSender
from amqp10_proto import errors as amqp_errors
from amqp10_proto.client import (
    AsyncReceivedMessage,
    AsyncReceiverBase,
    LinkBase,
    SenderBase,
    sendable,
)

if TYPE_CHECKING:
    from ._connection import Connection
    from ._session import Session

__all__ = ["ReceivedMessage", "Receiver", "Sender"]

log = logging.getLogger("amqp10")
#: Bytes queued and not yet written above which senders wait (backpressure).
HIGH_WATER = 4 << 20


class _Link(LinkBase["Session"]):
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

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is not None:
            # Leaving on an exception (maybe a cancellation): detach without waiting.
            self._detach_nowait()
            return
        await self.close()


class Sender(SenderBase["Session"], _Link):
    """A sending link; ``send`` is safe from many tasks at once, and concurrent sends are pipelined."""

    _core: CoreSender

    def __init__(self, session: Session, core: CoreSender, **extra: Any) -> None:
        super().__init__(session, core, **extra)
        self._waiting = 0

    async def send(self, message: Message | bytes | EncodedMessage, *,
                   timeout: float | None = None,
                   settled: bool | None = None) -> DeliveryState | None:
        """Send ``message``; wait for credit, then for the peer's outcome (unsettled mode).

        ``message``: a Message; bytes are a data body (``Message(data)``); a message
        encoded already goes as ``EncodedMessage(data)``; anything else is a TypeError.

        Returns the outcome (``Accepted()``), or None for a pre-settled send (which
        returns once written). Raises MessageRejected / MessageReleased /
        MessageModified with the peer's error, TimeoutError, or LinkDetachedError /
        SessionEndedError / ConnectionClosedError. Cancelled (or timed out) while waiting for
        credit, nothing was sent; after the message went out, it stays tracked by
        the core to its settlement and is never sent twice.
        """
        end = self._conn._deadline(timeout)
        delivery = await self._send(message, timeout, end, settled)
        return await self.wait_settled(delivery, timeout=timeout, _end=end)

    async def send_nowait(self, message: Message | bytes | EncodedMessage, *,
                          timeout: float | None = None,
                          settled: bool | None = None) -> CoreDelivery:
        """Send without waiting for the outcome (waits only for credit); the bulk path.

        Returns the delivery; pass it to :meth:`wait_settled` later.
        """
        return await self._send(message, timeout, self._conn._deadline(timeout), settled)

    def _can_send(self) -> bool:
        """Credit, room to write, and nothing in doubt from a lost transport to go first.
        (It reads ``self._core`` each time: a reconnect installs a new core link.)"""
        return (self._core.sendable and not self._resend
                and self._conn._unwritten < HIGH_WATER)

    async def _send(self, message: Message | bytes | EncodedMessage, timeout: float | None,
                    end: float, settled: bool | None) -> CoreDelivery:
        if type(message) is not Message:
            message = sendable(message)  # TypeError now, before any wait
        conn = self._conn
        await trio.lowlevel.checkpoint_if_cancelled()
        if not self._can_send():
            self._waiting += 1
            try:
                # While the connection reconnects the link is not gone: this waits for it.
                ok = await conn._wait_written(lambda: self._can_send() or self._gone(), end)
            finally:
                self._waiting -= 1
            if self._gone():
                self._check()
                raise amqp_errors.LinkDetachedError(f"link {self.name!r} is not attached")
            if not ok:
                raise TimeoutError(f"link {self.name!r}: no credit to send within "
                                   f"{conn._span(timeout)} s")
        # No checkpoint from the check above to here: the send happens whole or not at all.
        core = self._core
        delivery = core.send(message, settled=settled)
        presettled = delivery.settled
        if not presettled:
            self._track(delivery, message)  # sent again if the transport goes first
        if core.drain_requested and (self._waiting == 0 or core.credit == 0):
            core.drained()
        conn._after()
        # Written once the stream took this many bytes; pre-settled or not.
        delivery.context = (conn._queued_total, presettled)
        return delivery

    async def wait_settled(self, delivery: CoreDelivery, *, timeout: float | None = None,
                           _end: float | None = None) -> DeliveryState | None:
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
        self._conn._after()
        await trio.lowlevel.cancel_shielded_checkpoint()
