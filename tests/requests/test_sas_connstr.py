"""SAS tokens and connection strings: the documented formula, the Azure SDK's own
generator and parser (a test-only dependency), and the malformed inputs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import urllib.parse

import pytest

from amqp10_proto._connstr import parse_connection_string
from amqp10_proto._sas import (
    SasTokenError,
    generate_sas_token,
    parse_sas_token,
    sas_audience_covers,
    verify_sas_token,
)

URI = "sb://contoso.servicebus.windows.net/orders"
KEY_NAME = "RootManageSharedAccessKey"
# A key as the portal shows them: base64 with + / =, used as its UTF-8 text (not decoded).
KEY = "Zm9vYmFyL2Jheit xyz=".replace(" ", "+")
EXPIRY = 1_900_000_000


def documented_token(uri: str, key_name: str, key: str, expiry: int) -> str:
    """Microsoft's documented Python example ("Service Bus access control with Shared
    Access Signatures"), as written there: quote_plus of the URI, HMAC-SHA256 over
    "<uri>\\n<expiry>" keyed with the key's UTF-8 bytes, base64, quote() of the result."""
    encoded = urllib.parse.quote_plus(uri)
    to_sign = (encoded + "\n" + str(expiry)).encode("utf-8")
    signature = urllib.parse.quote(base64.b64encode(
        hmac.HMAC(key.encode("utf-8"), to_sign, hashlib.sha256).digest()))
    return f"SharedAccessSignature sr={encoded}&sig={signature}&se={expiry}&skn={key_name}"


def test_token_has_the_documented_fields_and_signature() -> None:
    ours = generate_sas_token(URI, KEY_NAME, KEY, EXPIRY)
    documented = documented_token(URI, KEY_NAME, KEY, EXPIRY)
    # The documentation leaves '/' unencoded in sig (quote's default); every decoded field
    # is the same, and each token verifies against the key.
    assert parse_sas_token(ours) == parse_sas_token(documented)
    assert ours.startswith("SharedAccessSignature sr=sb%3A%2F%2Fcontoso.servicebus.windows.net"
                           "%2Forders&sig=")
    assert ours.endswith(f"&se={EXPIRY}&skn={KEY_NAME}")
    for token in (ours, documented):
        assert verify_sas_token(token, {KEY_NAME: KEY}, EXPIRY - 1).resource == URI


def test_token_equals_the_azure_sdks() -> None:
    utils = importlib.import_module("azure.servicebus._pyamqp.utils")
    sdk = utils.generate_sas_token(URI, KEY_NAME, KEY, EXPIRY)
    assert generate_sas_token(URI, KEY_NAME, KEY, EXPIRY) == sdk


@pytest.mark.parametrize(("keys", "now", "audience", "reason"), [
    ({KEY_NAME: KEY}, EXPIRY, None, "expired"),
    ({KEY_NAME: KEY + "x"}, 0, None, "signature"),
    ({"other": KEY}, 0, None, "unknown-key"),
    ({KEY_NAME: KEY}, 0, "sb://contoso.servicebus.windows.net/payments", "audience"),
    ({KEY_NAME: KEY}, 0, "sb://contoso.servicebus.windows.net/orders2", "audience"),
])
def test_bad_tokens_are_refused_with_a_reason(keys: dict[str, str], now: float,
                                              audience: str | None, reason: str) -> None:
    token = generate_sas_token(URI, KEY_NAME, KEY, EXPIRY)
    with pytest.raises(SasTokenError) as info:
        verify_sas_token(token, keys, now, audience)
    assert info.value.reason == reason


def test_audience_under_the_resource_is_covered() -> None:
    assert sas_audience_covers(URI, "amqps://CONTOSO.servicebus.windows.net/orders/")
    assert sas_audience_covers("sb://contoso.servicebus.windows.net/", URI)
    assert not sas_audience_covers(URI, "sb://contoso.servicebus.windows.net/ordersX")


