"""The trio session: opens senders and receivers, ends with a timeout."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

import trio

from amqp10_proto import (
    Error,
    LocalProtocolError,
    SessionEnded,
    Source,
    Target,
)
from amqp10_proto import Session as CoreSession
from amqp10_proto import errors as amqp_errors
from amqp10_proto.client import SettleMode, describe_error, receiver_attach_args, sender_attach_args

from ._link import Receiver, Sender, _Link

if TYPE_CHECKING:
    from ._connection import Connection

__all__ = ["Session", "SettleMode"]

log = logging.getLogger("amqp10")



class _AsyncClosable(Protocol):
    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...


T = TypeVar("T", bound=_AsyncClosable)


class Opening(Generic[T]):
    """What ``open_session`` / ``open_sender`` / ``open_receiver`` return.

    Await it for the object (``s = await conn.open_session()``), or use it as an
    async context manager, which closes the object on exit.
    """

    __slots__ = ("_factory", "_obj")

    def __init__(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> None:
        self._factory = factory
        self._obj: T | None = None

    def __await__(self) -> Generator[Any, None, T]:
        return self._factory().__await__()

    async def __aenter__(self) -> T:
        self._obj = await self._factory()
        return self._obj

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._obj is not None:
            await self._obj.__aexit__(exc_type, exc, tb)




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
        """The connection this session is on."""
        return self._conn

    @property
    def ended(self) -> bool:
        """True once the session is over (ended by either side, or its connection closed)."""
        return self._ended

    @property
    def remote_properties(self) -> dict[Any, Any] | None:
        """The session properties of the peer's begin (2.7.2)."""
        b = self._core.remote_begin
        return None if b is None else b.properties

    @property
    def remote_incoming_window(self) -> int:
        """Transfers the peer will still take on this session before it opens its window again (2.5.6)."""
        return self._core.remote_incoming_window

    def __repr__(self) -> str:
        return f"<amqp10_trio.Session channel={self._core.channel}{' ended' if self._ended else ''}>"

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
                    timeout: float | None = None) -> Opening[Sender]:
        """Attach a sending link to ``address`` and wait for the peer's attach.

        ``async with session.open_sender(q) as sender`` (detached on exit), or
        ``sender = await session.open_sender(q)``. ``settle_mode``: "unsettled"
        (``send`` waits for the outcome), "settled" (fire and forget), or "mixed"
        (per ``send(settled=...)``). ``address`` None is the anonymous relay (each
        message's ``to``). Raises LinkDetached or SessionEnded (RabbitMQ 3.10) if
        the peer refuses.
        """
        args = sender_attach_args(
            address, settle_mode=settle_mode, durable=durable, expiry_policy=expiry_policy,
            capabilities=capabilities, name=name, source=source,
            max_message_size=max_message_size, properties=properties,
            offered_capabilities=offered_capabilities, desired_capabilities=desired_capabilities)

        def attach() -> Any:
            return self._core.attach_sender(**args)

        async def open_() -> Sender:
            link = await self._open_link(Sender, attach, timeout,
                                         needs_remote=address is not None)
            assert isinstance(link, Sender)
            return link

        return Opening(open_)

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
                      timeout: float | None = None) -> Opening[Receiver]:
        """Attach a receiving link from ``address`` and wait for the peer's attach.

        ``async with session.open_receiver(q) as receiver`` or ``await``. ``credit``
        is the window of messages the peer may send ahead; it is refilled as you
        consume (never more buffered than granted). ``credit=0`` means manual
        credit (``add_credit``, ``drain``). ``dynamic=True`` asks the peer to
        create a node; its address is ``receiver.address``.
        """
        args = receiver_attach_args(
            address, dynamic=dynamic, filters=filters, settle_mode=settle_mode,
            rcv_settle_mode=rcv_settle_mode, durable=durable, expiry_policy=expiry_policy,
            capabilities=capabilities, credit=credit, name=name, target=target,
            max_message_size=max_message_size, properties=properties,
            offered_capabilities=offered_capabilities, desired_capabilities=desired_capabilities)

        def attach() -> Any:
            return self._core.attach_receiver(**args)

        async def open_() -> Receiver:
            link = await self._open_link(Receiver, attach, timeout, needs_remote=True,
                                         credit=credit)
            assert isinstance(link, Receiver)
            return link

        return Opening(open_)

    async def _open_link(self, cls: type[_Link], attach: Any, timeout: float | None,
                         needs_remote: bool, **extra: Any) -> _Link:
        conn = self._conn
        end = conn._deadline(timeout)
        await trio.lowlevel.checkpoint()
        self._check()
        core = attach()
        link = cls(self, core, **extra)
        core.context = link
        conn._after()
        await link._wait_attached(end, needs_remote)
        return link

    # -- ending ---------------------------------------------------------------------------
    async def close(self, timeout: float | None = None, error: Error | None = None) -> None:
        """End the session (its links detach with it); wait up to ``timeout`` for the peer.

        Returns at once if the session or connection is already over. Raises
        TimeoutError if the peer does not answer in time (the connection stays usable).
        """
        conn = self._conn
        end = conn._deadline(timeout)
        if not self._end_nowait(error):
            return
        if not await conn._wait_until(lambda: self._ended or conn.closed, end):
            raise TimeoutError(f"the peer did not answer the end within {conn._span(timeout)} s")

    def _end_nowait(self, error: Error | None = None) -> bool:
        """Queue the end; False if there is nothing to end."""
        conn = self._conn
        if self._ended or conn.closed or self._ended_locally:
            return False
        self._ended_locally = True
        try:
            self._core.end(error)
        except LocalProtocolError:
            return False
        conn._after()
        return True

    def _abandon(self) -> None:
        """A begin we stopped waiting for (timeout, cancel): end it when the peer answers."""
        self._end_nowait()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is not None:
            # Leaving on an exception (maybe a cancellation): end without waiting.
            self._end_nowait()
            return
        await self.close()

    # -- events and checks ----------------------------------------------------------------------
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

