"""The embedded broker's $cbs and $management nodes, driven by two cores back to back
(tests/corepair.py): the client core speaks to a server core whose attaches and
messages are answered by BrokerNodes, as the broker's connection will once hooked."""

from __future__ import annotations

from typing import Any

import pytest

from amqp10_cli._broker_links import Incoming, LinkStore, Outgoing, answer_attach
from amqp10_cli._broker_nodes import REPLY_BACKLOG, BrokerNodes
from amqp10_cli._queues import Router
from amqp10_proto import (
    CreditGranted,
    DeliveryUpdated,
    LinkDetached,
    Message,
    MessageReceived,
    Properties,
    Rejected,
    RemoteAttach,
    RemoteBegin,
)
from amqp10_proto._cbs import JWT_TOKEN_TYPE, SAS_TOKEN_TYPE, SasCredential, put_token_request
from amqp10_proto._requests import management_request
from tests.corepair import CorePair

NOW = 1_800_000_000.0
AUD = "sb://localhost/orders"
KEYS = {"policy": "secret"}


class FakeHost:
    """What the broker's links need from their connection, for one server core."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.max_message_size: int | None = None
        self.link_store = LinkStore()
        self.peer_id = "client"
        self.paused = False
        self.forgotten: list[Any] = []

    def now(self) -> float:
        return 0.0

    def wake(self) -> None:
        pass

    def sent(self, size: int) -> None:
        pass

    def forget_link(self, link: Any) -> None:
        self.forgotten.append(link)


class NodePair:
    """A client core and a server core whose events BrokerNodes (or the queues) answer."""

    def __init__(self, nodes: BrokerNodes) -> None:
        self.pair = CorePair()
        self.nodes = nodes
        self.host = FakeHost(Router())
        self.pair.open()
        self.session = self.pair.client.begin_session()
        self.pump()

    def pump(self) -> None:
        for _ in range(20):
            self.pair.pump()
            events = self.pair.events("server")
            if not events:
                return
            for ev in events:
                self.handle(ev)

    def handle(self, ev: Any) -> None:
        if isinstance(ev, RemoteBegin):
            ev.session.begin()
        elif isinstance(ev, RemoteAttach):
            if self.nodes.wants(ev.link):
                self.nodes.attach(self.host, ev.link)
            else:
                answer_attach(self.host, ev.link)
        elif isinstance(ev, MessageReceived) and isinstance(ev.link.context, Incoming):
            ev.link.context.on_message(ev.delivery, ev.message)
        elif isinstance(ev, CreditGranted) and isinstance(ev.link.context, Outgoing):
            ev.link.context.on_credit()
        elif isinstance(ev, DeliveryUpdated) and isinstance(ev.delivery.link.context, Outgoing):
            ev.delivery.link.context.on_update(ev)
        elif isinstance(ev, LinkDetached) and isinstance(ev.link.context, (Outgoing, Incoming)):
            obj, ev.link.context = ev.link.context, None
            obj.on_detached(ev)

    def links(self, node: str, reply_to: str | None) -> tuple[Any, Any]:
        sender = self.session.attach_sender(node)
        receiver = self.session.attach_receiver(node, target=reply_to, credit=10)
        self.pump()
        return sender, receiver

    def ask(self, sender: Any, receiver: Any, request: Message) -> Any:
        sender.send(request)
        self.pump()
        got = [e for e in self.pair.events("client") if isinstance(e, MessageReceived)
               and e.link is receiver]
        assert len(got) == 1
        return got[0].message


def request(message: Message, mid: str, reply_to: str | None = "me") -> Message:
    message.properties = Properties(message_id=mid, reply_to=reply_to)
    return message


@pytest.fixture
def cbs() -> tuple[NodePair, Any, Any]:
    p = NodePair(BrokerNodes(KEYS, wall=lambda: NOW))
    return (p, *p.links("$cbs", "me"))


def token(expires_at: float = NOW + 60, key: str = "secret", audience: str = AUD) -> str:
    return SasCredential("policy", key).token(audience, expires_at - 3600).token


@pytest.mark.parametrize(("tok", "kind", "name", "code"), [
    (token(), None, AUD, 202),
    (token(), None, AUD + "/sub", 202),  # under the token's resource
    (token(expires_at=NOW), None, AUD, 401),  # expired
    (token(key="wrong"), None, AUD, 401),  # wrongly signed
    (token(audience="sb://localhost/other"), None, AUD, 401),  # another audience
    ("SharedAccessSignature nonsense", None, AUD, 400),
    (token(), JWT_TOKEN_TYPE, AUD, 400),  # a type we cannot check
])
def test_put_token_status_codes(cbs: tuple[NodePair, Any, Any], tok: str, kind: str | None,
                                name: str, code: int) -> None:
    p, sender, receiver = cbs
    msg = put_token_request(name, tok) if kind is None else put_token_request(name, tok, kind)
    reply = p.ask(sender, receiver, request(msg, "put-1"))
    props = reply.application_properties
    assert props["status-code"] == code, props
    assert isinstance(props["status-description"], str)
    assert reply.properties.correlation_id == "put-1"
    assert (name in p.nodes.tokens.get(p.host, {})) == (code == 202)


def test_cbs_answers_without_reply_to_on_the_only_reply_link(
        cbs: tuple[NodePair, Any, Any]) -> None:
    # The Azure SDK's CBS link sets no reply-to: the node answers on the client's reply link.
    p, sender, receiver = cbs
    reply = p.ask(sender, receiver, request(put_token_request(AUD, token()), "x", None))
    assert reply.application_properties["status-code"] == 202


def test_cbs_malformed_requests(cbs: tuple[NodePair, Any, Any]) -> None:
    p, sender, receiver = cbs
    cases = [Message("t", application_properties={"operation": "get-token", "name": AUD}),
             Message("t", application_properties={"operation": "put-token"}),
             Message(b"binary", application_properties={"operation": "put-token", "name": AUD,
                                                        "type": SAS_TOKEN_TYPE})]
    for i, msg in enumerate(cases):
        reply = p.ask(sender, receiver, request(msg, f"bad-{i}"))
        assert reply.application_properties["status-code"] == 400


def test_request_with_no_reply_link_is_rejected() -> None:
    p = NodePair(BrokerNodes(KEYS, wall=lambda: NOW))
    sender = p.session.attach_sender("$cbs")
    p.pump()
    delivery = sender.send(request(put_token_request(AUD, token()), "lonely"))
    p.pump()
    state: Any = delivery.remote_state
    assert isinstance(state, Rejected)
    assert state.error is not None
    assert "no link from '$cbs' to reply on" in str(state.error.description)


def test_cbs_is_an_ordinary_queue_without_keys() -> None:
    nodes = BrokerNodes()
    assert not nodes.serves("$cbs") and nodes.serves("$management")
    assert nodes.serves("orders/$management") and not nodes.serves("orders")


def test_management_read_and_peek() -> None:
    p = NodePair(BrokerNodes())
    publisher = p.session.attach_sender("orders")
    p.pump()
    for i in range(3):
        publisher.send(Message(f"m{i}".encode()))
    p.pump()
    sender, receiver = p.links("$management", "me")
    read = p.ask(sender, receiver, request(management_request("READ", type="queue",
                                                              name="orders"), "r1"))
    assert read.application_properties["statusCode"] == 200
    assert read.body == {"name": "orders", "message-count": 3, "consumer-count": 0}
    missing = p.ask(sender, receiver, request(management_request("READ", type="queue",
                                                                 name="nope"), "r2"))
    assert missing.application_properties["statusCode"] == 404
    peek = p.ask(sender, receiver, request(management_request(
        "com.microsoft:peek-message", type="queue", name="orders",
        body={"from-sequence-number": 1, "message-count": 5}), "r3"))
    assert peek.application_properties["statusCode"] == 200
    bodies = [Message.decode(m["message"]).body for m in peek.body["messages"]]
    assert bodies == [b"m1", b"m2"]
    # Peeking takes nothing out of the queue.
    assert len(p.host.router.queues["orders"]) == 3
    for i, (msg, code) in enumerate([
            (management_request("DELETE", type="queue", name="orders"), 501),
            (management_request("READ", type="exchange", name="orders"), 400),
            (Message(None, application_properties={"type": "queue"}), 400),
            (management_request("com.microsoft:peek-message", type="queue", name="orders",
                                body={"message-count": 0}), 400),
            (management_request("com.microsoft:peek-message", type="queue", name="orders",
                                body={"from-sequence-number": 9}), 204)]):
        reply = p.ask(sender, receiver, request(msg, f"e{i}"))
        assert reply.application_properties["statusCode"] == code, i


def test_entity_management_node_names_the_queue() -> None:
    p = NodePair(BrokerNodes())
    publisher = p.session.attach_sender("jobs")
    p.pump()
    publisher.send(Message(b"j"))
    p.pump()
    sender, receiver = p.links("jobs/$management", "me")
    read = p.ask(sender, receiver, request(management_request("READ", type="queue"), "r"))
    assert read.body["message-count"] == 1


def test_reply_link_detach_forgets_it() -> None:
    p = NodePair(BrokerNodes(KEYS, wall=lambda: NOW))
    sender, receiver = p.links("$cbs", "me")
    receiver.detach()
    p.pump()
    assert p.nodes._replies.get(p.host) == []
    delivery = sender.send(request(put_token_request(AUD, token()), "after"))
    p.pump()
    assert isinstance(delivery.remote_state, Rejected)


def test_replies_never_taken_are_bounded() -> None:
    # The client grants no credit on its reply link and keeps asking: past REPLY_BACKLOG
    # replies waiting, requests are rejected instead of held.
    p = NodePair(BrokerNodes())
    sender = p.session.attach_sender("$management")
    p.session.attach_receiver("$management", target="me", credit=0)
    p.pump()
    deliveries = [sender.send(request(management_request("READ", type="queue", name="q"),
                                      f"r{i}")) for i in range(REPLY_BACKLOG + 3)]
    p.pump()
    states = [d.remote_state for d in deliveries]
    assert sum(isinstance(s, Rejected) for s in states) == 3
    assert all(isinstance(s, Rejected) for s in states[REPLY_BACKLOG:])
    last: Any = states[-1]
    assert last.error.condition == "amqp:resource-limit-exceeded"
