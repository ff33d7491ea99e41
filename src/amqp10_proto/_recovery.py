"""Recovering a connection whose transport was lost (issue 9): the I/O-free half.

The adapters' ``Connection`` classes mix :class:`Recovering` in. A core
``Connection`` is one transport's protocol state; what outlives it is here: the
sessions and links the application opened (in order, with the options they were
opened with), the reconnect schedule, and the connection's state as the
application sees it. When the core ends, the adapter asks :meth:`_transport_down`
whether to reconnect; if so it runs its own loop (wait, connect, feed a fresh
core) at the times :meth:`_next_attempt` gives, calls :meth:`_replay` once the
new core is open, and :meth:`_recovered` once :meth:`_replay_done` says every
session and link is back. Sessions and links do their own part
(``_replay``, ``_transport_lost``) in ``_clientstate``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

from ._clientstate import SenderBase, describe_error
from ._definitions import Error
from ._errors import ConnectionClosedError
from ._reconnect import (
    Attempt,
    Reconnect,
    ReconnectInfo,
    ReconnectSchedule,
    redirect_target,
    should_reconnect,
)
from ._state import LinkState
from ._url import ParsedURL

__all__ = ["Recovering"]

log = logging.getLogger("amqp10")

State = Literal["open", "reconnecting", "closed"]


def _url_text(url: ParsedURL) -> str:
    return f"{url.scheme}://{url.host}:{url.port}"


class Recovering:
    """The part of an adapter's connection that survives its transports.

    What it expects of the adapter: ``_core`` (the current core connection),
    ``label``, ``closed`` and ``_closed_by_user``.
    """

    _core: Any
    label: str
    _closed_by_user: bool

    def _init_recovery(self, policy: Reconnect | None, urls: Sequence[ParsedURL],
                       current: int = 0, connected: ParsedURL | None = None) -> None:
        """``current``: the list position of the first transport; ``connected``: where it
        really went, if a redirect took it elsewhere."""
        self._schedule = None if policy is None or not urls else ReconnectSchedule(
            policy, urls, current=current)
        if self._schedule is not None and connected is not None:
            self._schedule.arrived(connected)
        #: Between a drop and the end of its episode: waits go on, nothing fails.
        self._reconnecting = False
        #: A new core is open and the sessions and links are being attached again.
        self._replaying = False
        #: Sessions in the order they were opened (the adapter adds; ended ones leave).
        self._sessions: list[Any] = []
        self._resent_total = 0
        #: Set when the policy gave up: what every later call raises.
        self._given_up: ConnectionClosedError | None = None
        #: Recovery starts only once the first open succeeded: the first connect fails
        #: with its own error (no endless retry on a bad address).
        self._armed = False

    def _arm_recovery(self) -> None:
        """The first transport is open: from now on a lost one is replaced."""
        self._armed = True

    def _stop_recovery(self) -> None:
        """The application closed the connection while it was reconnecting."""
        self._reconnecting = False
        self._replaying = False
        if self._schedule is not None:
            self._schedule.started = None
        self._end_lost()

    def _end_lost(self) -> None:
        """The connection is not coming back: the sessions and links its transport took
        are over for good (``ended``, ``detached``), as its close would have made them."""
        for session in self._sessions:
            for link in session._links:
                if link._lost:
                    link._lost = False
                    link._detached_flag = True
                    link._never_back()
            if session._lost:
                session._lost = False
                session._ended = True

    # -- what the application sees ----------------------------------------------------------
    @property
    def state(self) -> State:
        """"open", "reconnecting" (the transport was lost; calls wait for it to come back)
        or "closed" (for good: closed by either side, or reconnecting gave up)."""
        if self._reconnecting:
            return "reconnecting"
        return "closed" if self.closed else "open"

    @property
    def reconnects(self) -> int:
        """How many times the connection was lost and came back."""
        return 0 if self._schedule is None else self._schedule.reconnects

    @property
    def url(self) -> str | None:
        """The URL of the broker in use (without credentials); None for a given socket."""
        return None if self._schedule is None else _url_text(self._schedule.url)

    @property
    def resent(self) -> int:
        """Messages sent again after a reconnect because their outcome had not arrived."""
        return self._resent_total

    @property
    def closed(self) -> bool:
        raise NotImplementedError

    # -- the adapter's calls --------------------------------------------------------------
    def _transport_down(self, now: float, error: Error | None, local: bool) -> bool:
        """The core ended with ``error`` (``local``: our side ended it). True if the
        connection reconnects: its sessions and links then wait instead of failing."""
        schedule = self._schedule
        if schedule is None or self._given_up is not None or not self._armed:
            return False
        if not should_reconnect(error, local=local, closed_by_user=self._closed_by_user):
            if self._reconnecting:
                self._give_up(error)
            return False
        target = redirect_target(error, schedule.url)
        if target is not None:
            schedule.redirect(target)
        if self._reconnecting:
            schedule.failed(error)  # a try that got in, then lost its transport again
            self._replaying = False
            return True
        schedule.lost(now, error)
        self._reconnecting = True
        self._replaying = False
        log.warning("%s: connection to %s lost (%s); reconnecting", self.label,
                    _url_text(schedule.url), describe_error(error) or "transport closed")
        callback = schedule.policy.on_disconnect
        if callback is not None:
            self._call(callback, ReconnectInfo(url=_url_text(schedule.url), cause=error,
                                               attempts=0, downtime=0.0))
        return True

    def _next_attempt(self, now: float) -> Attempt | None:
        """The next try (connect to its URL at its time), or None: the policy gave up."""
        schedule = self._schedule
        assert schedule is not None
        attempt = schedule.next_attempt(now)
        if attempt is None:
            self._give_up(schedule.last_cause)
        return attempt

    def _attempt_failed(self, cause: Error | str | None) -> None:
        """The try did not get an open connection (refused, timed out, closed on us)."""
        assert self._schedule is not None
        if isinstance(cause, str):
            cause = Error(condition="amqp:connection:forced", description=cause)
        self._schedule.failed(cause)
        self._replaying = False

    def _replay(self) -> None:
        """On the new, open core: begin every session again and attach every link, in
        the order they were opened, in one burst of frames (2.5.1, 2.6.2)."""
        core = self._core
        self._replaying = True
        alive = [s for s in self._sessions if not s._ended]
        self._sessions[:] = alive
        for session in alive:
            replay_session(session, core)

    def _replay_done(self) -> bool:
        """Every replayed session answered (or ended) and every link too."""
        return all(session_replayed(session) for session in self._sessions)

    def _recovered(self, now: float) -> None:
        """The episode is over: links resend what was in doubt; waits proceed."""
        schedule = self._schedule
        assert schedule is not None
        attempts = schedule.attempts
        down = schedule.connected(now)
        self._reconnecting = False
        self._replaying = False
        for session in self._sessions:
            session._lost = False
            for link in session._links:
                if link._lost:
                    link._recovered()
        log.info("%s: reconnected to %s after %.3f s (%d attempt(s))", self.label,
                 _url_text(schedule.url), down, attempts)
        callback = schedule.policy.on_reconnect
        if callback is not None:
            self._call(callback, ReconnectInfo(url=_url_text(schedule.url),
                                               cause=schedule.last_cause, attempts=attempts,
                                               downtime=down))

    def _give_up(self, cause: Error | None) -> None:
        schedule = self._schedule
        assert schedule is not None
        self._reconnecting = False
        self._replaying = False
        attempts = schedule.attempts
        schedule.started = None
        self._end_lost()
        text = (f"connection lost and not recovered after {attempts} attempt(s): "
                f"{describe_error(cause) or 'no reason given'}")
        self._given_up = ConnectionClosedError(text, cause)
        log.error("%s: %s", self.label, text)

    def _call(self, callback: Any, info: ReconnectInfo) -> None:
        try:
            callback(info)
        except Exception:
            log.exception("%s: a reconnect callback failed", self.label)


def replay_session(session: Any, core: Any) -> None:
    """Begin ``session`` again on the new core ``core`` with the options it was begun
    with, and attach its links again, each by its name (2.6.1: the same link), in order."""
    session._core = core.begin_session(**session._begin_args)
    session._core.context = session
    links = [link for link in session._links if not link._detached_flag]
    session._links[:] = links
    for link in links:
        args = link._replay_args()
        core_session = session._core
        attach = core_session.attach_sender if isinstance(link, SenderBase) \
            else core_session.attach_receiver
        link._core = attach(**args)
        link._core.context = link
        link._on_replayed()


def session_replayed(session: Any) -> bool:
    """The peer answered the session's begin and each link's attach (or ended them)."""
    if session._ended:
        return True
    if not session._core.mapped:
        return False
    return all(link._detached_flag or link._core.state is not LinkState.ATTACH_SENT
               for link in session._links)
