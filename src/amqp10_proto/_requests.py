"""Request/response over a sender and a receiver, I/O-free: matching, deadlines, status codes.

A request carries a ``message-id`` and a ``reply-to``; the responder answers with
``correlation-id`` set to that id (the convention of the AMQP Management draft, Azure
and Artemis). :class:`RequestTracker` is the bookkeeping every adapter's requester
shares: it stamps each request, keeps the ones in flight (bounded) with their deadlines,
and gives each reply to the one request it answers, never to another, never twice,
and never our own request when it comes back to us on a shared address. The status
of a reply (``statusCode`` / ``status-code`` and its description) becomes a typed
:class:`RequestFailed` through :func:`raise_for_status`. The draft's request
conventions (``operation``, ``type``, ``name``, ``locales``) are
:func:`management_request`.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping
from typing import Any

from ._definitions import Properties
from ._errors import AMQPError, DecodeError, LocalProtocolError
from ._message import Message

__all__ = ["DEFAULT_MAX_IN_FLIGHT", "MANAGEMENT_NODE", "PendingRequest", "RequestBadRequest",
           "RequestFailed", "RequestNotFound", "RequestServerError", "RequestTracker",
           "RequestUnauthorized", "management_request", "raise_for_status", "reply_status"]

#: The AMQP Management draft's node; Azure entities have ``<entity>/$management`` too.
MANAGEMENT_NODE = "$management"
#: Requests one requester keeps in flight before refusing more (bounded memory).
DEFAULT_MAX_IN_FLIGHT = 1000

# The draft writes statusCode/statusDescription; Azure's $cbs and Artemis write
# status-code/status-description. Both are read, the draft's first.
_CODE_KEYS = ("statusCode", "status-code")
_DESCRIPTION_KEYS = ("statusDescription", "status-description")
_CONDITION_KEYS = ("errorCondition", "error-condition")


class PendingRequest:
    """One request in flight: its id, its deadline and, once answered, its reply.

    ``context`` is the adapter's (a waiter to wake); the tracker never reads it.
    """

    __slots__ = ("_echo", "context", "deadline", "expired", "message_id", "reply")

    def __init__(self, message_id: int | uuid.UUID | bytes | str, deadline: float | None,
                 echo: tuple[Any, Any, Any]) -> None:
        self.message_id = message_id
        self.deadline = deadline
        self.reply: Message | None = None
        self.expired = False
        self.context: Any = None
        self._echo = echo

    @property
    def done(self) -> bool:
        """Answered, or past its deadline (:meth:`~amqp10_proto.RequestTracker.expire`)."""
        return self.reply is not None or self.expired

    def __repr__(self) -> str:
        state = "answered" if self.reply is not None else "expired" if self.expired else "waiting"
        return f"<PendingRequest {self.message_id!r} {state}>"


class RequestTracker:
    """The requests in flight on one requester, and which reply answers which.

    ``reply_to`` is the address replies come to (set it once a dynamic receiver is
    attached). Each request gets a message-id unique to this tracker unless it has one;
    an id already in flight is refused. Replies matching no request in flight (late,
    duplicated, unknown, or our own request echoed) are counted in ``strays`` and
    ``echoes`` and otherwise ignored.
    """

    def __init__(self, reply_to: str | None = None, *,
                 max_in_flight: int = DEFAULT_MAX_IN_FLIGHT) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {max_in_flight!r}")
        self.reply_to = reply_to
        self.max_in_flight = max_in_flight
        self.strays = 0
        self.echoes = 0
        self._prefix = uuid.uuid4().hex
        self._ids = itertools.count(1)
        self._pending: dict[Any, PendingRequest] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def prepare(self, message: Message, now: float,
                timeout: float | None = None) -> tuple[Message, PendingRequest]:
        """The request to send (a copy of ``message`` with message-id and reply-to set)
        and its pending entry, due by ``now + timeout``.

        LocalProtocolError (nothing recorded) if ``max_in_flight`` are already waiting,
        the message's own id is in flight, or there is no reply address yet.
        """
        if self.reply_to is None:
            raise LocalProtocolError("the requester has no reply address yet")
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must not be negative, not {timeout!r}")
        if len(self._pending) >= self.max_in_flight:
            raise LocalProtocolError(f"{len(self._pending)} requests are in flight already, "
                                     f"the most this requester keeps (max_in_flight)")
        old = message.properties
        fields = {} if old is None else {f: getattr(old, f) for f in Properties._FIELDS}
        if fields.get("message_id") is None:
            fields["message_id"] = f"{self._prefix}-{next(self._ids)}"
        elif fields["message_id"] in self._pending:
            raise LocalProtocolError(f"a request with message-id {fields['message_id']!r} "
                                     "is in flight already")
        if fields.get("reply_to") is None:
            fields["reply_to"] = self.reply_to
        props = Properties(**fields)
        request = Message(None, header=message.header,
                          delivery_annotations=message.delivery_annotations,
                          message_annotations=message.message_annotations, properties=props,
                          application_properties=message.application_properties,
                          footer=message.footer)
        request._body, request._body_type = message._body, message._body_type
        deadline = None if timeout is None else now + timeout
        message_id = props.message_id
        assert message_id is not None  # set above when the caller gave none
        pending = PendingRequest(message_id, deadline,
                                 (message_id, props.correlation_id, props.reply_to))
        self._pending[message_id] = pending
        return request, pending

    def on_reply(self, message: Message) -> PendingRequest | None:
        """The request ``message`` answers (now done and forgotten), or None for a stray."""
        try:
            props = message.properties
        except DecodeError:
            props = None
        cid = None if props is None else props.correlation_id
        pending = None if cid is None else self._pending.get(cid)
        if pending is None or props is None:
            self.strays += 1
            return None
        if (props.message_id, props.correlation_id, props.reply_to) == pending._echo:
            self.echoes += 1  # our own request, come back on a shared address
            return None
        del self._pending[cid]
        pending.reply = message
        return pending

    def cancel(self, pending: PendingRequest) -> None:
        """Stop waiting for ``pending`` (given up, cancelled, or never sent)."""
        if self._pending.get(pending.message_id) is pending:
            del self._pending[pending.message_id]

    def expire(self, now: float) -> list[PendingRequest]:
        """The requests whose deadline is at or before ``now``, marked expired and forgotten
        (a reply that comes later is a stray)."""
        gone = [p for p in self._pending.values() if p.deadline is not None and p.deadline <= now]
        for p in gone:
            p.expired = True
            del self._pending[p.message_id]
        return gone

    def next_deadline(self) -> float | None:
        """The earliest deadline of a request in flight, or None."""
        return min((p.deadline for p in self._pending.values() if p.deadline is not None),
                   default=None)

    def abandon_all(self) -> list[PendingRequest]:
        """Forget every request in flight (the links are gone); they are returned to be told."""
        gone = list(self._pending.values())
        self._pending.clear()
        return gone


# -- status codes -------------------------------------------------------------------------------

class RequestFailed(AMQPError):
    """A reply whose status code is not 2xx (or that has none where one is needed).

    ``status_code`` (None when missing), ``description``, ``condition`` (Azure's
    ``error-condition``) and the whole ``reply`` message.
    """

    def __init__(self, message: str, *, status_code: int | None, description: str | None = None,
                 condition: str | None = None, reply: Message | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.description = description
        self.condition = condition
        self.reply = reply


class RequestBadRequest(RequestFailed):
    """400: the request was malformed (a missing or wrong application property)."""


class RequestUnauthorized(RequestFailed):
    """401 or 403: the token or the credentials were refused."""


class RequestNotFound(RequestFailed):
    """404: no such node, entity or audience."""


class RequestServerError(RequestFailed):
    """5xx: the responder failed, or does not implement the operation (501)."""


_BY_CODE: dict[int, type[RequestFailed]] = {400: RequestBadRequest, 401: RequestUnauthorized,
                                            403: RequestUnauthorized, 404: RequestNotFound}


def _first(props: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in props:
            return props[key]
    return None


def reply_status(reply: Message) -> tuple[int | None, str | None, str | None]:
    """A reply's (status code, description, error condition), each None when absent."""
    props = reply.application_properties or {}
    code = _first(props, _CODE_KEYS)
    if isinstance(code, bool) or not isinstance(code, int):
        code = None
    text = _first(props, _DESCRIPTION_KEYS)
    cond = _first(props, _CONDITION_KEYS)
    return (code, text if isinstance(text, str) else None,
            cond if isinstance(cond, str) else None)


