"""Filter-set entries (3.5.1) for a receiver's source, as brokers and go-amqp spell them.

Each helper returns a one-entry ``dict`` (key: a :class:`Symbol`, value: the filter),
which is what ``open_receiver(filters=...)`` and ``Source(filter=...)`` take;
:func:`combine_filters` joins several. The descriptors are those of the Apache filter
registry (``apache.org:...``: a symbol, or the numeric code ``0x0000468C:0x000000NN``)
and Microsoft's session filter. A broker answers with the filters it applies
(:func:`filter_value` reads them back, as go-amqp's ``LinkSourceFilterValue``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ._codec import encode
from ._errors import EncodeError
from ._types import Described, Symbol, ULong

__all__ = [
    "LEGACY_DIRECT_BINDING_FILTER",
    "LEGACY_HEADERS_BINDING_FILTER",
    "LEGACY_TOPIC_BINDING_FILTER",
    "NO_LOCAL_FILTER",
    "SELECTOR_FILTER",
    "SESSION_FILTER",
    "combine_filters",
    "filter_value",
    "legacy_direct_filter",
    "legacy_headers_filter",
    "legacy_topic_filter",
    "link_filter",
    "no_local_filter",
    "selector_filter",
    "session_filter",
]

#: Apache filter registry: a JMS selector over the message (a string).
SELECTOR_FILTER = Symbol("apache.org:selector-filter:string")
#: Apache filter registry: the subject equals the string (AMQP 0-9-1 direct binding).
LEGACY_DIRECT_BINDING_FILTER = Symbol("apache.org:legacy-amqp-direct-binding:string")
#: Apache filter registry: the subject matches the pattern (0-9-1 topic binding: ``*``, ``#``).
LEGACY_TOPIC_BINDING_FILTER = Symbol("apache.org:legacy-amqp-topic-binding:string")
#: Apache filter registry: application properties match the map (0-9-1 headers binding).
LEGACY_HEADERS_BINDING_FILTER = Symbol("apache.org:legacy-amqp-headers-binding:map")
#: Apache filter registry: no message sent on this link's own connection (a list).
NO_LOCAL_FILTER = Symbol("apache.org:no-local-filter:list")
#: Azure Service Bus: consume one session (its id), or the next free one (null).
SESSION_FILTER = Symbol("com.microsoft:session-filter")

#: The numeric descriptors of the same filters (registry codes; Microsoft's for the session).
_CODES: dict[str, ULong] = {
    LEGACY_DIRECT_BINDING_FILTER: ULong(0x0000468C00000000),
    LEGACY_TOPIC_BINDING_FILTER: ULong(0x0000468C00000001),
    LEGACY_HEADERS_BINDING_FILTER: ULong(0x0000468C00000002),
    NO_LOCAL_FILTER: ULong(0x0000468C00000003),
    SELECTOR_FILTER: ULong(0x0000468C00000004),
    SESSION_FILTER: ULong(0x00000013_7000000C),  # Microsoft's 0x00000013:0x7000000C
}

FilterSet = dict[str, Any]


def _descriptor(name: str, numeric: bool) -> Symbol | ULong:
    if not isinstance(numeric, bool):
        raise TypeError(f"numeric must be a bool, not {type(numeric).__name__}")
    return _CODES[name] if numeric else Symbol(name)


def _key(key: str | None, name: str) -> Symbol:
    if key is None:
        return Symbol(name)
    if not isinstance(key, str):
        raise TypeError(f"key must be a str (a symbol) or None, not {type(key).__name__}")
    if not key or not key.isascii():
        raise ValueError(f"key must be a non-empty ASCII name (a symbol), not {key!r:.40}")
    return Symbol(key)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{what} must not be empty")
    return value


def link_filter(name: str, value: Any, *, code: int | None = None,
                key: str | None = None) -> FilterSet:
    """Any filter: ``value`` described by ``code`` (a ulong) if given, else by the symbol
    ``name``, under ``key`` (default ``name``): go-amqp's ``NewLinkFilter(name, code, value)``.

    Raises TypeError or ValueError for a name, code or key AMQP cannot carry, and
    :class:`EncodeError` for a value it cannot encode.
    """
    name = _text(name, "name")
    if code is None:
        descriptor: Symbol | ULong = Symbol(name)
    elif isinstance(code, bool) or not isinstance(code, int):
        raise TypeError(f"code must be an int or None, not {type(code).__name__}")
    elif not 0 < code < 1 << 64:
        raise ValueError(f"code must be a ulong above 0 (0 means none in go-amqp), not {code}")
    else:
        descriptor = ULong(code)
    entry = Described(descriptor, value)
    try:
        encode(entry)
    except EncodeError as exc:
        raise EncodeError(f"filter {name!r}: {exc}") from None
    return {_key(key, name): entry}


def selector_filter(selector: str, *, numeric: bool = False,
                    key: str | None = None) -> FilterSet:
    """A JMS message selector (``apache.org:selector-filter:string``), e.g.
    ``"color = 'red' AND weight > 2500"``. ``numeric=True`` writes the descriptor as its
    code ``0x0000468C00000004``, exactly as go-amqp's ``NewSelectorFilter`` and Qpid JMS
    do; the symbol (the default) is the form python-qpid-proton and the Azure SDK send.
    Both are the same filter to ActiveMQ Artemis, the Qpid brokers and Event Hubs."""
    return {_key(key, SELECTOR_FILTER):
            Described(_descriptor(SELECTOR_FILTER, numeric), _text(selector, "selector"))}


def legacy_direct_filter(subject: str, *, numeric: bool = False,
                         key: str | None = None) -> FilterSet:
    """Messages whose subject (routing key) is ``subject``
    (``apache.org:legacy-amqp-direct-binding:string``)."""
    return {_key(key, LEGACY_DIRECT_BINDING_FILTER):
            Described(_descriptor(LEGACY_DIRECT_BINDING_FILTER, numeric),
                      _text(subject, "subject"))}


def legacy_topic_filter(pattern: str, *, numeric: bool = False,
                        key: str | None = None) -> FilterSet:
    """Messages whose subject matches ``pattern``, dot-separated words where ``*`` is one
    word and ``#`` any number (``apache.org:legacy-amqp-topic-binding:string``)."""
    return {_key(key, LEGACY_TOPIC_BINDING_FILTER):
            Described(_descriptor(LEGACY_TOPIC_BINDING_FILTER, numeric),
                      _text(pattern, "pattern"))}