@pytest.mark.parametrize("token", [
    "", "Bearer abc", "SharedAccessSignature ", "SharedAccessSignature sr=a&sig=b",
    "SharedAccessSignature sr=a&sig=b&se=soon&skn=k", "SharedAccessSignature sr=a&sr=b&sig=c&se=1",
    "SharedAccessSignature sr=a&sig&se=1", "SharedAccessSignature " + "x" * 5000,
])
def test_malformed_tokens(token: str) -> None:
    with pytest.raises(SasTokenError) as info:
        verify_sas_token(token, {KEY_NAME: KEY}, 0)
    assert info.value.reason == "malformed"


def test_signature_that_is_not_base64_is_malformed() -> None:
    token = generate_sas_token(URI, KEY_NAME, KEY, EXPIRY).replace("&sig=", "&sig=%21%21")
    with pytest.raises(SasTokenError, match="base64"):
        verify_sas_token(token, {KEY_NAME: KEY}, 0)


@pytest.mark.parametrize(("args", "match"), [
    (("", KEY_NAME, KEY, EXPIRY), "resource"), ((URI, "", KEY, EXPIRY), "key name"),
    ((URI, KEY_NAME, "", EXPIRY), "key"), ((URI, KEY_NAME, KEY, 0), "after the epoch"),
])
def test_generate_refuses_missing_parts(args: tuple[str, str, str, int], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        generate_sas_token(*args)


# -- connection strings ----------------------------------------------------------------------

CS = ("Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;"
      f"SharedAccessKey={KEY};EntityPath=orders")


def test_connection_string_yields_url_credentials_and_entity() -> None:
    cs = parse_connection_string(CS)
    assert (cs.url, cs.host, cs.key_name, cs.key, cs.entity) == (
        "amqps://contoso.servicebus.windows.net/", "contoso.servicebus.windows.net",
        KEY_NAME, KEY, "orders")
    assert cs.audience() == URI
    assert cs.audience("payments") == "sb://contoso.servicebus.windows.net/payments"
    assert KEY not in repr(cs)


def test_connection_string_variants() -> None:
    sas = generate_sas_token(URI, KEY_NAME, KEY, EXPIRY)
    cs = parse_connection_string(f" endpoint=sb://h.example:5671;SHAREDACCESSSIGNATURE={sas};"
                                 "TransportType=AmqpWebSockets; ")
    assert (cs.url, cs.port, cs.shared_access_signature, cs.key, cs.entity) == (
        "amqps://h.example:5671/", 5671, sas, None, None)
    emu = parse_connection_string("Endpoint=sb://localhost;SharedAccessKeyName=a;"
                                  "SharedAccessKey=b;UseDevelopmentEmulator=true")
    assert (emu.url, emu.emulator) == ("amqp://localhost:5672/", True)
    v6 = parse_connection_string("Endpoint=sb://[::1]:5671/;SharedAccessSignature=s")
    assert (v6.host, v6.url, v6.audience("q")) == ("::1", "amqps://[::1]:5671/", "sb://[::1]:5671/q")


def test_connection_string_agrees_with_the_azure_sdk() -> None:
    base = importlib.import_module("azure.servicebus._base_handler")
    host, key_name, key, entity, *_ = base._parse_conn_str(CS)
    cs = parse_connection_string(CS)
    assert (cs.host, cs.key_name, cs.key, cs.entity) == (host, key_name, key, entity)


@pytest.mark.parametrize(("text", "match"), [
    ("", "empty"), (" ; ", "empty"), ("Endpoint", "not Name=value"),
    ("=x;Endpoint=sb://h/", "not Name=value"),
    ("SharedAccessKeyName=a;SharedAccessKey=b", "no Endpoint"),
    ("Endpoint=sb://h/;SharedAccessKeyName=a", "both"),
    ("Endpoint=sb://h/;SharedAccessKey=b", "both"),
    ("Endpoint=sb://h/", "no credentials"),
    ("Endpoint=sb://h/;SharedAccessKeyName=a;SharedAccessKey=b;SharedAccessSignature=s", "one"),
    ("Endpoint=sb://h/;Endpoint=sb://g/;SharedAccessSignature=s", "twice"),
    ("Endpoint=sb://;SharedAccessSignature=s", "namespace host"),
    ("Endpoint=sb://h:99999/;SharedAccessSignature=s", "bad port"),
    ("Endpoint=sb://h/;SharedAccessSignature=s;UseDevelopmentEmulator=yes", "true or false"),
])
def test_malformed_connection_strings(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_connection_string(text)
