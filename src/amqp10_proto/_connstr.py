"""Azure connection strings: ``Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=...``.

:func:`parse_connection_string` yields the ``amqps://`` URL to open, the credentials
(a key name and key, or a ready ``SharedAccessSignature``) and the entity
(``EntityPath``). Setting names are case-insensitive and unknown ones are ignored, as
the Azure SDKs do; anything malformed is a ValueError that says what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["ConnectionString", "parse_connection_string"]

_KNOWN = {"endpoint": "endpoint", "hostname": "endpoint",
          "sharedaccesskeyname": "key_name", "sharedaccesskey": "key",
          "sharedaccesssignature": "sas", "entitypath": "entity",
          "usedevelopmentemulator": "emulator"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionString:
    """A parsed connection string. Keys and signatures are left out of the repr."""

    host: str  #: the namespace's host name, e.g. ``contoso.servicebus.windows.net``
    port: int | None  #: a port given in the endpoint, or None
    url: str  #: what to open: ``amqps://host/`` (``amqp://host:5672/`` for the emulator)
    key_name: str | None = None  #: SharedAccessKeyName
    key: str | None = field(default=None, repr=False)  #: SharedAccessKey
    shared_access_signature: str | None = field(default=None, repr=False)
    entity: str | None = None  #: EntityPath: a queue, topic or event hub
    emulator: bool = False  #: UseDevelopmentEmulator=true: plain AMQP, no TLS

    def audience(self, entity: str | None = None) -> str:
        """The CBS audience (a SAS token's resource) for ``entity`` (default: EntityPath),
        or the namespace when there is none: ``sb://host/entity``."""
        entity = self.entity if entity is None else entity
        name = f"[{self.host}]" if ":" in self.host else self.host
        base = f"sb://{name}" if self.port is None else f"sb://{name}:{self.port}"
        return f"{base}/{entity}" if entity else f"{base}/"


def parse_connection_string(text: str) -> ConnectionString:
    """Parse an Azure Service Bus / Event Hubs connection string (ValueError if malformed)."""
    if not isinstance(text, str):
        raise TypeError(f"a connection string is a str, not {type(text).__name__}")
    body = text.strip().rstrip(";")
    if not body:
        raise ValueError("the connection string is empty")
    found: dict[str, str] = {}
    for part in body.split(";"):
        name, eq, value = part.partition("=")
        name = name.strip()
        if not eq or not name:
            raise ValueError(f"{part!r} in the connection string is not Name=value")
        what = _KNOWN.get(name.lower())
        if what is None:
            continue  # other settings (TransportType, ...) are not ours to judge
        if what in found:
            raise ValueError(f"the connection string gives {name} twice")
        found[what] = value.strip()
    endpoint = found.get("endpoint")
    if not endpoint:
        raise ValueError("the connection string has no Endpoint=sb://<namespace>/")
    split = urlsplit(endpoint if "://" in endpoint else f"sb://{endpoint}")
    try:
        host, port = split.hostname, split.port
    except ValueError:
        raise ValueError(f"Endpoint={endpoint!r} has a bad port") from None
    if not host or split.username is not None:
        raise ValueError(f"Endpoint={endpoint!r} is not sb://<namespace host>/")
    key_name, key, sas = found.get("key_name"), found.get("key"), found.get("sas")
    if bool(key_name) != bool(key):
        raise ValueError("the connection string needs both SharedAccessKeyName and "
                         "SharedAccessKey, or neither")
    if key and sas:
        raise ValueError("the connection string gives both SharedAccessKey and "
                         "SharedAccessSignature: give one")
    if not key and not sas:
        raise ValueError("the connection string has no credentials: give SharedAccessKeyName "
                         "and SharedAccessKey, or SharedAccessSignature")
    flag = found.get("emulator", "false").lower()
    if flag not in ("true", "false"):
        raise ValueError(f"UseDevelopmentEmulator={found['emulator']!r} is not true or false")
    emulator = flag == "true"
    name = f"[{host}]" if ":" in host else host  # an IPv6 literal goes in brackets
    where = name if port is None else f"{name}:{port}"
    url = f"amqp://{name}:{port or 5672}/" if emulator else f"amqps://{where}/"
    return ConnectionString(host=host, port=port, url=url, key_name=key_name or None,
                            key=key or None, shared_access_signature=sas or None,
                            entity=found.get("entity") or None, emulator=emulator)
