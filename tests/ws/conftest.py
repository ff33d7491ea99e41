"""tests/ws: the peers these tests start are stopped when the session ends; the test CA
and the embedded broker serving ``amqps://`` and ``amqpwss://`` with its certificate are
shared by the adapters' WebSocket tests (and tests/proxy's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from amqp10_cli import RunningBroker, start_broker
from tests.certs import Pki, make_pki
from tests.interop.peers import stop_all


@pytest.fixture(scope="session", autouse=True)
def _stop_peers() -> Iterator[None]:
    yield
    stop_all()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A test CA, and the broker's and a client's certificates from it."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_broker(pki: Pki) -> Iterator[RunningBroker]:
    """The embedded broker serving amqps:// and amqpwss:// with the test CA's certificate
    (anonymous logins allowed)."""
    with start_broker(ws_port=0, allow_anonymous=True,
                      ssl_context=pki.server_context(require_client_cert=False)) as running:
        yield running
