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

A *gate* (issue 13: a CBS client, see ``_requester.CbsCalls``) makes the replay go in
two steps, as Azure requires (a link attached before its token is refused with
amqp:unauthorized-access): its own links attach first and the others are held back;
once its links are back it is told (``_gate_back``, in the I/O context: it must not
block) and puts its tokens again; :meth:`_gate_settle` then attaches the held links,
or fails them with the gate's error. The connection stays "reconnecting" meanwhile,
so the adapter's connect timeout bounds the whole of it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal, Protocol

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

__all__ = ["Gate", "Recovering"]

log = logging.getLogger("amqp10")

State = Literal["open", "reconnecting", "closed"]


def _url_text(url: ParsedURL) -> str:
    """The URL without credentials; a WebSocket URL's path (its request target, e.g.
    ``/$servicebus/websocket``) is part of where it goes, so it stays."""
    path = url.path if url.ws and url.path is not None else ""
    return f"{url.scheme}://{url.host}:{url.port}{path}"


class Gate(Protocol):
    """Who holds a reconnect's other links back until it has done its part (issue 13)."""

    def _gate_needed(self) -> bool:
        """Whether this replay must wait for it (e.g. a CBS client with tokens to put)."""
        ...

    def _gate_links(self) -> Sequence[Any]:
        """Its own links: attached again first."""
        ...

    def _gate_back(self, episode: int) -> None:
        """Its links are attached again on the new transport (I/O context: only note it
        and wake a worker); it answers with ``_gate_settle(self, episode, error)``."""
        ...


class Recovering:
    """The part of an adapter's connection that survives its transports.

    What it expects of the adapter: ``_core`` (the current core connection),
    ``label``, ``closed``, ``_closed_by_user`` and ``_after()``.
    """

    _core: Any
    label: str
    _closed_by_user: bool
    #: The adapter's: after a core call, dispatch events and write what is queued.
    _after: Any

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
        #: Gates (CBS clients) whose links re-attach before the others (issue 13).
        self._gates: list[Gate] = []
        #: In the current replay: the gates not yet settled, the links attached first
        #: (theirs), the links held back, whether the gates were told theirs are back.
        self._gated: list[Gate] = []
        self._early: list[Any] = []
        self._held: list[Any] = []
        self._gates_told = False
        #: Counts replays, so that a gate's answer to an earlier one is ignored.
        self._gate_episode = 0

    def _arm_recovery(self) -> None:
        """The first transport is open: from now on a lost one is replaced."""
        self._armed = True

    def _stop_recovery(self) -> None:
        """The application closed the connection while it was reconnecting."""
        self._reconnecting = False
        self._replaying = False
        self._gate_reset()
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
            self._gate_reset()
            return True
        schedule.lost(now, error)
        self._reconnecting = True
        self._replaying = False
        self._gate_reset()
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
        self._gate_reset()

    def _replay(self) -> None:
        """On the new, open core: begin every session again and attach every link, in
        the order they were opened, in one burst of frames (2.5.1, 2.6.2). With a gate
        that needs it, only the gates' links attach now; the others are held back."""
        core = self._core
        self._replaying = True
        self._gate_reset()
        self._gate_episode += 1
        alive = [s for s in self._sessions if not s._ended]
        self._sessions[:] = alive
        gates = [gate for gate in self._gates if gate._gate_needed()]
        first = {id(link) for gate in gates for link in gate._gate_links()} if gates else None
        for session in alive:
            replay_session(session, core, first, self._held, self._early)
        if gates and self._early:
            self._gated = gates
        else:
            self._release_held()  # (their links are gone: nothing to wait for)

    def _replay_done(self) -> bool:
        """Every replayed session answered (or ended) and every link too; while a gate
        holds links back, False (its links coming back is what tells the gate)."""
        if self._gated:
            if not self._gates_told and all(_link_answered(link) for link in self._early):
                self._gates_told = True
                for link in self._early:
                    if link._lost:
                        link._recovered()  # usable now: the gate puts its tokens on it
                for gate in list(self._gated):
                    gate._gate_back(self._gate_episode)
            return False
        return all(session_replayed(session) for session in self._sessions)

    # -- gates (issue 13) -------------------------------------------------------------------------
    def _add_gate(self, gate: Gate) -> None:
        """From the next reconnect on, ``gate``'s links re-attach first and the others wait
        for it (adding it twice is adding it once)."""
        if gate not in self._gates:
            self._gates.append(gate)

    def _remove_gate(self, gate: Gate) -> None:
        """``gate`` is gone (its client closed): if links wait for it, they attach now."""
        if gate in self._gates:
            self._gates.remove(gate)
        if gate in self._gated:
            self._gate_settle(gate, self._gate_episode, None)

    def _gate_settle(self, gate: Gate, episode: int, error: Error | None) -> bool:
        """``gate`` did its part of replay ``episode``: with ``error`` None the held links
        attach once no other gate holds them; else they fail now with ``error`` (their
        calls raise LinkDetachedError). False if the episode is over (a late answer)."""
        if episode != self._gate_episode or gate not in self._gated:
            return False
        if error is None:
            self._gated.remove(gate)
            if not self._gated:
                self._release_held()
        else:
            self._gated.clear()
            held, self._held = self._held, []
            for link in held:
                _fail_held(link, error)
            if held:
                log.warning("%s: %d link(s) not attached again: %s", self.label, len(held),
                            describe_error(error))
        self._after()  # (the adapter's: write the attaches, move the handshake on)
        return True

    def _release_held(self) -> None:
        """Attach the links held back (in the order they were opened)."""
        held, self._held = self._held, []
        for link in held:
            if not (link._detached_flag or link._session._ended or not link._lost):
                attach_again(link)

    def _gate_reset(self) -> None:
        """A replay begins or its transport is gone: no gate holds anything back now (held
        links stay lost, to be attached by the next replay)."""
        self._gated = []
        self._early = []
        self._held = []
        self._gates_told = False

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
        self._gate_reset()
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


