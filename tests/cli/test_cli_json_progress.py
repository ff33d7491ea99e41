"""The JSON form of AMQP values and messages, ``--property`` parsing, and the progress line."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import math
import os
import select
import subprocess
import uuid

import pytest

from amqp10_cli import RunningBroker
from amqp10_cli._cli_common import CliError
from amqp10_cli._cli_json import body_text, message_json, to_json
from amqp10_cli._cli_send import parse_property
from amqp10_cli._progress import Progress, format_rate, summary
from amqp10_proto import (
    AmqpSequence,
    AmqpValue,
    Array,
    Char,
    Data,
    Decimal64,
    Described,
    Header,
    Map,
    Message,
    Properties,
    Symbol,
    Timestamp,
    UByte,
    ULong,
)

from .conftest import AMQP10, child_env

T0 = dt.datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=dt.timezone.utc)


def test_values_that_json_lacks_are_tagged() -> None:
    value = {
        "uuid": uuid.UUID(int=5), "when": T0, "bytes": b"\x00\xff", "sym": Symbol("s"),
        "char": Char("c"), "ulong": ULong(2**64 - 1), "ms": Timestamp(1000),
        "nan": math.nan, "inf": -math.inf, "dec": Decimal64(b"\x01" * 8),
        "described": Described(Symbol("x:y"), [1, None]),
        "array": Array("ubyte", [UByte(1), UByte(2)]),
        "intkeys": {ULong(1): "a"}, "listkey": Map([([1], "v")]),
        "long": 5, "double": 0.5, "text": "t",
    }
    out = to_json(value)
    assert json.loads(json.dumps(out, allow_nan=False)) == out  # strictly valid JSON
    assert out == {
        "uuid": {"$uuid": "00000000-0000-0000-0000-000000000005"},
        "when": {"$timestamp": "2026-11-26T12:00:00.123Z"},
        "bytes": {"$binary": "AP8="}, "sym": {"$symbol": "s"}, "char": {"$char": "c"},
        "ulong": {"$ulong": 2**64 - 1}, "ms": {"$timestamp": 1000},
        "nan": {"$double": "nan"}, "inf": {"$double": "-inf"},
        "dec": {"$decimal64": "01" * 8},
        "described": {"$described": ["x:y", [1, None]]},
        "array": {"$array": ["ubyte", [1, 2]]},
        "intkeys": {"$map": [[{"$ulong": 1}, "a"]]}, "listkey": {"$map": [[[1], "v"]]},
        "long": 5, "double": 0.5, "text": "t",  # JSON's own types: AMQP's defaults
    }


def test_a_known_composite_inside_a_value_is_its_described_list() -> None:
    out = to_json(Header(durable=True))
    assert out == {"$described": ["amqp:header:list", [True, {"$ubyte": 4}, None, False,
                                                       {"$uint": 0}]]}


def test_message_json_has_every_section_in_order() -> None:
    msg = Message(b"\xff\xfe", header=Header(durable=True, ttl=1000),
                  delivery_annotations={Symbol("x-da"): 1},
                  message_annotations={Symbol("x-opt-k"): "v"},
                  properties=Properties(message_id=ULong(9), correlation_id=uuid.UUID(int=1),
                                        user_id=b"me", creation_time=T0, to="q"),
                  application_properties={"k": 1}, footer={Symbol("x-f"): b"h"})
    decoded = Message.decode(msg.encode())
    out = message_json(decoded)
    assert list(out) == ["header", "delivery_annotations", "message_annotations", "properties",
                         "application_properties", "body_type", "body", "footer"]
    assert out["header"] == {"durable": True, "priority": 4, "ttl": 1000,
                             "first_acquirer": False, "delivery_count": 0}
    assert out["properties"] == {"message_id": {"$ulong": 9}, "user_id": {"$binary": "bWU="},
                                 "to": "q", "correlation_id": {"$uuid": str(uuid.UUID(int=1))},
                                 "creation_time": {"$timestamp": "2026-11-26T12:00:00.123Z"}}
    assert out["delivery_annotations"] == {"x-da": 1}  # annotation keys are symbols (3.2.10)
    assert out["body"] == {"$binary": base64.b64encode(b"\xff\xfe").decode()}
    assert out["footer"] == {"x-f": {"$binary": "aA=="}}


@pytest.mark.parametrize(("body", "kind", "as_json", "as_text"), [
    ([Data(b"ab"), Data(b"\xff")], "data", ["ab", {"$binary": "/w=="}], b"ab\xff"),
    (AmqpValue("text"), "value", "text", b"text"),
    (AmqpValue(None), "value", None, b"null"),
    (AmqpSequence([1, b"x"]), "sequence", [[1, {"$binary": "eA=="}]],
     b'[1, {"$binary": "eA=="}]'),
])
def test_bodies(body: object, kind: str, as_json: object, as_text: bytes) -> None:
    msg = Message.decode(Message(body).encode())
    out = message_json(msg)
    assert out == {"body_type": kind, "body": as_json}
    assert body_text(msg) == as_text


def test_parse_property() -> None:
    assert parse_property("k=v=w") == ("k", "v=w")
    assert parse_property("k:str=5") == ("k", "5")
    assert parse_property("k:float=1e3") == ("k", 1000.0)
    assert parse_property("k:ulong=5") == ("k", ULong(5)) and type(parse_property(
        "k:ulong=5")[1]) is ULong
    assert parse_property("k:symbol=s")[1].__class__ is Symbol
    assert parse_property("k:bool=false") == ("k", False)
    assert parse_property("a:b:str=c") == ("a:b", "c")  # a key with a colon: typed
    for bad in ("k", "=v", "k:bool=maybe", "k:timestamp=2026-01-01T00:00:00",
                "k:binary=zz", "k:uint=-1x", "a:b=c", "k:integer=5", ":str=x"):
        with pytest.raises(CliError):
            parse_property(bad)


class FakeTty(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_draws_at_most_every_interval_and_only_on_a_terminal() -> None:
    now = [100.0]
    tty = FakeTty(True)
    progress = Progress("sent", 1000, tty, interval=0.1, clock=lambda: now[0])
    for i in range(1, 501):  # 500 updates within 0.05 s: nothing drawn yet
        now[0] += 0.0001
        progress.update(i)
    assert tty.getvalue() == ""
    now[0] = 101.0
    progress.update(600)
    assert tty.getvalue() == "\r\x1b[Ksent 600/1,000 (60%)  600 msg/s"
    now[0] += 0.2
    progress.update(5)  # too few messages for a rate: none shown
    assert tty.getvalue().endswith("\r\x1b[Ksent 5/1,000 (0%)")
    progress.update(601)  # within the interval: not drawn again
    assert tty.getvalue().count("\r\x1b[K") == 2
    progress.close()
    assert tty.getvalue().endswith("\r\x1b[K")

    pipe = FakeTty(False)
    quiet = Progress("sent", None, pipe, clock=lambda: now[0])
    now[0] += 5
    quiet.update(10)
    quiet.idle()
    quiet.close()
    assert pipe.getvalue() == ""


def test_format_rate_only_when_it_means_something() -> None:
    assert format_rate(0, 0) is None
    assert format_rate(1, 0.5) is None  # one message: a round trip, not a rate
    assert format_rate(9, 2) is None
    assert format_rate(10, 0) is None
    assert format_rate(25, 10) == "2.5 msg/s"
    assert format_rate(123456, 2) == "61,728 msg/s"


def test_summary_shows_time_and_rate_only_when_meaningful() -> None:
    assert summary("sent ... to 'q'", 0, 1.5) == "sent 0 messages to 'q'"
    assert summary("sent ... to 'q'", 1, 0.004) == "sent 1 message to 'q' in 0.00 s"
    assert summary("received ... from 'q'", 1200, 0.5) == (
        "received 1,200 messages from 'q' in 0.50 s (2,400 msg/s)")


def read_all(fd: int, timeout: float = 15) -> bytes:
    data = b""
    while select.select([fd], [], [], timeout)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        data += chunk
    return data


def test_progress_on_a_terminal_and_none_when_piped(broker: RunningBroker, q: str) -> None:
    argv = [AMQP10, "receive", broker.url, q, "--timeout", "0.6"]
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, env=child_env())
        os.close(slave)
        on_tty = read_all(master)
        assert proc.wait(15) == 0
    finally:
        os.close(master)
    assert b"\r\x1b[Kreceived 0" in on_tty and b"msg/s" not in on_tty, on_tty
    assert on_tty.rstrip().endswith(f"received 0 messages from '{q}'".encode())

    piped = subprocess.run(argv, capture_output=True, timeout=15, env=child_env())
    assert piped.returncode == 0
    assert piped.stderr == f"received 0 messages from '{q}'\n".encode()
