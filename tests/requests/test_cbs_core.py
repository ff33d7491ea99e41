"""CBS in the core: the put-token message Azure and Artemis read, and the refresh schedule
as arithmetic on a fake clock."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from amqp10_proto import Message
from amqp10_proto._cbs import (
    JWT_TOKEN_TYPE,
    SAS_TOKEN_TYPE,
    AccessToken,
    SasCredential,
    TokenRefresh,
    put_token_request,
    refresh_at,
)
from amqp10_proto._sas import verify_sas_token

AUD = "sb://contoso.servicebus.windows.net/orders"


def test_put_token_message_on_the_wire() -> None:
    msg = put_token_request(AUD, "tok", JWT_TOKEN_TYPE, 1_700_000_000.7)
    wire = b"".join(msg.encode_parts())
    # The token is an amqp-value string section (0x77, str8 "tok") ...
    assert wire.endswith(b"\x00\x53\x77\xa1\x03tok")
    back = Message.decode(wire)
    # ... and the application properties are the four Azure's $cbs reads.
    assert back.application_properties == {
        "operation": "put-token", "type": "jwt", "name": AUD,
        "expiration": datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)}
    assert "expiration" not in (put_token_request(AUD, "t").application_properties or {})
    for bad in (("", "t"), (AUD, "")):
        with pytest.raises(ValueError):
            put_token_request(*bad)


def test_sas_credential_makes_tokens_valid_for_ttl() -> None:
    cred = SasCredential("policy", "secret", ttl=600)
    token = cred.token(AUD, now=1000.5)
    assert (token.expires_at, token.token_type) == (1600, SAS_TOKEN_TYPE)
    assert verify_sas_token(token.token, {"policy": "secret"}, 1599, AUD).expiry == 1600
    assert "secret" not in repr(cred) and token.token not in repr(token)
    with pytest.raises(ValueError):
        SasCredential("policy", "")
    with pytest.raises(ValueError):
        SasCredential("policy", "k", ttl=0)


def test_refresh_at_ninety_percent_of_the_life() -> None:
    assert refresh_at(1000.0, 2000.0) == pytest.approx(1900.0)
    assert refresh_at(1000.0, 900.0) == 1000.0  # expired already: now


def test_schedule_with_a_fake_clock() -> None:
    schedule = TokenRefresh()
    now = 0.0
    schedule.put("a", now, expires_at=3600)
    schedule.put("b", now, expires_at=600)
    assert schedule.next_deadline() == pytest.approx(540)
    assert schedule.due(539.9) == []
    now = 540.0
    assert schedule.due(now) == ["b"]
    assert schedule.due(now) == []  # in progress: not due twice
    assert schedule.next_deadline() == pytest.approx(3240)
    # b's new token, got at 541, lives 600 s again.
    assert schedule.put("b", 541.0, 1141.0) == pytest.approx(1081.0)
    assert schedule.due(3240.0) == ["b", "a"]
    schedule.forget("a")
    assert "a" not in schedule and "b" in schedule


def test_failed_puts_back_off_and_stay_before_expiry() -> None:
    schedule = TokenRefresh(retry=1.0, max_retry=8.0)
    schedule.put("a", 0.0, expires_at=100.0)
    assert schedule.due(90.0) == ["a"]
    tries = [schedule.failed("a", 90.0 + i) - (90.0 + i) for i in range(5)]
    # 1, 2, 4 s, then held to half of what is left before the token lapses.
    assert tries[:3] == [1.0, 2.0, 4.0]
    assert tries[3] == pytest.approx(min(8.0, (100 - 93) / 2))
    assert tries[4] == pytest.approx(min(8.0, (100 - 94) / 2))
    schedule.put("a", 95.0, expires_at=195.0)  # success resets the back-off
    assert schedule.due(194.0) == ["a"]
    assert schedule.failed("a", 194.0) == 194.5  # half of the second left


def test_access_token_requires_keywords() -> None:
    with pytest.raises(TypeError):
        AccessToken("t", 1.0)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        TokenRefresh(fraction=1.0)
