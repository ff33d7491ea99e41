"""The embedded broker (``amqp10-broker``, a separate process) driven by other libraries' clients.

python-qpid-proton's BlockingConnection and rhea (JavaScript) each send messages
with every section kind and get them back exactly; and across clients: what
proton sends our blocking adapter receives exactly, what we send rhea receives
byte for byte. The broker forwards messages untouched (sections it does not read
are re-encoded from their original bytes), so these compare encodings too.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import proton
import pytest
from proton.utils import BlockingConnection

import amqp10_sync
from amqp10_proto import (
    AmqpSequence,
    AmqpValue,
    Data,
    Header,
    Message,
    Properties,
    Symbol,
    UByte,
    UInt,
    ULong,
)

from .peers import Peer, start

HERE = Path(__file__).resolve().parent
NODE_DIR = Path(os.environ.get("PEERS_NODE_DIR", "/tmp/peers-node"))
T0 = dt.datetime(2026, 11, 26, 12, 0, 0, 250000, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def broker() -> Peer:
    return start("amqp10-broker")


def address(tag: str) -> str:
    return f"clients-{tag}-{uuid.uuid4().hex[:8]}"


# -- python-qpid-proton ----------------------------------------------------------------------------

def proton_messages(to: str) -> list[proton.Message]:
    every = proton.Message(
        body=b"\x00\x01\x02 data", inferred=True, durable=True, priority=7, ttl=60.0,
        first_acquirer=True, delivery_count=2,
        instructions={proton.symbol("x-opt-da"): "delivery"},
        annotations={proton.symbol("x-opt-ma"): proton.ulong(42)},
        id=proton.ulong(9), user_id=b"proton-user", address=to, subject="every section",
        reply_to="replies", correlation_id=uuid.UUID(int=5),
        content_type="application/octet-stream", content_encoding="binary",
        expiry_time=T0.timestamp(), creation_time=T0.timestamp(), group_id="group",
        group_sequence=3, reply_to_group_id="reply-group",
        properties={"s": "text", "i": proton.int32(-3), "u": proton.uint(9), "f": 0.5,
                    "b": True, "sym": proton.symbol("sym"), "ts": proton.timestamp(1000)})
    return [
        every,
        proton.Message(subject="amqp-value string", body="a value body"),
        proton.Message(subject="amqp-value map", body={"a": [1, "two", True], "n": None}),
        proton.Message(subject="amqp-sequence", body=[1, "two", False], inferred=True),
        proton.Message(subject="amqp-value list", body=[1, "two"], inferred=False),
        proton.Message(subject="large", body=bytes(range(256)) * 1200, inferred=True),
    ]


def proton_connect(peer: Peer, **options: Any) -> BlockingConnection:
    return BlockingConnection(f"amqp://127.0.0.1:{peer.port}", timeout=15, **options)


@pytest.mark.parametrize("login", ["anonymous", "plain"])
def test_proton_sends_every_section_kind_and_gets_it_back_exactly(broker: Peer,
                                                                  login: str) -> None:
    q = address(f"proton-{login}")
    options: dict[str, Any] = {}
    if login == "plain":
        options = {"user": "guest", "password": "guest", "allowed_mechs": "PLAIN",
                   "allow_insecure_mechs": True}
    sent = proton_messages(q)
    conn = proton_connect(broker, **options)
    try:
        sender = conn.create_sender(q)
        for m in sent:
            sender.send(m)  # waits for the broker's accepted
        receiver = conn.create_receiver(q, credit=10)
        got = []
        for _ in sent:
            got.append(receiver.receive(timeout=10))
            receiver.accept()
    finally:
        conn.close()
    for s, g in zip(sent, got):
        assert g.encode() == s.encode(), f"{s.subject!r} changed on its way"
    every = got[0]
    assert every.durable and every.priority == 7 and every.first_acquirer
    assert every.delivery_count == 2 and every.ttl == 60.0
    assert every.id == 9  # a ulong on the wire (our adapter checks the type below)
    assert every.user_id == b"proton-user" and every.address == q
    assert every.properties["u"] == 9 and isinstance(every.properties["u"], proton.uint)
    assert every.instructions == {proton.symbol("x-opt-da"): "delivery"}
    assert got[3].body == [1, "two", False] and got[3].inferred
    assert got[4].body == [1, "two"] and not got[4].inferred


def test_what_proton_sends_our_adapter_receives_exactly(broker: Peer) -> None:
    q = address("proton-to-us")
    sent = proton_messages(q)
    conn = proton_connect(broker)
    try:
        sender = conn.create_sender(q)
        for m in sent:
            sender.send(m)
    finally:
        conn.close()
    with amqp10_sync.open_connection(f"amqp://127.0.0.1:{broker.port}", timeout=10) as ours:
        receiver = ours.open_session().open_receiver(q, credit=10)
        got = [receiver.receive(timeout=10) for _ in sent]
        for m in got:
            m.accept()
    every = got[0]
    assert every.message.body_type == "data" and every.body == b"\x00\x01\x02 data"
    h = every.header
    assert h is not None
    assert h.durable and h.priority == 7 and h.ttl == 60000 and h.first_acquirer
    assert h.delivery_count == 2
    assert every.message.delivery_annotations == {Symbol("x-opt-da"): "delivery"}
    ma = every.message_annotations
    assert ma == {Symbol("x-opt-ma"): 42} and type(ma[Symbol("x-opt-ma")]) is ULong
    p = every.properties
    assert p is not None
    assert p.message_id == 9 and type(p.message_id) is ULong
    assert p.user_id == b"proton-user" and p.to == q and p.subject == "every section"
    assert p.reply_to == "replies" and p.correlation_id == uuid.UUID(int=5)
    assert p.content_type == "application/octet-stream" and p.content_encoding == "binary"
    assert p.absolute_expiry_time == T0 and p.creation_time == T0
    assert p.group_id == "group" and p.group_sequence == 3
    assert p.reply_to_group_id == "reply-group"
    ap = every.application_properties
    assert ap == {"s": "text", "i": -3, "u": 9, "f": 0.5, "b": True, "sym": "sym",
                  "ts": dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.timezone.utc)}
    assert type(ap["u"]) is UInt and type(ap["sym"]) is Symbol
    assert got[1].body == "a value body" and got[1].message.body_type == "value"
    assert got[2].body == {"a": [1, "two", True], "n": None}
    assert got[3].message.body_type == "sequence" and got[3].body == [1, "two", False]
    assert got[4].message.body_type == "value" and got[4].body == [1, "two"]
    assert got[5].body == bytes(range(256)) * 1200


# -- rhea -------------------------------------------------------------------------------------------

def rhea(*args: str) -> subprocess.CompletedProcess[str]:
    start("rhea-broker")  # installs rhea under PEERS_NODE_DIR (and leaves that peer running)
    modules = NODE_DIR / "node_modules"
    assert (modules / "rhea").is_dir(), f"rhea is not installed in {modules}"
    env = dict(os.environ, NODE_PATH=str(modules))
    return subprocess.run(["node", str(HERE / "rhea_client.js"), *args], capture_output=True,
                          text=True, timeout=60, env=env)


@pytest.mark.parametrize("login", ["anonymous", "plain"])
def test_rhea_sends_every_section_kind_and_gets_it_back_exactly(broker: Peer,
                                                                login: str) -> None:
    creds = ["guest", "guest"] if login == "plain" else []
    done = rhea("roundtrip", str(broker.port), address(f"rhea-{login}"), *creds)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["count"] == 7 and result["mismatches"] == []
    assert result["subjects"][0] == "every section" and result["subjects"][-1] == "large"


def our_messages(to: str) -> list[Message]:
    every = Message(
        Data(b"\x00\xffours"),
        header=Header(durable=True, priority=UByte(2), ttl=UInt(5000), first_acquirer=True,
                      delivery_count=UInt(1)),
        delivery_annotations={Symbol("x-opt-da"): "d"},
        message_annotations={Symbol("x-opt-k"): "v", Symbol("x-opt-n"): ULong(7)},
        properties=Properties(message_id="our-1", user_id=b"me", to=to, subject="every section",
                              reply_to="replies", correlation_id="corr",
                              content_type=Symbol("text/plain"),
                              content_encoding=Symbol("utf-8"), absolute_expiry_time=T0,
                              creation_time=T0, group_id="g", group_sequence=UInt(4),
                              reply_to_group_id="rg"),
        application_properties={"i": 5, "b": False, "s": "text", "u": UInt(3)},
        footer={Symbol("x-opt-footer"): "foot"},
    )
    return [
        every,
        Message(AmqpValue({"a": [1, 2, 3]}), properties=Properties(subject="value")),
        Message(AmqpSequence([1, "two"]), properties=Properties(subject="sequence")),
        Message([Data(b"one"), Data(b"two")], properties=Properties(subject="two data")),
    ]


def test_what_our_adapter_sends_rhea_receives_byte_for_byte(broker: Peer) -> None:
    q = address("us-to-rhea")
    sent = our_messages(q)
    with amqp10_sync.open_connection(f"amqp://127.0.0.1:{broker.port}", timeout=10) as conn, \
            conn.open_session() as session, session.open_sender(q) as sender:
        for m in sent:
            sender.send(m)
    done = rhea("receive", str(broker.port), q, str(len(sent)))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    got = [json.loads(line) for line in done.stdout.strip().splitlines()]
    assert [bytes.fromhex(g["hex"]) for g in got] == [m.encode() for m in sent]
    every = got[0]["message"]
    assert every["durable"] is True and every["priority"] == 2 and every["ttl"] == 5000
    assert every["first_acquirer"] is True and every["delivery_count"] == 1
    assert every["message_id"] == "our-1" and every["to"] == q
    assert every["subject"] == "every section" and every["group_sequence"] == 4
    assert every["application_properties"] == {"i": 5, "b": False, "s": "text", "u": 3}
    assert every["message_annotations"] == {"x-opt-k": "v", "x-opt-n": 7}
    assert every["delivery_annotations"] == {"x-opt-da": "d"}
    assert every["footer"] == {"x-opt-footer": "foot"}
    assert dt.datetime.fromisoformat(every["creation_time"].replace("Z", "+00:00")) == T0
    assert got[1]["message"]["body"] == {"a": [1, 2, 3]}
    assert got[2]["message"]["body"]["content"] == [1, "two"]
    assert got[2]["message"]["body"]["typecode"] == 0x76
