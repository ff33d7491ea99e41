"""Start and stop the real AMQP 1.0 peers of ../shared/peers for the interop tests.

Each peer is started once per test session on its own loopback port, by the
scripts in ``shared/peers`` (which install what they need on first use). A peer
that cannot start fails its tests loudly: interop tests are never skipped.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
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


# Ports: RabbitMQ also binds PORT+20000 for Erlang distribution, so keep clear of that.
PEERS = {
    "qpid-broker": Peer("qpid-broker", 35801, presettles_deliveries=True),
    "rabbitmq": Peer("rabbitmq", 35802, sasl=("ANONYMOUS", "PLAIN"), plain=("guest", "guest")),
    "proton-broker": Peer("proton-broker", 35803, dynamic=True, drain=True, modified=True,
                          rcv_settle_second=False),
    "rhea-broker": Peer("rhea-broker", 35804, sasl=("ANONYMOUS", "PLAIN"),
                        plain=("guest", "guest"), dynamic=True, drain=True, modified=True),
}

_started: set[str] = set()  # peers this test session started (and will stop)
_checked: set[str] = set()  # peers known to be up


def start(name: str) -> Peer:
    """Start (or find running) the named peer; raise with its output if it cannot start."""
    peer = PEERS[name]
    if name not in _checked:
        script = PEERS_DIR / f"start-{name}"
        if not script.exists():
            raise RuntimeError(f"no peer script {script}: is ../shared/peers beside the repo?")
        proc = subprocess.run(["bash", str(script), str(peer.port)], capture_output=True,
                              text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"{name} did not start (exit {proc.returncode}):\n"
                               f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        if "already running" not in proc.stderr:
            _started.add(name)  # ours to stop; one found running belongs to someone else
        _checked.add(name)
    return peer


def stop_all() -> None:
    for name in sorted(_started):
        subprocess.run(["bash", str(PEERS_DIR / f"stop-{name}"), str(PEERS[name].port)],
                       capture_output=True, timeout=120)
    _started.clear()
    _checked.clear()
