"""``amqp10 send`` and ``amqp10 receive`` through the embedded broker and real peers."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
from pathlib import Path

import pytest

import amqp10_sync
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Message, UInt

from .conftest import Cli, one_error_line, run_amqp10


def test_send_then_receive_json_every_property(cli: Cli, broker: RunningBroker, q: str) -> None:
    sent = cli("send", broker.url, q, "--body", "héllo", "--count", "3",
               "--property", "plain=text", "--property", "n:int=-5", "--property", "u:uint=7",
               "--property", "ok:bool=yes", "--property", "f:float=0.5",
               "--property", "id:uuid=12345678-1234-5678-1234-567812345678",
               "--property", "at:timestamp=2026-11-26T12:00:00.123Z",
               "--property", "raw:binary=00ff", "--property", "a:b:str=c",
               "--subject", "greeting", "--content-type", "text/plain")
    assert sent.code == 0, sent.err
    assert sent.err.startswith(f"sent 3 messages to '{q}' in ")
    assert "msg/s" not in sent.err  # three messages make no rate worth showing

    got = cli("receive", broker.url, q, "--json", "--count", "3", "--timeout", "5")
    assert got.code == 0, got.err
    objects = [json.loads(line) for line in got.lines]
    assert len(objects) == 3
    assert objects[0] == {
        "properties": {"subject": "greeting", "content_type": "text/plain"},
        "application_properties": {
            "plain": "text", "n": -5, "u": {"$uint": 7}, "ok": True, "f": 0.5,
            "id": {"$uuid": "12345678-1234-5678-1234-567812345678"},
            "at": {"$timestamp": "2026-11-26T12:00:00.123Z"},
            "raw": {"$binary": base64.b64encode(b"\x00\xff").decode()},
            "a:b": "c",  # a key with a colon, typed
        },
        "body_type": "data",
        "body": "héllo",
    }
    assert objects[1] == objects[2] == objects[0]
    assert got.err.startswith(f"received 3 messages from '{q}'")


def test_typed_properties_arrive_with_their_amqp_types(cli: Cli, broker: RunningBroker,
                                                       q: str) -> None:
    assert cli("send", broker.url, q, "--body", "x", "--property", "u:uint=7",
               "--property", "at:timestamp=2026-01-02T03:04:05+01:00", "--amqp-value").code == 0
    with amqp10_sync.open_connection(broker.url, timeout=5) as conn, \
            conn.open_session() as session, session.open_receiver(q) as receiver:
        msg = receiver.receive(timeout=5)
        receiver.accept(msg)
    props = msg.application_properties
    assert props is not None
    assert type(props["u"]) is UInt and props["u"] == 7
    assert props["at"] == dt.datetime(2026, 1, 2, 2, 4, 5, tzinfo=dt.timezone.utc)
    assert msg.message.body_type == "value" and msg.body == "x"


def test_stdin_lines_are_messages_and_count_limits_them(cli: Cli, broker: RunningBroker,
                                                        q: str) -> None:
    result = cli("send", broker.url, q, stdin=b"one\ntwo\r\n\nfour\nfive\n")
    assert result.code == 0, result.err
    assert "sent 5 messages" in result.err
    got = cli("receive", broker.url, q, "--timeout", "0.5")
    assert got.code == 0
    assert got.out == b"one\ntwo\n\nfour\nfive\n"

    assert cli("send", broker.url, q, "--count", "2", stdin=b"a\nb\nc\n").code == 0
    got = cli("receive", broker.url, q, "--json", "--timeout", "0.5")
    assert [json.loads(line)["body"] for line in got.lines] == ["a", "b"]


def test_file_is_one_binary_data_section(cli: Cli, broker: RunningBroker, q: str,
                                         tmp_path: Path) -> None:
    payload = bytes(range(256)) * 300 + b"\n\x00end"  # not UTF-8, newlines inside
    path = tmp_path / "payload.bin"
    path.write_bytes(payload)
    assert cli("send", broker.url, q, "--file", str(path), "--count", "2").code == 0
    got = cli("receive", broker.url, q, "--json", "--count", "1", "--timeout", "5")
    body = json.loads(got.out)["body"]
    assert base64.b64decode(body["$binary"]) == payload
    got = cli("receive", broker.url, q, "--count", "1", "--timeout", "5")
    assert got.out == payload + b"\n"  # plain output: the bytes as they are
    # --file - : all of stdin as one message, newlines and all
    assert cli("send", broker.url, q, "--file", "-", stdin=b"a\nb\n").code == 0
    got = cli("receive", broker.url, q, "--json", "--timeout", "0.3")
    assert [json.loads(line)["body"] for line in got.lines] == ["a\nb\n"]


def test_a_large_count_is_pipelined(cli: Cli, broker: RunningBroker, q: str) -> None:
    n = 5000
    started = time.monotonic()
    sent = cli("send", broker.url, q, "--body", "m", "--count", str(n))
    took = time.monotonic() - started
    assert sent.code == 0, sent.err
    assert f"sent {n:,} messages" in sent.err and "msg/s" in sent.err  # a rate, here
    # One round trip per message would be far slower; this is a loose bound for a busy
    # shared machine (about 0.1 s here when idle).
    assert took < 10
    got = cli("receive", broker.url, q, "--count", str(n), "--timeout", "5", "--credit", "500")
    assert got.code == 0, got.err
    assert got.out == b"m\n" * n
    # --count grants no more credit than wanted: nothing left taken and handed back.
    assert cli("receive", broker.url, q, "--timeout", "0.3").out == b""


def test_count_0_means_no_limit_in_send_and_receive(cli: Cli, q: str) -> None:
    with start_broker(max_queue_depth=50) as small:
        lines = cli("send", small.url, q, "--count", "0", stdin=b"a\nb\nc\n")
        assert lines.code == 0 and lines.err.startswith(f"sent 3 messages to '{q}'")
        got = cli("receive", small.url, q, "--count", "0", "--timeout", "0.3")
        assert got.code == 0 and got.out == b"a\nb\nc\n", got.err
        # The body until something stops it: here the queue's depth (then exit 8).
        endless = cli("send", small.url, q, "--body", "x", "--count", "0")
        assert endless.code == 8
        assert one_error_line(endless).startswith(
            "amqp10: error: message 51: the peer rejected the message: "
            "amqp:resource-limit-exceeded")
        assert len(cli("receive", small.url, q, "--count", "0", "--timeout", "0.3").lines) == 50


def test_settled_sends_go_out_presettled(cli: Cli, broker: RunningBroker, q: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMQP10_TRACE", "1")
    sent = cli("send", broker.url, q, "--body", "fire-and-forget", "--count", "3", "--settled")
    assert sent.code == 0, sent.err
    transfers = [line for line in sent.err.splitlines() if "Transfer(" in line]
    assert len(transfers) == 3 and all("settled=True" in t for t in transfers), sent.err
    assert "Disposition" not in sent.err  # nobody waited for outcomes
    monkeypatch.delenv("AMQP10_TRACE")
    got = cli("receive", broker.url, q, "--count", "3", "--timeout", "5")
    assert got.out == b"fire-and-forget\n" * 3


def test_receive_accepts_only_what_it_wrote(cli: Cli, broker: RunningBroker, q: str) -> None:
    assert cli("send", broker.url, q, stdin=b"1\n2\n3\n4\n").code == 0
    assert cli("receive", broker.url, q, "--count", "3", "--timeout", "5").out == b"1\n2\n3\n"
    assert cli("receive", broker.url, q, "--timeout", "0.3").out == b"4\n"


def test_receive_timeout_is_the_normal_end_without_count(cli: Cli, broker: RunningBroker,
                                                         q: str) -> None:
    got = cli("receive", broker.url, q, "--timeout", "0.2")
    assert got.code == 0 and got.out == b""
    assert got.err.startswith(f"received 0 messages from '{q}'")


def test_values_and_sequences_print_as_text_or_json(cli: Cli, broker: RunningBroker,
                                                    q: str) -> None:
    from amqp10_proto import AmqpSequence, AmqpValue

    with amqp10_sync.open_connection(broker.url, timeout=5) as conn, \
            conn.open_session() as session, session.open_sender(q) as sender:
        sender.send(Message(AmqpValue("a string")))
        sender.send(Message(AmqpValue({"k": [1, uuid.UUID(int=1)]})))
        sender.send(Message(AmqpSequence([1, "two"])))
    got = cli("receive", broker.url, q, "--count", "3", "--timeout", "5")
    assert got.lines == ["a string",
                         '{"k": [1, {"$uuid": "00000000-0000-0000-0000-000000000001"}]}',
                         '[1, "two"]']


def test_console_script_and_python_m_round_trip(broker: RunningBroker, q: str) -> None:
    sent = run_amqp10("send", broker.url, q, "--property", "k=v", stdin=b"first\nsecond\n")
    assert sent.code == 0, sent.err
    assert sent.err.startswith("sent 2 messages")
    got = run_amqp10("receive", broker.url, q, "--json", "--count", "2", "--timeout", "5",
                     module=True)
    assert got.code == 0, got.err
    assert [json.loads(line) for line in got.lines] == [
        {"application_properties": {"k": "v"}, "body_type": "data", "body": "first"},
        {"application_properties": {"k": "v"}, "body_type": "data", "body": "second"},
    ]


def test_plain_credentials_from_options_and_url(cli: Cli, broker: RunningBroker, q: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    host = broker.url.removeprefix("amqp://")
    assert cli("send", f"amqp://guest:guest@{host}", q, "--body", "a").code == 0
    assert cli("send", broker.url, q, "--body", "b", "--user", "guest",
               "--password", "guest").code == 0
    monkeypatch.setenv("AMQP10_PASSWORD", "guest")
    assert cli("send", broker.url, q, "--body", "c", "--user", "guest").code == 0
    assert cli("receive", broker.url, q, "--timeout", "0.3").out == b"a\nb\nc\n"


def test_send_and_receive_against_a_real_peer(cli: Cli, q: str) -> None:
    from tests.sync.conftest import start

    peer = start("proton-broker")
    url = f"amqp://127.0.0.1:{peer.port}"
    assert cli("send", url, q, "--body", "to proton", "--count", "200").code == 0
    got = cli("receive", url, q, "--count", "200", "--timeout", "5", "--json")
    assert got.code == 0, got.err
    assert [json.loads(line)["body"] for line in got.lines] == ["to proton"] * 200


def test_a_failover_list_is_tried_in_order_and_reconnecting_can_be_turned_off(
        cli: Cli, broker: RunningBroker, q: str) -> None:
    from ..faultproxy import FaultProxy

    with FaultProxy(broker.port) as dead:
        dead.refuse_new(True)
        urls = f"{dead.url},{broker.url}"
        sent = cli("send", urls, q, "--body", "via the second", "--connect-timeout", "5")
        assert sent.code == 0, sent.err
        got = cli("receive", urls, q, "--count", "1", "--timeout", "5", "--no-reconnect")
        assert got.code == 0, got.err
        assert got.lines == ["via the second"]
        refused = cli("send", f"{dead.url},{dead.url}", q, "--body", "x",
                      "--connect-timeout", "2")
        assert refused.code == 3, refused.err  # connection failed: every URL refused


def test_receive_rides_out_a_cut_connection(cli: Cli, broker: RunningBroker, q: str) -> None:
    import threading

    from ..faultproxy import FaultProxy

    with FaultProxy(broker.port) as proxy:
        with amqp10_sync.open_connection(broker.url, timeout=5) as conn, \
                conn.open_session() as session, session.open_sender(q) as sender:
            sender.send(Message(b"one"))
            def cut_then_send() -> None:
                proxy.cut()
                sender.send(Message(b"two"))

            threading.Timer(1.0, cut_then_send).start()
            got = cli("receive", proxy.url, q, "--count", "2", "--timeout", "15")
        assert got.code == 0, got.err
        assert got.lines == ["one", "two"]
        assert proxy.stats().accepted == 2  # the cut connection, and the one after it
