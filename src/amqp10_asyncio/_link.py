"""asyncio senders and receivers, and the message a receiver hands out.

The core link holds credit, delivery counts and settlement; these classes only
wait (on the connection's futures) until an event makes the call possible or
finished, and keep the application's queue of received messages.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from amqp10_proto import (
    Accepted,
    DrainCompleted,
    Error,
    LinkDetached,
    LinkState,
    LocalProtocolError,
    Message,
    MessageReceived,
    Modified,
    Rejected,
    Released,
)
from amqp10_proto import Delivery as CoreDelivery
from amqp10_proto import Receiver as CoreReceiver
from amqp10_proto import Sender as CoreSender
from amqp10_proto import errors as amqp_errors
from amqp10_proto.client import (
    LinkInfo,
    ReceivedSections,
    describe_error,
    outcome_error,
    settle_timeout_text,
)

if TYPE_CHECKING:
    from ._connection import Connection
    from ._session import Session

__all__ = ["ReceivedMessage", "Receiver", "Sender"]

log = logging.getLogger("amqp10")
_TERMINAL = (Accepted, Rejected, Released, Modified)


class _Link(LinkInfo):
    """What senders and receivers share: attach, detach, state and errors."""

    _core: CoreSender | CoreReceiver

    def __init__(self, session: Session, core: Any, **_: Any) -> None:
        self._session = session
        self._conn: Connection = session._conn
        self._core = core
        self._detached_flag = False
        self._closed_locally = False
        #: The error the link detached with (the peer's, or its session's), if any.
        self.error: Error | None = None

    # -- what the application can read ----------------------------------------------------

    @property
    def session(self) -> Session:
        return self._session

    @property
    def detached(self) -> bool:
        """True once the link is gone: detached by either side, or its session or connection."""
        return self._detached_flag

    def __repr__(self) -> str:
        state = "detached" if self._detached_flag else "attached"
        return f"<amqp10_asyncio.{type(self).__name__} {self.name!r} {state}>"

    async def wait_detached(self) -> None:
        """Return once the link is gone (detached by either side, its session or connection
        over); see ``error``."""
        await self._conn._wait_until(self._gone, None)

    def _gone(self) -> bool:
        return self._detached_flag or self._core.state is not LinkState.ATTACHED or \
            self._session._ended or self._conn.closed

    # -- attach / detach ------------------------------------------------------------------
    async def _wait_attached(self, end: float, needs_remote: bool) -> None:
        conn = self._conn
        core = self._core

        def refused_pending() -> bool:
            # 2.6.3: a refusing peer attaches with a null terminus, then detaches.
            if not needs_remote:
                return False
            remote = core.remote_target if isinstance(core, CoreSender) else core.remote_source
            return remote is None

        def done() -> bool:
            if self._detached_flag or self._session._ended or conn.closed:
                return True
            return core.state is LinkState.ATTACHED and not refused_pending()

        try:
            ok = await conn._wait_until(done, end)
        except BaseException:  # cancelled: do not leave a half-open link behind
            self._give_up_attach()
            raise
        self._check()
        if not ok:
            if core.state is LinkState.ATTACHED:
                raise amqp_errors.LinkDetached(
                    f"link {self.name!r}: the peer attached with a null terminus and did not "
                    "detach in time (refused)")
            self._give_up_attach()
            raise TimeoutError(f"link {self.name!r}: the peer did not answer the attach in time")

    def _give_up_attach(self) -> None:
        if self._detached_flag or self._conn.closed:
            return
        self._closed_locally = True
        try:
            self._core.detach()
            self._conn._after()
        except LocalProtocolError:
            pass

    async def close(self, timeout: float | None = None, error: Error | None = None) -> None:
        """Detach (close) the link; wait up to ``timeout`` for the peer's detach.

        Returns at once if the link, its session or its connection is already over.
        """
        conn = self._conn
        end = conn._deadline(timeout)
        if self._detached_flag or self._session._ended or conn.closed:
            return
        self._closed_locally = True
        try:
            self._core.detach(error)
        except LocalProtocolError:
            return  # the session is ending: the link goes with it
        conn._after()
        if not await conn._wait_until(
                lambda: self._detached_flag or self._session._ended or conn.closed, end):
            raise TimeoutError(f"link {self.name!r}: the peer did not answer the detach "
                               f"within {conn._span(timeout)} s")

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.close()
        except Exception:
            if exc[0] is None:
                raise
            log.debug("error closing a link after an exception", exc_info=True)

    # -- events and checks ------------------------------------------------------------------------
    def _detached(self, event: LinkDetached) -> None:
        self._detached_flag = True
        # The peer's error; or ours, when the core detached the link for a fault of the
        # peer's and the peer's answering detach carried none (2.6.6).
        self.error = event.error if event.error is not None else self._core.local_error
        if event.error is not None and not event.local and not self._conn.closed:
            log.warning("%s: link %r detached by the peer: %s", self._conn.label, self.name,
                        describe_error(event.error))

    def _on_flow_event(self, event: Any) -> None:
        """Credit, drain and abort events for this link."""

    def _check(self) -> None:
        """Raise ConnectionClosed, SessionEnded or LinkDetached if the link is over."""
        self._session._check()
        if self._detached_flag:
            if self.error is not None:
                raise amqp_errors.LinkDetached(
                    f"link {self.name!r} detached: {describe_error(self.error)}", self.error)
            raise amqp_errors.LinkDetached(
                f"link {self.name!r} was closed" if self._closed_locally
                else f"link {self.name!r} was detached by the peer")




class Sender(_Link):
    """A sending link; ``send`` is safe from many tasks at once, and concurrent sends pipeline."""

    _core: CoreSender

    def __init__(self, session: Session, core: CoreSender, **extra: Any) -> None:
        super().__init__(session, core, **extra)
        self._waiting = 0

    @property
    def credit(self) -> int:
        """Messages the peer lets us send now (its link-credit, 2.6.7)."""
        return self._core.credit

    async def send(self, message: Message | bytes, *, timeout: float | None = None,
                   settled: bool | None = None) -> Any:
        """Send ``message``; wait for credit, then for the peer's outcome (unsettled mode).

        Returns the outcome (``Accepted()``), or None for a pre-settled send (which
        returns once handed to the transport). Raises MessageRejected /
        MessageReleased / MessageModified with the peer's error, TimeoutError, or
        LinkDetached / SessionEnded / ConnectionClosed. A timeout or a cancel after
        the message went out leaves it tracked by the core: it is not sent twice.
        """
        end = self._conn._deadline(timeout)
        delivery = await self._send(message, timeout, end, settled)
        return await self._wait_settled(delivery, timeout, end)

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
        if not core.sendable or conn._paused:
            self._waiting += 1
            try:
                ok = await conn._wait_until(
                    lambda: (core.sendable and not conn._paused)
                    or core.state is not LinkState.ATTACHED or conn.closed, end)
            finally:
                self._waiting -= 1
            if core.state is not LinkState.ATTACHED or conn.closed:
                self._check()
                raise amqp_errors.LinkDetached(f"link {self.name!r} is not attached")
            if not ok:
                raise TimeoutError(f"link {self.name!r}: no credit to send within "
                                   f"{conn._span(timeout)} s")
        delivery = core.send(message, settled=settled)
        delivery.context = delivery.settled  # pre-settled: done once written
        if core.drain_requested and (self._waiting == 0 or core.credit == 0):
            core.drained()
            conn._after()
        else:
            conn._after_soon()
        return delivery

    async def wait_settled(self, delivery: CoreDelivery, *,
                           timeout: float | None = None) -> Any:
        """Wait for the outcome of a delivery from :meth:`send_nowait` (see :meth:`send`)."""
        return await self._wait_settled(delivery, timeout, self._conn._deadline(timeout))

    async def _wait_settled(self, delivery: CoreDelivery, timeout: float | None,
                            end: float) -> Any:
        conn = self._conn
        core = self._core
        if delivery.context:  # pre-settled: wait only while the transport is over its limit
            if conn._paused:
                ok = await conn._wait_until(lambda: not conn._paused or conn.closed, end)
                conn._check()
                if not ok:
                    raise TimeoutError("the message was not written within the timeout")
            return None

        def finished() -> bool:
            return (delivery.remote_settled or isinstance(delivery.remote_state, _TERMINAL)
                    or core.state is LinkState.CLOSED or conn.closed)

        ok = await conn._wait_until(finished, end)
        if delivery.remote_settled or isinstance(delivery.remote_state, _TERMINAL):
            failure = outcome_error(delivery)
            if failure is not None:
                raise failure
            return delivery.remote_state or Accepted()
        self._check()
        if not ok:
            raise TimeoutError(f"link {self.name!r}: the peer did not settle the message "
                               f"within {conn._span(timeout)} s")
        raise amqp_errors.LinkDetached(f"link {self.name!r} ended before the peer settled")

    def _on_flow_event(self, event: Any) -> None:
        core = self._core
        if getattr(event, "drain", False) and self._waiting == 0 and core.drain_requested:
            core.drained()  # nothing queued here: give the credit back (2.6.7)


class ReceivedMessage(ReceivedSections):
    """A message from a :class:`Receiver`, with its delivery (settle it with accept etc.).

    The message's sections are readable here directly (``body``, ``properties``,
    ``application_properties`` ...); ``message`` is the whole ``Message``.
    """

    __slots__ = ()

    async def accept(self, *, timeout: float | None = None) -> None:
        """Accept this message (see :meth:`Receiver.accept`)."""
        await self.receiver.accept(self, timeout=timeout)

    async def reject(self, error: Error | None = None, *, timeout: float | None = None) -> None:
        """Reject this message (see :meth:`Receiver.reject`)."""
        await self.receiver.reject(self, error, timeout=timeout)

    async def release(self, *, timeout: float | None = None) -> None:
        """Release this message (see :meth:`Receiver.release`)."""
        await self.receiver.release(self, timeout=timeout)

    async def modify(self, *, delivery_failed: bool = True, undeliverable_here: bool = False,
                     message_annotations: dict[Any, Any] | None = None,
                     timeout: float | None = None) -> None:
        """Settle this message as modified (see :meth:`Receiver.modify`)."""
        await self.receiver.modify(self, delivery_failed=delivery_failed,
                                   undeliverable_here=undeliverable_here,
                                   message_annotations=message_annotations, timeout=timeout)


class Receiver(_Link):
    """A receiving link: ``receive``, ``receive_batch``, ``async for``; credit refilled as used."""

    _core: CoreReceiver

    def __init__(self, session: Session, core: CoreReceiver, *, credit: int = 100,
                 **extra: Any) -> None:
        super().__init__(session, core, **extra)
        self._window = credit
        self._buffer: deque[ReceivedMessage] = deque()
        self._drains = 0

    @property
    def address(self) -> Any:
        """The source address the peer attached (a dynamic node's assigned name)."""
        src = self._core.remote_source
        return getattr(src, "address", None)

    @property
    def credit(self) -> int:
        """Credit the peer still holds from us: messages it may send before more is granted."""
        return self._core.credit

    @property
    def buffered(self) -> int:
        """Messages received and not yet handed out."""
        return len(self._buffer)

    # -- receiving ----------------------------------------------------------------------
    async def receive(self, timeout: float | None = None) -> ReceivedMessage:
        """The next message; raises TimeoutError if none arrives within ``timeout``."""
        conn = self._conn
        buffer = self._buffer
        if not buffer:
            ok = await conn._wait_until(lambda: buffer or self._over(),
                                        conn._deadline(timeout))
            if not buffer:
                self._check()
                if not ok:
                    raise TimeoutError(f"no message on {self.name!r} within "
                                       f"{conn._span(timeout)} s")
        msg = buffer.popleft()
        self._refill()
        return msg

    async def receive_batch(self, n: int, timeout: float | None = None) -> list[ReceivedMessage]:
        """Up to ``n`` messages: return once ``n`` are here or ``timeout`` passed (maybe [])."""
        conn = self._conn
        want = min(n, self._window) if self._window > 0 else n
        buffer = self._buffer
        await conn._wait_until(lambda: len(buffer) >= want or self._over(),
                               conn._deadline(timeout))
        if not buffer:
            if self._over():
                self._check()
            return []
        got = [buffer.popleft() for _ in range(min(n, len(buffer)))]
        self._refill()
        return got

    def __aiter__(self) -> Receiver:
        return self

    async def __anext__(self) -> ReceivedMessage:
        """Messages as they arrive, until the link (or connection) is closed by us.

        Waits without a timeout; raises LinkDetached / SessionEnded /
        ConnectionClosed if the peer ends it.
        """
        conn = self._conn
        buffer = self._buffer
        if not buffer:
            await conn._wait_until(lambda: buffer or self._over(), None)
            if not buffer:
                if self._closed_locally or self._session._ended_locally \
                        or conn._closed_by_user:
                    raise StopAsyncIteration
                self._check()
                raise StopAsyncIteration
        msg = buffer.popleft()
        self._refill()
        return msg

    def _over(self) -> bool:
        return self._detached_flag or self._core.state is not LinkState.ATTACHED \
            or self._conn.closed

    # -- credit ---------------------------------------------------------------------------
    def _refill(self, flush: bool = True) -> None:
        """Top the credit back up to the window once half of it is used."""
        core = self._core
        window = self._window
        if window <= 0 or core.state is not LinkState.ATTACHED:
            return
        held = len(self._buffer)
        if core.credit + held <= window // 2:
            core.set_credit(window - held)
            if flush:
                self._conn._after()

    async def add_credit(self, n: int) -> None:
        """Manual credit (receivers opened with ``credit=0``): let the peer send ``n`` more."""
        self._check()
        self._core.add_credit(n)
        self._conn._after()

    async def drain(self, timeout: float | None = None) -> None:
        """Ask the peer to use all outstanding credit now or give it back; wait until done."""
        conn = self._conn
        end = conn._deadline(timeout)
        self._check()
        before = self._drains
        self._core.drain()
        conn._after()
        ok = await conn._wait_until(lambda: self._drains != before or self._over(), end)
        if self._drains == before:
            self._check()
            if not ok:
                raise TimeoutError(f"drain on {self.name!r} did not complete in time "
                                   "(RabbitMQ 3.10 never completes a drain)")

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
        delivery = msg.delivery
        if delivery.settled:
            return  # pre-settled by the sender (or already settled): nothing to say
        if delivery.link is not self._core:
            raise ValueError("that message came from another receiver")
        self._check()
        conn = self._conn
        getattr(self._core, how)(delivery, *args, **kwargs)
        if delivery.settled:
            conn._after_soon()  # coalesced with the settlements that follow in this burst
            return
        conn._after()
        ok = await conn._wait_until(lambda: delivery.settled or self._over(),
                                    conn._deadline(timeout))
        if delivery.settled:
            return
        self._check()
        if not ok:
            raise TimeoutError(settle_timeout_text(self.name, conn._span(timeout)))
        raise amqp_errors.LinkDetached(f"link {self.name!r} ended before the peer settled")

    # -- events ---------------------------------------------------------------------------------
    def _deliver(self, event: MessageReceived) -> None:
        self._buffer.append(ReceivedMessage(event.message, event.delivery, self))

    def _on_flow_event(self, event: Any) -> None:
        if type(event) is DrainCompleted:
            self._drains += 1
        else:  # an aborted transfer used a credit
            self._refill(flush=False)
