"""What every adapter's requester shares, none of it I/O: its options, the links it asks
for, and the management and CBS calls spelled as messages and status checks.

A requester is a sender to ``address`` and a receiver for the replies. Where replies
come back is one of three, as the peer expects:

- the node pattern (default; ``$cbs``, ``$management``, Azure, Artemis): the receiver's
  source is ``address`` itself and its target a name of ours, which is the reply-to;
- ``dynamic_reply=True``: a dynamic node the peer makes (3.5.3), the reply-to;
- ``reply_address="q"``: a fixed queue the responder sends to.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from ._cbs import AccessToken, Reauthorization, SasCredential, TokenRefresh, put_token_request
from ._message import Message
from ._recovery import Recovering
from ._requests import (
    DEFAULT_MAX_IN_FLIGHT,
    RequestTracker,
    management_request,
    raise_for_status,
)

__all__ = ["DEFAULT_REQUEST_TIMEOUT", "CbsCalls", "ManagementCalls", "RequesterBase",
           "TokenProvider", "check_token"]

#: Seconds a request waits for its reply unless told otherwise.
DEFAULT_REQUEST_TIMEOUT = 60.0

#: What CBS asks for a token: a SasCredential, or a callable taking the audience and
#: returning an AccessToken (async adapters: or an awaitable of one).
TokenProvider = SasCredential | Callable[[str], AccessToken | Awaitable[AccessToken]]


def check_token(got: object, audience: str) -> AccessToken:
    """A token provider's answer, checked: an AccessToken, or a TypeError saying what came."""
    if not isinstance(got, AccessToken):
        raise TypeError(f"the token provider returned {type(got).__name__} for {audience!r}; "
                        "it must return an AccessToken(token=..., expires_at=..., token_type=...)")
    return got


class RequesterBase:
    """The options and bookkeeping of a requester (the adapters add the waiting)."""

    def __init__(self, session: Any, address: str, *, reply_address: str | None = None,
                 dynamic_reply: bool = False, timeout: float = DEFAULT_REQUEST_TIMEOUT,
                 max_in_flight: int = DEFAULT_MAX_IN_FLIGHT, credit: int = 100) -> None:
        if not isinstance(address, str) or not address:
            raise ValueError(f"a requester needs the responder's address, not {address!r}")
        if dynamic_reply and reply_address is not None:
            raise ValueError("give reply_address or dynamic_reply=True, not both")
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ValueError(f"timeout must be a number of seconds above 0, not {timeout!r}")
        if not (isinstance(credit, int) and credit >= 1):
            raise ValueError(f"credit must be at least 1, not {credit!r}")
        self.session = session
        self.address = address
        self.timeout = float(timeout)
        self.credit = credit
        self._reply_address = reply_address
        self._dynamic = dynamic_reply
        self._tracker = RequestTracker(max_in_flight=max_in_flight)
        self._sender: Any = None
        self._receiver: Any = None
        self._closed = False

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.address!r} reply_to={self.reply_to!r} "
                f"in_flight={len(self._tracker)}>")

    @property
    def reply_to(self) -> str | None:
        """The address replies come to (known once open)."""
        return self._tracker.reply_to

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered or given up."""
        return len(self._tracker)

    @property
    def strays(self) -> int:
        """Replies that answered no request in flight (late, duplicated, unknown, echoed)."""
        return self._tracker.strays + self._tracker.echoes

    def _receiver_args(self) -> tuple[str | None, dict[str, Any]]:
        """The receiver's address and options for ``session.open_receiver``."""
        if self._dynamic:
            return None, {"dynamic": True}
        if self._reply_address is not None:
            return self._reply_address, {}
        # The node pattern: the reply-to is our receiver's target, a name unique to it.
        self._tracker.reply_to = f"{self.address}.reply-{uuid.uuid4().hex}"
        return self.address, {"target": self._tracker.reply_to}

    def _attached(self, receiver: Any) -> None:
        self._receiver = receiver
        if self._dynamic:
            self._tracker.reply_to = receiver.address
            if not self._tracker.reply_to:
                raise ValueError("the peer attached the dynamic reply node without an address")
        elif self._reply_address is not None:
            self._tracker.reply_to = self._reply_address

    def _span(self, timeout: float | None) -> float:
        if timeout is None:
            return self.timeout
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
            raise ValueError(f"timeout must be a number of seconds >= 0, not {timeout!r}")
        return float(timeout)


