"""An embedded broker serving $cbs (SAS keys KEYS) and $management, and a responder
thread that answers requests on a queue in reverse order of arrival."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import amqp10_sync
from amqp10_cli import RunningBroker, start_broker
from amqp10_cli._broker_nodes import BrokerNodes
from amqp10_proto import Message, Properties
from amqp10_proto.errors import MessageRejected

KEYS = {"policy": "secret"}


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(allow_anonymous=True, sas_keys=KEYS) as running:
        yield running


@pytest.fixture(scope="module")
def nodes(broker: RunningBroker) -> BrokerNodes:
    """The broker's own $cbs/$management nodes (what tokens it took)."""
    return broker.broker.nodes


class Responder:
    """Answers each batch of requests on ``address`` in reverse order (replies travel by
    the anonymous relay to each request's reply-to), body ["re", request body]."""

    def __init__(self, url: str, address: str, batch: int, copies: int = 1) -> None:
        self.address = address
        self.batch = batch
        self.copies = copies  # each reply sent this many times (duplicates)
        self.answered = 0
        self.undeliverable = 0  # replies the broker refused (no such reply-to node any more)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    def _run(self, url: str) -> None:
        with amqp10_sync.open_connection(url, timeout=10) as conn, conn.open_session() as s, \
                s.open_receiver(self.address, credit=self.batch) as inbox, \
                s.open_sender(None) as relay:
            self._ready.set()
            while not self._stop.is_set():
                got = inbox.receive_batch(self.batch, timeout=0.2)
                for msg in reversed(got):
                    props: Any = msg.properties
                    for _ in range(self.copies):
                        try:
                            relay.send(Message(["re", msg.body], properties=Properties(
                                to=props.reply_to, correlation_id=props.message_id)),
                                timeout=10)
                        except MessageRejected:
                            # The requester is gone and its dynamic reply node with it (a
                            # late duplicate, say): a service logs that and goes on.
                            self.undeliverable += 1
                    msg.accept()
                    self.answered += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.fixture
def responder(broker: RunningBroker) -> Iterator[Responder]:
    r = Responder(broker.url, f"service-{uuid.uuid4().hex[:8]}", batch=8)
    yield r
    r.stop()


@pytest.fixture
def duplicating_responder(broker: RunningBroker) -> Iterator[Responder]:
    """Answers every request twice."""
    r = Responder(broker.url, f"dups-{uuid.uuid4().hex[:8]}", batch=1, copies=2)
    yield r
    r.stop()
