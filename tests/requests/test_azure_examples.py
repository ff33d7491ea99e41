"""The Azure how-to's programs (tests/requests/azure_examples.py) against the embedded
broker's $cbs (keys policy/secret) and $management nodes."""

from __future__ import annotations

import re
import time
import uuid

import pytest

from amqp10_cli import RunningBroker
from amqp10_proto._requests import RequestUnauthorized
from amqp10_proto._sas import generate_sas_token

from . import azure_examples as ex


def connection_string(broker: RunningBroker, entity: str, key: str = "secret") -> str:
    return (f"Endpoint=sb://127.0.0.1:{broker.port}/;SharedAccessKeyName=policy;"
            f"SharedAccessKey={key};EntityPath={entity};UseDevelopmentEmulator=true")


def test_main_sends_peeks_and_holds_a_token(broker: RunningBroker,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    entity = f"azq-{uuid.uuid4().hex[:8]}"
    ex.main(connection_string(broker, entity))
    out = capsys.readouterr().out
    assert "peeked b'hello'" in out
    assert re.search(r"token valid for (3599|3600) s more", out), out


def test_a_wrong_key_is_refused(broker: RunningBroker) -> None:
    conn, cs = ex.connect(connection_string(broker, "azq-x", key="wrong"), timeout=10)
    with conn, conn.open_session() as session, pytest.raises(RequestUnauthorized):
        ex.authorize_with_key(session, cs)


def test_token_callable(broker: RunningBroker) -> None:
    audience = f"sb://127.0.0.1:{broker.port}/jwt-ish"

    def get_jwt() -> tuple[str, float]:
        # The embedded broker checks SAS tokens only; a SAS token under the JWT type is
        # refused (400), which shows the type travels as given.
        return generate_sas_token(audience, "policy", "secret", time.time() + 60), time.time() + 60

    conn, _ = ex.connect(connection_string(broker, "x"), timeout=10)
    with conn, conn.open_session() as session, pytest.raises(Exception) as info:
        ex.authorize_with_token(session, audience, get_jwt)
    assert getattr(info.value, "status_code", None) == 400


def test_peek_of_an_empty_queue(broker: RunningBroker) -> None:
    conn, _ = ex.connect(connection_string(broker, "x"), timeout=10)
    q = f"empty-{uuid.uuid4().hex[:8]}"
    with conn, conn.open_session() as session, session.open_sender(q):  # the queue exists
        assert ex.peek(session, q) == []
