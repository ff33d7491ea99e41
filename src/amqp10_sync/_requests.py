"""Request/response, management and CBS clients on the blocking adapter (thread-safe).

Built on the public Session/Sender/Receiver calls. Many threads may wait for replies at
once: whichever has none yet and finds nobody reading takes the receiver, reads one
reply, hands it to the request it answers (``amqp10_proto``'s RequestTracker) and wakes
the others, so each reply is read once and goes only to its own request.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from typing_extensions import Self

from amqp10_proto._cbs import CBS_NODE, SAS_TOKEN_TYPE, AccessToken, SasCredential
from amqp10_proto._message import Message
from amqp10_proto._requester import (
    CbsCalls,
    ManagementCalls,
    RequesterBase,
    TokenProvider,
    check_token,
)
from amqp10_proto._requests import MANAGEMENT_NODE, PendingRequest
from amqp10_proto.errors import LinkDetachedError

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["CbsClient", "ManagementClient", "Requester"]

log = logging.getLogger("amqp10")

_CLOSED = "the requester was closed while the request waited for its reply"


class Requester(RequesterBase):
    """Requests and replies over a sender to ``address`` and a receiver for the replies::

        with Requester(session, "service", dynamic_reply=True) as requester:
            reply = requester.request(Message("ping"), timeout=10)

    Replies come back on the node itself (default: ``$cbs``, ``$management`` style),
    on a dynamic node (``dynamic_reply=True``) or on a fixed queue (``reply_address=``).
    """

    def __init__(self, session: Session, address: str, **options: Any) -> None:
        super().__init__(session, address, **options)
        self._cond = threading.Condition()
        self._reading = False

    def open(self, timeout: float | None = None) -> None:
        """Attach the reply receiver, then the request sender; wait for the peer's attaches."""
        with self._cond:
            if self._sender is not None or self._closed:
                raise RuntimeError("the requester is open already, or closed")
            address, extra = self._receiver_args()
            receiver = self.session.open_receiver(address, credit=self.credit, timeout=timeout,
                                                  **extra)
            try:
                self._attached(receiver)
                self._sender = self.session.open_sender(self.address, timeout=timeout)
            except BaseException:
                receiver.close()
                raise

    def close(self, timeout: float | None = None) -> None:
        """Detach both links; requests still waiting are given up (TimeoutError)."""
        with self._cond:
            self._closed = True
            for pending in self._tracker.abandon_all():
                pending.expired = True
            self._cond.notify_all()
            links = (self._sender, self._receiver)
        for link in links:
            if link is not None:
                link.close(timeout=timeout)

    def __enter__(self) -> Self:
        if self._sender is None:
            self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, message: Message, *, timeout: float | None = None) -> Message:
        """Send ``message`` and return its reply; TimeoutError if none comes in ``timeout``
        (the requester's ``timeout`` by default). The reply is accepted for you.

        The request gets a message-id (unless it has one) and reply-to; a refused request
        raises as ``sender.send`` does (MessageRejected ...).
        """
        span = self._span(timeout)
        with self._cond:
            if self._sender is None or self._closed:
                raise RuntimeError("open the requester first (it is not open, or closed)")
            now = time.monotonic()
            request, pending = self._tracker.prepare(message, now, span)
        try:
            self._sender.send(request, timeout=span)
            return self._await_reply(pending, now + span, span)
        finally:
            with self._cond:
                self._tracker.cancel(pending)

    def _await_reply(self, pending: PendingRequest, end: float, span: float) -> Message:
        cond = self._cond
        with cond:
            while pending.reply is None:
                remaining = end - time.monotonic()
                if self._closed:
                    raise LinkDetachedError(_CLOSED)
                if remaining <= 0 or pending.expired:
                    raise TimeoutError(f"no reply from {self.address!r} within {span:g} s")
                if self._reading:
                    cond.wait(remaining)
                    continue
                self._reading = True
                cond.release()
                got = None
                try:
                    got = self._receiver.receive(timeout=remaining)
                except TimeoutError:
                    pass
                finally:
                    cond.acquire()
                    self._reading = False
                    if got is not None and self._tracker.on_reply(got.message) is None:
                        log.debug("%r: a reply that answers no request in flight", self)
                    cond.notify_all()
                if got is not None:
                    cond.release()
                    try:
                        got.accept()
                    finally:
                        cond.acquire()
            return pending.reply


class ManagementClient(ManagementCalls, Requester):
    """A management node's client (the AMQP Management draft; default ``$management``)."""

    def __init__(self, session: Session, address: str = MANAGEMENT_NODE,
                 **options: Any) -> None:
        super().__init__(session, address, **options)

    def call(self, operation: str, *, type: str, name: str | None = None,
             locales: str | None = None, body: Any = None,
             application_properties: dict[str, Any] | None = None,
             timeout: float | None = None) -> Message:
        """Run ``operation`` on the node; the reply, or RequestFailed (typed by status code)."""
        message = self._management_message(operation, type, name, locales, body,
                                           application_properties)
        return self._management_reply(self.request(message, timeout=timeout), operation)


