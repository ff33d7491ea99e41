"""Claims-based security (CBS): put-token requests to ``$cbs`` and when to put them again.

The dialect Azure Service Bus, Event Hubs and ActiveMQ Artemis speak: a request to the
``$cbs`` node whose application properties are ``operation`` = ``put-token``, ``type``
(the token type), ``name`` (the audience) and ``expiration`` (a timestamp), with the
token as an amqp-value body; the reply's ``status-code`` says whether it was taken.
:class:`TokenRefresh` is the schedule: a token is asked for again at about 90 % of its
life, as the Azure SDKs do, with a bounded retry after a failed put.
:class:`Reauthorization` is one round of putting every token again after a reconnect,
before the connection's other links attach (Azure refuses a link attached before its
token). All of it is arithmetic on a ``now`` the caller passes (seconds since the epoch,
like the tokens' expiry): nothing here reads a clock.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ._definitions import Error, ErrorCondition
from ._message import Message
from ._sas import generate_sas_token

__all__ = ["CBS_NODE", "JWT_TOKEN_TYPE", "REFRESH_FRACTION", "SAS_TOKEN_TYPE", "AccessToken",
           "Reauthorization", "SasCredential", "TokenRefresh", "put_token_request",
           "refresh_at"]

CBS_NODE = "$cbs"
#: The token types Azure names: a SAS token, and an Entra ID (JWT) token passed through.
SAS_TOKEN_TYPE = "servicebus.windows.net:sastoken"
JWT_TOKEN_TYPE = "jwt"
#: The part of a token's life after which it is asked for again.
REFRESH_FRACTION = 0.9


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessToken:
    """A token as a token provider returns it: the text, when it expires (seconds since
    the epoch) and its type."""

    token: str = field(repr=False)
    expires_at: float
    token_type: str = SAS_TOKEN_TYPE


@dataclass(frozen=True, slots=True)
class SasCredential:
    """Makes SAS tokens from a shared access key: ``token(audience, now)`` is valid for
    ``ttl`` seconds from ``now``."""

    key_name: str
    key: str = field(repr=False)
    ttl: float = 3600.0

    def __post_init__(self) -> None:
        if not self.key_name or not self.key:
            raise ValueError("a SAS credential needs a key name and a key")
        if not self.ttl >= 1:
            raise ValueError(f"ttl must be at least one second, not {self.ttl!r}")

    def token(self, audience: str, now: float) -> AccessToken:
        expires_at = int(now + self.ttl)
        return AccessToken(token=generate_sas_token(audience, self.key_name, self.key, expires_at),
                           expires_at=expires_at, token_type=SAS_TOKEN_TYPE)


def put_token_request(audience: str, token: str, token_type: str = SAS_TOKEN_TYPE,
                      expires_at: float | None = None) -> Message:
    """The put-token request for ``audience`` (e.g. ``sb://<namespace>/<entity>``)."""
    if not audience:
        raise ValueError("put-token needs an audience")
    if not isinstance(token, str) or not token:
        raise ValueError("put-token needs the token as a non-empty string")
    props: dict[str, object] = {"operation": "put-token", "type": token_type, "name": audience}
    if expires_at is not None:
        props["expiration"] = datetime.fromtimestamp(int(expires_at), tz=timezone.utc)
    return Message(token, application_properties=props)  # an amqp-value string body


def refresh_at(now: float, expires_at: float, fraction: float = REFRESH_FRACTION) -> float:
    """When to ask again for a token got at ``now`` that expires at ``expires_at``."""
    return now + max(0.0, expires_at - now) * fraction


class TokenRefresh:
    """When each audience's token must be put again.

    :meth:`put` after a token was accepted; :meth:`failed` after a put failed (asked
    again after ``retry`` seconds, doubling up to ``max_retry``, never later than the
    token's own refresh time); :meth:`due` says which audiences to put now and
    :meth:`next_deadline` when to look again.
    """

    def __init__(self, fraction: float = REFRESH_FRACTION, *, retry: float = 1.0,
                 max_retry: float = 30.0) -> None:
        if not 0 < fraction < 1:
            raise ValueError(f"fraction must be between 0 and 1, not {fraction!r}")
        self.fraction = fraction
        self.retry = retry
        self.max_retry = max_retry
        self._when: dict[str, float] = {}
        self._expires: dict[str, float] = {}
        self._fails: dict[str, int] = {}
        self._heap: list[tuple[float, str]] = []

    def __contains__(self, audience: str) -> bool:
        return audience in self._when

    def _set(self, audience: str, when: float) -> None:
        self._when[audience] = when
        heapq.heappush(self._heap, (when, audience))

    def put(self, audience: str, now: float, expires_at: float) -> float:
        """The token for ``audience`` was accepted at ``now``: when to refresh it."""
        when = refresh_at(now, expires_at, self.fraction)
        self._expires[audience] = expires_at
        self._fails.pop(audience, None)
        self._set(audience, when)
        return when

    def failed(self, audience: str, now: float) -> float:
        """A put (or the token provider) failed at ``now``: when to try again."""
        n = self._fails[audience] = self._fails.get(audience, 0) + 1
        when = now + min(self.max_retry, self.retry * 2.0 ** (n - 1))
        expires = self._expires.get(audience)
        if expires is not None and expires > now:
            when = min(when, now + (expires - now) / 2)  # try again before it lapses
        self._set(audience, when)
        return when

    def forget(self, audience: str) -> None:
        self._when.pop(audience, None)
        self._expires.pop(audience, None)
        self._fails.pop(audience, None)

    def expires_at(self, audience: str) -> float | None:
        return self._expires.get(audience)

    def _clean(self) -> None:
        heap = self._heap
        while heap and self._when.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)  # replaced or forgotten

    def next_deadline(self) -> float | None:
        """When the next token is due to be put again (None: no token is tracked)."""
        self._clean()
        return float(self._heap[0][0]) if self._heap else None

    def due(self, now: float) -> list[str]:
        """The audiences whose token must be put again now (each once, until put or failed)."""
        out: list[str] = []
        self._clean()
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, audience = heapq.heappop(heap)
            if audience in self._when and audience not in out:
                out.append(audience)
                self._when[audience] = float("inf")  # in progress: not due again meanwhile
            self._clean()
        return out


