"""The blocking session: opens senders and receivers, ends with a timeout."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from amqp10_proto import (
    Error,
    LocalProtocolError,
    ReceiverSettleMode,
    SenderSettleMode,
    SessionEnded,
    Source,
    Symbol,
    Target,
    TerminusDurability,
)
from amqp10_proto import Session as CoreSession
from amqp10_proto import errors as amqp_errors
from amqp10_proto.client import describe_error

from ._link import Receiver, Sender, _Link

if TYPE_CHECKING:
    from ._connection import Connection

__all__ = ["Session", "SettleMode"]

log = logging.getLogger("amqp10")

SettleMode = Literal["unsettled", "settled", "mixed"]
_SND_MODES = {"unsettled": SenderSettleMode.UNSETTLED, "settled": SenderSettleMode.SETTLED,
              "mixed": SenderSettleMode.MIXED}
_RCV_MODES = {"first": ReceiverSettleMode.FIRST, "second": ReceiverSettleMode.SECOND}
_DURABILITY = {None: TerminusDurability.NONE, False: TerminusDurability.NONE,
               True: TerminusDurability.UNSETTLED_STATE,
               "none": TerminusDurability.NONE, "configuration": TerminusDurability.CONFIGURATION,
               "unsettled-state": TerminusDurability.UNSETTLED_STATE}


def _mode(table: dict[str, Any], value: str, what: str) -> Any:
    try:
        return table[value]
    except KeyError:
        raise ValueError(f"{what} must be one of {sorted(table)}, not {value!r}") from None


class Session:
    """A session on a :class:`Connection`; made by ``conn.open_session()``."""

    def __init__(self, conn: Connection, core: CoreSession) -> None:
        self._conn = conn
        self._core = core
        self._ended = False
        #: The error the session ended with (the peer's, or the connection's), if any.
        self.error: Error | None = None
        self._ended_locally = False

    # -- what the application can read ----------------------------------------------------
    @property
    def connection(self) -> Connection:
        return self._conn

    @property
    def ended(self) -> bool:
        """True once the session is over (ended by either side, or its connection closed)."""
        return self._ended

    @property
    def remote_properties(self) -> dict[Any, Any] | None:
        b = self._core.remote_begin
        return None if b is None else b.properties

    @property
    def remote_incoming_window(self) -> int:
        return self._core.remote_incoming_window

    def __repr__(self) -> str:
        return f"<amqp10_sync.Session channel={self._core.channel}{' ended' if self._ended else ''}>"

    # -- links ----------------------------------------------------------------------------
    def open_sender(self, address: str | Target | None, *, name: str | None = None,
                    settle_mode: SettleMode = "unsettled",
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

        ``settle_mode``: "unsettled" (``send`` waits for the outcome), "settled"
        (fire and forget), or "mixed" (per ``send(settled=...)``). ``address``
        None is the anonymous relay (each message's ``to``). ``queue_size``:
        how many ``send_nowait`` messages may wait for credit before it blocks.
        Raises LinkDetached or SessionEnded (RabbitMQ 3.10) if the peer refuses.
        """
        if isinstance(address, Target):
            target: Target | str | None = address
        else:
            target = self._terminus(Target, address, durable, expiry_policy, capabilities)
        mode = _mode(_SND_MODES, settle_mode, "settle_mode")

        def attach() -> Any:
            return self._core.attach_sender(
                target, name=name, source=source, snd_settle_mode=mode,
                max_message_size=max_message_size, properties=properties,
                offered_capabilities=offered_capabilities,
                desired_capabilities=desired_capabilities)

        sender = self._open_link(Sender, attach, timeout, needs_remote=address is not None,
                                 queue_size=queue_size)
        assert isinstance(sender, Sender)
        return sender

    def open_receiver(self, address: str | Source | None = None, *, credit: int = 100,
                      name: str | None = None, dynamic: bool = False,
                      settle_mode: SettleMode = "mixed",
                      rcv_settle_mode: Literal["first", "second"] = "first",
                      target: str | Target | None = None,
                      filters: dict[Any, Any] | None = None,
                      durable: bool | str | None = None, expiry_policy: str | None = None,
                      capabilities: list[str] | None = None,
                      max_message_size: int | None = None,
                      properties: dict[str, Any] | None = None,
                      offered_capabilities: list[str] | None = None,
                      desired_capabilities: list[str] | None = None,
                      timeout: float | None = None) -> Receiver:
        """Attach a receiving link from ``address`` and wait for the peer's attach.

        ``credit`` is the window of messages the peer may send ahead; it is
        refilled as you consume (never more buffered than granted). ``credit=0``
        means manual credit (``add_credit``, ``drain``). ``dynamic=True`` asks
        the peer to create a node; its address is ``receiver.address``.
        """
        if isinstance(address, Source):
            source = address
        else:
            source = self._terminus(Source, address, durable, expiry_policy, capabilities)
            source.dynamic = dynamic
            if filters is not None:
                source.filter = {Symbol(k) if isinstance(k, str) else k: v
                                 for k, v in filters.items()}
        mode = _mode(_SND_MODES, settle_mode, "settle_mode")
        rmode = _mode(_RCV_MODES, rcv_settle_mode, "rcv_settle_mode")

        def attach() -> Any:
            return self._core.attach_receiver(
                source, credit=credit, name=name, target=target, snd_settle_mode=mode,
                rcv_settle_mode=rmode, max_message_size=max_message_size,
                properties=properties, offered_capabilities=offered_capabilities,
                desired_capabilities=desired_capabilities)

        receiver = self._open_link(Receiver, attach, timeout, needs_remote=True, credit=credit)
        assert isinstance(receiver, Receiver)
        return receiver

    @staticmethod
    def _terminus(kind: Any, address: Any, durable: bool | str | None,
                  expiry_policy: str | None, capabilities: list[str] | None) -> Any:
        try:
            durability = _DURABILITY[durable]
        except KeyError:
            raise ValueError(f"durable must be a bool or one of none, configuration, "
                             f"unsettled-state; not {durable!r}") from None
        t = kind(address=address, durable=durability)
        if expiry_policy is not None:
            t.expiry_policy = Symbol(expiry_policy)
        if capabilities is not None:
            t.capabilities = [Symbol(c) for c in capabilities]
        return t

    def _open_link(self, cls: type[_Link], attach: Any, timeout: float | None,
                   needs_remote: bool, **extra: Any) -> _Link:
        conn = self._conn
        end = conn._deadline(timeout)
        with conn._cond:
            self._check()
            core = attach()
            link = cls(self, core, **extra)
            conn._objects[core] = link
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
            if self._ended or conn.closed:
                return
            self._ended_locally = True
            try:
                self._core.end(error)
            except LocalProtocolError:
                return
            conn._after()
            if not conn._wait_until(lambda: self._ended or conn.closed, end):
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
    def _on_end(self, event: SessionEnded) -> None:
        self._ended = True
        self.error = event.error
        if event.error is not None and not self._conn.closed:
            log.warning("%s: session %d ended by the peer: %s", self._conn.label,
                        self._core.channel, event.error)

    def _check(self) -> None:
        """Raise ConnectionClosed or SessionEnded if this session can no longer be used."""
        self._conn._check()
        if self._ended:
            if self.error is not None:
                raise amqp_errors.SessionEnded(
                    f"session ended: {describe_error(self.error)}", self.error)
            raise amqp_errors.SessionEnded(
                "the session was ended" if self._ended_locally else "the peer ended the session")


