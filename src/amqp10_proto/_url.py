"""Parse ``amqp://`` and ``amqps://`` URLs into what a connection needs."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = ["ParsedURL", "is_loopback", "parse_url"]

DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671}


@dataclass(frozen=True)
class ParsedURL:
    """The parts of an AMQP URL: where to connect, whether TLS, and the credentials."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @property
    def tls(self) -> bool:
        return self.scheme == "amqps"

    def __repr__(self) -> str:  # never show the password
        user = "" if self.username is None else f"{self.username}:***@"
        return f"ParsedURL('{self.scheme}://{user}{self.host}:{self.port}')"


def parse_url(url: str) -> ParsedURL:
    """``amqp[s]://[user[:password]@]host[:port][/]``; user and password are percent-decoded."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"unsupported URL scheme {parts.scheme!r} in {_redact(url)!r}: "
                         "use amqp:// or amqps://")
    host = parts.hostname
    if not host:
        raise ValueError(f"no host in URL {_redact(url)!r}")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise ValueError(f"bad port in URL {_redact(url)!r}: {exc}") from None
    username = None if parts.username is None else unquote(parts.username)
    password = None if parts.password is None else unquote(parts.password)
    return ParsedURL(scheme, host, port, username, password)


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (where PLAIN without TLS is harmless)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
