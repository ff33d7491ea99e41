"""Test-run set-up shared by every directory."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

#: The loopback ports the tests' own peers listen on (tests/interop/peers.py,
#: tests/interop/cluster.py, bench) and RabbitMQ's Erlang distribution ports (+20000).
#: They lie inside Linux's ephemeral range (32768-60999): a client socket that happens
#: to get one as its local port (seen: a TIME-WAIT to epmd from 127.0.0.1:35802) makes
#: a broker's listen fail with EADDRINUSE. Reserved, the kernel never hands them out.
RESERVED = ("35800-35899", "55800-55899")
_SYSCTL = Path("/proc/sys/net/ipv4/ip_local_reserved_ports")


def pytest_sessionstart(session: pytest.Session) -> None:
    try:
        current = _SYSCTL.read_text().strip()
    except OSError:
        return  # not Linux: nothing to reserve
    missing = [r for r in RESERVED if r not in current.split(",")]
    if not missing:
        return
    if not os.access(_SYSCTL, os.W_OK):
        warnings.warn(f"cannot reserve ports {', '.join(RESERVED)} (not root): a peer's "
                      "listen may fail now and then with EADDRINUSE", stacklevel=1)
        return
    _SYSCTL.write_text(",".join(filter(None, [current, *missing])))
