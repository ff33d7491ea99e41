"""The blocking session: opens senders and receivers, ends with a timeout."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from amqp10_proto import (
    DEFAULT_LINK_CREDIT,
    DEFAULT_RECEIVER_SETTLE_MODE,
    DEFAULT_SENDER_SETTLE_MODE,
    Error,
    Source,
    Target,
    TransactionController,
)
from amqp10_proto import Session as CoreSession
from amqp10_proto.client import (
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_REQUEST_TIMEOUT,
    SessionBase,
    SettleMode,
    receiver_attach_args,
    sender_attach_args,
)

from ._link import Receiver, Sender, _Link
from ._requests import Requester
from ._txn import Transaction

if TYPE_CHECKING:
    from ._connection import Connection

__all__ = ["Session", "SettleMode"]

log = logging.getLogger("amqp10")


class Session(SessionBase["Connection"]):
    """A session on a :class:`Connection`; made by ``conn.open_session()``."""

    _conn: Connection
    _core: CoreSession
    #: The control link of its transactions (4.2), attached by the first one.
    _txn_controller: TransactionController | None = None

    def __repr__(self) -> str:
        return f"<amqp10_sync.Session channel={self._core.channel}{' ended' if self._ended else ''}>"

    # -- links ----------------------------------------------------------------------------
    def open_sender(self, address: str | Target | None, *, name: str | None = None,
                    dynamic: bool = False,
                    settle_mode: SettleMode = DEFAULT_SENDER_SETTLE_MODE,
                    rcv_settle_mode: Literal["first", "second"] = DEFAULT_RECEIVER_SETTLE_MODE,
                    source: str | Source | None = None,
                    durable: bool | str | None = None, expiry_policy: str | None = None,
                    capabilities: list[str] | None = None,
                    max_message_size: int | None = None,
                    properties: dict[str, Any] | None = None,
                    offered_capabilities: list[str] | None = None,
                    desired_capabilities: list[str] | None = None,
                    queue_size: int = 1000,
                    timeout: float | None = None) -> Sender:
        """Attach a sending link to ``address`` and wait for the peer's attach.

        ``rcv_settle_mode`` "second": the peer
        keeps each message until we settle it after its outcome (2.8.3); with
        ``durable="unsettled-state", expiry_policy="never"`` a reconnect resumes the
        link (2.6.13) and neither loses nor duplicates a message.
        ``settle_mode``: "unsettled" (``send`` waits for the outcome), "settled"
        (fire and forget), or "mixed" (per ``send(settled=...)``). ``address``
        None is the anonymous relay (each message's ``to``), unless ``dynamic=True``
        asks the peer to create a node (3.5.4): its address is then ``sender.address``.
        ``queue_size``: how many ``send_nowait`` messages may wait for credit before it
        blocks.
        Raises LinkDetachedError or SessionEndedError (RabbitMQ 3.10) if the peer refuses.
        """
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, not {queue_size!r}")
        args = sender_attach_args(
            address, settle_mode=settle_mode, rcv_settle_mode=rcv_settle_mode, durable=durable,
            expiry_policy=expiry_policy, dynamic=dynamic,
            capabilities=capabilities, name=name, source=source,
            max_message_size=max_message_size, properties=properties,
            offered_capabilities=offered_capabilities, desired_capabilities=desired_capabilities)

        def attach() -> Any:
            return self._core.attach_sender(**args)

        sender = self._open_link(Sender, attach, timeout,
                                 needs_remote=address is not None or dynamic,
                                 queue_size=queue_size, attach_args=args)
        assert isinstance(sender, Sender)
        return sender

    def open_receiver(self, address: str | Source | None = None, *,
                      credit: int = DEFAULT_LINK_CREDIT,
                      name: str | None = None, dynamic: bool = False,
                      settle_mode: SettleMode = "mixed",
                      rcv_settle_mode: Literal["first", "second"] = DEFAULT_RECEIVER_SETTLE_MODE,
                      target: str | Target | None = None,
                      filters: dict[Any, Any] | None = None,
                      durable: bool | str | None = None, expiry_policy: str | None = None,
                      capabilities: list[str] | None = None,
                      max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
                      properties: dict[str, Any] | None = None,
                      offered_capabilities: list[str] | None = None,
                      desired_capabilities: list[str] | None = None,
                      timeout: float | None = None) -> Receiver:
        """Attach a receiving link from ``address`` and wait for the peer's attach.

        ``credit`` is the window of messages the peer may send ahead; it is
        refilled as you consume (never more buffered than granted). ``credit=0``
        means manual credit (``add_credit``, ``drain``). ``dynamic=True`` asks
        the peer to create a node; its address is ``receiver.address``.
        ``max_message_size``: a bigger message detaches the link with
        amqp:link:message-size-exceeded (default 100 MiB; None: no limit).
        """
        args = receiver_attach_args(
            address, dynamic=dynamic, filters=filters, settle_mode=settle_mode,
            rcv_settle_mode=rcv_settle_mode, durable=durable, expiry_policy=expiry_policy,
            capabilities=capabilities, credit=credit, name=name, target=target,
            max_message_size=max_message_size, properties=properties,
            offered_capabilities=offered_capabilities, desired_capabilities=desired_capabilities)

        def attach() -> Any:
            return self._core.attach_receiver(**args)

        receiver = self._open_link(Receiver, attach, timeout, needs_remote=True, credit=credit,
                                   attach_args=args)
        assert isinstance(receiver, Receiver)
        return receiver

    def open_requester(self, address: str, *, reply_address: str | None = None,
                       dynamic_reply: bool = False,
                       request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
                       timeout: float | None = None) -> Requester:
        """A request/response client to ``address``, attached (see :class:`Requester`):
        replies come on the node itself, on ``reply_address``, or on a dynamic node
        (``dynamic_reply=True``); ``request_timeout`` is each request's default."""
        requester = Requester(self, address, reply_address=reply_address,
                              dynamic_reply=dynamic_reply, timeout=request_timeout)
        requester.open(timeout)
        return requester

    def transaction(self, *, timeout: float | None = None) -> Transaction:
        """A local transaction (part 4), declared by ``with session.transaction() as
        txn:`` (see :class:`Transaction`); ``timeout`` bounds each of its waits."""
        return Transaction(self, timeout)

    def _open_link(self, cls: type[_Link], attach: Any, timeout: float | None,
                   needs_remote: bool, **extra: Any) -> _Link:
        conn = self._conn
        end = conn._deadline(timeout)
        with conn._cond:
            conn._wait_connected(end, timeout)
            self._check()
            core = attach()
            link = cls(self, core, **extra)
            core.context = link
            conn._after()
            link._wait_attached(end, needs_remote)
            return link

    # -- ending ---------------------------------------------------------------------------
    def close(self, timeout: float | None = None, error: Error | None = None) -> None:
        """End the session (its links detach with it); wait up to ``timeout`` for the peer.

        Returns at once if the session or connection is already over. Raises
        TimeoutError if the peer does not answer in time (the connection stays usable).
        """
        conn = self._conn
        end = conn._deadline(timeout)
        with conn._cond:
            if self._end_nowait(error) and not conn._wait_until(self._end_done, end):
                raise TimeoutError(f"the peer did not answer the end within {conn._span(timeout)} s")

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        except Exception:
            if exc[0] is None:
                raise
            log.debug("error ending a session after an exception", exc_info=True)

    # -- events and checks (lock held) --------------------------------------------------------
