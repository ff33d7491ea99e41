"""tests/proxy: the tinyproxy instances (and peers) started here stop with the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interop.peers import stop_all
from tests.proxy.tinyproxy import AUTH, OPEN, Proxy, start_proxy, stop_proxies


@pytest.fixture(scope="session", autouse=True)
def _stop_everything() -> Iterator[None]:
    yield
    stop_proxies()
    stop_all()


@pytest.fixture(scope="session")
def open_proxy() -> Proxy:
    """tinyproxy without credentials."""
    return start_proxy(OPEN)


@pytest.fixture(scope="session")
def auth_proxy() -> Proxy:
    """tinyproxy wanting basic credentials (``alice``/``s3cret``)."""
    return start_proxy(AUTH)
