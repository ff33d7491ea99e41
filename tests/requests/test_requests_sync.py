"""The blocking adapter's Requester, ManagementClient and CbsClient against the embedded
broker (its $cbs and $management nodes, and a responder on a queue)."""

from __future__ import annotations

import itertools
import threading
import time
import uuid

import pytest

import amqp10_sync as amqp
from amqp10_cli import RunningBroker
from amqp10_cli._broker_nodes import BrokerNodes
from amqp10_proto import Message
from amqp10_proto._cbs import AccessToken, SasCredential
from amqp10_proto._requests import RequestNotFound, RequestUnauthorized
from amqp10_proto._sas import generate_sas_token
from amqp10_proto.errors import LinkDetachedError
from amqp10_sync._requests import CbsClient, ManagementClient, Requester

from .conftest import Responder

AUD = "sb://localhost/orders"


def test_many_requests_in_flight_each_gets_its_own_reply(
        broker: RunningBroker, responder: Responder) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s, \
            Requester(s, responder.address, dynamic_reply=True, timeout=10) as requester:
        assert requester.reply_to and requester.reply_to.startswith("amqp10-dynamic-")
        replies: dict[int, object] = {}

        def ask(i: int) -> None:
            replies[i] = requester.request(Message(i)).body

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        # The responder answered in batches, each in reverse order.
        assert replies == {i: ["re", i] for i in range(24)}
        assert requester.in_flight == 0 and requester.strays == 0


def test_no_reply_is_a_timeout_and_an_echo_is_no_reply(broker: RunningBroker) -> None:
    address = f"echo-{uuid.uuid4().hex[:8]}"
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s, \
            Requester(s, address, reply_address=address) as requester:
        start = time.monotonic()
        with pytest.raises(TimeoutError, match="no reply"):
            requester.request(Message(b"anyone?"), timeout=0.5)
        assert 0.5 <= time.monotonic() - start < 5
        # Our own request came back on the shared address, and was not taken as its reply.
        assert requester.strays == 1 and requester.in_flight == 0


def test_put_token_to_cbs(broker: RunningBroker, nodes: BrokerNodes) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s, \
            CbsClient(s) as cbs:
        good = generate_sas_token(AUD, "policy", "secret", time.time() + 60)
        assert cbs.put_token(AUD, good, expires_at=time.time() + 60) == 202
        bad = generate_sas_token(AUD, "policy", "wrong", time.time() + 60)
        with pytest.raises(RequestUnauthorized) as info:
            cbs.put_token(AUD, bad)
        assert info.value.status_code == 401 and "signature" in str(info.value)
        expired = generate_sas_token(AUD, "policy", "secret", time.time() - 1)
        with pytest.raises(RequestUnauthorized, match="expired"):
            cbs.put_token(AUD, expired)


def test_token_refresh_with_short_lived_tokens(broker: RunningBroker,
                                               nodes: BrokerNodes) -> None:
    calls: list[float] = []
    cred = SasCredential("policy", "secret", ttl=2)

    def provider(audience: str) -> AccessToken:
        calls.append(time.time())
        return cred.token(audience, time.time())

    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s, \
            CbsClient(s) as cbs:
        cbs.authorize(AUD, provider)
        cbs.start_refresh()
        deadline = time.monotonic() + 10
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    # Asked again at about 90 % of each 2 s token's life (whole seconds: 1-2 s apart).
    assert len(calls) >= 3
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert all(0.5 < g < 2.5 for g in gaps), gaps


def test_provider_must_return_an_access_token(broker: RunningBroker) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s, \
            CbsClient(s) as cbs, pytest.raises(TypeError, match="AccessToken"):
        cbs.authorize(AUD, lambda audience: "just a string")  # type: ignore[arg-type]


def test_management_read(broker: RunningBroker) -> None:
    q = f"mq-{uuid.uuid4().hex[:8]}"
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s, \
            s.open_sender(q) as sender:
        sender.send(Message(b"one"))
        with ManagementClient(s) as mgmt:
            reply = mgmt.call("READ", type="queue", name=q)
            assert reply.body["message-count"] == 1
            with pytest.raises(RequestNotFound):
                mgmt.call("READ", type="queue", name="no-such-queue")


def test_a_late_duplicate_is_never_the_next_requests_reply(
        broker: RunningBroker, duplicating_responder: Responder) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s, \
            Requester(s, duplicating_responder.address, dynamic_reply=True) as requester:
        for i in range(10):
            assert requester.request(Message(i), timeout=10).body == ["re", i]
        # Each request but the first read the previous one's duplicate first, and passed it by.
        assert requester.strays >= 9


def test_close_ends_the_waits(broker: RunningBroker) -> None:
    address = f"nobody-{uuid.uuid4().hex[:8]}"
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        requester = Requester(s, address, dynamic_reply=True)
        requester.open()
        errors: list[BaseException] = []

        def ask() -> None:
            try:
                requester.request(Message(b"?"), timeout=30)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=ask) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        start = time.monotonic()
        requester.close()
        for t in threads:
            t.join(10)
        assert time.monotonic() - start < 5
        assert len(errors) == 3 and requester.in_flight == 0
        assert all(isinstance(e, LinkDetachedError) for e in errors), errors
        with pytest.raises(RuntimeError, match="not open, or closed"):
            requester.request(Message(b"again"))


def test_session_opens_a_requester(broker: RunningBroker, responder: Responder) -> None:
    with amqp.open_connection(broker.url, timeout=10) as conn, conn.open_session() as s:
        requester = s.open_requester(responder.address, dynamic_reply=True, request_timeout=10)
        assert isinstance(requester, amqp.Requester) and requester.reply_to
        assert requester.request(Message("ping")).body == ["re", "ping"]
        requester.close()
