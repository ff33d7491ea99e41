"""When and where to reconnect: the policy, its schedule as arithmetic on ``now``, and
which causes are worth another try.

A connection that drops is rebuilt by its adapter; this module only decides. The
schedule is I/O-free and takes the time from the caller, like the core's ``tick``: an
adapter asks :meth:`ReconnectSchedule.next_attempt` for the URL and the time of the next
try, and reports each try's end. Tests drive it with literal clock values.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._definitions import Error, ErrorCondition
from ._url import ParsedURL

log = logging.getLogger("amqp10")

__all__ = [
    "Attempt",
    "FirstConnect",
    "Reconnect",
    "ReconnectInfo",
    "ReconnectSchedule",
    "redirect_target",
    "should_reconnect",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconnectInfo:
    """What a reconnect callback is told: where, why, and how far the episode is.

    ``url`` is the URL of the transport that was lost (``on_disconnect``) or that
    answered (``on_reconnect``); ``cause`` the AMQP error or transport failure that
    ended the last one; ``attempts`` the tries made in this episode; ``downtime``
    the seconds since the drop (0 on disconnect).
    """

    url: str
    cause: Error | None
    attempts: int
    downtime: float


@dataclass(frozen=True, kw_only=True)
class Reconnect:
    """How a connection recovers from a lost transport (pass as ``reconnect=``).

    The first try after a drop goes to the next URL of the list after ``first_delay``
    (0: at once); each later try waits ``initial_delay * multiplier ** (n - 1)``,
    capped at ``max_delay``, with
    ``jitter`` (a fraction) of random spread so a fleet of clients does not reconnect
    in step. It gives up after ``max_attempts`` tries or ``max_duration`` seconds since
    the drop (None: no such limit), and everything pending then fails with
    ConnectionClosedError carrying the last cause. ``on_disconnect`` / ``on_reconnect`` are
    called (from the connection's I/O context: keep them short, never block) with a
    :class:`ReconnectInfo`.
    """

    initial_delay: float = 0.1
    max_delay: float = 5.0
    #: The wait before the first try after a drop. 0 is fastest; a few hundred ms lets a
    #: clustered broker finish its election first (RabbitMQ 3.10 breaks a session whose
    #: first publish lands during a quorum queue's election, and drops it 3 s later).
    first_delay: float = 0.0
    multiplier: float = 2.0
    jitter: float = 0.2
    max_attempts: int | None = None
    max_duration: float | None = 120.0
    on_disconnect: Callable[[ReconnectInfo], None] | None = field(default=None, compare=False)
    on_reconnect: Callable[[ReconnectInfo], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not (self.initial_delay >= 0 and self.max_delay >= self.initial_delay):
            raise ValueError("need 0 <= initial_delay <= max_delay, not "
                             f"{self.initial_delay!r} and {self.max_delay!r}")
        if not 0 <= self.first_delay <= self.max_delay:
            raise ValueError(f"need 0 <= first_delay <= max_delay, not {self.first_delay!r}")
        if not self.multiplier >= 1:
            raise ValueError(f"multiplier must be at least 1, not {self.multiplier!r}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be between 0 and 1, not {self.jitter!r}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1 or None, not {self.max_attempts!r}")
        if self.max_duration is not None and not self.max_duration > 0:
            raise ValueError(f"max_duration must be positive or None, not {self.max_duration!r}")

    @classmethod
    def resolve(cls, option: bool | Reconnect | None) -> Reconnect | None:
        """The policy an adapter's ``reconnect=`` option means: True is the default policy."""
        if option is None or option is False:
            return None
        if option is True:
            return cls()
        if isinstance(option, cls):
            return option
        raise TypeError(f"reconnect must be True, False or a Reconnect(...), not {option!r}")

    def delay(self, attempt: int, spread: float = 0.5) -> float:
        """Seconds to wait before try ``attempt`` (1 is the first after a drop).

        ``spread`` in [0, 1) picks the point in the jitter band (0.5: its middle).
        """
        if attempt <= 1:
            return self.first_delay
        base = min(self.max_delay, self.initial_delay * self.multiplier ** min(attempt - 2, 64))
        return max(0.0, base * (1.0 + self.jitter * (2.0 * spread - 1.0)))


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try: connect to ``url`` at time ``at`` (the caller's clock); ``number`` from 1."""

    url: ParsedURL
    at: float
    number: int


class ReconnectSchedule:
    """The state of one connection's reconnecting: which URL is next, when, and when to stop.

    ``lost(now)`` starts an episode; ``next_attempt(now)`` gives the next try (None once
    the policy's limits are reached); ``failed(cause)`` ends a try; ``connected()`` ends
    the episode. URLs rotate from the one after the URL that was lost, so the node
    that just failed is tried last; a redirect (2.8.15, amqp:connection:redirect) goes
    first once.
    """

    def __init__(self, policy: Reconnect, urls: Sequence[ParsedURL], *, current: int = 0,
                 rand: Callable[[], float] = random.random) -> None:
        if not urls:
            raise ValueError("no URL to connect to")
        self.policy = policy
        self.urls = list(urls)
        self.current = current
        self._rand = rand
        self._redirect: ParsedURL | None = None
        self._redirect_used: ParsedURL | None = None
        self.started: float | None = None
        self.attempts = 0
        self.last_cause: Error | None = None
        #: Episodes that ended connected, over the connection's life.
        self.reconnects = 0

    @property
    def active(self) -> bool:
        """True between a drop and the end of its episode (connected, or given up)."""
        return self.started is not None

    @property
    def url(self) -> ParsedURL:
        """The URL of the transport in use (or last tried)."""
        return self._redirect_used or self.urls[self.current]

    def lost(self, now: float, cause: Error | None) -> None:
        """The transport in use is gone; start an episode (no-op if one is running)."""
        self.last_cause = cause
        if self.started is None:
            self.started = now
            self.attempts = 0

    def arrived(self, url: ParsedURL) -> None:
        """The transport in use went to ``url`` (a redirect's target, not the list's)."""
        self._redirect_used = None if url == self.urls[self.current] else url

    def redirect(self, url: ParsedURL) -> None:
        """The peer sent us elsewhere: try ``url`` next, once (before the list's next)."""
        self._redirect = url

    def next_attempt(self, now: float) -> Attempt | None:
        """The next try, or None when the policy says to give up (the episode ends)."""
        if self.started is None:
            raise RuntimeError("next_attempt() outside a reconnect episode")
        policy = self.policy
        number = self.attempts + 1
        at = now + policy.delay(number, self._rand())
        if (policy.max_attempts is not None and number > policy.max_attempts) or (
                policy.max_duration is not None and at - self.started > policy.max_duration):
            self.started = None  # given up: the episode is over
            return None
        self.attempts = number
        if self._redirect is not None:
            url, self._redirect = self._redirect, None
            self._redirect_used = url
            return Attempt(url, at, number)
        self._redirect_used = None
        self.current = (self.current + 1) % len(self.urls)
        return Attempt(self.urls[self.current], at, number)

    def failed(self, cause: Error | None) -> None:
        """The try returned by the last ``next_attempt`` did not get a connection."""
        if cause is not None:
            self.last_cause = cause

    def connected(self, now: float) -> float:
        """The episode ended with a working connection; the seconds it was down."""
        down = 0.0 if self.started is None else now - self.started
        self.started = None
        self.reconnects += 1
        return down


# 2.8.15 connection errors and 2.8.14 amqp errors after which another try cannot help:
# the peer refused who we are, or what we sent (a fault of ours, or a feature it lacks).
_FINAL = frozenset({
    ErrorCondition.UNAUTHORIZED_ACCESS,
    ErrorCondition.DECODE_ERROR,
    ErrorCondition.CONNECTION_FRAMING_ERROR,
    ErrorCondition.INVALID_FIELD,
    ErrorCondition.NOT_ALLOWED,
    ErrorCondition.NOT_IMPLEMENTED,
    ErrorCondition.ILLEGAL_STATE,
    ErrorCondition.FRAME_SIZE_TOO_SMALL,
    ErrorCondition.PRECONDITION_FAILED,
})


def should_reconnect(error: Error | None, *, local: bool, closed_by_user: bool) -> bool:
    """Whether a connection that ended with ``error`` is worth reconnecting.

    Yes after a lost or reset socket, EOF, our idle timeout, TLS failures mid-stream,
    and the peer's close with amqp:connection:forced, a redirect, an internal error
    or a resource limit. No after the application's own close, a refused login, or
    the peer's close blaming what we sent (a protocol violation by us). ``local``:
    the error is ours (the transport failed, or the core closed for the peer's fault).
    """
    if closed_by_user:
        return False
    if error is None:
        return True  # the peer closed without a reason, or the socket went
    condition = str(error.condition)
    if local:
        # Our side ended it: a transport failure, our idle timeout, or the peer broke the
        # protocol (which a new transport may not repeat); not a fault of ours
        # (amqp:internal-error: a bug a new transport would only hide).
        return condition not in (ErrorCondition.UNAUTHORIZED_ACCESS,
                                 ErrorCondition.INTERNAL_ERROR)
    return condition not in _FINAL


def redirect_target(error: Error | None, current: ParsedURL) -> ParsedURL | None:
    """Where an amqp:connection:redirect close sends us (2.8.15: ``network-host``/``port``
    in its info, ``hostname`` as a fallback), with the current URL's scheme and
    credentials; None if ``error`` is not a usable redirect."""
    if error is None or str(error.condition) != ErrorCondition.CONNECTION_REDIRECT:
        return None
    info: Any = error.info or {}
    if not isinstance(info, dict):
        return None
    values = {str(k): v for k, v in info.items()}
    host = values.get("network-host") or values.get("hostname")
    if not isinstance(host, str) or not host:
        return None
    port = values.get("port", current.port)
    try:
        port = int(port)
    except (TypeError, ValueError):
        return None
    if not 0 < port < 65536:
        return None
    return ParsedURL(current.scheme, host, port, current.username, current.password,
                     current.vhost, current.path)


class FirstConnect:
    """The tries of a connection's first connect: each URL once, in order, and where a
    peer redirects (2.8.15, amqp:connection:redirect, often its answer to our open)
    that target next, at most ``max_redirects`` times (no loop between two peers).

    Iterate for ``(index, url)``: ``index`` is the list position the try stands for.
    """

    def __init__(self, urls: Sequence[ParsedURL], max_redirects: int = 5) -> None:
        self._todo: list[tuple[int, ParsedURL]] = list(enumerate(urls))
        self._left = max_redirects
        self._many = len(urls) > 1
        #: The last try's failure: what the first connect raises once no try is left.
        self.error: BaseException | None = None

    def __iter__(self) -> FirstConnect:
        return self

    def __next__(self) -> tuple[int, ParsedURL]:
        if not self._todo:
            raise StopIteration
        return self._todo.pop(0)

    def failed(self, exc: BaseException, index: int, url: ParsedURL) -> None:
        """The try of ``url`` raised ``exc`` (OSError, ConnectionClosedError): follow the
        redirect it carries, if any, else note it; ``error`` keeps it."""
        self.error = exc
        cause = getattr(exc, "error", None)
        if isinstance(cause, Error) and self.redirected(cause, index, url):
            log.info("%s:%d redirects us: %s", url.host, url.port, exc)
        elif self._many:
            log.info("connecting to %s:%d failed: %s", url.host, url.port, exc)

    def redirected(self, error: Error | None, index: int, current: ParsedURL) -> bool:
        """After a try that ended with ``error``: if it is a redirect, try its target next."""
        target = redirect_target(error, current)
        if target is None or self._left <= 0:
            return False
        self._left -= 1
        self._todo.insert(0, (index, target))
        return True
