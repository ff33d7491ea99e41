"""An adapter session's I/O-free state: ended or not, why, and the peer's begin.

Each adapter's Session subclasses :class:`SessionBase` and adds only the waiting, in
its own I/O model; the links' bases in ``_clientstate`` (which re-exports this one)
build on it. What it expects of the adapter's connection: ``closed``, ``label``,
``_check()`` (raise if it is over) and ``_after()`` (dispatch events, write what the
core queued).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Generic

from typing_extensions import TypeVar

from ._clientinfo import describe_error
from ._definitions import Error
from ._errors import LocalProtocolError, SessionEndedError
from ._events import SessionEnded, SessionFailed
from ._session import Session as CoreSession

__all__ = ["SessionBase"]

log = logging.getLogger("amqp10")


def _forget(endpoints: list[Any] | None, endpoint: Any) -> None:
    """Drop an endpoint that is over from the list kept to open it again after a
    reconnect (issue 9): a connection that opens and closes links for ever keeps
    only those still open."""
    if endpoints is not None:
        with contextlib.suppress(ValueError):
            endpoints.remove(endpoint)


#: An adapter's connection class, as its sessions give it back (``session.connection``).
C = TypeVar("C", default=Any)


class SessionBase(Generic[C]):
    """A session's state as an adapter shows it: ended or not, why, and the peer's begin.

    ``C`` is the adapter's connection class (``SessionBase[Connection]``), so that
    ``session.connection`` is typed for the application.
    """

    #: The adapter's connection (the attributes the module docstring names).
    _conn: Any

    def __init__(self, conn: C, core: CoreSession, begin_args: dict[str, Any] | None = None) -> None:
        self._conn = conn
        self._core = core
        self._ended = False
        self._ended_locally = False
        #: What it was begun with, to begin it again on a new transport (issue 9).
        self._begin_args = begin_args or {}
        #: Its links in the order they were opened (each adds itself).
        self._links: list[Any] = []
        #: The transport went and took the session with it; it is begun again on reconnect.
        self._lost = False
        #: Why the core ended the session for the peer's fault (SessionFailed), if it did.
        self._failure: Error | None = None
        #: The error the session ended with (the peer's, or the connection's), if any.
        self.error: Error | None = None

    @property
    def connection(self) -> C:
        """The connection this session is on."""
        conn: C = self._conn
        return conn

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
        """Transfers the peer still takes on this session before it widens its window (2.5.6)."""
        value: int = self._core.remote_incoming_window
        return value

    def _begin_done(self) -> bool:
        """The wait for the peer's begin is over: mapped, or over before it was."""
        return (self._core.mapped or self._ended or self._failure is not None
                or self._conn.closed)

    def _end_nowait(self, error: Error | None = None) -> bool:
        """Queue our end (2.7.7); False if the session or connection is over already."""
        if self._ended or self._conn.closed or self._ended_locally or self._failure is not None:
            return False
        if self._lost:  # the transport took it: nothing to say, and nothing begins it again
            self._ended_locally = self._ended = True
            return False
        self._ended_locally = True
        try:
            self._core.end(error)
        except LocalProtocolError:
            return False
        self._conn._after()
        return True

    def _end_done(self) -> bool:
        return self._ended or self._conn.closed

    def _on_failed(self, event: SessionFailed) -> None:
        """The core ended the session for the peer's fault: its waiters fail now."""
        self._failure = self.error = event.error
        log.warning("%s: session %d ended: the peer broke a session rule: %s",
                    self._conn.label, self._core.channel, describe_error(event.error))

    def _on_end(self, event: SessionEnded) -> None:
        if event.with_connection and self._conn._reconnecting and not self._ended_locally:
            self._lost = True  # begun again once the connection is back
            return
        self._ended = True
        _forget(getattr(self._conn, "_sessions", None), self)
        self.error = event.error if event.error is not None else self._failure
        if event.error is not None and not self._conn.closed:
            log.warning("%s: session %d ended by the peer: %s", self._conn.label,
                        self._core.channel, describe_error(event.error))

    def _check(self) -> None:
        """Raise ConnectionClosedError or SessionEndedError if this session can no longer be used."""
        self._conn._check()
        if self._ended or self._failure is not None:
            if self.error is not None:
                raise SessionEndedError(f"session ended: {describe_error(self.error)}", self.error)
            raise SessionEndedError(
                "the session was ended" if self._ended_locally else "the peer ended the session")
