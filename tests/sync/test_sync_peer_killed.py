"""A broker killed in the middle of a transfer: every pending send fails, nothing hangs."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import amqp10_sync
from amqp10_proto import Message
from amqp10_proto.errors import ConnectionClosedError
from tests.interop.peers import PEERS_DIR

PORT = 35851  # a broker of its own: this test kills it


@pytest.fixture
def doomed_broker() -> object:
    start = subprocess.run(["bash", str(PEERS_DIR / "start-proton-broker"), str(PORT)],
                           capture_output=True, text=True, timeout=300)
    assert start.returncode == 0, start.stderr[-2000:]
    pid_file = Path(os.environ.get("PEERS_STATE_DIR", "/tmp/peers-state")) / (
        f"proton-broker-{PORT}") / "broker.pid"
    yield int(pid_file.read_text().strip())
    subprocess.run(["bash", str(PEERS_DIR / "stop-proton-broker"), str(PORT)],
                   capture_output=True, timeout=60)


def test_pending_sends_fail_with_connection_closed_when_the_broker_dies(doomed_broker: int) -> None:
    conn = amqp10_sync.open_connection(f"amqp://127.0.0.1:{PORT}", timeout=10,
                                       reconnect=False)
    sender = conn.open_session().open_sender("doomed")
    sender.send(Message(b"warm-up"), timeout=10)
    big = b"x" * (4 << 20)  # 4 MiB each: still in flight when the broker goes
    outcomes: list[BaseException | None] = []
    lock = threading.Lock()

    def send_one() -> None:
        try:
            sender.send(Message(big), timeout=15)
            result: BaseException | None = None
        except BaseException as exc:  # recorded and checked below
            result = exc
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=send_one) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    os.kill(doomed_broker, signal.SIGKILL)
    t0 = time.monotonic()
    for t in threads:
        t.join(timeout=20)
    assert not any(t.is_alive() for t in threads), "a send hung after the broker died"
    assert time.monotonic() - t0 < 16
    failures = [o for o in outcomes if o is not None]
    assert failures, "the broker died, yet every 4 MiB send was settled"
    assert all(isinstance(o, ConnectionClosedError) for o in failures), failures
    assert conn.closed
    conn.close(timeout=2)
