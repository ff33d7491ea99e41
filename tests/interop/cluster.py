"""The three-node RabbitMQ 3.10 cluster with quorum queues, for failover tests (issue 9).

Started once per test run by the ``../shared/peers`` scripts (``start-rabbitmq-cluster``,
about 25 s) on the ports in :data:`PORTS`, and stopped at the end if this run started it.
Import the fixture into a conftest (or a test module)::

    from tests.interop.cluster import rabbitmq_cluster  # noqa: F401

and take ``rabbitmq_cluster`` (a :class:`Cluster`) as an argument. Quorum
queues are declared with :meth:`Cluster.declare_quorum` and attached to as
``/amq/queue/NAME`` on any node (``/queue/NAME`` would re-declare it as classic and end
the session). A cluster that cannot start fails the tests loudly: interop tests are never
skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .peers import PEERS_DIR, answers_amqp

__all__ = ["CLUSTER", "PORTS", "Cluster", "rabbitmq_cluster"]

#: AMQP ports of the three nodes; each also binds PORT+20000 for Erlang distribution.
#: Clear of tests/interop/peers.py's 35801-35819.
PORTS = (35821, 35822, 35823)
PEERS_STATE = Path(os.environ.get("PEERS_STATE_DIR", "/tmp/peers-state"))
_NODE = re.compile(r"amqp10_(\d+)@")


class Cluster:
    """The cluster on ``ports``: start, stop, crash and restart its nodes, declare queues."""

    def __init__(self, ports: tuple[int, int, int] = PORTS) -> None:
        self.ports = ports
        self.started_by_us = False

    def urls(self) -> list[str]:
        """``amqp://127.0.0.1:PORT`` of each node, node 1 first."""
        return [f"amqp://127.0.0.1:{port}" for port in self.ports]

    # -- the whole cluster -------------------------------------------------------------------

    def start_cluster(self) -> None:
        """Start the cluster (or find it running; then it is not ours to stop)."""
        proc = self._script("start-rabbitmq-cluster", *self.ports, timeout=900)
        if "already running" not in proc.stderr:
            self.started_by_us = True

    def stop_cluster(self) -> None:
        """Stop the three nodes, if this process started them."""
        if self.started_by_us:
            self._script("stop-rabbitmq-cluster", *self.ports, timeout=180)
            self.started_by_us = False

    def ensure_up(self) -> None:
        """Restart any node that is down (one killed by a test that then failed)."""
        down = [port for port in self.ports if not answers_amqp(port, timeout=1.0)]
        if len(down) == len(self.ports):
            self.start_cluster()  # all gone: only a fresh start brings them back
        else:
            for port in down:
                self.start(port)

    # -- one node ----------------------------------------------------------------------------

    def kill(self, port: int) -> None:
        """SIGKILL the node on ``port`` (a crash: its connections just drop). State is kept."""
        self._script("rabbitmq-cluster-node", "kill", self._member(port), timeout=60)

    def start(self, port: int) -> None:
        """Restart a killed node; it rejoins. Returns once it answers AMQP and is listed running."""
        self._script("rabbitmq-cluster-node", "start", self._member(port), timeout=600)

    def status(self) -> str:
        """Each node's state, the running nodes and the queues with leader and members."""
        return self._script("rabbitmq-cluster-node", "status", self.ports[0], timeout=60).stdout

    def wait_amqp(self, port: int, timeout: float = 60.0) -> None:
        """Wait until ``port`` answers the AMQP protocol header (TimeoutError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while not answers_amqp(port, timeout=1.0):
            if time.monotonic() > deadline:
                raise TimeoutError(f"127.0.0.1:{port} did not answer AMQP within {timeout} s")
            time.sleep(0.1)

    # -- queues ------------------------------------------------------------------------------

    def declare_quorum(self, name: str, via_port: int | None = None) -> None:
        """Declare the durable quorum queue ``name``; its first leader is ``via_port``'s node."""
        self._script("rabbitmq-cluster-declare-quorum", self._member(via_port or self.ports[0]),
                     name, timeout=120)

    def leader(self, name: str) -> int:
        """The AMQP port of the node that leads quorum queue ``name`` now."""
        for line in self._ctl("list_queues", "name", "leader").splitlines():
            fields = line.split("\t")
            if len(fields) == 2 and fields[0] == name and (m := _NODE.search(fields[1])):
                return int(m.group(1))
        raise LookupError(f"no quorum queue {name!r} with a leader in the cluster")

    def delete_queue(self, name: str) -> None:
        self._ctl("delete_queue", name)

    # -- running the scripts -----------------------------------------------------------------

    def _member(self, port: int) -> int:
        if port not in self.ports:
            raise ValueError(f"port {port} is not a node of this cluster ({self.ports})")
        return port

    def _ctl(self, *args: str) -> str:
        """``rabbitmqctl -q ARGS`` on a running node, with that node's environment."""
        for port in self.ports:
            if answers_amqp(port, timeout=1.0):
                env = PEERS_STATE / f"rabbitmq-{port}" / "env"
                proc = subprocess.run(
                    ["bash", "-c", 'set -a; . "$0"; exec /usr/lib/rabbitmq/bin/rabbitmqctl -q "$@"',
                     str(env), *args], capture_output=True, text=True, timeout=120)
                if proc.returncode != 0:
                    raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed (exit "
                                       f"{proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
                return proc.stdout
        raise RuntimeError(f"no node of the cluster on {self.ports} is running")

    def _script(self, name: str, *args: object,
                timeout: float) -> subprocess.CompletedProcess[str]:
        script = PEERS_DIR / name
        if not script.exists():
            raise RuntimeError(f"no peer script {script}: is ../shared/peers beside the repo?")
        proc = subprocess.run(["bash", str(script), *map(str, args)], capture_output=True,
                              text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{name} {' '.join(map(str, args))} failed (exit "
                               f"{proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc


#: The cluster of this test run.
CLUSTER = Cluster()


@pytest.fixture(scope="session")
def rabbitmq_cluster() -> Iterator[Cluster]:
    """The cluster, started once per run (stopped at its end if this run started it).

    A test that kills a node restarts it (``finally``), or calls :meth:`Cluster.ensure_up`
    first to recover from an earlier test that could not.
    """
    CLUSTER.start_cluster()
    try:
        yield CLUSTER
    finally:
        CLUSTER.stop_cluster()
