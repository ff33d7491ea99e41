"""Peers of a test's own, on the ports 35811-35819 kept for them: to kill, or to run idle.

The shared peers of :mod:`tests.interop.peers` must never be killed or reconfigured;
a test that SIGKILLs its broker, or needs one with a short idle timeout, starts its
own instance of the same broker script here and stops (or kills) only that process.

- ``proton-broker``: ``../shared/peers/proton_broker.py`` run by this interpreter
  (python-qpid-proton is a dev dependency), through ``proton_broker_idle.py`` when
  an idle timeout is asked for.
- ``rhea-broker``: ``../shared/peers/rhea_broker.js`` on node, through
  ``rhea_broker_idle.js`` when an idle timeout is asked for (rhea itself is the one
  ``start-rhea-broker`` installs).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .peers import PEERS_DIR

__all__ = ["IDLE", "OWN_PORTS", "OwnPeer", "heartbeats", "running_idle_peers"]

HERE = Path(__file__).resolve().parent
OWN_PORTS = range(35811, 35820)
NODE_DIR = Path(os.environ.get("PEERS_NODE_DIR", "/tmp/peers-node"))
#: The idle timeout (s) of the idle tests: short, so holding three of them stays cheap.
IDLE = 1.0


def heartbeats(records: list[logging.LogRecord], label: str, direction: str) -> int:
    """Empty frames the frame trace logged on connection ``label`` going ``direction`` (-> <-)."""
    line = f"{label} {direction} [0] empty frame (heartbeat)"
    return sum(1 for r in records if r.name == "amqp10.trace" and r.getMessage() == line)


def _ensure_rhea() -> None:
    """Install rhea the way the shared scripts do (starting the shared rhea peer)."""
    if (NODE_DIR / "node_modules" / "rhea" / "package.json").exists():
        return
    from tests.trio_.conftest import start  # reuses the shared peer if it runs

    start("rhea-broker")


class OwnPeer:
    """A broker process this test started on one of its own ports; ``kill()`` SIGKILLs it.

    ``idle_timeout`` (seconds) makes the broker require a frame from us at least
    that often (proton: ``transport.idle_timeout``; rhea: ``idle_time_out``).
    """

    def __init__(self, kind: str, port: int, idle_timeout: float | None = None) -> None:
        if port not in OWN_PORTS:
            raise ValueError(f"port {port} is not one of this test's own ({OWN_PORTS})")
        self.kind = kind
        self.port = port
        self.idle_timeout = idle_timeout
        fd, log_path = tempfile.mkstemp(prefix=f"{kind}-{port}-", suffix=".log")
        self._log_path = Path(log_path)
        env = dict(os.environ)
        if kind == "proton-broker":
            script = HERE / "proton_broker_idle.py" if idle_timeout else \
                PEERS_DIR / "proton_broker.py"
            argv = [sys.executable, "-u", str(script), "--port", str(port)]
            env["PROTON_BROKER_PATH"] = str(PEERS_DIR / "proton_broker.py")
            env["PROTON_BROKER_IDLE_TIMEOUT"] = str(idle_timeout or "")
        elif kind == "rhea-broker":
            _ensure_rhea()
            script = HERE / "rhea_broker_idle.js" if idle_timeout else \
                PEERS_DIR / "rhea_broker.js"
            argv = ["node", str(script), str(port)]
            env["NODE_PATH"] = str(NODE_DIR / "node_modules")
            env["RHEA_BROKER_PATH"] = str(PEERS_DIR / "rhea_broker.js")
            env["RHEA_BROKER_IDLE_TIME_OUT_MS"] = str(int((idle_timeout or 0) * 1000))
        else:
            raise ValueError(f"no own {kind!r}: only proton-broker and rhea-broker")
        with os.fdopen(fd, "wb") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        ready = subprocess.run([sys.executable, str(PEERS_DIR / "amqp_wait.py"), str(port),
                                "30", "127.0.0.1", str(self.proc.pid)],
                               capture_output=True, text=True, timeout=60)
        if ready.returncode != 0:
            self.stop()
            raise RuntimeError(f"our own {kind} did not come up on port {port}:\n"
                               f"{ready.stdout}{ready.stderr}\n{self.output()[-3000:]}")

    @property
    def url(self) -> str:
        return f"amqp://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        """What the broker printed (its log), for failure messages."""
        return self._log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the broker (this process only: the one this object started)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log_path.unlink(missing_ok=True)

    def __enter__(self) -> OwnPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_idle_peers(ports: dict[str, int]) -> Iterator[list[OwnPeer]]:
    """Our own brokers (kind -> port) with an idle timeout of IDLE, stopped afterwards."""
    peers: list[OwnPeer] = []
    try:
        for kind, port in ports.items():
            peers.append(OwnPeer(kind, port, idle_timeout=IDLE))
        yield peers
    finally:
        for p in peers:
            p.stop()
