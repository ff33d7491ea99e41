"""The requester, management and CBS clients for the async adapters (asyncio, trio).

Written once over the adapters' public Session/Sender/Receiver calls; each adapter
says how to read its clock and wait on an event (:class:`AsyncPrimitives`). Many
requests may wait at once: whichever has no reply yet and finds nobody reading takes
the receiver, reads one reply, hands it to the request it answers, and wakes the
others, so a reply is read once, by one task, and goes only to its own request.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from typing_extensions import Self

from ._cbs import CBS_NODE, SAS_TOKEN_TYPE, AccessToken, SasCredential
from ._errors import LinkDetachedError
from ._message import Message
from ._requester import (
    CbsCalls,
    ManagementCalls,
    RequesterBase,
    TokenProvider,
    check_token,
)
from ._requests import MANAGEMENT_NODE, PendingRequest

__all__ = ["AsyncCbsBase", "AsyncManagementBase", "AsyncRequesterBase"]

log = logging.getLogger("amqp10")

_CLOSED = "the requester was closed while the request waited for its reply"


class AsyncRequesterBase(RequesterBase):
    """Requests and their replies over one sender and one receiver (see RequesterBase)."""

    # -- what each adapter provides ---------------------------------------------------------
    def _now(self) -> float:
        """The loop's clock (deadlines)."""
        raise NotImplementedError

    def _wall(self) -> float:
        """Seconds since the epoch (token expiry)."""
        raise NotImplementedError

    def _new_event(self) -> Any:
        raise NotImplementedError

    async def _wait_event(self, event: Any, timeout: float) -> None:
        """Wait until ``event`` is set or ``timeout`` seconds passed."""
        raise NotImplementedError

    def _spawn(self, fn: Callable[[], Awaitable[None]]) -> Callable[[], None]:
        """Run ``fn()`` as a task of its own, from a plain call in the loop's context; the
        callable returned cancels it."""
        raise NotImplementedError

    # -- opening and closing ------------------------------------------------------------------
    _changed: Any = None
    _reading = False

    async def open(self, timeout: float | None = None) -> None:
        """Attach the reply receiver, then the request sender; wait for the peer's attaches."""
        if self._sender is not None or self._closed:
            raise RuntimeError("the requester is open already, or closed")
        self._changed = self._new_event()
        address, extra = self._receiver_args()
        receiver = await self.session.open_receiver(address, credit=self.credit,
                                                    timeout=timeout, **extra)
        try:
            self._attached(receiver)
            self._sender = await self.session.open_sender(self.address, timeout=timeout)
        except BaseException:
            await receiver.close()
            raise

    async def close(self, timeout: float | None = None) -> None:
        """Detach both links; requests still waiting are given up (TimeoutError)."""
        self._closed = True
        for pending in self._tracker.abandon_all():
            pending.expired = True
        self._wake()
        for link in (self._sender, self._receiver):
            if link is not None:
                await link.close(timeout=timeout)

    async def __aenter__(self) -> Self:
        if self._sender is None:
            await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- requests ---------------------------------------------------------------------------------
    async def request(self, message: Message, *, timeout: float | None = None) -> Message:
        """Send ``message`` and return its reply; TimeoutError if none comes in ``timeout``
        (the requester's ``timeout`` by default). The reply is accepted for you.

        The request gets a message-id (unless it has one) and reply-to; a refused request
        raises as ``sender.send`` does (MessageRejected ...).
        """
        if self._sender is None or self._closed:
            raise RuntimeError("open the requester first (it is not open, or closed)")
        span = self._span(timeout)
        end = self._now() + span
        request, pending = self._tracker.prepare(message, self._now(), span)
        try:
            await self._sender.send(request, timeout=span)
            return await self._await_reply(pending, end, span)
        finally:
            self._tracker.cancel(pending)

    async def _await_reply(self, pending: PendingRequest, end: float, span: float) -> Message:
        while pending.reply is None:
            remaining = end - self._now()
            if self._closed:
                raise LinkDetachedError(_CLOSED)
            if remaining <= 0 or pending.expired:
                raise TimeoutError(f"no reply from {self.address!r} within {span:g} s")
            if self._reading:
                await self._wait_event(self._changed, remaining)
                continue
            self._reading = True
            try:
                try:
                    got = await self._receiver.receive(timeout=remaining)
                except TimeoutError:
                    continue
                if self._tracker.on_reply(got.message) is None:
                    log.debug("%r: a reply that answers no request in flight", self)
                await self._receiver.accept(got)
            finally:
                self._reading = False
                self._wake()
        return pending.reply

    def _wake(self) -> None:
        changed = self._changed
        if changed is not None:
            self._changed = self._new_event()
            changed.set()


