"""The blocking adapter's transactions: ``with session.transaction() as txn:`` (part 4).

What to wait for and what it means is ``amqp10_proto.client.ClientTransaction``'s; here
is only the waiting, under the connection's lock, each wait within the transaction's
timeout.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import TYPE_CHECKING

from amqp10_proto.client import ClientTransaction

if TYPE_CHECKING:
    from ._connection import Connection
    from ._session import Session

__all__ = ["Transaction"]

log = logging.getLogger("amqp10")


class Transaction(ClientTransaction):
    """A local transaction on a session; made by ``session.transaction()``.

    ``with session.transaction() as txn:`` declares it (attaching the session's
    controller link on first use), commits it when the block ends cleanly and rolls
    it back when an exception leaves the block (the exception goes on).
    ``sender.send(msg, txn=txn)`` and ``receiver.accept(msg, txn=txn)`` put work in
    it; ``commit()`` / ``rollback()`` end it early.
    """

    _session: Session
    _conn: Connection

    def commit(self, timeout: float | None = None) -> None:
        """Commit: every send and settlement in the transaction takes effect together.

        Raises TransactionRolledBack (TransactionTimeout) if the coordinator rolled it
        back instead (its error says why), TransactionError if it cannot be committed
        (not active, or its outcome is in doubt), TimeoutError if no answer came.
        """
        self._end(False, timeout)

    def rollback(self, timeout: float | None = None) -> None:
        """Roll back: nothing of the transaction takes effect; messages it consumed are
        available again. Returns at once if the transaction is over already."""
        self._end(True, timeout)

    def _end(self, fail: bool, timeout: float | None) -> None:
        conn = self._conn
        t = self._timeout if timeout is None else timeout
        end, span = conn._deadline(t), conn._span(t)
        with conn._cond:
            ok = conn._wait_until(self._can_discharge, end)
            if self._discharge(fail, ok, span):
                conn._after()
                self._discharged(conn._wait_until(self._discharge_done, end), span)

    def __enter__(self) -> Transaction:
        conn = self._conn
        end, span = conn._deadline(self._timeout), conn._span(self._timeout)
        with conn._cond:
            self._enter()
            while True:
                conn._wait_connected(end, self._timeout)
                self._attach()
                conn._after()
                if self._declare(conn._wait_until(self._can_declare, end), span):
                    break
            conn._after()
            try:
                ok = conn._wait_until(self._declare_done, end)
            except BaseException:
                self._abandon()
                raise
            self._declared(ok, span)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        fail = self._exit_fail(exc_type)
        if fail is None:
            return
        if not fail:
            self.commit()
            return
        try:
            self.rollback()
        except Exception:
            log.debug("%s: rolling back after an exception failed", self._conn.label,
                      exc_info=True)
