"""asyncio senders and receivers, and the message a receiver hands out.

The core link holds credit, delivery counts and settlement; these classes only
wait (on the connection's futures) until an event makes the call possible or
finished, and keep the application's queue of received messages.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

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


class _Link(LinkBase["Session"]):
    """What senders and receivers share: attach, detach (the state and its checks are
    amqp10_proto.client.LinkBase's; these wait for them on the connection's futures)."""

    _core: CoreSender | CoreReceiver
    _conn: Connection
    _session: Session

    async def wait_detached(self) -> None:
        """Return once the link is gone (detached by either side, its session or connection
        over); see ``error``."""
        await self._conn._wait_until(self._gone, None)

    async def _wait_attached(self, end: float, needs_remote: bool) -> None:
        try:
            ok = await self._conn._wait_until(lambda: self._attach_done(needs_remote), end)
        except BaseException:  # cancelled: do not leave a half-open link behind
            self._detach_nowait()
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

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.close()
        except Exception:
            if exc[0] is None:
                raise
            log.debug("error closing a link after an exception", exc_info=True)


class Sender(SenderBase["Session"], _Link):
    """A sending link; ``send`` is safe from many tasks at once, and concurrent sends pipeline."""

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
        returns once handed to the transport). Raises MessageRejected /
        MessageReleased / MessageModified with the peer's error, TimeoutError, or
        LinkDetachedError / SessionEndedError / ConnectionClosedError. A timeout or a cancel after
        the message went out leaves it tracked by the core: it is not sent twice.
        """
        end = self._conn._deadline(timeout)
        delivery = await self._send(message, timeout, end, settled)
        return await self._wait_settled(delivery, timeout, end)

    async def send_nowait(self, message: Message | bytes | EncodedMessage, *,
                          timeout: float | None = None,
                          settled: bool | None = None) -> CoreDelivery:
        """Send without waiting for the outcome (waits only for credit); the bulk path.

        Returns the delivery; pass it to :meth:`wait_settled` later.
        """
        return await self._send(message, timeout, self._conn._deadline(timeout), settled)

    async def _send(self, message: Message | bytes | EncodedMessage, timeout: float | None,
                    end: float, settled: bool | None) -> CoreDelivery:
        if type(message) is not Message:
            message = sendable(message)  # TypeError now, before any wait
        conn = self._conn
        if not self._ready():
            self._waiting += 1
            try:
                # While the connection reconnects the link is not gone: this waits for it.
                ok = await conn._wait_until(lambda: self._ready() or self._gone(), end)
            finally:
                self._waiting -= 1
            if self._gone():
                self._check()
                raise amqp_errors.LinkDetachedError(f"link {self.name!r} is not attached")
            if not ok:
                raise TimeoutError(f"link {self.name!r}: no credit to send within "
                                   f"{conn._span(timeout)} s")
        core = self._core  # (read after the wait: a reconnect attaches a new one)
        delivery = core.send(message, settled=settled)
        delivery.context = delivery.settled  # pre-settled: done once written
        self._track(delivery, message)  # unsettled: sent again if the transport goes first
        if core.drain_requested and (self._waiting == 0 or core.credit == 0):
            core.drained()
            conn._after()
        else:
            conn._after_soon()
        return delivery

    def _ready(self) -> bool:
        """A send can go now: credit, room in the transport, the connection up, and
        nothing in doubt from a lost transport still waiting to be sent again first."""
        return (self._core.sendable and not self._conn._paused and not self._lost
                and not self._resend)

    async def wait_settled(self, delivery: CoreDelivery, *,
                           timeout: float | None = None) -> DeliveryState | None:
        """Wait for the outcome of a delivery from :meth:`send_nowait` (see :meth:`send`)."""
        return await self._wait_settled(delivery, timeout, self._conn._deadline(timeout))

    async def _wait_settled(self, delivery: CoreDelivery, timeout: float | None,
                            end: float) -> DeliveryState | None:
        conn = self._conn
        if delivery.context:  # pre-settled: wait only while the transport is over its limit
            if conn._paused:
                ok = await conn._wait_until(lambda: not conn._paused or conn.closed, end)
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
    """A receiving link: ``receive``, ``receive_batch``, ``async for``; credit refilled as used.

    The calls are amqp10_proto.client.AsyncReceiverBase's; asyncio's own part is that a
    settlement's disposition is written with the others of the same loop pass.
    """

    _core: CoreReceiver
    _message_class = ReceivedMessage

    async def add_credit(self, n: int) -> None:
        """Manual credit (receivers opened with ``credit=0``): let the peer send ``n`` more.

        While the connection reconnects, this waits for it (within the connection's
        ``timeout``) and grants the credit on the new link.
        """
        conn = self._conn
        await conn._wait_connected(conn._deadline(None), None)
        self._add_credit(n)

    async def drain(self, timeout: float | None = None) -> None:
        """Ask the peer to use all outstanding credit now or give it back; wait until done
        (while the connection reconnects, first for it to be back: all within ``timeout``)."""
        conn = self._conn
        end = conn._deadline(timeout)
        await conn._wait_connected(end, timeout)
        await super().drain(max(0.0, end - conn._loop.time()))

    async def _settled(self) -> None:
        self._conn._after_soon()  # coalesced with the settlements that follow in this burst
