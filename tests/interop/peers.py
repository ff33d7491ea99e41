"""Start and stop the real AMQP 1.0 peers of ../shared/peers for the interop tests.

Each peer is started once per test session on its own loopback port, by the
scripts in ``shared/peers`` (which install what they need on first use), or, for
``amqp10-broker`` (this repository's embedded broker), as a child process of this
interpreter. A peer that cannot start fails its tests loudly: interop tests are
never skipped.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEERS_DIR = Path(os.environ.get("AMQP10_PEERS_DIR", ROOT.parent / "shared" / "peers"))


@dataclass(frozen=True)
class Peer:
    """A running peer: where it listens and what it supports."""

    name: str
    port: int
    sasl: tuple[str, ...] = ("ANONYMOUS",)
    plain: tuple[str, str] | None = None  # user, password it accepts
    dynamic: bool = False
    drain: bool = False
    modified: bool = False
    rcv_settle_second: bool = False
    presettles_deliveries: bool = False
    quirks: dict[str, str] = field(default_factory=dict)
    #: Its AMQP-over-WebSocket listener's port (``ws://127.0.0.1:PORT/``), if it has one.
    ws_port: int | None = None
    #: The start-/stop- script's peer name, when it differs from ``name``.
    script: str = ""

    @property
    def script_name(self) -> str:
        return self.script or self.name


# Ports: RabbitMQ also binds PORT+20000 for Erlang distribution, so keep clear of that.
PEERS = {
    "qpid-broker": Peer("qpid-broker", 35801, presettles_deliveries=True),
    "rabbitmq": Peer("rabbitmq", 35802, sasl=("ANONYMOUS", "PLAIN"), plain=("guest", "guest")),
    "proton-broker": Peer("proton-broker", 35803, dynamic=True, drain=True, modified=True,
                          rcv_settle_second=False),
    "rhea-broker": Peer("rhea-broker", 35804, sasl=("ANONYMOUS", "PLAIN"),
                        plain=("guest", "guest"), dynamic=True, drain=True, modified=True),
    "amqp10-broker": Peer("amqp10-broker", 35805, sasl=("ANONYMOUS", "PLAIN"),
                          plain=("guest", "guest"), dynamic=True, drain=True, modified=True,
                          rcv_settle_second=True),
}

#: Peers with an AMQP-over-WebSocket listener, for tests/ws (not in PEERS: the adapters'
#: interop suites run against every peer there). A rhea broker of its own, started as
#: ``start-rhea-broker PORT WS_PORT``: the shared one on 35804 may already run without
#: the listener, and a second start cannot add it.
WS_PEERS = {
    "rhea-broker-ws": Peer("rhea-broker-ws", 35806, sasl=("ANONYMOUS", "PLAIN"),
                           plain=("guest", "guest"), dynamic=True, drain=True, modified=True,
                           ws_port=35807, script="rhea-broker"),
}
_ALL = {**PEERS, **WS_PEERS}

#: Peers run from this repository, as a command (with the port appended) to run.
IN_REPO = {
    "amqp10-broker": [sys.executable, "-m", "amqp10_cli", "broker", "--user", "guest:guest",
                      "--allow-anonymous", "--port"],
}

_started: set[str] = set()  # peers this test session started (and will stop)
_checked: set[str] = set()  # peers known to be up
_procs: dict[str, subprocess.Popen[bytes]] = {}  # in-repo peers this session runs
_own: set[tuple[str, int]] = set()  # second instances this session started (start_own)

#: The port of the tests' own RabbitMQ node, for tests that crash its channels.
RABBITMQ_OWN_PORT = 35819


def answers_amqp(port: int, timeout: float = 2.0) -> bool:
    """Whether 127.0.0.1:PORT answers the AMQP 1.0 SASL protocol header with an AMQP header."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"AMQP\x03\x01\x00\x00")
            reply = b""
            while len(reply) < 8:
                chunk = s.recv(8 - len(reply))
                if not chunk:
                    break
                reply += chunk
    except OSError:
        return False
    return reply[:4] == b"AMQP" and reply[5:8] == b"\x01\x00\x00"


def _start_in_repo(name: str, timeout: float = 30.0) -> None:
    """Run an in-repo peer as a child process and wait until its port answers AMQP.

    One already answering on the port (another test session's) is used as it is.
    """
    peer = PEERS[name]
    if answers_amqp(peer.port):
        return
    fd, log_path = tempfile.mkstemp(prefix=f"{name}-{peer.port}-", suffix=".log")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                      env.get("PYTHONPATH")]))
    with os.fdopen(fd, "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([*IN_REPO[name], str(peer.port)], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                start_new_session=True)
    deadline = time.monotonic() + timeout
    while not answers_amqp(peer.port):
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            elif answers_amqp(peer.port):
                return  # lost a race to another session's start: use theirs
            output = Path(log_path).read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name} did not start on port {peer.port} (exit "
                               f"{proc.returncode}):\n{output}")
        time.sleep(0.05)
    _procs[name] = proc
    _started.add(name)


def start(name: str) -> Peer:
    """Start (or find running) the named peer; raise with its output if it cannot start."""
    peer = _ALL[name]
    if name in IN_REPO:
        if name not in _checked or (name in _procs and _procs[name].poll() is not None):
            _procs.pop(name, None)
            _start_in_repo(name)
            _checked.add(name)
        return peer
    if name not in _checked:
        script = PEERS_DIR / f"start-{peer.script_name}"
        if not script.exists():
            raise RuntimeError(f"no peer script {script}: is ../shared/peers beside the repo?")
        ports = [str(peer.port)] + ([] if peer.ws_port is None else [str(peer.ws_port)])
        proc = subprocess.run(["bash", str(script), *ports], capture_output=True,
                              text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"{name} did not start (exit {proc.returncode}):\n"
                               f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        if "already running" not in proc.stderr:
            _started.add(name)  # ours to stop; one found running belongs to someone else
        _checked.add(name)
    return peer


def start_own(name: str, port: int) -> Peer:
    """A second instance of a shared peer, on a port of its own, for a test that breaks it.

    RabbitMQ 3.10 crashes a session's channel on a drain it cannot do; a node that had
    that happen has been seen to answer a later session's end only after 30 s. Tests
    that provoke it run here, so the shared node never sees the crash. Stopped with
    the others by :func:`stop_all`.
    """
    if (name, port) not in _own:
        proc = subprocess.run(["bash", str(PEERS_DIR / f"start-{name}"), str(port)],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"{name} did not start on port {port} (exit {proc.returncode}):"
                               f"\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        _own.add((name, port))
    return replace(PEERS[name], port=port)


def stop_all() -> None:
    for name, port in sorted(_own):
        subprocess.run(["bash", str(PEERS_DIR / f"stop-{name}"), str(port)],
                       capture_output=True, timeout=120)
    _own.clear()
    for name in sorted(_started):
        proc = _procs.pop(name, None)
        if proc is not None:
            proc.terminate()  # SIGTERM: the broker closes its connections and exits
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            continue
        subprocess.run(["bash", str(PEERS_DIR / f"stop-{_ALL[name].script_name}"),
                        str(_ALL[name].port)], capture_output=True, timeout=120)
    _started.clear()
    _checked.clear()