class Reauthorization:
    """One round of putting every token again after a reconnect (issue 13), for replay
    ``episode`` of the connection: :meth:`next` gives the audience to put now and the
    seconds left for it (the round has ``timeout`` seconds in all, from ``now``), until
    every one was :meth:`accepted` or one :meth:`failed`. ``error`` is then what the
    links held back fail with (amqp:unauthorized-access, as Azure would refuse them),
    or None: they may attach.
    """

    def __init__(self, episode: int, audiences: Iterable[str], now: float,
                 timeout: float) -> None:
        self.episode = episode
        self.audiences = list(audiences)
        self.timeout = timeout
        self.deadline = now + timeout
        self.error: Error | None = None
        self._todo = deque(self.audiences)

    def __repr__(self) -> str:
        state = "failed" if self.error is not None else f"{len(self._todo)} to put"
        return f"<Reauthorization episode={self.episode} {state}>"

    @property
    def done(self) -> bool:
        """Every token was accepted again, or the round failed."""
        return self.error is not None or not self._todo

    def next(self, now: float) -> tuple[str, float] | None:
        """The audience to put now and the seconds left; None once done (past the
        deadline the round fails: a timeout)."""
        if self.done:
            return None
        audience = self._todo[0]
        remaining = self.deadline - now
        if remaining <= 0:
            self.failed(audience, f"the round of puts took more than {self.timeout:g} s")
            return None
        return audience, remaining

    def accepted(self, audience: str) -> None:
        """The token for ``audience`` was put and accepted."""
        if self._todo and self._todo[0] == audience:
            self._todo.popleft()

    def failed(self, audience: str, reason: BaseException | str) -> None:
        """The token provider or the put failed for ``audience``: the round is over."""
        if self.error is None:
            self.error = Error(
                condition=ErrorCondition.UNAUTHORIZED_ACCESS,
                description=f"the CBS token for {audience!r} was not put again after the "
                            f"reconnect ({reason}); the link was not attached again")