def raise_for_status(reply: Message, what: str = "the request") -> int:
    """The reply's 2xx status code; otherwise the matching RequestFailed is raised."""
    code, text, cond = reply_status(reply)
    if code is not None and 200 <= code < 300:
        return code
    if code is None:
        raise RequestFailed(f"{what}: the reply has no status code", status_code=None,
                            description=text, condition=cond, reply=reply)
    cls = _BY_CODE.get(code, RequestServerError if 500 <= code < 600 else RequestFailed)
    detail = f": {text}" if text else ""
    raise cls(f"{what} failed with status {code}{detail}", status_code=code, description=text,
              condition=cond, reply=reply)


def management_request(operation: str, *, type: str, name: str | None = None,
                       locales: str | None = None, body: Any = None,
                       application_properties: Mapping[str, Any] | None = None) -> Message:
    """A request to a management node (the AMQP Management draft): ``operation`` and
    ``type`` (mandatory), ``name`` and ``locales`` as application properties, plus any
    others given; ``body`` as an amqp-value."""
    if not operation or not type:
        raise ValueError("a management request needs an operation and a type")
    props: dict[str, Any] = dict(application_properties or {})
    props["operation"] = operation
    props["type"] = type
    if name is not None:
        props["name"] = name
    if locales is not None:
        props["locales"] = locales
    return Message(body, application_properties=props)
