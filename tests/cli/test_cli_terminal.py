"""``send`` and ``receive`` with a person at a terminal: what they are told and asked.

Reading lines from a terminal says so (Ctrl-D ends); empty input sends nothing
and says so; ``--user`` without a password asks for it on the terminal (never
echoed) and refuses where there is none; Ctrl-C says how far it got, then 130.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import amqp10_sync
from amqp10_cli import RunningBroker
from amqp10_cli._cli_common import ExitCode
from amqp10_proto import Message
from tests.certs import Pki, make_pki
from tests.serverpeer import ExternalCheck, ServerPeer

from .conftest import AMQP10, Cli, child_env, one_error_line
from .test_cli_errors import wait_for

#: Runs argv[2:] in a new session whose controlling terminal is the pty argv[1], with
#: that pty as stdin: what a shell in a terminal window does for a command.
ON_TTY = ("import os, sys; fd = os.open(sys.argv[1], os.O_RDWR); os.dup2(fd, 0); "
          "os.execv(sys.argv[2], sys.argv[2:])")


@contextmanager
def on_a_terminal(*argv: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``argv`` with a pty as its terminal and stdin; the child and the pty's master side."""
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-c", ON_TTY, os.ttyname(slave), *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(),
                            start_new_session=True)
    try:  # the slave side stays open here too: reading the master never meets EIO
        yield proc, master
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(slave)
        os.close(master)


def read_until(fd: int, marker: bytes, timeout: float = 10) -> bytes:
    seen = b""
    end = time.monotonic() + timeout
    while marker not in seen:
        left = end - time.monotonic()
        assert left > 0 and select.select([fd], [], [], left)[0], f"no {marker!r}: {seen!r}"
        seen += os.read(fd, 4096)
    return seen


def test_send_from_a_terminal_says_it_reads_lines_until_ctrl_d(broker: RunningBroker,
                                                               q: str) -> None:
    with on_a_terminal(AMQP10, "send", broker.url, q) as (proc, master):
        assert proc.stderr is not None
        told = wait_for(proc.stderr, b"(Ctrl-D to end)\n")
        os.write(master, b"one\ntwo\n\x04")  # Ctrl-D at the start of a line: end of input
        code = proc.wait(15)
        rest = proc.stderr.read().decode()
    assert told == "amqp10: reading messages from standard input, one per line (Ctrl-D to end)\n"
    assert code == 0, rest
    assert rest.startswith(f"sent 2 messages to '{q}' in ")


def test_empty_input_sends_nothing_and_says_so(cli: Cli, broker: RunningBroker, q: str) -> None:
    for argv in ([], ["--file", "-"], ["--json"]):
        result = cli("send", broker.url, q, *argv, stdin=b"")
        assert result.code == 0, result.err
        assert result.err == f"sent nothing to '{q}': standard input was empty\n"
    assert cli("receive", broker.url, q, "--timeout", "0.3").out == b""  # nothing queued
    # An empty message is still possible: --body ''.
    assert cli("send", broker.url, q, "--body", "").code == 0
    assert cli("receive", broker.url, q, "--timeout", "0.3").out == b"\n"


def test_user_without_a_password_is_asked_on_the_terminal_unechoed(broker: RunningBroker,
                                                                   q: str) -> None:
    with on_a_terminal(AMQP10, "send", broker.url, q, "--body", "x", "--user", "guest") as (
            proc, master):
        prompt = read_until(master, b"password for guest: ")
        os.write(master, b"guest\n")
        code = proc.wait(15)
        after = b""
        while select.select([master], [], [], 0.2)[0]:
            after += os.read(master, 4096)
        assert proc.stderr is not None
        err = proc.stderr.read().decode()
    assert prompt.endswith(b"password for guest: ")
    assert code == 0, err
    assert b"guest" not in after  # the typed password is not echoed
    assert err.startswith(f"sent 1 message to '{q}' in ")