def legacy_headers_filter(headers: Mapping[str, Any], *, match: Literal["all", "any"] | None = None,
                          numeric: bool = False, key: str | None = None) -> FilterSet:
    """Messages whose application properties carry ``headers``: all of them, or any one
    with ``match="any"`` (sent as the ``x-match`` entry, as 0-9-1's headers exchange
    reads it; left out when None: the broker's default, "all")
    (``apache.org:legacy-amqp-headers-binding:map``)."""
    if not isinstance(headers, Mapping):
        raise TypeError(f"headers must be a mapping, not {type(headers).__name__}")
    value: dict[str, Any] = {}
    for name, v in headers.items():
        if not isinstance(name, str):
            raise TypeError(f"header names must be str, not {type(name).__name__} {name!r:.40}")
        value[str(name)] = v
    if match is not None:
        if match not in ("all", "any"):
            raise ValueError(f"match must be 'all', 'any' or None, not {match!r}")
        if "x-match" in value:
            raise ValueError("give x-match as match=, not among the headers")
        value["x-match"] = match
    if not value:
        raise ValueError("headers must not be empty")
    entry = Described(_descriptor(LEGACY_HEADERS_BINDING_FILTER, numeric), value)
    try:
        encode(entry)
    except EncodeError as exc:
        raise EncodeError(f"headers: {exc}") from None
    return {_key(key, LEGACY_HEADERS_BINDING_FILTER): entry}


def no_local_filter(*, numeric: bool = False, key: str | None = None) -> FilterSet:
    """No message published on this link's own connection (``apache.org:no-local-filter:list``,
    an empty list)."""
    return {_key(key, NO_LOCAL_FILTER): Described(_descriptor(NO_LOCAL_FILTER, numeric), [])}


def session_filter(session_id: str | None, *, described: bool = False) -> FilterSet:
    """Azure Service Bus session receivers: the session ``session_id``, or the next
    session free (None). As the Azure SDK for Python sends it by default: the key
    ``com.microsoft:session-filter`` with the bare string or null (not a described
    value); ``described=True`` wraps it in the descriptor ``0x00000013:0x7000000C``, as the
    Azure SDK for Go does (``NewLinkFilter``). The service's attach answers with the
    session it gave: read it with ``filter_value(receiver.remote_source, SESSION_FILTER)``.
    """
    if session_id is not None:
        _text(session_id, "session_id")
    if not isinstance(described, bool):
        raise TypeError(f"described must be a bool, not {type(described).__name__}")
    value: Any = Described(_CODES[SESSION_FILTER], session_id) if described else session_id
    return {SESSION_FILTER: value}


def combine_filters(*filter_sets: Mapping[str, Any]) -> FilterSet:
    """One filter-set of several (a message passes only if it passes each, 3.5.1).

    Raises ValueError when two give the same key (one would silently replace the other).
    """
    out: FilterSet = {}
    for filters in filter_sets:
        if not isinstance(filters, Mapping):
            raise TypeError(f"each filter set must be a dict, not {type(filters).__name__}")
        for k, v in filters.items():
            if not isinstance(k, str):
                raise TypeError(f"filter names must be symbols (str), not {type(k).__name__}")
            if k in out:
                raise ValueError(f"two filters named {k!r}: give one of them another key=")
            out[Symbol(k)] = v
    return out


def filter_value(source: Any, name: str) -> Any:
    """The value of the filter ``name`` in ``source``'s filter-set (e.g. the peer's answer,
    ``receiver.remote_source``), None if it has none: go-amqp's ``LinkSourceFilterValue``.

    ``name`` is matched against the keys, then against the descriptors (by symbol, or by
    the code of a filter named here), so an entry under a key of the peer's choosing is
    found. A described entry gives its inner value, a bare one (the session filter) itself.
    """
    _text(name, "name")
    filters = getattr(source, "filter", None)
    if not isinstance(filters, Mapping):
        return None
    if name in filters:
        return _inner(filters[name])
    code = _CODES.get(name)
    for entry in filters.values():
        if isinstance(entry, Described) and (
                entry.descriptor == name
                or (code is not None and isinstance(entry.descriptor, int)
                    and entry.descriptor == code)):
            return entry.value
    return None


def _inner(entry: Any) -> Any:
    return entry.value if isinstance(entry, Described) else entry
