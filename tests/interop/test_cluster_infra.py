"""The failover cluster itself (tests/interop/cluster.py), driven by the blocking adapter.

No reconnecting yet (issue 9): each step opens its own connection. Messages that node 1
accepted into a quorum queue survive node 1's crash and come out through node 2; the
connection to the crashed node fails with ConnectionClosedError; the restarted node serves
again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

import amqp10_sync
from amqp10_proto import Message
from amqp10_proto.errors import AMQPError, ConnectionClosedError

from .cluster import Cluster, rabbitmq_cluster

__all__ = ["rabbitmq_cluster"]  # the fixture, imported for pytest

COUNT = 100


@pytest.fixture
def queue(rabbitmq_cluster: Cluster) -> Iterator[str]:
    """A fresh quorum queue led by node 1, every node up; deleted afterwards."""
    rabbitmq_cluster.ensure_up()
    name = f"infra-{uuid.uuid4().hex[:10]}"
    rabbitmq_cluster.declare_quorum(name, rabbitmq_cluster.ports[0])
    yield name
    rabbitmq_cluster.ensure_up()
    rabbitmq_cluster.delete_queue(name)


def test_messages_accepted_by_a_crashed_node_come_out_of_another(
        rabbitmq_cluster: Cluster, queue: str) -> None:
    node1, node2, _ = rabbitmq_cluster.urls()
    port1 = rabbitmq_cluster.ports[0]
    address = f"/amq/queue/{queue}"  # /queue/NAME would re-declare it as a classic queue
    assert rabbitmq_cluster.leader(queue) == port1
    # reconnect=False: this is the cluster's story (what a crash does to a connection).
    doomed = amqp10_sync.open_connection(node1, timeout=30, reconnect=False)
    try:
        sender = doomed.open_session().open_sender(address)
        for i in range(COUNT):
            sender.send(Message(f"m{i}".encode()), timeout=30)  # each one Accepted
        rabbitmq_cluster.kill(port1)
        t0 = time.monotonic()
        with pytest.raises(ConnectionClosedError):
            sender.send(Message(b"after the crash"), timeout=30)
        assert time.monotonic() - t0 < 30  # a hang guard
        assert doomed.closed
    finally:
        doomed.close(timeout=2)
    try:
        with amqp10_sync.open_connection(node2, timeout=30) as conn:
            receiver = conn.open_session().open_receiver(address, credit=COUNT)
            bodies = []
            for _ in range(COUNT):
                msg = receiver.receive(timeout=30)
                bodies.append(msg.body)
                receiver.accept(msg)
            assert bodies == [f"m{i}".encode() for i in range(COUNT)]  # in order, once each
            with pytest.raises(TimeoutError):
                receiver.receive(timeout=1)  # and nothing more
        assert rabbitmq_cluster.leader(queue) != port1
    finally:
        rabbitmq_cluster.start(port1)
    serves_again(node1, address)


def serves_again(url: str, address: str, timeout: float = 60.0) -> None:
    """Send a message through ``url`` and get it back there, retrying while the node recovers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with amqp10_sync.open_connection(url, timeout=10) as conn:
                session = conn.open_session()
                session.open_sender(address).send(Message(b"back"), timeout=10)
                receiver = session.open_receiver(address, credit=1)
                msg = receiver.receive(timeout=10)
                receiver.accept(msg)
                assert msg.body == b"back"
                return
        except (AMQPError, TimeoutError, OSError):
            # the queue's member on the restarted node comes online 0.3-1.2 s after the node
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
