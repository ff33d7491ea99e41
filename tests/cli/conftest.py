"""Fixtures for the ``amqp10`` command's tests: an embedded broker, real peers, a runner.

``cli`` runs ``main(argv)`` in this process (stdin from bytes, stdout/stderr
captured); ``run_amqp10`` runs the installed console script (or ``python -m
amqp10_cli``) as a child process, the way a user does.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from amqp10_cli._cli import main
from tests.broker.conftest import broker, q  # the embedded broker in a thread; a fresh queue
from tests.interop.peers import stop_all

__all__ = ["broker", "q"]

#: The console script pip made for ``[project.scripts] amqp10``.
AMQP10 = str(Path(sys.executable).with_name("amqp10"))


@dataclass
class Result:
    code: int
    out: bytes
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.decode("utf-8").splitlines()


@pytest.fixture(scope="session", autouse=True)
def _stop_peers_at_the_end() -> Iterator[None]:
    yield
    stop_all()  # only peers this session started; one found running is left alone


class Cli:
    """Runs ``amqp10`` in this process, as ``main(argv)``."""

    def __init__(self, capfd: pytest.CaptureFixture[bytes],
                 monkeypatch: pytest.MonkeyPatch) -> None:
        self.capfd = capfd
        self.monkeypatch = monkeypatch

    def __call__(self, *argv: str, stdin: bytes = b"") -> Result:
        self.capfd.readouterr()
        self.monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        code = main(list(argv))
        sys.stdout.flush()
        sys.stderr.flush()
        out, err = self.capfd.readouterr()
        return Result(code, out, err.decode("utf-8", errors="replace"))


@pytest.fixture
def cli(capfdbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.delenv("AMQP10_TRACE", raising=False)
    return Cli(capfdbinary, monkeypatch)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("AMQP10_TRACE", None)
    return env


def run_amqp10(*argv: str, stdin: bytes = b"", module: bool = False,
               timeout: float = 30) -> Result:
    """The real command in a child process: the console script, or ``python -m amqp10_cli``."""
    command = [sys.executable, "-m", "amqp10_cli"] if module else [AMQP10]
    proc = subprocess.run([*command, *argv], input=stdin, capture_output=True,
                          timeout=timeout, env=child_env())
    return Result(proc.returncode, proc.stdout, proc.stderr.decode("utf-8", errors="replace"))


def one_error_line(result: Result) -> str:
    """The single ``amqp10: error: ...`` line of a failed run (asserts there is only that)."""
    lines = result.err.splitlines()
    assert "Traceback" not in result.err, result.err
    assert len(lines) == 1, result.err
    assert lines[0].startswith("amqp10: error: "), result.err
    return lines[0]
