"""What the benchmarks share: timing, the Qpid C broker, the machine's load, the anchors' helpers.

The benches are scripts (``python bench/NAME.py``), so this module is imported as
``_bench`` from the script's own directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PEERS = Path(os.environ.get("AMQP10_PEERS_DIR", ROOT.parent / "shared" / "peers"))
#: The Azure SDK's venv that shared/peers makes (azure-servicebus 7.15.0: ``_pyamqp``).
AZURE_PYTHON = Path(os.environ.get("PEERS_WS_VENV", "/tmp/ws-venv")) / "bin" / "python"
AZURE_ANCHOR = Path(__file__).resolve().parent / "_azure_anchor.py"
BODY = b"x" * 1024


class Measure:
    """Wall time and this process's CPU time of a block."""

    def __enter__(self) -> Measure:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def machine() -> str:
    """One line naming the interpreter, the CPU count and the load average now."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"load average {load}")


def max_rss_bytes() -> int:
    """This process's peak resident set size so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


#: ``--placement``: the broker's CPU and the client's (this process and its children).
#: A ping-pong of small credit windows runs at one rate when the two share a CPU (a
#: hand-off, no wake-up of an idle CPU) and at about half when they do not; "any"
#: leaves it to the scheduler, which mostly splits them, and moves between the two.
PLACEMENTS: dict[str, tuple[int, int] | None] = {"any": None, "same": (0, 0), "split": (1, 0)}


def add_placement_arg(ap: Any) -> None:
    """The ``--placement`` option of the benches that run the broker."""
    ap.add_argument("--placement", choices=sorted(PLACEMENTS), default="any",
                    help="broker and client on the same CPU, on two, or as the "
                         "scheduler puts them (the default)")


def place(placement: str) -> set[int] | None:
    """Pin this process (the client and the anchors it starts) as ``placement`` says, and
    return the CPUs for the broker (None: unpinned)."""
    cpus = PLACEMENTS[placement]
    if cpus is None:
        return None
    if max(cpus) >= len(os.sched_getaffinity(0)):
        raise SystemExit(f"--placement {placement} needs {max(cpus) + 1} CPUs")
    allowed = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {allowed[cpus[1]]})
    return {allowed[cpus[0]]}


def placement_line(placement: str) -> str:
    """What the table's heading says of where the broker and the client ran."""
    cpus = PLACEMENTS[placement]
    if cpus is None:
        return "placement: as the scheduler puts them"
    return (f"placement: {placement} (broker on CPU {cpus[0]}, client and anchors on CPU "
            f"{cpus[1]})")


def _pinned(cpus: set[int] | None) -> Callable[[], None] | None:
    """A child's pre-exec hook that pins it to ``cpus`` (None: inherit)."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


@contextlib.contextmanager
def qpid_broker(port: int, cpus: set[int] | None = None) -> Iterator[None]:
    """The Qpid Proton C broker on ``port`` for the block (stopped after, if started here),
    pinned to ``cpus`` if given (then it must be started here: a running one's placement is
    unknown)."""
    start = subprocess.run(["bash", str(PEERS / "start-qpid-broker"), str(port)],
                           capture_output=True, text=True, timeout=300,
                           preexec_fn=_pinned(cpus))
    if start.returncode != 0:
        raise RuntimeError(f"start-qpid-broker {port} failed:\n{start.stdout}{start.stderr}")
    ours = "already running" not in start.stderr
    if cpus is not None and not ours:
        raise RuntimeError(f"a broker already runs on {port}: its CPU is not the one "
                           "--placement asks for (stop it, or use another --port)")
    try:
        yield
    finally:
        if ours:
            subprocess.run(["bash", str(PEERS / "stop-qpid-broker"), str(port)],
                           capture_output=True, timeout=60)


@contextlib.contextmanager
def tls_qpid_broker(port: int, workdir: Path, cpus: set[int] | None = None) -> Iterator[Path]:
    """The Qpid C broker on ``port`` serving amqp:// and amqps:// (it tells them apart).

    The broker reads ``ssl-certs/tserver-*.pem`` from its working directory, so this
    makes a CA and a server certificate for 127.0.0.1 there (tests/certs.py) and runs
    the binary start-qpid-broker builds. Yields the CA file to trust.
    """
    sys.path.insert(0, str(ROOT))
    from tests.certs import make_pki

    binary = Path(os.environ.get("PEERS_STATE_DIR", "/tmp/peers-state")) / "qpid-broker-bin" \
        / "qpid-broker"
    if not binary.exists():  # start-qpid-broker builds it on first use
        with qpid_broker(port):
            pass
    pki = make_pki(workdir)
    certs = workdir / "ssl-certs"
    certs.mkdir()
    shutil.copy(pki.server[0], certs / "tserver-certificate.pem")
    shutil.copy(pki.server[1], certs / "tserver-private-key.pem")
    proc = subprocess.Popen([str(binary), "127.0.0.1", str(port)], cwd=workdir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=_pinned(cpus))
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the TLS Qpid broker did not listen on {port}")
            time.sleep(0.05)
        yield pki.ca
    finally:
        proc.terminate()
        proc.wait(10)


async def asyncio_all(*fns: Callable[[], Awaitable[Any]]) -> None:
    """Run the coroutine functions ``fns`` concurrently on asyncio (gather)."""
    import asyncio

    await asyncio.gather(*(fn() for fn in fns))


async def trio_all(*fns: Callable[[], Awaitable[Any]]) -> None:
    """Run the async functions ``fns`` concurrently on trio (a nursery)."""
    import trio

    async with trio.open_nursery() as nursery:
        for fn in fns:
            nursery.start_soon(fn)


def run_container(handler: Any, timeout: float = 300.0) -> None:
    """Run a python-qpid-proton Container to its end, failing (not hanging) after ``timeout``."""
    from proton.reactor import Container

    failure: list[BaseException] = []

    def run() -> None:
        try:
            Container(handler).run()
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"python-qpid-proton did not finish within {timeout} s")
    if failure:
        raise failure[0]


def azure_available() -> bool:
    """Whether the Azure SDK's ``_pyamqp`` can run (its venv made by shared/peers)."""
    return AZURE_PYTHON.exists()


def azure(workload: str, timeout: float = 600.0, **kwargs: Any) -> dict[str, Any]:
    """Run one workload of bench/_azure_anchor.py in the Azure SDK's venv; its JSON result."""
    proc = subprocess.run([str(AZURE_PYTHON), str(AZURE_ANCHOR), workload],
                          input=json.dumps(kwargs), capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"azure anchor {workload} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def child(script: str, args: list[str], timeout: float) -> dict[str, Any]:
    """Run ``python bench/SCRIPT ARGS`` in a fresh interpreter; the JSON of its last line."""
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve().parent / script),
                           *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{script} {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def gcc_build(source: Path, libs: list[str]) -> Path | None:
    """Build a C program into /tmp (once per source version); None without gcc or the library."""
    if shutil.which("gcc") is None:
        return None
    out = Path("/tmp") / f"amqp10-bench-{source.stem}-{int(source.stat().st_mtime)}"
    if not out.exists():
        built = subprocess.run(["gcc", "-O2", "-o", str(out), str(source), *libs],
                               capture_output=True, text=True, timeout=120)
        if built.returncode != 0:
            print(f"(no {source.name}: {built.stderr.strip()[-300:]})", file=sys.stderr)
            return None
    return out