class CbsClient(CbsCalls, Requester):
    """Claims-based security on ``$cbs``: put tokens, and put them again before they expire
    (``start_refresh()`` runs a thread that does so until ``close()``)."""

    def __init__(self, session: Session, address: str = CBS_NODE, **options: Any) -> None:
        super().__init__(session, address, **options)
        self._cbs_init()
        self._kick = threading.Event()
        self._thread: threading.Thread | None = None
        self._reauth_thread: threading.Thread | None = None

    def put_token(self, audience: str, token: str, token_type: str = SAS_TOKEN_TYPE,
                  expires_at: float | None = None, *, timeout: float | None = None) -> int:
        """Put one token for ``audience``; its 2xx status code, or RequestFailed
        (RequestUnauthorized for a refused token)."""
        message = self._put_token_message(audience, token, token_type, expires_at)
        return self._put_token_reply(self.request(message, timeout=timeout), audience)

    def authorize(self, audience: str, provider: TokenProvider | None = None, *,
                  timeout: float | None = None) -> AccessToken:
        """Get a token for ``audience`` from ``provider`` (a SasCredential, or a callable
        returning an AccessToken), put it, and schedule its refresh."""
        provider = self._provider_for(audience, provider)
        if isinstance(provider, SasCredential):
            token = provider.token(audience, time.time())
        else:
            token = check_token(provider(audience), audience)
        self.put_token(audience, token.token, token.token_type, token.expires_at,
                       timeout=timeout)
        with self._cond:
            self.refresh.put(audience, time.time(), token.expires_at)
        with self.session.connection._cond:
            self._gate_register()
        self._kick.set()
        return token

    def _reauth_start(self) -> None:
        # (The I/O thread, the connection's lock held: the round runs in a thread of its own.)
        self._reauth_thread = threading.Thread(target=self._reauthorize, daemon=True,
                                               name=f"amqp10 CBS again {self.address}")
        self._reauth_thread.start()

    def _reauthorize(self) -> None:
        """After a reconnect: put every token again, then let the held links attach (or
        fail them); again while reconnects come (issue 13)."""
        conn = self.session.connection
        try:
            while True:
                with conn._cond:
                    plan = self._reauth_take(time.monotonic())
                    if plan is None:
                        self._reauth_busy = False
                        return
                while (step := plan.next(time.monotonic())) is not None:
                    audience, remaining = step
                    try:
                        self.authorize(audience, timeout=remaining)
                    except Exception as exc:
                        plan.failed(audience, exc)
                        with self._cond:
                            self.refresh.failed(audience, time.time())
                    else:
                        plan.accepted(audience)
                if plan.error is not None:
                    log.warning("%r: %s", self, plan.error.description)
                with conn._cond:
                    self._reauth_settle(plan)
                conn._wake()  # the I/O thread moves the handshake on
        except Exception:
            with conn._cond:
                self._reauth_busy = False
            log.exception("%r: putting the tokens again after a reconnect failed", self)

    def refresh_due(self, *, timeout: float | None = None) -> list[str]:
        """Put again every token whose refresh time has come; the audiences refreshed.

        A failed refresh is logged and tried again later (TokenRefresh.failed).
        """
        with self._cond:
            due = self.refresh.due(time.time())
        done = []
        for audience in due:
            try:
                self.authorize(audience, timeout=timeout)
                done.append(audience)
            except Exception as exc:  # the next try is scheduled; the thread keeps running
                with self._cond:
                    when = self.refresh.failed(audience, time.time())
                log.warning("CBS token refresh for %r failed (%s); trying again in %.0f s",
                            audience, exc, when - time.time())
        return done

    def start_refresh(self) -> None:
        """Refresh tokens in a daemon thread until ``close()``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._refresh_loop, daemon=True,
                                            name=f"amqp10 CBS refresh {self.address}")
            self._thread.start()

    def _refresh_loop(self) -> None:
        while not self._closed:
            with self._cond:
                deadline = self.refresh.next_deadline()
            wait = 3600.0 if deadline is None else max(0.0, deadline - time.time())
            self._kick.wait(wait)
            self._kick.clear()
            if self._closed:
                return
            self.refresh_due()

    def close(self, timeout: float | None = None) -> None:
        self._closed = True
        conn = self.session.connection
        with conn._cond:
            self._gate_unregister()  # links held for it attach now
        conn._wake()
        self._kick.set()
        super().close(timeout)
        for thread in (self._thread, self._reauth_thread):
            if thread is not None and thread is not threading.current_thread():
                thread.join(self.timeout)
