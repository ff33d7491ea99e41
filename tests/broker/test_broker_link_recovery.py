"""The embedded broker resumes durable links (2.6.13) across a lost TCP connection.

Raw protocol cores on sockets (no adapter reconnect): a publisher and a consumer
attach links whose termini ask for durable=unsettled-state, expiry-policy never,
both in rcv-settle-mode second; the TCP connection is killed with deliveries in
flight both ways; a new connection with the same container-id re-attaches both
links with their unsettled maps, and every message is counted: none lost, none
twice.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from amqp10_cli import RunningBroker
from amqp10_proto import (
    Connection,
    DeliveryResumed,
    LinkDetached,
    Message,
    MessageReceived,
    ReceiverSettleMode,
    Source,
    Target,
    TerminusDurability,
    TerminusExpiryPolicy,
    unsettled_map,
)

DURABLE: dict[str, Any] = dict(durable=TerminusDurability.UNSETTLED_STATE,
                               expiry_policy=TerminusExpiryPolicy.NEVER)
SECOND = ReceiverSettleMode.SECOND


class Peer:
    """A client core on a socket, pumped by hand."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.settimeout(0.05)
        self.core = Connection(role="client", container_id="recovering-client", sasl=None)
        self.events: list[Any] = []
        self.core.open()

    def pump(self, until: Callable[[], bool] = lambda: False, limit: float = 10.0) -> None:
        deadline = time.monotonic() + limit  # a hang guard, not a timing assertion
        while time.monotonic() < deadline:
            out = self.core.data_to_send()
            if out:
                self.sock.sendall(out)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                data = None
            if data == b"":
                return
            if data:
                self.core.receive_data(data)
            while (ev := self.core.next_event()) is not None:
                self.events.append(ev)
            if until():
                return
        raise AssertionError("the broker did not answer in time")

    def take(self, kind: type) -> list[Any]:
        got = [e for e in self.events if isinstance(e, kind)]
        self.events = [e for e in self.events if not isinstance(e, kind)]
        return got

    def kill(self) -> None:
        """The TCP connection dies: no close, no detach; the core learns it ended."""
        self.sock.close()
        self.core.receive_data(b"")
        while (ev := self.core.next_event()) is not None:
            self.events.append(ev)


def _links(peer: Peer, q: str, *, pub_map: dict[bytes, Any] | None = None,
           sub_map: dict[bytes, Any] | None = None) -> tuple[Any, Any]:
    session = peer.core.begin_session()
    pub = session.attach_sender(Target(address=q, **DURABLE), name="pub", auto_settle=False,
                                rcv_settle_mode=SECOND, unsettled=pub_map)
    sub = session.attach_receiver(Source(address=q, **DURABLE), name="sub", credit=8,
                                  rcv_settle_mode=SECOND, unsettled=sub_map)
    peer.pump(until=lambda: pub.attached and sub.attached)
    return pub, sub


def test_a_killed_connection_resumes_both_links_with_no_loss_and_no_duplicate(
        broker: RunningBroker, q: str) -> None:
    peer = Peer(broker.port)
    pub, sub = _links(peer, q)
    assert pub.remote_target.durable == TerminusDurability.UNSETTLED_STATE
    bodies: dict[bytes, bytes] = {}
    received: dict[bytes, int] = {}
    held: list[Any] = []

    def count(events: list[Any]) -> None:
        for ev in events:
            body = ev.message.body
            received[body] = received.get(body, 0) + 1
            held.append(ev.delivery)

    # Publish 12: the broker queues each and answers accepted, unsettled (mode second);
    # we do not settle, so all 12 are in doubt when the connection dies.
    peer.pump(until=lambda: pub.credit > 0)
    for i in range(12):
        d = pub.send(Message(b"m%d" % i))
        bodies[d.tag] = b"m%d" % i
    peer.pump(until=lambda: all(d.remote_state is not None for d in pub.unsettled.values())
              and len(peer.events) > 0 and len([e for e in peer.events
                                                  if isinstance(e, MessageReceived)]) >= 8)
    # The consumer got 8 (its credit): it accepts 3 (in flight when it dies), holds 5.
    count(peer.take(MessageReceived))
    for d in held[:3]:
        sub.accept(d)
    held.clear()
    # Two more published and written, never answered: in doubt the other way.
    for i in range(12, 14):
        d = pub.send(Message(b"m%d" % i))
        bodies[d.tag] = b"m%d" % i
    peer.sock.sendall(peer.core.data_to_send())
    time.sleep(0.2)  # let the broker read them before the connection dies
    peer.kill()
    dets = {e.link: e for e in peer.take(LinkDetached)}
    assert dets[pub].with_connection and dets[sub].with_connection
    pub_map = unsettled_map(dets[pub].unsettled, sender=True)
    sub_map = unsettled_map(dets[sub].unsettled, sender=False)
    assert len(pub_map) == 14 and len(sub_map) == 8

    # Reconnect with the same container-id; re-attach both with the maps.
    peer2 = Peer(broker.port)
    pub2, sub2 = _links(peer2, q, pub_map=pub_map, sub_map=sub_map)
    assert pub2.remote_attach.unsettled is not None and sub2.remote_attach.unsettled is not None
    for tag in list(pub2.pending_resume):
        pub2.resume(tag, Message(bodies[tag]))
    def done() -> bool:
        return len(received) == 14 and not pub2.unsettled and not sub2.unsettled

    deadline = time.monotonic() + 10
    while not done() and time.monotonic() < deadline:
        peer2.pump(until=lambda: bool(peer2.events), limit=1.0)
        count(peer2.take(MessageReceived))
        for ev in peer2.take(DeliveryResumed):
            if not ev.delivery.settled:
                held.append(ev.delivery)
        for d in held:
            sub2.accept(d)
        for d in list(pub2.unsettled.values()):
            if d.remote_state is not None:
                pub2.settle(d)
        held.clear()
    assert received == {b: 1 for b in bodies.values()}  # none lost, none twice
    assert not pub2.unsettled and not sub2.unsettled
    assert len(broker.broker.link_store) == 0
    peer2.sock.close()
