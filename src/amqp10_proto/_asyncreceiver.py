"""The receiver calls of the two async adapters (asyncio, trio), written once.

They wait with ``await conn._wait_until(pred, end)``; the state, the predicates and
the errors are :class:`ReceiverBase`'s (``_clientstate``), shared with the blocking
adapter.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Generic, Protocol

from typing_extensions import TypeVar

from ._checks import check_settle, check_settle_once
from ._clientinfo import HasTxnId, txn_id_of
from ._clientstate import ReceiverBase, S
from ._definitions import Error
from ._delivery import Delivery

__all__ = ["AsyncReceiverBase"]


class Settleable(Protocol):
    """What a receiver settles: a message it handed out, which knows its delivery."""

    @property
    def delivery(self) -> Delivery: ...


#: The adapter's received-message class (its ``ReceivedMessage``).
M = TypeVar("M", bound=Settleable, default=Settleable)


class AsyncReceiverBase(ReceiverBase[S], Generic[S, M]):
    """A receiver's calls for the adapters whose connections wait with
    ``await conn._wait_until(pred, end)`` (asyncio, trio). ``S`` is the adapter's
    session class, ``M`` its received-message class (what ``receive`` gives and
    ``accept`` takes). Each adapter says how it checkpoints and what follows a
    settlement that needs no wait."""

    _buffer: deque[M]

    async def _checkpoint(self) -> None:
        """Before a call does anything (trio: let a cancelled caller out first)."""

    async def _settled(self) -> None:
        """After a settlement that needs no wait: have its disposition written."""
        self._conn._after()

    # -- receiving ----------------------------------------------------------------------
    async def receive(self, timeout: float | None = None) -> M:
        """The next message; raises TimeoutError if none arrives within ``timeout``.

        Cancelled while waiting, no message is taken.
        """
        conn = self._conn
        end = conn._deadline(timeout)
        buffer = self._buffer
        await self._checkpoint()
        if not buffer:
            ok = await conn._wait_until(lambda: buffer or self._gone(), end)
            if not buffer:
                raise self._no_message(ok, conn._span(timeout))
        msg = buffer.popleft()
        self._refill(flush=True)
        return msg

    async def receive_batch(self, n: int, timeout: float | None = None) -> list[M]:
        """Up to ``n`` messages: return once ``n`` are here or ``timeout`` passed (maybe [])."""
        conn = self._conn
        end = conn._deadline(timeout)
        want = self._batch_size(n)
        buffer = self._buffer
        await self._checkpoint()
        await conn._wait_until(lambda: len(buffer) >= want or self._gone(), end)
        if not buffer and self._gone():
            raise self._no_message(True, conn._span(timeout))
        got: list[M] = self._take(n)
        return got

    def __aiter__(self) -> AsyncReceiverBase[S, M]:
        """``async for msg in receiver``: messages as they arrive, until we close the link.

        Waits without a timeout; raises LinkDetachedError / SessionEndedError /
        ConnectionClosedError if the peer ends it.
        """
        return self

    async def __anext__(self) -> M:
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
    async def drain(self, timeout: float | None = None) -> None:
        """Ask the peer to use all outstanding credit now or give it back; wait until done."""
        conn = self._conn
        end = conn._deadline(timeout)
        await self._checkpoint()
        before = self._drain_start()
        ok = await conn._wait_until(lambda: self._drains != before or self._gone(), end)
        self._drain_result(before, ok)

    # -- settling -------------------------------------------------------------------------
    # In rcv-settle-mode second (2.8.3) the outcome goes out unsettled and each of these
    # waits, up to ``timeout``, for the sender to settle; in mode first they return at once.
    # The arguments are checked first (TypeError / ValueError, nothing sent). A message
    # settles once: another outcome later is a ValueError (see _checks.check_settle_once).
    # ``txn`` (session.transaction()) gives the outcome in that transaction (4.4.2), applied
    # by the peer when it commits.
    async def accept(self, msg: M, *, timeout: float | None = None,
                     txn: HasTxnId | None = None) -> None:
        """Settle ``msg`` as accepted (3.4.2), in ``txn`` if given; in rcv-settle-mode
        second, wait for the sender."""
        await self._settle(msg, timeout, txn, "accept")

    async def reject(self, msg: M, error: Error | None = None, *,
                     timeout: float | None = None, txn: HasTxnId | None = None) -> None:
        """Settle ``msg`` as rejected, with ``error`` for the sender (3.4.3), in ``txn``."""
        await self._settle(msg, timeout, txn, "reject", error)

    async def release(self, msg: M, *, timeout: float | None = None,
                      txn: HasTxnId | None = None) -> None:
        """Settle ``msg`` as released: the broker may deliver it again, to anyone (3.4.4);
        in ``txn`` if given."""
        await self._settle(msg, timeout, txn, "release")

    async def modify(self, msg: M, *, delivery_failed: bool = True,
                     undeliverable_here: bool = False,
                     message_annotations: dict[Any, Any] | None = None,
                     timeout: float | None = None, txn: HasTxnId | None = None) -> None:
        """The modified outcome (3.4.5; RabbitMQ 3.10 lacks it and ends the session), in
        ``txn`` if given."""
        await self._settle(msg, timeout, txn, "modify", delivery_failed=delivery_failed,
                           undeliverable_here=undeliverable_here,
                           message_annotations=message_annotations)

    async def _settle(self, msg: M, timeout: float | None, txn: HasTxnId | None, how: str,
                      *args: Any, **kwargs: Any) -> None:
        delivery = check_settle(msg, how, args, kwargs, timeout)
        txn_id = txn_id_of(txn)  # TransactionError for one not usable now, nothing sent
        # Cancellation is checked next: a cancelled settle said nothing to the peer.
        await self._checkpoint()
        conn = self._conn
        check_settle_once(self, delivery, how, args, kwargs)
        wait = self._settle_start(delivery, how, args,
                                  kwargs if txn_id is None else dict(kwargs, txn_id=txn_id))
        if wait is None:
            return
        if not wait:
            await self._settled()
            return
        conn._after()
        ok = await conn._wait_until(lambda: self._settle_done(delivery), conn._deadline(timeout))
        self._settle_result(delivery, ok, conn._span(timeout))
