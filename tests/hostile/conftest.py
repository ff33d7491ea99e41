"""The hostile servers a test starts, stopped (and their failures raised) after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .servers import HostileServer, Script, Serve


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers: list[HostileServer] = []

    def start(script: Script) -> HostileServer:
        servers.append(HostileServer(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