class ManagementCalls:
    """The AMQP Management draft's calls as messages (mixed into each ManagementClient)."""

    @staticmethod
    def _management_message(operation: str, type: str, name: str | None, locales: str | None,
                            body: Any, application_properties: dict[str, Any] | None) -> Message:
        return management_request(operation, type=type, name=name, locales=locales, body=body,
                                  application_properties=application_properties)

    @staticmethod
    def _management_reply(reply: Message, operation: str) -> Message:
        raise_for_status(reply, f"the management operation {operation!r}")
        return reply


class CbsCalls:
    """CBS as messages and a schedule (mixed into each CbsClient); ``refresh`` holds
    when each audience's token is due again, and ``providers`` who makes it.

    It is also its connection's reconnect gate (``_recovery.Gate``, issue 13): once a
    token was accepted, a reconnect attaches this client's links first and holds the
    others back; when they are back (``_gate_back``, in the connection's I/O context)
    the adapter starts a worker (``_reauth_start``) that takes the round
    (``_reauth_take``), puts each token again with a fresh one from its provider, and
    settles the gate (``_reauth_settle``): the held links attach, or fail with
    amqp:unauthorized-access. One worker at most; a reconnect during a round is taken
    by the same worker after it.
    """

    refresh: TokenRefresh
    providers: dict[str, TokenProvider]
    session: Any
    timeout: float
    _closed: bool
    _sender: Any
    _receiver: Any

    def _cbs_init(self) -> None:
        self.refresh = TokenRefresh()
        self.providers = {}
        #: The replay whose tokens wait to be put again (None: none waits).
        self._reauth_episode: int | None = None
        #: A worker runs a round (set and cleared by the adapter's worker).
        self._reauth_busy = False
        #: The connection this client is a gate of (once a token was accepted).
        self._gate_conn: Recovering | None = None

    # -- the reconnect gate (the adapter holds its connection's lock where it has one) ----
    def _gate_register(self) -> None:
        """A token was accepted: the connection's next reconnects wait for this client."""
        conn = self.session.connection
        if self._gate_conn is None and not self._closed and isinstance(conn, Recovering):
            conn._add_gate(self)
            self._gate_conn = conn

    def _gate_unregister(self) -> None:
        """The client closes: links held for it attach now (the peer judges them)."""
        conn, self._gate_conn = self._gate_conn, None
        if conn is not None:
            conn._remove_gate(self)

    def _gate_audiences(self) -> list[str]:
        """The audiences to put again after a reconnect: those whose token was accepted."""
        return [a for a in self.providers if self.refresh.expires_at(a) is not None]

    def _gate_needed(self) -> bool:
        links = (self._receiver, self._sender)
        return (not self._closed and bool(self._gate_audiences())
                and all(link is not None and not link._detached_flag for link in links))

    def _gate_links(self) -> list[Any]:
        return [self._receiver, self._sender]

    def _gate_back(self, episode: int) -> None:
        self._reauth_episode = episode
        if not self._reauth_busy:
            self._reauth_busy = True
            self._reauth_start()

    def _reauth_start(self) -> None:
        """(The adapter's, I/O context: never block) run a worker that takes rounds with
        ``_reauth_take`` until none is left, then clears ``_reauth_busy``."""
        raise NotImplementedError

    def _reauth_take(self, now: float) -> Reauthorization | None:
        """The round to run now (``now`` on the clock of the requester's timeouts), or
        None: nothing waits (the worker ends)."""
        episode, self._reauth_episode = self._reauth_episode, None
        if episode is None or self._closed:
            return None
        return Reauthorization(episode, self._gate_audiences(), now, self.timeout)

    def _reauth_settle(self, plan: Reauthorization) -> None:
        """The round is over: the held links attach, or fail with ``plan.error``."""
        conn = self._gate_conn
        if conn is not None:
            conn._gate_settle(self, plan.episode, plan.error)

    @staticmethod
    def _put_token_message(audience: str, token: str, token_type: str,
                           expires_at: float | None) -> Message:
        return put_token_request(audience, token, token_type, expires_at)

    @staticmethod
    def _put_token_reply(reply: Message, audience: str) -> int:
        return raise_for_status(reply, f"put-token for {audience!r}")

    def _provider_for(self, audience: str, provider: TokenProvider | None) -> TokenProvider:
        if provider is None:
            provider = self.providers.get(audience)
            if provider is None:
                raise ValueError(f"no token provider for {audience!r}")
        self.providers[audience] = provider
        return provider

