"""``amqp10 demo`` and ``amqp10 broker`` (a child process serving until a signal)."""

from __future__ import annotations

import inspect
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import amqp10_sync as amqp
from amqp10_cli import Broker
from amqp10_cli._cli import build_parser
from amqp10_cli._cli_broker import broker_options
from amqp10_cli._cli_common import ExitCode
from amqp10_proto import Accepted, Message, generate_sas_token
from amqp10_proto.errors import MessageRejected, RequestUnauthorized
from tests.sync.test_sync_tls import cert  # the test-made certificate fixture

from .conftest import AMQP10, Cli, child_env, one_error_line, run_amqp10

__all__ = ["cert"]

STORY = [
    "connected to amqp://127.0.0.1:",
    "sent 'order 1' {item=tea, quantity=2} -> accepted",
    "sent 'order 3' {item=unicorn, quantity=1} -> accepted",
    "received 'order 1' {item=tea, quantity=2} -> accepted",
    "received 'order 2' {item=scones, quantity=6} -> accepted",
    "received 'order 3' {item=unicorn, quantity=1} -> rejected (amqp:precondition-failed: "
    "out of stock)",
    "the service answered 'pong' (correlation-id ",
    "closed the connection",
]


def stories(out: str) -> dict[str, str]:
    """The demo's output cut into each adapter's story."""
    parts: dict[str, str] = {}
    for chunk in out.split("\n\n")[1:]:
        head, _, body = chunk.partition("\n")
        parts[head.split()[0]] = body
    return parts


def test_demo_tells_each_adapter_story_and_exits_0(cli: Cli) -> None:
    started = time.monotonic()
    result = cli("demo")
    took = time.monotonic() - started
    assert result.code == 0, result.err
    out = result.out.decode()
    assert out.startswith("amqp10 demo: started the embedded broker at amqp://127.0.0.1:")
    told = stories(out)
    assert set(told) >= {"sync", "asyncio", "trio"}, out
    for adapter in ("sync", "asyncio", "trio"):
        story = told[adapter]
        position = -1
        for step in STORY:  # every step, in order
            found = story.find(step, position + 1)
            assert found > position, f"{adapter}: {step!r} missing or out of order in\n{story}"
            position = found
    assert "stopped the embedded broker." in out
    assert took < 15  # a few seconds on an idle machine


def test_demo_without_trio_says_how_to_get_it(cli: Cli,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "trio", None)  # import trio -> ImportError
    monkeypatch.setitem(sys.modules, "amqp10_trio", None)
    result = cli("demo")
    assert result.code == 0, result.err
    told = stories(result.out.decode())
    assert told["trio"].strip() == "skipped: trio is not installed (pip install 'amqp10[trio]')"
    assert "closed the connection" in told["asyncio"]


def test_demo_against_a_broker_that_is_not_there(cli: Cli) -> None:
    result = cli("demo", "--url", "amqp://127.0.0.1:1")
    assert result.code == ExitCode.CONNECTION
    assert one_error_line(result) == ("amqp10: error: demo, sync: connection refused: "
                                      "127.0.0.1:1")


