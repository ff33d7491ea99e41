"""The I/O-free half of the adapters' ``session.transaction()`` (part 4, local transactions).

Each adapter's ``Transaction`` subclasses :class:`ClientTransaction` and adds only the
waiting, in its own I/O model; what to wait for (the predicates), what to send, and
what a finished wait means (the result or the exception) is decided here, once, for
all three. A session has one controller link (4.2), attached on its first
transaction and reused by the next (attached again if it is gone, e.g. after a
reconnect).

The calls in order (the adapters' with-blocks and ``commit`` / ``rollback``)::

    _enter(); _attach()                       # (connection up) the session's controller
    wait until _can_declare()                 # attached with a Coordinator, credit > 0
    _declare(ok, span) -> bool                # False: the transport went, start again
    wait until _declare_done()
    _declared(ok, span)                       # raises unless the transaction is active
    ...
    wait until _can_discharge()
    _discharge(fail, ok, span) -> bool        # False: nothing to wait for
    wait until _discharge_done()
    _discharged(ok, span)                     # raises if a commit did not happen

A wait interrupted by cancellation calls :meth:`_abandon`: a declare answered later
is rolled back at once (the core's event is routed here, ``_on_txn_event``).
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from typing_extensions import Self

from ._clientstate import describe_error
from ._definitions import Coordinator, Error, ErrorCondition, Rejected
from ._errors import (
    LocalProtocolError,
    TransactionError,
    TransactionRolledBack,
    TransactionsNotSupported,
    TransactionTimeout,
)
from ._state import LinkState
from ._txn import (
    Transaction,
    TransactionController,
    TransactionDeclared,
    TransactionStatus,
    attach_controller,
)

__all__ = ["AsyncClientTransaction", "ClientTransaction"]

log = logging.getLogger("amqp10")

_S = TransactionStatus
_OPENING = (LinkState.ATTACH_SENT, LinkState.ATTACHED)


class ClientTransaction:
    """One transaction of an adapter's session, from ``session.transaction()``: declared
    when its with-block is entered, committed on a clean exit, rolled back on an
    exception; ``commit()`` / ``rollback()`` end it early (the exit then does nothing).

    ``txn_id`` is what a transactional send or settlement names (4.4); it raises
    :class:`TransactionError` whenever the transaction cannot take work.
    """

    def __init__(self, session: Any, timeout: float | None = None) -> None:
        session._conn._span(timeout)  # TypeError / ValueError now, not at the first wait
        #: The adapter's session and connection (their attributes as _clientstate's).
        self._session: Any = session
        self._conn: Any = session._conn
        self._timeout = timeout
        self._entered = False
        self._controller: TransactionController | None = None
        self._core: Transaction | None = None
        #: What our discharge asked for (True: rollback), once sent.
        self._fail: bool | None = None
        #: Nobody waits for the declare any more: roll it back once it is declared.
        self._abandoned = False

    # -- what the application reads ---------------------------------------------------------
    @property
    def txn_id(self) -> bytes:
        """The transaction's id (4.5.1), for ``send(msg, txn=txn)`` and settlements.

        Raises TransactionError when the transaction cannot take work: not declared
        yet, committed or rolled back (or being so), failed, or its control link,
        session or connection gone.
        """
        core = self._core
        if core is None:
            raise TransactionError("the transaction is not declared yet: enter it first "
                                   "(`with session.transaction() as txn:`)")
        if core.status is _S.ACTIVE:
            why = self._gone()
            if why is None:
                assert core.txn_id is not None
                return core.txn_id
            raise TransactionError(f"the transaction cannot take work: {why}")
        if core.status is _S.FAILED:
            raise TransactionError(f"the transaction is over: {describe_error(core.error)}",
                                   core.error)
        raise TransactionError(f"the transaction is {self.status}: it takes no more work")

    @property
    def status(self) -> str:
        """Where it is: "new", "declaring", "active", "committing", "rolling back",
        "committed", "rolled back" or "failed"."""
        core = self._core
        if core is None:
            return "declaring" if self._entered else "new"
        if core.status is _S.DISCHARGING:
            return "rolling back" if core.fail else "committing"
        return str(core.status.value)

    @property
    def error(self) -> Error | None:
        """The AMQP error that ended the transaction, if one did (the coordinator's)."""
        return None if self._core is None else self._core.error

    def __repr__(self) -> str:
        package = type(self).__module__.split(".")[0]
        txn_id = None if self._core is None else self._core.txn_id
        return f"<{package}.Transaction {txn_id!r} {self.status}>"

    # -- declaring ------------------------------------------------------------------------
    def _enter(self) -> None:
        """Entered once (a transaction object is not reused)."""
        if self._entered:
            raise TransactionError("this transaction was entered already: "
                                   "use session.transaction() for another")
        self._entered = True

    def _attach(self) -> None:
        """(The connection is up) take the session's controller, attaching one on its
        first use or when the last is gone (a reconnect, a detach); the adapter writes."""
        session = self._session
        session._check()
        controller: TransactionController | None = session._txn_controller
        if controller is None or controller.link.session is not session._core \
                or controller.link.state not in _OPENING:
            controller = session._txn_controller = attach_controller(session._core)
        self._controller = controller

    def _can_declare(self) -> bool:
        """The wait for the controller: attached to a Coordinator with credit, or over."""
        link = self._link()
        if link.state is LinkState.ATTACHED and isinstance(link.remote_target, Coordinator):
            return link.credit > 0 or self._gone() is not None
        return link.state not in _OPENING or self._gone() is not None

    def _declare(self, ok: bool, span: float) -> bool:
        """After the controller's wait: send the declare (True), or False when the transport
        went under the controller (the adapter waits for the connection, starts again).
        Raises TransactionsNotSupported if the peer refused the controller (4.2)."""
        controller = self._controller
        assert controller is not None
        link = controller.link
        session = self._session
        if link.state is LinkState.ATTACHED and isinstance(link.remote_target, Coordinator) \
                and link.credit > 0:
            txn = controller.declare()
            txn.context = self
            self._core = txn
            return True
        if link.session is not session._core or self._conn._reconnecting:
            return False
        refused = controller.capabilities is None and (
            link.remote_error is not None or link.remote_attach is not None)
        if refused or (not ok and link.state is LinkState.ATTACHED and link.remote_target is None):
            session._txn_controller = None
            raise self._not_supported(link.remote_error)
        self._conn._check()
        failure = session.error if session._ended or session._failure is not None else None
        if failure is not None and failure.condition == ErrorCondition.NOT_IMPLEMENTED \
                and controller.capabilities is None:
            raise self._not_supported(failure)  # (a peer that ends the session instead)
        session._check()
        if link.state in _OPENING and not ok:
            what = "attach" if link.state is LinkState.ATTACH_SENT else "credit"
            raise TimeoutError(f"the transaction coordinator gave no {what} within {span} s")
        error = link.remote_error or link.local_error
        raise TransactionError("the control link detached before the declare"
                               + (f": {describe_error(error)}" if error else ""), error)

    def _not_supported(self, error: Error | None) -> TransactionsNotSupported:
        conn = self._conn
        props = conn.remote_properties or {}
        product = " ".join(str(props[k]) for k in ("product", "version") if k in props)
        peer = f"{conn.label} ({product or 'container ' + repr(conn.remote_container_id)})"
        why = f": {describe_error(error)}" if error is not None else ""
        return TransactionsNotSupported(
            f"{peer} does not support transactions: it refused the transaction "
            f"coordinator link (4.2){why}", error)

    def _declare_done(self) -> bool:
        core = self._core
        return core is None or core.status is not _S.DECLARING or self._gone() is not None

    def _declared(self, ok: bool, span: float) -> None:
        """After the declare's wait: return if active, else raise why not."""
        core = self._core
        assert core is not None
        if core.status is _S.ACTIVE:
            return
        if core.status is _S.FAILED:
            raise TransactionError(f"the coordinator did not declare the transaction: "
                                   f"{describe_error(core.error)}", core.error)
        self._abandon()
        self._session._check()
        if not ok:
            raise TimeoutError(f"the transaction coordinator did not answer the declare "
                               f"within {span} s")
        raise TransactionError(f"the transaction could not be declared: {self._gone()}")

    def _abandon(self) -> None:
        """The wait for the declare ended without the application: roll it back once it
        is declared (its with-block never ran)."""
        self._abandoned = True
        core = self._core
        if core is not None and core.status is _S.ACTIVE:
            self._roll_back_now(core)

    def _rollback_nowait(self) -> bool:
        """Send the rollback without waiting for its answer (a with-block left by
        cancellation cannot wait); True if something is to be written."""
        core = self._core
        if core is None or self._fail is not None or core.status is not _S.ACTIVE \
                or self._gone() is not None:
            return False
        self._roll_back_now(core)
        return self._fail is not None

    def _on_txn_event(self, event: Any) -> None:
        """A transaction event of the core (routed by ``dispatch_events``)."""
        if type(event) is TransactionDeclared and self._abandoned:
            self._roll_back_now(event.transaction)

    def _roll_back_now(self, core: Transaction) -> None:
        controller = core.controller
        try:
            controller.discharge(core, fail=True)
        except LocalProtocolError:
            # No credit or no link: the coordinator rolls it back with its link (4.2).
            log.debug("%s: an abandoned transaction stays open until its control link "
                      "ends", self._conn.label)
            return
        self._fail = True

    # -- discharging --------------------------------------------------------------------------
    def _can_discharge(self) -> bool:
        core = self._core
        if core is None or core.status is not _S.ACTIVE or self._gone() is not None:
            return True
        return bool(self._link().credit > 0)

    def _discharge(self, fail: bool, ok: bool, span: float) -> bool:
        """Send the commit (``fail`` False) or rollback: True to wait for the answer, False
        when there is none to wait for (a rollback of a transaction that is over: the
        coordinator rolled it back). Raises what a commit that cannot be sent means."""
        what = "rollback" if fail else "commit"
        core = self._core
        if core is None:
            raise TransactionError(f"{what} of a transaction that is not declared: "
                                   "use `with session.transaction() as txn:`")
        status = core.status
        if self._fail is not None or status in (_S.COMMITTED, _S.ROLLED_BACK, _S.DISCHARGING):
            raise TransactionError(f"{what}: the transaction is {self.status} already")
        if status is _S.FAILED:
            if fail:
                return False
            raise self._commit_failed(core)
        why = self._gone()
        if why is not None:
            if fail:
                return False  # 4.2: the coordinator rolls back what its control link leaves
            raise TransactionRolledBack(f"the transaction was rolled back: {why} before "
                                        "the commit", self._link_error())
        if not ok:
            raise TimeoutError(f"the transaction coordinator gave no credit for the {what} "
                               f"within {span} s")
        assert self._controller is not None
        self._controller.discharge(core, fail=fail)
        self._fail = fail
        return True

    def _discharge_done(self) -> bool:
        core = self._core
        return core is None or core.status is not _S.DISCHARGING or self._gone() is not None

    def _discharged(self, ok: bool, span: float) -> None:
        """After the discharge's wait: return if it happened, else raise (a rollback the
        coordinator refused is over all the same: nothing of it is applied)."""
        core = self._core
        assert core is not None
        fail = bool(self._fail)
        if core.status in (_S.COMMITTED, _S.ROLLED_BACK):
            return
        if core.status is _S.FAILED:
            if fail:
                log.debug("%s: the rollback was answered %s", self._conn.label,
                          describe_error(core.error))
                return
            raise self._commit_failed(core)
        what = "rollback" if fail else "commit"
        if not ok:
            raise TimeoutError(f"the transaction coordinator did not answer the {what} "
                               f"within {span} s: its outcome is in doubt")
        self._session._check()
        raise TransactionError(f"the {what}'s outcome is in doubt: {self._gone()}")

    def _commit_failed(self, core: Transaction) -> TransactionError:
        """What a commit of a failed transaction raises (its error is the coordinator's)."""
        error = core.error
        delivery = getattr(core, "_delivery", None)
        asked = self._fail is False
        link_error = self._link().remote_error
        if asked and delivery is not None and not isinstance(delivery.remote_state, Rejected) \
                and (link_error is None
                     or link_error.condition != ErrorCondition.TRANSACTION_ROLLBACK):
            # Our discharge was in flight when the control link ended (not saying rollback):
            # the coordinator may have committed before it went, and its answer is lost.
            return TransactionError(f"the control link ended before the coordinator answered "
                                    f"the commit: its outcome is in doubt "
                                    f"({describe_error(error)})", error)
        condition = None if error is None else error.condition
        if condition == ErrorCondition.TRANSACTION_TIMEOUT:
            return TransactionTimeout(f"the transaction timed out and was rolled back: "
                                      f"{describe_error(error)}", error)
        if condition == ErrorCondition.ILLEGAL_STATE:
            return TransactionError(f"the commit's outcome is in doubt: "
                                    f"{describe_error(error)}", error)
        return TransactionRolledBack(f"the transaction was rolled back: "
                                     f"{describe_error(error)}", error)

    # -- checks -----------------------------------------------------------------------------
    def _link(self) -> Any:
        assert self._controller is not None
        return self._controller.link

    def _link_error(self) -> Error | None:
        link = self._link()
        error: Error | None = link.remote_error or link.local_error
        if error is None:
            session = self._session
            error = session.error or getattr(self._conn, "error", None)
        return error

    def _gone(self) -> str | None:
        """Why the transaction's control link can carry nothing more, or None if it can."""
        conn = self._conn
        if conn.closed:
            return "the connection is closed"
        if conn._reconnecting:
            return "the connection was lost"
        session = self._session
        if session._ended or session._failure is not None:
            return "the session ended"
        link = self._link()
        if link.session is not session._core:
            return "the connection was lost"
        if link.state not in _OPENING:
            error = link.remote_error or link.local_error
            return "the control link detached" + (f" ({describe_error(error)})" if error else "")
        return None

    # -- a with-block's exit --------------------------------------------------------------
    def _exit_fail(self, exc_type: type[BaseException] | None) -> bool | None:
        """What a with-block's exit does: None nothing (ended already, or never declared),
        False commit, True roll back (an exception left the block)."""
        if self._core is None or self._fail is not None or self._core.status is not _S.ACTIVE:
            if exc_type is None and self._core is not None and self._fail is None \
                    and self._core.status is _S.FAILED:
                return False  # a clean exit commits: that raises why it cannot
            return None
        return exc_type is not None


class AsyncClientTransaction(ClientTransaction):
    """A local transaction of an async adapter (asyncio, trio; its calls written once,
    waiting with ``await conn._wait_until(pred, end)``); made by ``session.transaction()``.

    ``async with session.transaction() as txn:`` declares it (attaching the session's
    controller link on first use), commits it when the block ends cleanly and rolls it
    back when an exception leaves the block (the exception goes on; a cancelled block's
    rollback is sent, not waited for). ``await sender.send(msg, txn=txn)`` and
    ``await receiver.accept(msg, txn=txn)`` put work in it; ``await txn.commit()`` /
    ``await txn.rollback()`` end it early.
    """

    async def _checkpoint(self) -> None:
        """Before a call does anything (trio: let a cancelled caller out first)."""

    async def commit(self, timeout: float | None = None) -> None:
        """Commit: every send and settlement in the transaction takes effect together.

        Raises TransactionRolledBack (TransactionTimeout) if the coordinator rolled it
        back instead (its error says why), TransactionError if it cannot be committed
        (not active, or its outcome is in doubt), TimeoutError if no answer came within
        ``timeout`` (default: the transaction's).
        """
        await self._end(False, timeout)

    async def rollback(self, timeout: float | None = None) -> None:
        """Roll back: nothing of the transaction takes effect; messages it consumed are
        available again. Returns at once if the transaction is over already."""
        await self._end(True, timeout)

    async def _end(self, fail: bool, timeout: float | None) -> None:
        conn = self._conn
        t = self._timeout if timeout is None else timeout
        end, span = conn._deadline(t), conn._span(t)
        await self._checkpoint()
        ok = await conn._wait_until(self._can_discharge, end)
        if self._discharge(fail, ok, span):
            conn._after()
            self._discharged(await conn._wait_until(self._discharge_done, end), span)

    async def __aenter__(self) -> Self:
        conn = self._conn
        end, span = conn._deadline(self._timeout), conn._span(self._timeout)
        await self._checkpoint()
        self._enter()
        while True:
            await conn._wait_connected(end, self._timeout)
            self._attach()
            conn._after()
            if self._declare(await conn._wait_until(self._can_declare, end), span):
                break
        conn._after()
        try:
            ok = await conn._wait_until(self._declare_done, end)
        except BaseException:
            self._abandon()
            raise
        self._declared(ok, span)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        fail = self._exit_fail(exc_type)
        if fail is None:
            return
        if not fail:
            await self.commit()
        elif exc_type is not None and not issubclass(exc_type, Exception):
            if self._rollback_nowait():  # cancelled: no waiting now
                self._conn._after()
        else:
            try:
                await self.rollback()
            except Exception:
                log.debug("%s: rolling back after an exception failed", self._conn.label,
                          exc_info=True)
