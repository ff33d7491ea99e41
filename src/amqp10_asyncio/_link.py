"""asyncio links (what senders and receivers share), receivers, and the message a
receiver hands out (the sender is in ``_sender``).

The core link holds credit, delivery counts and settlement; these classes only
wait (on the connection's futures) until an event makes the call possible or
finished, and keep the application's queue of received messages.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from typing_extensions import Self

from amqp10_proto import Receiver as CoreReceiver
from amqp10_proto import Sender as CoreSender
from amqp10_proto.client import (
    AsyncLinkEnding,
    AsyncReceivedMessage,
    AsyncReceiverBase,
    LinkBase,
)

if TYPE_CHECKING:
    from ._connection import Connection
    from ._session import Session

__all__ = ["ReceivedMessage", "Receiver"]

log = logging.getLogger("amqp10")


class _Link(AsyncLinkEnding, LinkBase["Session"]):
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

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.close()
        except Exception:
            if exc[0] is None:
                raise
            log.debug("error closing a link after an exception", exc_info=True)


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
