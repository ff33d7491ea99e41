"""detach() (2.6.6: closed=false) against real peers we did not write.

rhea's broker answers it and agrees to a durable terminus: the subscription resumes by
name. The Proton brokers (the C example broker, and proton_broker.py on proton-c) answer
only a closing detach: ours stays unanswered, so detach() ends with TimeoutError and the
link refuses further use with a typed error, never a hang.
"""

from __future__ import annotations

import uuid

import pytest

import amqp10_sync
from amqp10_proto import Source, TerminusDurability
from amqp10_proto.errors import LinkDetachedError
from tests.sync.conftest import start

GUARD = 10.0


def _url(name: str) -> str:
    return f"amqp://127.0.0.1:{start(name).port}"


def test_rhea_resumes_a_durable_subscription_detached_by_name() -> None:
    name = f"sub-{uuid.uuid4().hex[:8]}"
    address = f"l14-{uuid.uuid4().hex[:8]}"
    with amqp10_sync.open_connection(_url("rhea-broker"), timeout=GUARD) as conn:
        session = conn.open_session()
        receiver = session.open_receiver(address, name=name, durable=True,
                                         expiry_policy="never")
        source = receiver.remote_source
        assert isinstance(source, Source)
        assert source.durable == TerminusDurability.UNSETTLED_STATE  # the peer agreed
        receiver.detach(timeout=GUARD)
        assert receiver.detached and receiver.error is None
        session.open_sender(address).send(b"while away", timeout=GUARD)
        again = session.open_receiver(address, name=name, durable=True, expiry_policy="never")
        assert again.receive(timeout=GUARD).body == b"while away"
        again.close(timeout=GUARD)


@pytest.mark.parametrize("peer", ["qpid-broker", "proton-broker"])
def test_a_peer_that_never_answers_a_detach_gives_a_timeout_then_typed_errors(
        peer: str) -> None:
    with amqp10_sync.open_connection(_url(peer), timeout=GUARD) as conn:
        session = conn.open_session()
        sender = session.open_sender(f"l14-{uuid.uuid4().hex[:8]}")
        with pytest.raises(TimeoutError, match="did not answer the detach"):
            sender.detach(timeout=0.5)
        with pytest.raises(LinkDetachedError, match="not attached"):
            sender.send(b"x", timeout=1)
        sender.close(timeout=0.1)  # our detach went already: nothing more to say
        # The rest of the connection is unharmed.
        other = session.open_sender(f"l14-{uuid.uuid4().hex[:8]}")
        other.send(b"y", timeout=GUARD)
