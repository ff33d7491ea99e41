"""The embedded broker's request/response nodes: ``$cbs`` and ``$management``.

Each speaks the dialect of Azure Service Bus: a client attaches a sender to the node
(its requests) and a receiver from it (the replies, matched by the receiver's target
to the request's reply-to, or the client's only reply link when it gives none, as the
Azure SDK does). Every reply has ``correlation-id`` = the request's ``message-id``.

- ``$cbs``: ``put-token`` with a SAS token, checked against the configured shared
  access keys: 202 when good; 401 when expired, wrongly signed, for an unknown key or
  another audience; 400 when malformed or incomplete (``status-code`` and
  ``status-description``, as Azure's $cbs answers). Served only when keys are configured.
- ``$management`` (and ``<queue>/$management``): ``READ`` of type ``queue`` (its message
  and consumer counts) and Service Bus's ``com.microsoft:peek-message``; 404 for no such
  queue, 400 for a malformed request, 501 for another operation (``statusCode`` and
  ``statusDescription``, as Service Bus's management node answers).

:meth:`BrokerNodes.wants` says whether an attach is for a node, and
:meth:`BrokerNodes.attach` answers it: what the broker's attach handling calls.
With ``require_tokens`` set, :meth:`BrokerNodes.refusal` refuses, as Azure does, the
attach of any other link whose address no token put on the same connection covers
(amqp:unauthorized-access).
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from amqp10_proto import (
    Delivery,
    Error,
    ErrorCondition,
    Int,
    Link,
    LinkDetached,
    Message,
    Properties,
    Receiver,
    Sender,
    Source,
    Target,
)
from amqp10_proto._cbs import CBS_NODE, SAS_TOKEN_TYPE
from amqp10_proto._requests import MANAGEMENT_NODE
from amqp10_proto._sas import SasTokenError, verify_sas_token
from amqp10_proto.errors import DecodeError

from ._broker_links import OUTCOMES, PUBLISH_CREDIT, Host, Incoming, Outgoing
from ._queues import Queue

__all__ = ["PEEK_MAX", "REPLY_BACKLOG", "BrokerNodes"]

log = logging.getLogger("amqp10.broker")

#: The most messages one peek returns.
PEEK_MAX = 100
#: The most replies one reply link holds that the client has not taken (no credit).
REPLY_BACKLOG = 100
_MANAGEMENT_SUFFIX = "/" + MANAGEMENT_NODE


def covers(audience: str, address: str) -> bool:
    """Whether a token for ``audience`` (``sb://<namespace>/<path>``, or a bare path)
    covers the node ``address``: the same path, a node under it, or the namespace."""
    path = urlsplit(audience).path if "://" in audience else audience
    path = path.strip("/")
    address = address.strip("/")
    return not path or address == path or address.startswith(path + "/")


def _node_of(address: Any) -> str | None:
    if not isinstance(address, str):
        return None
    if address in (CBS_NODE, MANAGEMENT_NODE) or address.endswith(_MANAGEMENT_SUFFIX):
        return address
    return None


class NodeReplies(Outgoing):
    """A client's reply link from a node: an Outgoing link on a private queue of replies."""

    def __init__(self, nodes: BrokerNodes, host: Host, link: Sender, node: str) -> None:
        super().__init__(host, link, Queue(f"{node} replies to {link.name}",
                                           max_depth=REPLY_BACKLOG), owns_node=False)
        self.nodes = nodes
        self.node = node
        target = link.remote_target
        self.reply_to = target.address if isinstance(target, Target) else None

    def on_detached(self, event: LinkDetached) -> None:
        self.nodes._forget(self)
        super().on_detached(event)


class NodeRequests(Incoming):
    """A client's request link to a node: each request is answered on its reply link."""

    def __init__(self, nodes: BrokerNodes, host: Host, link: Receiver, node: str) -> None:
        super().__init__(host, link, None, owns_node=False)
        self.nodes = nodes
        self.node = node

    def on_message(self, delivery: Delivery, message: Message) -> None:
        link = self.link
        error = self.nodes._answer(self.host, self.node, message)
        if not delivery.remote_settled:
            if error is None:
                link.accept(delivery)
            else:
                link.reject(delivery, error)
        if link.attached and link.credit <= PUBLISH_CREDIT // 2:
            link.set_credit(PUBLISH_CREDIT)  # 2.6.7: keep the client supplied with credit
        self.host.wake()


def _status(reply_props: dict[str, Any], node: str, code: int, text: str) -> None:
    # Azure's $cbs writes status-code/status-description, its management node the draft's
    # statusCode/statusDescription; the Azure SDK reads exactly these.
    if node == CBS_NODE:
        reply_props["status-code"], reply_props["status-description"] = Int(code), text
    else:
        reply_props["statusCode"], reply_props["statusDescription"] = Int(code), text


class BrokerNodes:
    """The broker's ``$cbs`` and ``$management`` nodes and what they remember.

    ``sas_keys``: shared access key name -> key; without any, ``$cbs`` is not served
    (the address is an ordinary queue). ``wall`` is the clock tokens expire by.
    ``require_tokens``: every other link's attach needs an unexpired token put on its
    connection that covers its address (:func:`covers`), as Azure requires.
    """

    def __init__(self, sas_keys: Mapping[str, str] | None = None, *,
                 wall: Callable[[], float] = time.time, require_tokens: bool = False) -> None:
        self.sas_keys = dict(sas_keys or {})
        self.wall = wall
        self.require_tokens = require_tokens
        self._replies: weakref.WeakKeyDictionary[Any, list[NodeReplies]] = \
            weakref.WeakKeyDictionary()
        #: Per connection: audience -> the expiry of the token put for it.
        self.tokens: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()

    def serves(self, address: Any) -> bool:
        """Whether ``address`` is one of our nodes (the hook's test before attach)."""
        node = _node_of(address)
        return node is not None and (node != CBS_NODE or bool(self.sas_keys))

    def wants(self, link: Link) -> bool:
        """Whether the peer attaches ``link`` to (or from) one of our nodes: the hook's test."""
        terminus = link.remote_source if isinstance(link, Sender) else link.remote_target
        return self.serves(getattr(terminus, "address", None))

    def refusal(self, host: Host, link: Link) -> Error | None:
        """Why the attach of ``link`` (not to a node) is refused for want of a token on
        ``host``'s connection; None when it may attach (or tokens are not required).
        A link with no address (the anonymous relay, a dynamic node) needs none."""
        if not self.require_tokens or self.wants(link):
            return None
        terminus = link.remote_source if isinstance(link, Sender) else link.remote_target
        address = getattr(terminus, "address", None)
        if not isinstance(address, str) or not address:
            return None
        now = self.wall()
        tokens = self.tokens.get(host, {})
        if any(expiry > now and covers(audience, address) for audience, expiry in tokens.items()):
            return None
        return Error(condition=ErrorCondition.UNAUTHORIZED_ACCESS,
                     description=f"no valid token for {address!r} was put on $cbs on this "
                                 "connection")

    def attach(self, host: Host, link: Link) -> Outgoing | Incoming | None:
        """Answer the attach of a link to (a Receiver) or from (a Sender) a node."""
        if isinstance(link, Sender):
            source = link.remote_source
            node = _node_of(getattr(source, "address", None))
            assert node is not None, "attach() is for links whose address serves() accepts"
            link.attach(source=Source(address=node, outcomes=OUTCOMES))
            out = NodeReplies(self, host, link, node)
            self._replies.setdefault(host, []).append(out)
            out.queue.add_consumer(out)
            return out
        assert isinstance(link, Receiver)
        target = link.remote_target
        node = _node_of(getattr(target, "address", None))
        assert node is not None, "attach() is for links whose address serves() accepts"
        link.set_credit(PUBLISH_CREDIT)
        link.attach(target=Target(address=node))
        return NodeRequests(self, host, link, node)

    def _forget(self, out: NodeReplies) -> None:
        links = self._replies.get(out.host)
        if links is not None and out in links:
            links.remove(out)

    def _reply_link(self, host: Host, node: str, reply_to: Any) -> NodeReplies | None:
        links = [r for r in self._replies.get(host, ()) if r.node == node]
        for r in links:
            if reply_to is not None and r.reply_to == reply_to:
                return r
        # No reply-to (the Azure SDK gives none), or none matched: the only reply link.
        return links[0] if len(links) == 1 else None

    def _answer(self, host: Host, node: str, message: Message) -> Error | None:
        """Answer one request on its reply link; an Error to reject it with if there is none."""
        try:
            props = message.properties or Properties()
            app = message.application_properties or {}
        except DecodeError as exc:
            return Error(condition=ErrorCondition.DECODE_ERROR,
                         description=f"the request does not decode: {exc}")
        out = self._reply_link(host, node, props.reply_to)
        if out is None:
            return Error(condition=ErrorCondition.PRECONDITION_FAILED,
                         description=f"no link from {node!r} to reply on "
                                     f"(reply-to {props.reply_to!r})")
        reply_props: dict[str, Any] = {}
        try:
            body = (self._cbs(host, app, message, reply_props) if node == CBS_NODE
                    else self._management(host, node, app, message, reply_props))
        except DecodeError as exc:
            body = None
            _status(reply_props, node, 400, f"the request's body does not decode: {exc}")
        reply = Message(body, properties=Properties(correlation_id=props.message_id),
                        application_properties=reply_props)
        if not out.queue.put(reply):
            # A client that asks without taking its answers: refused, never held without bound.
            return Error(condition=ErrorCondition.RESOURCE_LIMIT_EXCEEDED,
                         description=f"{REPLY_BACKLOG} replies wait already on "
                                     f"{out.link.name!r}: take them first (grant credit)")
        return None

    # -- $cbs ------------------------------------------------------------------------------------
    def _cbs(self, host: Host, app: Mapping[str, Any], message: Message,
             reply: dict[str, Any]) -> Any:
        operation, kind, audience = app.get("operation"), app.get("type"), app.get("name")
        token = message.body
        if operation != "put-token":
            _status(reply, CBS_NODE, 400, f"$cbs knows the operation put-token, not {operation!r}")
        elif not isinstance(audience, str) or not audience:
            _status(reply, CBS_NODE, 400, "put-token needs the audience in 'name'")
        elif kind != SAS_TOKEN_TYPE:
            _status(reply, CBS_NODE, 400, f"this broker checks tokens of type {SAS_TOKEN_TYPE!r}, "
                                          f"not {kind!r}")
        elif not isinstance(token, str):
            _status(reply, CBS_NODE, 400, "the token must be a string (an amqp-value body)")
        else:
            try:
                parsed = verify_sas_token(token, self.sas_keys, self.wall(), audience)
            except SasTokenError as exc:
                code = 400 if exc.reason == "malformed" else 401
                log.info("put-token for %r refused: %s", audience, exc)
                _status(reply, CBS_NODE, code, str(exc))
            else:
                self.tokens.setdefault(host, {})[audience] = parsed.expiry
                _status(reply, CBS_NODE, 202, "Accepted")
        return None

    # -- $management -------------------------------------------------------------------------------
    def _management(self, host: Host, node: str, app: Mapping[str, Any], message: Message,
                    reply: dict[str, Any]) -> Any:
        operation, kind = app.get("operation"), app.get("type")
        name = app.get("name")
        if node.endswith(_MANAGEMENT_SUFFIX):  # <queue>/$management: the entity is the queue
            name = node[:-len(_MANAGEMENT_SUFFIX)]
        if not isinstance(operation, str) or not operation:
            _status(reply, node, 400, "a management request needs an 'operation'")
            return None
        queue = host.router.queues.get(name) if isinstance(name, str) else None
        if operation == "READ":
            if kind != "queue":
                _status(reply, node, 400, f"READ knows the type 'queue', not {kind!r}")
                return None
            if queue is None:
                _status(reply, node, 404, f"no queue {name!r}")
                return None
            _status(reply, node, 200, "OK")
            return {"name": queue.address, "message-count": len(queue),
                    "consumer-count": len(queue.consumers)}
        if operation == "com.microsoft:peek-message":
            return self._peek(node, queue, name, message.body, reply)
        _status(reply, node, 501, f"the operation {operation!r} is not implemented here")
        return None

    def _peek(self, node: str, queue: Queue | None, name: Any, body: Any,
              reply: dict[str, Any]) -> Any:
        if not isinstance(body, dict):
            _status(reply, node, 400, "peek-message takes a map body "
                                      "(from-sequence-number, message-count)")
            return None
        start, count = body.get("from-sequence-number", 0), body.get("message-count", 1)
        if (not isinstance(start, int) or not isinstance(count, int) or isinstance(count, bool)
                or count < 1 or start < 0):
            _status(reply, node, 400, "from-sequence-number must be >= 0 and message-count >= 1")
            return None
        if queue is None:
            _status(reply, node, 404, f"no queue {name!r}")
            return None
        picked = queue.peek(start, min(count, PEEK_MAX))  # nothing leaves the queue
        if not picked:
            _status(reply, node, 204, "No Content")
            return None
        _status(reply, node, 200, "OK")
        return {"messages": [{"message": b"".join(e.message.encode_parts()),
                              "sequence-number": e.seq} for e in picked]}
