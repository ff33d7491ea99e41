"""Expected failures: one ``amqp10: error:`` line, a distinct exit code, no traceback."""

from __future__ import annotations

import os
import select
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from amqp10_cli import RunningBroker
from amqp10_cli._cli_common import ExitCode
from tests.sync.conftest import start
from tests.sync.fakepeer import FakePeer
from tests.sync.test_sync_tls import cert  # the test-made certificate fixture

from .conftest import AMQP10, Cli, child_env, one_error_line, run_amqp10

__all__ = ["cert"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_connection_refused(cli: Cli) -> None:
    port = free_port()
    result = cli("send", f"amqp://127.0.0.1:{port}", "q", "--body", "x")
    assert result.code == 3
    assert one_error_line(result) == f"amqp10: error: connection refused: 127.0.0.1:{port}"


def test_connection_refused_from_the_console_script() -> None:
    port = free_port()
    result = run_amqp10("receive", f"amqp://127.0.0.1:{port}", "q")
    assert result.code == 3
    assert one_error_line(result) == f"amqp10: error: connection refused: 127.0.0.1:{port}"


def test_wrong_password_against_rhea() -> None:
    peer = start("rhea-broker")  # PLAIN guest/guest
    result = run_amqp10("send", f"amqp://guest:wrong@127.0.0.1:{peer.port}", "q", "--body", "x",
                        module=True)
    assert result.code == 4
    line = one_error_line(result)
    assert line.startswith("amqp10: error: authentication failed: ")
    assert line.endswith("(amqp:unauthorized-access)") and line.count("authentication failed") == 1


def test_wrong_password_against_the_embedded_broker(cli: Cli, broker: RunningBroker) -> None:
    result = cli("receive", broker.url, "q", "--user", "guest", "--password", "nope")
    assert result.code == 4
    line = one_error_line(result)
    assert line == ("amqp10: error: authentication failed: bad credentials (mechanism PLAIN) "
                    "(amqp:unauthorized-access)"), line


def test_address_not_found_against_rabbitmq(cli: Cli) -> None:
    # RabbitMQ 3.10: /amq/queue/NAME names an existing queue; it ends the session with
    # amqp:not-found when there is none. (The embedded broker, proton and rhea create
    # queues on first use.)
    peer = start("rabbitmq")
    address = f"/amq/queue/missing-{uuid.uuid4().hex[:8]}"
    result = cli("receive", f"amqp://127.0.0.1:{peer.port}", address, "--timeout", "5")
    assert result.code == 6
    line = one_error_line(result)
    assert line.startswith(f"amqp10: error: address not found: {address} (amqp:not-found")


def test_tls_verification_failure(cli: Cli, cert: tuple[Path, Path]) -> None:
    peer = tls_peer(cert)
    try:
        result = cli("send", f"amqps://localhost:{peer.port}", "q", "--body", "x", "--sasl",
                     "none")
    finally:
        peer.close()
    assert result.code == 5
    line = one_error_line(result)
    assert line.startswith("amqp10: error: TLS certificate verification failed: "), line
    assert f"localhost:{peer.port}" in line


def test_tls_with_the_ca_or_without_verification(cli: Cli, cert: tuple[Path, Path]) -> None:
    for options in (["--ca", str(cert[1])], ["--no-verify"]):
        peer = tls_peer(cert)
        try:
            result = cli("send", f"amqps://localhost:{peer.port}", "q", "--body", "over tls",
                         "--sasl", "none", *options)
        finally:
            peer.close()
        assert result.code == 0, result.err
        assert peer.received == [b"over tls"]


def tls_peer(cert: tuple[Path, Path]) -> FakePeer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert[1]), str(cert[0]))
    return FakePeer(ssl_context=context)


def test_a_rejected_message(cli: Cli) -> None:
    peer = FakePeer()  # settles a body of b"reject" as rejected
    try:
        result = cli("send", peer.url, "q", "--body", "reject", "--sasl", "none")
    finally:
        peer.close()
    assert result.code == 8
    assert one_error_line(result) == ("amqp10: error: message 1: the peer rejected the message: "
                                      "amqp:precondition-failed: no thanks")


def test_fewer_messages_than_count_is_a_timeout(cli: Cli, broker: RunningBroker, q: str) -> None:
    assert cli("send", broker.url, q, "--body", "only one").code == 0
    result = cli("receive", broker.url, q, "--count", "2", "--timeout", "0.3")
    assert result.code == 7
    assert result.out == b"only one\n"
    assert one_error_line(result) == (f"amqp10: error: timed out: received 1 of 2 messages "
                                      f"from '{q}' (none for 0.3 s)")


