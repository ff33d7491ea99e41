"""``send --json`` reads what ``receive --json`` prints: every section and AMQP type kept.

So ``amqp10 receive A q --json | amqp10 send B q --json`` moves messages from one
broker to another unchanged; the story below does it between two embedded
brokers and compares what arrives with what was sent, section by section, types
and all. Plain output never puts a binary body raw on a terminal.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import amqp10_sync
from amqp10_cli import RunningBroker, start_broker
from amqp10_cli._cli_json import (
    JsonFormError,
    body_text,
    from_json,
    message_json,
    parse_message,
    to_json,
)
from amqp10_proto import (
    AmqpSequence,
    AmqpValue,
    Array,
    Byte,
    Char,
    Data,
    Decimal32,
    Decimal64,
    Decimal128,
    Described,
    Error,
    Float,
    Header,
    Int,
    Map,
    Message,
    Properties,
    Short,
    Symbol,
    Timestamp,
    UByte,
    UInt,
    ULong,
    UShort,
)
from tests.strategies import amqp_values, assert_same

from .conftest import AMQP10, Cli, child_env, one_error_line

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=UTC)

#: A value of (nearly) every AMQP type, nested, for the amqp-value body.
EVERY_TYPE: dict[str, Any] = {
    "null": None, "true": True, "long": -(2**63), "double": 0.1, "-0.0": -0.0,
    "nan": math.nan, "inf": -math.inf, "string": "héllo ✓",
    "ubyte": UByte(255), "ushort": UShort(65535), "uint": UInt(2**32 - 1),
    "ulong": ULong(2**64 - 1), "byte": Byte(-128), "short": Short(-32768),
    "int": Int(-(2**31)), "float": Float(0.5), "float-nan": Float(math.nan),
    "decimal32": Decimal32(b"\x01\x02\x03\x04"), "decimal64": Decimal64(b"\x05" * 8),
    "decimal128": Decimal128(bytes(range(16))), "char": Char("✓"),
    "timestamp": T0, "beyond datetime": Timestamp(2**62), "uuid": uuid.UUID(int=7),
    "binary": b"\x00\xff\x1b[31m", "symbol": Symbol("amqp:x"),
    "list": [1, [UInt(2), []], {}],
    "symbol keys": {Symbol("k"): 1, ULong(2): "two"},
    "colliding keys": Map([(Symbol("a"), 1), ("a", 2)]),
    "list key": Map([([1, 2], "pair")]),
    "a $ key": {"$binary": "not a tag"},
    "array": Array("uint", [UInt(1), UInt(2)]),
    "empty array": Array("symbol", []),
    "array of arrays": Array("array", [Array("char", [Char("a")]), Array("char", [])]),
    "described array": Array("long", [1, 2], descriptor=Symbol("x:pair")),
    "described": Described(ULong(0x1234_0000_0001), [Symbol("x"), None]),
    "described by symbol": Described(Symbol("x:thing"), {"k": "v"}),
    "composite": Error(condition=Symbol("amqp:not-found"), description="gone"),
}

MESSAGES = [
    Message(AmqpValue(EVERY_TYPE),
            header=Header(durable=True, priority=UByte(9), ttl=UInt(60000),
                          first_acquirer=True, delivery_count=UInt(3)),
            delivery_annotations={Symbol("x-opt-da"): UInt(1)},
            message_annotations={Symbol("x-opt-k"): "v", ULong(7): Symbol("ulong key"),
                                 Symbol("$map"): "a tag-like key"},
            properties=Properties(
                message_id=ULong(9), user_id=b"me", to="q", subject="s",
                reply_to=Symbol("r"), correlation_id=uuid.UUID(int=1),
                content_type="application/octet-stream", content_encoding="gzip",
                absolute_expiry_time=Timestamp(-(2**62)), creation_time=T0, group_id="g",
                group_sequence=UInt(5), reply_to_group_id="rg"),
            application_properties={"s": "x", "n": Short(-5), "f": Float(1.5),
                                    "when": T0, "sym": Symbol("s")},
            footer={Symbol("x-hash"): b"\x01\x02"}),
    Message([Data(b"text"), Data(b"\xff\xfe binary")],
            properties=Properties(message_id="string-id")),
    Message([AmqpSequence([1, Symbol("a")]), AmqpSequence([[UInt(2)]])]),
    Message(AmqpSequence([[1], [2]])),  # one section of lists, not two sections
    Message(b""),
    Message(AmqpValue("a string value")),
]


def sections(message: Message) -> dict[str, Any]:
    return {"header": message.header, "delivery_annotations": message.delivery_annotations,
            "message_annotations": message.message_annotations,
            "properties": message.properties,
            "application_properties": message.application_properties,
            "body_type": message.body_type, "body": message.sections, "footer": message.footer}


def assert_same_message(expected: Message, actual: Message) -> None:
    """Section by section, with the same Python (so AMQP) types all the way down."""
    want, got = sections(expected), sections(actual)
    for name in want:
        e, a = want[name], got[name]
        if isinstance(e, Header | Properties):
            assert type(a) is type(e), name
            for field in e._FIELDS:
                assert_same(getattr(e, field), getattr(a, field))
        elif name == "body":
            assert [type(s) for s in a] == [type(s) for s in e], name
            assert_same([s.value if isinstance(s, AmqpValue) else s for s in e],
                        [s.value if isinstance(s, AmqpValue) else s for s in a])
        else:
            assert_same(e, a)


def decoded(message: Message) -> Message:
    """What a receiver gets: the message as decoded from its encoding."""
    return Message.decode(message.encode(), lazy=False)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(amqp_values(max_leaves=12))
def test_every_amqp_value_survives_json(value: Any) -> None:
    text = json.dumps(to_json(value), allow_nan=False)  # strictly valid JSON
    assert_same(value, from_json(json.loads(text)))


@pytest.mark.parametrize("message", MESSAGES, ids=range(len(MESSAGES)))
def test_a_message_survives_json(message: Message) -> None:
    received = decoded(message)
    line = json.dumps(message_json(received), ensure_ascii=False)
    assert_same_message(received, decoded(parse_message(line.encode())))


def test_the_json_names_types_plainly() -> None:
    out = message_json(decoded(MESSAGES[0]))
    assert out["header"] == {"durable": True, "priority": 9, "ttl": 60000,
                             "first_acquirer": True, "delivery_count": 3}
    assert out["properties"]["message_id"] == {"$ulong": 9}  # message-id: any of four types
    assert out["properties"]["content_type"] == "application/octet-stream"  # always a symbol
    assert out["properties"]["absolute_expiry_time"] == {"$timestamp": -(2**62)}
    assert out["application_properties"]["n"] == {"$short": -5}
    assert out["delivery_annotations"] == {"x-opt-da": {"$uint": 1}}  # symbol keys: plain
    assert out["message_annotations"] == {"$map": [  # a ulong key, a tag-like one: pairs
        [{"$symbol": "x-opt-k"}, "v"], [{"$ulong": 7}, {"$symbol": "ulong key"}],
        [{"$symbol": "$map"}, "a tag-like key"]]}
    value = out["body"]
    assert value["array"] == {"$array": ["uint", [1, 2]]}
    assert value["described array"] == {"$array": ["long", [1, 2], "x:pair"]}
    assert value["composite"] == {"$described": ["amqp:error:list", [
        {"$symbol": "amqp:not-found"}, "gone", None]]}
    assert value["a $ key"] == {"$map": [["$binary", "not a tag"]]}
    assert value["beyond datetime"] == {"$timestamp": 2**62}
    assert message_json(decoded(MESSAGES[2]))["body"] == [[1, {"$symbol": "a"}], [[{"$uint": 2}]]]
    assert message_json(decoded(MESSAGES[3]))["body"] == [[[1], [2]]]


def test_a_text_body_needs_no_body_type() -> None:
    assert parse_message(b'{"body": "hi"}') == Message(b"hi")
    none = parse_message(b'{"properties": {"subject": "no body"}, "body_type": "none"}')
    assert none.body_type == "none" and none.properties is not None
    assert message_json(decoded(none)) == {"properties": {"subject": "no body"},
                                           "body_type": "none"}


@pytest.mark.parametrize(("line", "text"), [
    (b"not json", "not JSON"),
    (b"[1]", "a message is a JSON object"),
    (b'{"body": "x", "bdy": 1}', "unknown key 'bdy'"),
    (b'{"body": "x", "body": "y"}', "the key 'body' appears twice"),
    (b'{"body_type": "value", "body": {"$uint": -1}}', "body: -1 is out of the range of a uint"),
    (b'{"body_type": "value", "body": {"$uint": 1.5}}', "a uint is a whole number"),
    (b'{"body_type": "value", "body": {"$nope": 1}}', "unknown type tag '$nope'"),
    (b'{"body_type": "value", "body": {"$binary": "!!"}}', "not base64"),
    (b'{"body_type": "value", "body": {"$char": "ab"}}', "a char is one character"),
    (b'{"body_type": "value", "body": {"$timestamp": "2026-01-01T00:00:00"}}',
     "needs a time zone"),
    (b'{"body_type": "value", "body": {"$array": ["u", []]}}', "unknown array element type"),
    (b'{"body_type": "value", "body": 18446744073709551616}', "out of the range of a long"),
    (b'{"body_type": "sequence", "body": [1]}', "a list of amqp-sequence sections"),
    (b'{"body_type": "data", "body": {"$uint": 1}}', "a data section is a string"),
    (b'{"body_type": "weird", "body": 1}', "body_type: is one of data, value"),
    (b'{"header": {"durabel": true}, "body": "x"}', "header: unknown field 'durabel'"),
    (b'{"properties": {"subject": 5}, "body": "x"}', "subject"),
    (b'{"body_type": "value", "body": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     "nested too deeply"),
])
def test_a_line_that_is_not_a_message_is_refused_clearly(line: bytes, text: str) -> None:
    with pytest.raises(JsonFormError) as info:
        parse_message(line)
    assert text in str(info.value)


def test_send_json_stops_at_a_bad_line_saying_which(cli: Cli, broker: RunningBroker,
                                                    q: str) -> None:
    result = cli("send", broker.url, q, "--json",
                 stdin=b'{"body": "one"}\n\n{"body_type": "value", "body": {"$uint": "x"}}\n')
    assert result.code == 2
    assert one_error_line(result) == (
        "amqp10: error: line 3 is not a message: body: a uint is a whole number, not \"x\" "
        "(after 1 message sent)")
    assert cli("receive", broker.url, q, "--timeout", "0.3").lines == ["one"]


def test_send_json_takes_no_section_options(cli: Cli, broker: RunningBroker, q: str) -> None:
    result = cli("send", broker.url, q, "--json", "--subject", "s", stdin=b'{"body": "x"}\n')
    assert result.code == 2
    assert "--json messages carry their own sections" in one_error_line(result)


@pytest.fixture
def second_broker() -> Iterator[RunningBroker]:
    with start_broker() as running:
        yield running


def test_receive_json_piped_to_send_json_moves_messages_between_brokers_unchanged(
        broker: RunningBroker, second_broker: RunningBroker, q: str) -> None:
    with amqp10_sync.open_connection(broker.url, timeout=10) as conn, \
            conn.open_session() as session, session.open_sender(q) as sender:
        for message in MESSAGES:
            sender.send(message)
    n = str(len(MESSAGES))
    # The pipe a user types: amqp10 receive A q --json --count N | amqp10 send B q --json
    receive = subprocess.Popen([AMQP10, "receive", broker.url, q, "--json", "--count", n],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env())
    assert receive.stdout is not None and receive.stderr is not None
    send = subprocess.run([AMQP10, "send", second_broker.url, q, "--json"],
                          stdin=receive.stdout, capture_output=True, timeout=60, env=child_env())
    receive.stdout.close()
    assert receive.wait(30) == 0, receive.stderr.read()
    receive.stderr.close()
    assert send.returncode == 0, send.stderr
    assert send.stderr.decode().startswith(f"sent {n} messages to '{q}' in ")

    arrived = []
    with amqp10_sync.open_connection(second_broker.url, timeout=10) as conn, \
            conn.open_session() as session, session.open_receiver(q) as receiver:
        for _ in MESSAGES:
            msg = receiver.receive(timeout=10)
            msg.accept()
            arrived.append(msg.message)
    for sent, got in zip(MESSAGES, arrived, strict=True):
        assert_same_message(decoded(sent), got)


# -- plain output on a terminal -------------------------------------------------------------

def test_plain_bodies_on_a_terminal_are_never_raw_binary() -> None:
    binary = decoded(Message(b"\x00\xff\x1b[2J"))
    escapes = decoded(Message("text \x1b[31mred\x9b".encode()))
    text = decoded(Message("tab\tand ✓".encode()))
    assert body_text(binary) == b"\x00\xff\x1b[2J"  # into a pipe: the bytes as they are
    assert body_text(binary, terminal=True) == b'{"$binary": "AP8bWzJK"}'
    assert body_text(escapes, terminal=True) == b'"text \\u001b[31mred\\u009b"'
    assert body_text(text, terminal=True) == "tab\tand ✓".encode()
    value = decoded(Message(AmqpValue(["\x1b", "\x85"])))
    assert body_text(value, terminal=True) == b'["\\u001b", "\\u0085"]'


def test_receive_on_a_terminal_shows_a_binary_body_as_json(cli: Cli, broker: RunningBroker,
                                                           q: str) -> None:
    with amqp10_sync.open_connection(broker.url, timeout=10) as conn, \
            conn.open_session() as session, session.open_sender(q) as sender:
        sender.send(Message(b"\x1b]0;owned\x07\xff"))
    master, slave = os.openpty()
    try:
        proc = subprocess.run([AMQP10, "receive", broker.url, q, "--count", "1"],
                              stdout=slave, stderr=subprocess.PIPE, timeout=30, env=child_env())
        os.close(slave)
        shown = os.read(master, 4096)
    finally:
        os.close(master)
    assert proc.returncode == 0, proc.stderr
    assert shown == b'{"$binary": "G10wO293bmVkB/8="}\r\n'  # the tty's \n is \r\n
