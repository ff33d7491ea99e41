"""Shared Access Signature tokens (Azure Service Bus and Event Hubs), made and checked.

A SAS token is ``SharedAccessSignature sr=<uri>&sig=<sig>&se=<expiry>&skn=<key name>``:
``sig`` is the base64 HMAC-SHA256, keyed with the key's UTF-8 bytes, of the URL-encoded
resource URI, a newline and the expiry (seconds since the epoch), as Azure's
"Service Bus access control with Shared Access Signatures" documents. Every field is
URL-encoded (``quote_plus``), as the Azure SDKs write it. The time is always passed in:
nothing here reads a clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote_plus, unquote_plus

__all__ = ["SasToken", "SasTokenError", "generate_sas_token", "parse_sas_token",
           "sas_audience_covers", "verify_sas_token"]

_PREFIX = "SharedAccessSignature "
#: The longest token we look at: a hostile peer's put-token cannot make us hash megabytes.
MAX_TOKEN_LENGTH = 4096


class SasTokenError(ValueError):
    """A SAS token that is malformed, expired, for another resource or wrongly signed.

    ``reason`` is one word for programs: "malformed", "expired", "unknown-key",
    "signature" or "audience".
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class SasToken:
    """The fields of a SAS token, URL-decoded."""

    resource: str  #: sr: the URI the token grants access to (and everything under it)
    signature: str  #: sig: base64 HMAC-SHA256
    expiry: int  #: se: seconds since the epoch
    key_name: str | None  #: skn: the shared access policy's name


def _string_to_sign(resource: str, expiry: int) -> bytes:
    # The documented string-to-sign: URL-encoded resource URI, "\n", expiry in seconds.
    return f"{quote_plus(resource)}\n{expiry}".encode()


def _sign(resource: str, expiry: int, key: str) -> str:
    digest = hmac.new(key.encode(), _string_to_sign(resource, expiry), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def generate_sas_token(resource_uri: str, key_name: str, key: str, expires_at: float) -> str:
    """A SAS token for ``resource_uri`` (``sb://<namespace>/<entity>``), valid until
    ``expires_at`` (seconds since the epoch, truncated to a whole second)."""
    if not resource_uri:
        raise ValueError("a SAS token needs a resource URI (sb://<namespace>/<entity>)")
    if not key_name or not key:
        raise ValueError("a SAS token needs a key name and a key")
    expiry = int(expires_at)
    if expiry <= 0:
        raise ValueError(f"expires_at must be a time after the epoch, not {expires_at!r}")
    sig = _sign(resource_uri, expiry, key)
    return (f"{_PREFIX}sr={quote_plus(resource_uri)}&sig={quote_plus(sig)}"
            f"&se={expiry}&skn={quote_plus(key_name)}")


def parse_sas_token(token: str) -> SasToken:
    """The fields of ``token``; SasTokenError("malformed") if it is not a SAS token."""
    if not isinstance(token, str):
        raise SasTokenError("malformed", f"a SAS token is a string, not {type(token).__name__}")
    if len(token) > MAX_TOKEN_LENGTH:
        raise SasTokenError("malformed", f"the token is {len(token)} characters, more than "
                                         f"{MAX_TOKEN_LENGTH}")
    if not token.startswith(_PREFIX):
        raise SasTokenError("malformed", "a SAS token starts with 'SharedAccessSignature '")
    fields: dict[str, str] = {}
    for part in token[len(_PREFIX):].split("&"):
        name, eq, value = part.partition("=")
        if not eq or not name:
            raise SasTokenError("malformed", f"{part!r} is not name=value")
        if name in fields:
            raise SasTokenError("malformed", f"the field {name!r} appears twice")
        fields[name] = unquote_plus(value)
    missing = [f for f in ("sr", "sig", "se") if not fields.get(f)]
    if missing:
        raise SasTokenError("malformed", f"the token lacks {', '.join(missing)}")
    try:
        expiry = int(fields["se"])
    except ValueError:
        raise SasTokenError("malformed", f"se={fields['se']!r} is not whole seconds") from None
    return SasToken(resource=fields["sr"], signature=fields["sig"], expiry=expiry,
                    key_name=fields.get("skn"))


def _normalise(uri: str) -> str:
    # Azure compares the host and path, whatever the scheme (sb://, amqps://, https://).
    _, sep, rest = uri.partition("://")
    return (rest if sep else uri).rstrip("/").lower()


def sas_audience_covers(resource: str, audience: str) -> bool:
    """Whether a token for ``resource`` grants ``audience``: the same URI, or one under it."""
    r, a = _normalise(resource), _normalise(audience)
    return bool(r) and (a == r or a.startswith(r + "/"))


def verify_sas_token(token: str, keys: Mapping[str, str], now: float,
                     audience: str | None = None) -> SasToken:
    """Check ``token`` against the keys by name; its fields if good, else SasTokenError.

    ``now`` is seconds since the epoch; ``audience``, if given, must be covered by the
    token's resource. The signature is compared in constant time.
    """
    parsed = parse_sas_token(token)
    if parsed.key_name is None or parsed.key_name not in keys:
        raise SasTokenError("unknown-key", f"no shared access key named {parsed.key_name!r}")
    try:
        given = base64.b64decode(parsed.signature, validate=True)
    except binascii.Error:
        raise SasTokenError("malformed", "sig is not base64") from None
    want = base64.b64decode(_sign(parsed.resource, parsed.expiry, keys[parsed.key_name]))
    if not hmac.compare_digest(given, want):
        raise SasTokenError("signature", "the signature does not match the key")
    if parsed.expiry <= now:
        raise SasTokenError("expired", f"the token expired {now - parsed.expiry:.0f} s ago")
    if audience is not None and not sas_audience_covers(parsed.resource, audience):
        raise SasTokenError("audience", f"the token is for {parsed.resource!r}, "
                                        f"not {audience!r}")
    return parsed
