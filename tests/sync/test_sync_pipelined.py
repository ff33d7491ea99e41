"""10 000 pipelined messages through each real peer: none lost, none duplicated (issue 4)."""

from __future__ import annotations

import threading
import uuid

import pytest

import amqp10_sync as amqp
from amqp10_proto import Accepted, Message
from tests.interop.peers import Peer

from .conftest import start

N = 10_000
THREADS = 4


@pytest.mark.parametrize("name", ["qpid-broker", "rabbitmq", "proton-broker", "rhea-broker"])
def test_10000_pipelined_messages_no_loss_no_duplicate(name: str) -> None:
    peer: Peer = start(name)
    q = f"amqp10-sync-10k-{uuid.uuid4().hex[:8]}"
    failures: list[BaseException] = []
    with amqp.open_connection(f"amqp://127.0.0.1:{peer.port}", timeout=60) as conn, \
            conn.open_session() as session:
        sender = session.open_sender(q)

        def work(t: int) -> None:
            # The bulk path from several threads at once: all sent, then all awaited.
            try:
                handles = [sender.send_nowait(Message(b"%d" % i))
                           for i in range(t, N, THREADS)]
                for h in handles:
                    assert isinstance(sender.wait_settled(h), Accepted)
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        assert not any(th.is_alive() for th in threads), "a sending thread hung"
        assert not failures, failures[:3]
        receiver = session.open_receiver(q, credit=500)
        got: list[int] = []
        while len(got) < N:
            batch = receiver.receive_batch(500, timeout=15)
            assert batch, f"only {len(got)} of {N} received"
            assert receiver.buffered <= 500
            for m in batch:
                got.append(int(m.body))
                m.accept()
        assert len(got) == N and set(got) == set(range(N)), "lost or duplicated messages"
        assert receiver.receive_batch(10, timeout=0.3) == []