class AsyncManagementBase(ManagementCalls, AsyncRequesterBase):
    """A management node's client (the AMQP Management draft; default ``$management``)."""

    def __init__(self, session: Any, address: str = MANAGEMENT_NODE, **options: Any) -> None:
        super().__init__(session, address, **options)

    async def call(self, operation: str, *, type: str, name: str | None = None,
                   locales: str | None = None, body: Any = None,
                   application_properties: dict[str, Any] | None = None,
                   timeout: float | None = None) -> Message:
        """Run ``operation`` on the node; the reply, or RequestFailed (typed by status code)."""
        message = self._management_message(operation, type, name, locales, body,
                                           application_properties)
        return self._management_reply(await self.request(message, timeout=timeout), operation)


class AsyncCbsBase(CbsCalls, AsyncRequesterBase):
    """Claims-based security on ``$cbs``: put tokens, and put them again before they expire."""

    def __init__(self, session: Any, address: str = CBS_NODE, **options: Any) -> None:
        super().__init__(session, address, **options)
        self._cbs_init()
        self._kick: Any = None  # set when the schedule changed or the client closed
        self._reauth_cancel: Callable[[], None] | None = None

    async def put_token(self, audience: str, token: str, token_type: str = SAS_TOKEN_TYPE,
                        expires_at: float | None = None, *, timeout: float | None = None) -> int:
        """Put one token for ``audience``; its 2xx status code, or RequestFailed
        (RequestUnauthorized for a refused token)."""
        message = self._put_token_message(audience, token, token_type, expires_at)
        return self._put_token_reply(await self.request(message, timeout=timeout), audience)

    async def authorize(self, audience: str, provider: TokenProvider | None = None, *,
                        timeout: float | None = None) -> AccessToken:
        """Get a token for ``audience`` from ``provider`` (a SasCredential, or a callable
        returning an AccessToken, sync or async), put it, and schedule its refresh."""
        provider = self._provider_for(audience, provider)
        if isinstance(provider, SasCredential):
            token = provider.token(audience, self._wall())
        else:
            got = provider(audience)
            if inspect.isawaitable(got):
                got = await got
            token = check_token(got, audience)
        await self.put_token(audience, token.token, token.token_type, token.expires_at,
                             timeout=timeout)
        self.refresh.put(audience, self._wall(), token.expires_at)
        self._gate_register()
        self._kick_refresh()
        return token

    def _reauth_start(self) -> None:
        self._reauth_cancel = self._spawn(self._reauthorize)

    async def _reauthorize(self) -> None:
        """After a reconnect: put every token again, then let the held links attach (or
        fail them); again while reconnects come (issue 13)."""
        try:
            while (plan := self._reauth_take(self._now())) is not None:
                while (step := plan.next(self._now())) is not None:
                    audience, remaining = step
                    try:
                        await self.authorize(audience, timeout=remaining)
                    except Exception as exc:
                        plan.failed(audience, exc)
                        self.refresh.failed(audience, self._wall())
                    else:
                        plan.accepted(audience)
                if plan.error is not None:
                    log.warning("%r: %s", self, plan.error.description)
                self._reauth_settle(plan)
        except Exception:  # (a task of its own: nobody else would see it)
            log.exception("%r: putting the tokens again after a reconnect failed", self)
        finally:
            self._reauth_busy = False
            self._reauth_cancel = None

    def _kick_refresh(self) -> None:
        kick = self._kick
        if kick is not None:
            self._kick = self._new_event()
            kick.set()

    async def refresh_due(self, *, timeout: float | None = None) -> list[str]:
        """Put again every token whose refresh time has come; the audiences refreshed.

        A failed refresh is logged and tried again later (TokenRefresh.failed).
        """
        done = []
        for audience in self.refresh.due(self._wall()):
            try:
                await self.authorize(audience, timeout=timeout)
                done.append(audience)
            except Exception as exc:  # the next try is scheduled; the caller keeps running
                when = self.refresh.failed(audience, self._wall())
                log.warning("CBS token refresh for %r failed (%s); trying again in %.0f s",
                            audience, exc, when - self._wall())
        return done

    async def run_refresh(self) -> None:
        """Refresh tokens for as long as the client is open (run it as a task)."""
        while not self._closed:
            if self._kick is None:
                self._kick = self._new_event()
            deadline = self.refresh.next_deadline()
            wait = 3600.0 if deadline is None else max(0.0, deadline - self._wall())
            await self._wait_event(self._kick, wait)
            if self._closed:
                return
            await self.refresh_due()

    async def close(self, timeout: float | None = None) -> None:
        self._closed = True
        self._gate_unregister()  # links held for it attach now
        cancel = self._reauth_cancel
        if cancel is not None:
            cancel()
        self._kick_refresh()
        await super().close(timeout)