def test_user_without_a_password_and_no_terminal_is_refused(
        cli: Cli, broker: RunningBroker, q: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMQP10_PASSWORD", raising=False)
    result = cli("send", broker.url, q, "--body", "x", "--user", "guest")  # stdin: a pipe
    assert result.code == ExitCode.USAGE
    assert one_error_line(result) == (
        "amqp10: error: no password for --user guest: give --password, set AMQP10_PASSWORD "
        "or put user:password@ in the URL (there is no terminal to ask on)")
    monkeypatch.setenv("AMQP10_PASSWORD", "guest")
    assert cli("send", broker.url, q, "--body", "x", "--user", "guest").code == 0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_sasl_external_with_a_client_certificate(cli: Cli, pki: Pki) -> None:
    check = ExternalCheck()
    cert, key = (str(p) for p in pki.client)
    with ServerPeer(ssl_context=pki.server_context(), sasl=check) as server:
        result = cli("send", f"amqps://localhost:{server.port}", "q", "--body", "as me",
                     "--sasl", "external", "--cert", cert, "--key", key, "--ca", str(pki.ca))
        assert result.code == 0, result.err
        assert [m.body for m in server.received] == [b"as me"]
    assert server.sasl_server is not None and server.sasl_server.mechanism == "EXTERNAL"


@pytest.mark.parametrize(("argv", "text"), [
    (["amqps://localhost:1", "q", "--sasl", "external"], "--sasl external needs a client "
                                                         "certificate"),
    (["amqp://localhost:1", "q", "--cert", "c.pem"], "are for amqps:// URLs"),
    (["amqps://localhost:1", "q", "--key", "k.pem"], "--key goes with --cert"),
    (["amqps://localhost:1", "q", "--cert", "/nonexistent.pem"], "cannot load --cert/--key"),
])
def test_client_certificate_options_are_checked(cli: Cli, argv: list[str], text: str) -> None:
    result = cli("send", *argv, "--body", "x")
    assert result.code == ExitCode.USAGE
    assert text in one_error_line(result)


def test_ctrl_c_in_receive_says_how_many_came(broker: RunningBroker, q: str) -> None:
    with amqp10_sync.open_connection(broker.url, timeout=10) as conn, \
            conn.open_session() as session, session.open_sender(q) as sender:
        for i in range(3):
            sender.send(Message(f"m{i}".encode()))
    proc = subprocess.Popen([AMQP10, "receive", broker.url, q, "--timeout", "inf"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env())
    try:
        assert proc.stdout is not None and proc.stderr is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        time.sleep(0.3)  # flushed and accepted: into the wait for more
        proc.send_signal(signal.SIGINT)
        code = proc.wait(10)
        err = proc.stderr.read().decode()
    finally:
        proc.kill()
        proc.wait()
    assert lines == [b"m0\n", b"m1\n", b"m2\n"]
    assert code == ExitCode.INTERRUPTED
    assert err == f"amqp10: interrupted: received 3 messages from '{q}'\n"


def test_ctrl_c_in_send_says_how_many_went(broker: RunningBroker, q: str) -> None:
    proc = subprocess.Popen([AMQP10, "send", broker.url, q], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=child_env())
    try:
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write(b"one\ntwo\n")
        proc.stdin.flush()
        with amqp10_sync.open_connection(broker.url, timeout=10) as conn, \
                conn.open_session() as session, session.open_receiver(q) as receiver:
            got = [receiver.receive(timeout=10) for _ in range(2)]  # the broker has them
        time.sleep(0.3)  # its dispositions reach the sender
        proc.send_signal(signal.SIGINT)  # while it reads more lines
        code = proc.wait(10)
        err = proc.stderr.read().decode()
    finally:
        proc.kill()
        proc.wait()
    assert [m.body for m in got] == [b"one", b"two"]
    assert code == ExitCode.INTERRUPTED
    assert err == f"amqp10: interrupted: sent 2 messages to '{q}', all accepted\n"


def test_ctrl_c_before_anything_was_sent() -> None:
    """Ctrl-C while connecting (to a peer that never answers): 0 sent, said once."""
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        url = f"amqp://127.0.0.1:{silent.getsockname()[1]}"
        proc = subprocess.Popen([AMQP10, "send", url, "q", "--body", "x"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=child_env())
        assert proc.stderr is not None
        silent.settimeout(10)
        client, _ = silent.accept()  # it is connecting: waiting for our protocol header
        proc.send_signal(signal.SIGINT)
        code = proc.wait(10)
        err = proc.stderr.read().decode()
        client.close()
    finally:
        silent.close()
    assert code == ExitCode.INTERRUPTED
    assert err == "amqp10: interrupted: sent 0 messages to 'q'\n"
