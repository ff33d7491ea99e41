"""tests/proxy: the tinyproxy instances (and peers) started here stop with the session; no
proxy variable of the machine's reaches a test (each sets those it wants)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interop.peers import stop_all
from tests.proxy.tinyproxy import AUTH, OPEN, Proxy, start_proxy, stop_proxies
from tests.ws.conftest import pki, tls_broker

__all__ = ["pki", "tls_broker"]  # the test CA and the TLS broker of tests/ws, shared


@pytest.fixture(scope="session", autouse=True)
def _stop_everything() -> Iterator[None]:
    yield
    stop_proxies()
    stop_all()


#: The variables that choose a proxy (read in either case).
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY")


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="session")
def open_proxy() -> Proxy:
    """tinyproxy without credentials."""
    return start_proxy(OPEN)


@pytest.fixture(scope="session")
def auth_proxy() -> Proxy:
    """tinyproxy wanting basic credentials (``alice``/``s3cret``)."""
    return start_proxy(AUTH)