@pytest.mark.parametrize(("argv", "text"), [
    (["send", "http://127.0.0.1", "q", "--body", "x"], "unsupported URL scheme 'http'"),
    (["send", "amqp://127.0.0.1:1", "q", "--property", "novalue"], "use key=value"),
    (["send", "amqp://127.0.0.1:1", "q", "--property", "n:int=five"], "not a int"),
    # An unknown TYPE is a mistake, not a string property named "a:b".
    (["send", "amqp://127.0.0.1:1", "q", "--property", "a:b=c"], "unknown type 'b'"),
    (["receive", "amqp://127.0.0.1:1", "q", "--ca", "ca.pem"], "are for amqps:// URLs"),
    (["receive", "amqp://127.0.0.1:1", "q", "--sasl", "plain"], "--sasl plain needs --user"),
    # PLAIN in clear text to a host that is not loopback: refused before connecting.
    (["send", "amqp://u:p@192.0.2.1", "q", "--body", "x"], "--allow-plain-without-tls"),
])
def test_bad_arguments(cli: Cli, argv: list[str], text: str) -> None:
    result = cli(*argv)
    assert result.code == 2
    assert text in one_error_line(result)


def test_argparse_errors_return_2(cli: Cli) -> None:
    result = cli("send", "amqp://127.0.0.1")
    assert result.code == 2 and "required: address" in result.err
    assert cli("receive", "amqp://x", "q", "--timeout", "-1").code == 2
    assert cli().code == 2  # no command: the help, on stderr


def wait_for(stream: object, marker: bytes, timeout: float = 10) -> str:
    """Read a child's pipe until ``marker`` shows (or fail after ``timeout``)."""
    fd = stream.fileno()  # type: ignore[attr-defined]
    seen = b""
    end = time.monotonic() + timeout
    while marker not in seen:
        left = end - time.monotonic()
        assert left > 0, f"no {marker!r} within {timeout} s: {seen!r}"
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 4096)
            assert chunk, f"the stream ended before {marker!r}: {seen!r}"
            seen += chunk
    return seen.decode(errors="replace")


def test_a_closed_stdout_ends_quietly_and_leaves_the_rest_queued(
        cli: Cli, broker: RunningBroker, q: str) -> None:
    n = 300
    body = "x" * 2000  # 600 kB in all: more than a pipe holds
    assert cli("send", broker.url, q, "--body", body, "--count", str(n)).code == 0
    proc = subprocess.Popen([AMQP10, "receive", broker.url, q, "--timeout", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env())
    try:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # as `| head -1` does
        code = proc.wait(15)
        err = proc.stderr.read().decode()
    finally:
        proc.kill()
        proc.wait()
    assert first == body.encode() + b"\n"
    assert code == 141
    assert err == "", err
    # At least once: messages are accepted only after stdout took them (flushed), so
    # what the write failed on, and everything after, is still queued.
    left = cli("receive", broker.url, q, "--timeout", "0.5")
    assert 0 < len(left.lines) <= n
    assert set(left.lines) == {body}


def exit_codes(cli: Cli, *command: str) -> set[int]:
    """The codes the exit status table of ``amqp10 [COMMAND] --help`` lists."""
    text = cli(*command, "--help")
    assert text.code == 0
    return {int(line.split()[0]) for line in text.out.decode().split("exit status:")[1]
            .splitlines() if line.strip()}


def test_each_help_lists_only_the_exit_codes_its_command_can_return(cli: Cli) -> None:
    client = {0, 1, 2, 3, 4, 5, 6, 7, 130}
    assert exit_codes(cli, "send") == client | {8}  # send writes nothing to stdout: no 141
    assert exit_codes(cli, "receive") == client | {141}  # receive sends nothing: no 8
    assert exit_codes(cli, "broker") == {0, 1, 2, 3, 130}
    assert exit_codes(cli, "demo") == {int(code) for code in ExitCode}
    assert exit_codes(cli) == {int(code) for code in ExitCode}  # amqp10 --help: all


def test_the_docs_table_of_exit_codes_matches_each_help(cli: Cli) -> None:
    """docs/cli.md says which command returns which code: as their --help tables do."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    commands = ("send", "receive", "broker", "demo")
    documented: dict[str, set[int]] = {c: set() for c in commands}
    for row in page.split("| code | meaning | returned by |")[1].split("\n\n")[0].splitlines():
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        if not cells[0].isdigit():
            continue
        for command in commands if cells[-1] == "all" else cells[-1].split(", "):
            documented[command].add(int(cells[0]))
    for command in commands:
        assert documented[command] == exit_codes(cli, command), command
