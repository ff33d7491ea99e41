"""Timestamps (1.6.13) read through the per-window base cache are the exact instant.

``ms_to_datetime`` reads a timestamp up to 2100 as a kept base datetime per 1 024 ms
window plus the offset into it: it must give the very datetime the integer arithmetic
``EPOCH + timedelta(milliseconds=ms)`` gives (and ``datetime.fromtimestamp``, the form
used before), the same tzinfo object and fold, for every ms in that range, through
every reader (the general decoder, a map section, the properties), and keep the
cache bounded.
"""

from __future__ import annotations

import datetime as dt
import struct

from hypothesis import example, given, settings
from hypothesis import strategies as st

from amqp10_proto import Message, Properties
from amqp10_proto._decoder import (
    _FAST_MS_MAX,
    _MS_BASES,
    _MS_BASES_MAX,
    ANY_KEYS,
    decode,
    ms_to_datetime,
    section_map,
)
from amqp10_proto._message import _read_properties
from amqp10_proto._types import Symbol, Timestamp

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)

_fast_ms = st.integers(0, _FAST_MS_MAX - 1)


def _exact(ms: int) -> dt.datetime:
    return EPOCH + dt.timedelta(milliseconds=ms)


def _same(a: object, b: dt.datetime) -> None:
    assert type(a) is dt.datetime
    assert a == b
    assert a.tzinfo is UTC and a.fold == 0
    assert (a.year, a.month, a.day, a.hour, a.minute, a.second, a.microsecond) == (
        b.year, b.month, b.day, b.hour, b.minute, b.second, b.microsecond)


@given(_fast_ms)
@example(0)
@example(1023)
@example(1024)
@example(_FAST_MS_MAX - 1)
@example(1795694400123)
@settings(max_examples=2000)
def test_a_fast_timestamp_is_the_exact_instant(ms: int) -> None:
    _same(ms_to_datetime(ms), _exact(ms))
    _same(ms_to_datetime(ms), dt.datetime.fromtimestamp(ms / 1000, UTC))
    _same(ms_to_datetime(ms), _exact(ms))  # again: from the kept base this time


@given(st.integers(-(2**63), 2**63 - 1))
@example(-1)
@example(_FAST_MS_MAX)
@example(-62135596800000)
@example(253402300799999)
@settings(max_examples=500)
def test_any_timestamp_decodes_to_the_instant_or_a_timestamp(ms: int) -> None:
    try:
        expected: object = _exact(ms)
    except OverflowError:
        expected = Timestamp(ms)
    value = decode(b"\x83" + struct.pack(">q", ms))
    if isinstance(expected, dt.datetime):
        _same(value, expected)
    else:
        assert type(value) is Timestamp and value == expected


@given(st.lists(_fast_ms, min_size=1, max_size=5))
@settings(max_examples=300)
def test_timestamps_in_a_map_section_and_the_properties_are_exact(times: list[int]) -> None:
    annotations = {Symbol(f"x-opt-t{i}"): _exact(ms) for i, ms in enumerate(times)}
    raw = Message(b"", message_annotations=annotations).encode()[:-5]
    read = section_map(raw, 0x72, ANY_KEYS)
    assert read is not None
    for key, ms in zip(annotations, times, strict=True):
        _same(read[key], _exact(ms))
    props = Properties(creation_time=_exact(times[0]), absolute_expiry_time=_exact(times[-1]))
    fast = _read_properties(Message(b"", properties=props).encode()[:-5])
    assert fast is not None
    _same(fast.creation_time, _exact(times[0]))
    _same(fast.absolute_expiry_time, _exact(times[-1]))


def test_the_kept_bases_are_bounded() -> None:
    for window in range(_MS_BASES_MAX * 3):
        ms = window << 10 | window % 1024
        _same(ms_to_datetime(ms), _exact(ms))
        assert len(_MS_BASES) <= _MS_BASES_MAX