@contextmanager
def broker_process(*options: str, command: tuple[str, ...] = (AMQP10, "broker")
                   ) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``amqp10 broker --port 0 ...`` as a child; its URL from the line it prints."""
    proc = subprocess.Popen([*command, "--port", "0", *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env())
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line.startswith("amqp10 broker listening on "), line + proc.stderr.read().decode()  # type: ignore[union-attr]
        yield proc, line.split()[4]
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.mark.parametrize(("signum", "code", "said"), [
    (signal.SIGTERM, 0, "amqp10 broker stopped\n"),
    (signal.SIGINT, 130, ""),
])
def test_broker_serves_until_a_signal(signum: int, code: int, said: str) -> None:
    with broker_process() as (proc, url):
        assert url.startswith("amqp://127.0.0.1:")
        assert run_amqp10("send", url, "jobs", "--body", "job 1", "--count", "2").code == 0
        got = run_amqp10("receive", url, "jobs", "--count", "2", "--timeout", "5")
        assert got.code == 0 and got.out == b"job 1\njob 1\n", got.err
        proc.send_signal(signum)
        assert proc.wait(10) == code
        assert proc.stderr is not None
        assert proc.stderr.read().decode() == said


def test_broker_with_users_and_tls(cli: Cli, cert: tuple[Path, Path]) -> None:
    key, crt = cert
    with broker_process("--user", "alice:s3:cret", "--tls-cert", str(crt),
                        "--tls-key", str(key)) as (proc, url):
        assert url.startswith("amqps://127.0.0.1:")
        url = url.replace("127.0.0.1", "localhost")  # the name in the certificate
        refused = cli("send", url, "q", "--body", "x", "--ca", str(crt))
        assert refused.code == ExitCode.AUTHENTICATION, refused.err  # no ANONYMOUS
        ok = cli("send", url, "q", "--body", "secret", "--ca", str(crt), "--user", "alice",
                 "--password", "s3:cret")
        assert ok.code == 0, ok.err
        got = cli("receive", url, "q", "--count", "1", "--ca", str(crt), "--user", "alice",
                  "--password", "s3:cret")
        assert got.out == b"secret\n"
        untrusted = cli("receive", url, "q", "--user", "alice", "--password", "s3:cret")
        assert untrusted.code == ExitCode.TLS
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


def test_broker_on_a_taken_port(cli: Cli) -> None:
    with broker_process() as (proc, url):
        port = url.rsplit(":", 1)[1]
        taken = cli("broker", "--port", port)
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert taken.code == ExitCode.CONNECTION
    assert one_error_line(taken).startswith(f"amqp10: error: cannot listen on 127.0.0.1:{port}: ")


def test_broker_bad_options(cli: Cli) -> None:
    assert "use NAME:PASSWORD" in one_error_line(cli("broker", "--user", "nopassword"))
    assert "go together" in one_error_line(cli("broker", "--tls-cert", "c.pem"))
    assert cli("broker", "--port", "70000").code == ExitCode.USAGE


def test_broker_limits_from_the_command_line() -> None:
    with broker_process("--max-message-size", "1000", "--max-queue-depth", "1",
                        "--max-sessions", "3", "--max-links", "4") as (proc, url), \
            amqp.open_connection(url, timeout=10) as conn, conn.open_session() as s:
        assert conn._core.remote_open is not None
        assert conn._core.remote_open.channel_max == 2  # --max-sessions 3
        sender = s.open_sender("limited")
        assert sender._core.remote_max_message_size == 1000
        assert s._core.remote_begin is not None
        assert s._core.remote_begin.handle_max == 3  # --max-links 4
        assert isinstance(sender.send(Message(b"one")), Accepted)
        with pytest.raises(MessageRejected) as info:
            sender.send(Message(b"two"))  # --max-queue-depth 1
        assert info.value.condition == "amqp:resource-limit-exceeded"
        proc.send_signal(signal.SIGTERM)


def test_broker_limit_options_and_their_defaults() -> None:
    defaults = broker_options(build_parser().parse_args(["broker"]))
    signature = inspect.signature(Broker).parameters
    assert defaults == {name: signature[name].default for name in defaults}
    assert defaults["max_message_size"] == 100 * 1024 * 1024
    off = broker_options(build_parser().parse_args(
        ["broker", "--max-message-size", "0", "--max-connections", "0",
         "--max-queue-depth", "0", "--handshake-timeout", "2.5"]))
    assert off["max_message_size"] is off["max_connections"] is off["max_queue_depth"] is None
    assert off["handshake_timeout"] == 2.5


@pytest.mark.parametrize("option", ["--max-message-size", "--max-connections",
                                    "--max-queue-depth", "--max-sessions", "--max-links",
                                    "--handshake-timeout"])
def test_broker_limit_options_refuse_nonsense(cli: Cli, option: str) -> None:
    result = cli("broker", option, "-1")
    assert result.code == ExitCode.USAGE
    assert option in result.err


def test_sas_keys_serve_cbs_from_the_command(cli: Cli) -> None:
    """``--sas-key NAME=KEY`` (repeatable) serves $cbs: a token signed with the key is
    taken (202), one signed with another key is refused (401)."""
    options = broker_options(build_parser().parse_args(
        ["broker", "--sas-key", "policy=c2VjcmV0==", "--sas-key", "other=x"]))
    assert options["sas_keys"] == {"policy": "c2VjcmV0==", "other": "x"}  # '=' in a key kept
    assert cli("broker", "--sas-key", "nokey").code == ExitCode.USAGE
    with broker_process("--sas-key", "policy=secret") as (proc, url), \
            amqp.open_connection(url, timeout=10) as conn, conn.open_session() as s:
        cbs = amqp.CbsClient(s)
        cbs.open(timeout=10)
        audience = "sb://ns.example/queue"
        good = generate_sas_token(audience, "policy", "secret", time.time() + 60)
        assert cbs.put_token(audience, good) == 202
        bad = generate_sas_token(audience, "policy", "wrong", time.time() + 60)
        with pytest.raises(RequestUnauthorized):
            cbs.put_token(audience, bad)
        proc.send_signal(signal.SIGTERM)