def replay_session(session: Any, core: Any, first: set[int] | None = None,
                   held: list[Any] | None = None, early: list[Any] | None = None) -> None:
    """Begin ``session`` again on the new core ``core`` with the options it was begun
    with, and attach its links again, each by its name (2.6.1: the same link), in order.
    With ``first`` (ids of links), only those attach (added to ``early``); the others
    are added to ``held``."""
    session._core = core.begin_session(**session._begin_args)
    session._core.context = session
    links = [link for link in session._links if not link._detached_flag]
    session._links[:] = links
    for link in links:
        if first is None:
            attach_again(link)
        elif id(link) in first:
            attach_again(link)
            if early is not None:
                early.append(link)
        elif held is not None:
            held.append(link)


def attach_again(link: Any) -> None:
    """Attach ``link`` on its session's new core with the options it was attached with."""
    args = link._replay_args()
    core_session = link._session._core
    attach = core_session.attach_sender if isinstance(link, SenderBase) \
        else core_session.attach_receiver
    link._core = attach(**args)
    link._core.context = link
    link._on_replayed()


def _link_answered(link: Any) -> bool:
    """The peer answered ``link``'s attach on the new transport (or the link is over)."""
    session = link._session
    if link._detached_flag or session._ended:
        return True
    return bool(session._core.mapped) and link._core.state is not LinkState.ATTACH_SENT


def _fail_held(link: Any, error: Error) -> None:
    """A held link will not be attached again: it is detached with ``error``."""
    link._lost = False
    link._detached_flag = True
    link.error = error
    link._never_back()
    if link in link._session._links:
        link._session._links.remove(link)


def session_replayed(session: Any) -> bool:
    """The peer answered the session's begin and each link's attach (or ended them)."""
    if session._ended:
        return True
    if not session._core.mapped:
        return False
    return all(link._detached_flag or link._core.state is not LinkState.ATTACH_SENT
               for link in session._links)
