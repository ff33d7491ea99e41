"""The section readers' fast paths (issue 12, item 6) read what the general decoder reads.

Properties read straight into their fields, maps read straight into a dict, and the
header's fields kept per form must give the same values, of the same types, as
``section_value`` and the generated ``_dec_*`` functions, and must leave everything
else (unusual forms, malformed input) to the general path, which says what is wrong.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amqp10_proto import DecodeError, Header, Message, Properties
from amqp10_proto._decoder import ANY_KEYS, STR_KEYS, section_map, section_value
from amqp10_proto._definitions import _dec_properties
from amqp10_proto._message import _HEADER_CACHE_MAX, _HEADERS, _read_header, _read_properties
from amqp10_proto._types import Array, Map, Symbol, UInt, ULong
from amqp10_proto.codec import encode
from tests.strategies import amqp_maps, amqp_scalars, assert_same

UTC = dt.timezone.utc

_ascii = st.text(alphabet=st.characters(max_codepoint=127), max_size=10)
_ids = (st.none() | st.text(max_size=20) | _ascii.map(Symbol)
        | st.integers(0, 2**64 - 1).map(ULong) | st.uuids() | st.binary(max_size=8))
_strs = st.none() | st.text(max_size=300)  # past 255 bytes: str32, the general path
_addresses = _strs | _ascii.map(Symbol)
_syms = st.none() | st.text(alphabet="abcdefghij/-", max_size=20).map(Symbol)
_times = st.none() | st.datetimes(min_value=dt.datetime(1, 1, 2),
                                  max_value=dt.datetime(9999, 12, 30),
                                  timezones=st.just(UTC)).map(
    lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))


def _section(props: Properties) -> bytes:
    return Message(b"", properties=props).encode()[:-5]  # without the empty data section


def _general(raw: bytes) -> Properties:
    return _dec_properties(section_value(raw, 0x73))


@given(message_id=_ids, user_id=st.none() | st.binary(max_size=8), to=_addresses,
       subject=_strs, reply_to=_addresses, correlation_id=_ids, content_type=_syms,
       content_encoding=_syms, absolute_expiry_time=_times, creation_time=_times,
       group_id=_strs, group_sequence=st.none() | st.integers(0, 2**32 - 1).map(UInt),
       reply_to_group_id=_strs)
@settings(max_examples=400)
def test_properties_read_directly_are_the_properties_the_general_decoder_reads(
        **fields: Any) -> None:
    raw = _section(Properties(**fields))
    fast = _read_properties(raw)
    general = _general(raw)
    assert general == Properties(**fields)
    if fast is not None:
        assert fast == general
        assert [type(v) for v in fast._values()] == [type(v) for v in general._values()]
    assert Message.decode(raw + b"\x00\x53\x75\xa0\x00").properties == general


def test_the_usual_properties_take_the_fast_path_and_others_do_not() -> None:
    usual = Properties(message_id="msg-1", subject="s", reply_to="r", correlation_id="c",
                       content_type=Symbol("application/json"),
                       creation_time=dt.datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=UTC))
    fast = _read_properties(_section(usual))
    assert fast == usual and type(fast.content_type) is Symbol
    unusual = [
        Properties(message_id=ULong(7)),                                # smallulong
        Properties(message_id=uuid.UUID(int=1)),                        # uuid
        Properties(user_id=b"u"),                                       # vbin8
        Properties(subject="x" * 300),                                  # str32
        Properties(group_sequence=UInt(3)),                             # smalluint
    ]
    for props in unusual:
        raw = _section(props)
        assert _read_properties(raw) is None
        assert _general(raw) == props
    # Any timestamp reads directly, as ms_to_datetime reads it for the general decoder.
    for when in (dt.datetime(2200, 1, 1, tzinfo=UTC), dt.datetime(1900, 1, 1, tzinfo=UTC)):
        raw = _section(Properties(creation_time=when))
        assert _read_properties(raw) == _general(raw) == Properties(creation_time=when)


@pytest.mark.parametrize("hexdata", [
    "005373c00301a301",          # a sym8 as message-id running past the section
    "005373c00402a1016141",      # subject as true: not a string (3.2.4)
    "005373c00401a102c328",      # invalid UTF-8 in message-id
    "005373c00301a10041",        # a value left over after the count
    "005373c00e0e" + "40" * 14,  # fourteen fields: one more than 3.2.4 has
    "005373c00502a101614040",    # the size says more than the fields take
])
def test_malformed_properties_are_left_to_the_general_decoder(hexdata: str) -> None:
    raw = bytes.fromhex(hexdata)
    assert _read_properties(raw) is None
    with pytest.raises(DecodeError):
        _general(raw)


def test_a_non_ascii_symbol_in_the_properties_is_a_decode_error_either_way() -> None:
    raw = bytes.fromhex("005373c00a07" + "40" * 6 + "a301ff")  # content-type 0xff
    with pytest.raises(DecodeError, match="not ASCII"):
        _read_properties(raw)
    with pytest.raises(DecodeError, match="not ASCII"):
        _general(raw)


@given(amqp_maps(amqp_scalars()))
@settings(max_examples=400)
def test_a_map_section_read_into_a_dict_is_what_the_general_decoder_reads(value: Any) -> None:
    body = encode(value)
    if body[0] != 0xC1:
        return  # a map32: the general path's
    raw = b"\x00\x53\x72" + body
    general = section_value(raw, 0x72)
    fast = section_map(raw, 0x72, ANY_KEYS)
    if fast is None:
        assert type(general) is Map  # only keys a dict cannot hold leave the fast path
    else:
        assert type(fast) is dict
        assert_same(general, fast)
    assert_same(general, Message.decode(raw + b"\x00\x53\x75\xa0\x00").message_annotations)


def test_keys_a_dict_cannot_hold_go_the_general_way_into_a_map() -> None:
    # {sym "a": 1, str "a": 2}: distinct in AMQP, equal in Python
    colliding = bytes.fromhex("005372c10b04a301615501a101615502")
    assert section_map(colliding, 0x72, ANY_KEYS) is None
    annotations: Any = Message.decode(colliding + b"\x00\x53\x75\xa0\x00").message_annotations
    assert type(annotations) is Map
    assert list(annotations.pairs) == [(Symbol("a"), 1), ("a", 2)]
    # {[1]: 2}: a list is no dict key
    unhashable = bytes.fromhex("005372c10802c003015501" "5502")
    assert section_map(unhashable, 0x72, ANY_KEYS) is None
    assert type(section_value(unhashable, 0x72)) is Map


def test_application_properties_keyed_other_than_by_strings_are_refused() -> None:
    raw = bytes.fromhex("005374c10602" + "5507" + "a10178")  # {7: "x"}
    assert section_map(raw, 0x74, STR_KEYS) is None  # left to the general path
    assert section_map(raw, 0x74, ANY_KEYS) == {7: "x"}
    with pytest.raises(DecodeError, match=r"key 7 is not a string \(3.2.5\)"):
        _ = Message.decode(raw + b"\x00\x53\x75\xa0\x00").application_properties
    sym_keyed = bytes.fromhex("005374c10602" + "a3016b" + "5501")  # {sym "k": 1}: a str
    assert section_map(sym_keyed, 0x74, STR_KEYS) == {"k": 1}


@pytest.mark.parametrize("hexdata, match", [
    ("005374c10902a1016ba10361", "overrun"),            # a value runs past the map
    ("005374c10002a1016b55015502", "do not fill"),      # a value left over after the pair
    ("005374c1000281000000", "ends inside"),            # a long key past the input
    ("005374c10702a1016ba102c328", "UTF-8"),
])
def test_a_malformed_map_section_raises_a_decode_error(hexdata: str, match: str) -> None:
    raw = bytes.fromhex(hexdata)
    raw = raw[:4] + bytes((len(raw) - 5,)) + raw[5:]  # the map8 size fits the bytes
    with pytest.raises(DecodeError, match=match):
        section_map(raw, 0x74, ANY_KEYS)
    with pytest.raises(DecodeError):
        section_value(raw, 0x74)


def test_a_repeated_header_is_a_new_header_each_time() -> None:
    _HEADERS.clear()  # (other tests may have filled it)
    raw = bytes.fromhex("005370c008034140700000ea60")
    first = _read_header(raw)
    assert first is not None and raw in _HEADERS
    first.durable = False  # the application changes its copy
    second = _read_header(raw)
    assert second is not first and second == Header(durable=True, ttl=60000)


def test_the_kept_header_forms_are_bounded() -> None:
    for count in range(_HEADER_CACHE_MAX + 50):
        raw = Message(b"", header=Header(delivery_count=count + 1000)).encode()[:-5]
        header = _read_header(raw)
        assert header is not None and header.delivery_count == count + 1000
    assert len(_HEADERS) <= _HEADER_CACHE_MAX


def _outcome(read: Any, raw: bytes) -> Any:
    try:
        return read(raw)
    except DecodeError as exc:
        return ("error", "zero-width" in str(exc))


def _nulls_section(counts: list[int], code: int = 0x72) -> bytes:
    """A map8 section {ulong i: an array8 of counts[i] nulls (zero-width), ...}."""
    body = b"".join(b"\x53" + bytes((i,)) + b"\xe0\x02" + bytes((c,)) + b"\x40"
                    for i, c in enumerate(counts))
    return bytes((0, 0x53, code, 0xC1, len(body) + 1, 2 * len(counts))) + body


@given(st.lists(st.integers(0, 255), max_size=40), st.lists(st.integers(0, 255), max_size=40))
@settings(max_examples=300)
def test_a_map_section_spends_one_fresh_zero_width_budget_as_the_general_path_does(
        first: list[int], second: list[int]) -> None:
    # The keyed modes reset the budget at the first value that may hold an array, not on
    # entry: the outcome (the dict, or the budget's DecodeError) must be the general
    # path's, whatever was read before (another section, this very one) on this thread.
    raws = [_nulls_section(first), _nulls_section(second), _nulls_section(first)]
    raws.append(raws[0])  # the same object again
    for raw in raws:
        general = _outcome(lambda r: section_value(r, 0x72), raw)
        fast = _outcome(lambda r: section_map(r, 0x72, ANY_KEYS), raw)
        assert fast == general
        if type(general) is dict:
            assert all(type(v) is Array and len(v) == c for v, c in zip(
                general.values(), first if raw == raws[0] else second, strict=True))


def test_arrays_past_the_budget_in_a_map_section_are_refused_on_either_path() -> None:
    raw = _nulls_section([255] * 40)  # 10 200 zero-width elements in 246 bytes
    with pytest.raises(DecodeError, match="zero-width"):
        section_map(raw, 0x72, ANY_KEYS)
    with pytest.raises(DecodeError, match="zero-width"):
        section_value(raw, 0x72)
    with pytest.raises(DecodeError, match="zero-width"):
        _ = Message.decode(raw + b"\x00\x53\x75\xa0\x00").message_annotations
    within = _nulls_section([255] * 16)  # 4 080: within the budget, read after the refusal
    assert len(section_map(within, 0x72, ANY_KEYS)) == 16
