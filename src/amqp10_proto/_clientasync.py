"""What only the async adapters' links share (asyncio, trio): ``close``/``detach`` and
``send_batch``, awaited on a connection that waits with ``await conn._wait_until(pred,
end)``. Their receivers' calls are ``_asyncreceiver``'s."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._batch import BATCH_MESSAGE_FORMAT, encode_batch
from ._checks import EncodedMessage
from ._clientinfo import HasTxnId
from ._definitions import Error
from ._delivery import DeliveryState
from ._message import Message

__all__ = ["AsyncBatchSending", "AsyncLinkEnding"]


class AsyncLinkEnding:
    """``close`` and ``detach`` of the async adapters' links (asyncio, trio), whose
    connections wait with ``await conn._wait_until(pred, end)``."""

    if TYPE_CHECKING:
        _conn: Any

        def _detach_nowait(self, error: Error | None = None, closed: bool = True) -> bool: ...
        def _detach_done(self) -> bool: ...
        def _detach_timeout(self, span: float) -> TimeoutError: ...

    async def close(self, timeout: float | None = None, error: Error | None = None) -> None:
        """Detach (close) the link; wait up to ``timeout`` for the peer's detach.

        Returns at once if the link, its session or its connection is already over.
        """
        await self._end(timeout, error, True)

    async def detach(self, timeout: float | None = None, error: Error | None = None) -> None:
        """Detach without closing (2.6.6: closed=false): the peer keeps the terminus, so a
        link of the same name attached later resumes it (a durable subscription). The
        link is over for this object as after :meth:`close`."""
        await self._end(timeout, error, False)

    async def _end(self, timeout: float | None, error: Error | None, closed: bool) -> None:
        conn = self._conn
        end = conn._deadline(timeout)
        if self._detach_nowait(error, closed) and not await conn._wait_until(
                self._detach_done, end):
            raise self._detach_timeout(conn._span(timeout))


class AsyncBatchSending:
    """``send_batch`` of the async adapters' senders (asyncio, trio)."""

    if TYPE_CHECKING:
        async def send(self, message: Any, *, timeout: float | None = None,
                       settled: bool | None = None, message_format: int = 0,
                       delivery_tag: bytes | None = None,
                       txn: HasTxnId | None = None) -> DeliveryState | None: ...

    async def send_batch(self, messages: Iterable[Message | bytes | EncodedMessage], *,
                         timeout: float | None = None,
                         settled: bool | None = None,
                         txn: HasTxnId | None = None) -> DeliveryState | None:
        """Send ``messages`` (what ``send`` takes, each) as one batch message in Azure's
        format (``encode_batch``, message-format ``BATCH_MESSAGE_FORMAT``): one delivery,
        one outcome for all, as the Azure SDK's ``send_messages(batch)``; otherwise as
        ``send``."""
        return await self.send(encode_batch(messages), timeout=timeout, settled=settled,
                               message_format=BATCH_MESSAGE_FORMAT, txn=txn)
