"""Every benchmark's ``--quick`` mode runs to its end and prints its table (issue 12).

Correctness only: nothing here looks at a figure. The benches that need a broker get
the Qpid C broker the interop tests use (tests/interop/peers.py), which they leave
running since they did not start it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.peers import start, stop_all

BENCH = Path(__file__).resolve().parent.parent / "bench"
#: e2e --tls runs its own Qpid broker (the binary, given certificates) on this port
TLS_PORT = 35834
#: e2e --placement starts its own Qpid broker, pinned (a running one's CPU is unknown)
PLACED_PORT = 35835


@pytest.fixture(scope="module")
def qpid_port() -> Iterator[int]:
    yield start("qpid-broker").port
    stop_all()  # only the peers this session started

#: bench script, extra arguments, what its table must print (each of several, for a tuple)
CASES: list[tuple[str, list[str], str | tuple[str, ...]]] = [
    ("codec.py", [], ("decode (all sections read)", "decode (every field read)")),
    ("core.py", ["--count", "2000"], "msg/s"),
    ("e2e.py", [], "waitall/s"),  # the bulk rows (send_many, wait_all) are printed
    ("e2e.py", ["--tls", "--adapters", "sync", "--no-azure"], "TLS / plain"),
    # the broker on one CPU, the client on the other (its own broker: PLACED_PORT)
    ("e2e.py", ["--placement", "split", "--adapters", "sync", "--parts", "send", "--no-azure"],
     "placement: split (broker on CPU 1"),
    ("concurrency.py", [], "100 links"),
    ("concurrency.py", ["--per-caller", "3", "--adapters", "asyncio"], "(at least 3 per caller)"),
    ("large.py", ["--clients", "proton,sync,asyncio,trio"], "(peak-base)/size"),
    ("idle.py", [], "still open"),
    ("ws.py", [], "ws/tcp"),  # its own broker (35836/35837) and rhea's WebSocket one
]


@pytest.mark.parametrize(("script", "extra", "expect"), CASES,
                         ids=[f"{c[0]}{' '.join(c[1][:1])}" for c in CASES])
def test_bench_quick(script: str, extra: list[str], expect: str | tuple[str, ...],
                     qpid_port: int) -> None:
    args = [sys.executable, str(BENCH / script), *extra]
    if script != "core.py":
        args.append("--quick")
    if script not in ("codec.py", "core.py", "ws.py"):
        port = TLS_PORT if "--tls" in extra else PLACED_PORT if "--placement" in extra \
            else qpid_port
        args += ["--port", str(port)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=BENCH.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for line in (expect,) if isinstance(expect, str) else expect:
        assert line in proc.stdout, proc.stdout
