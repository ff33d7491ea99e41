"""The full read's shortcuts (issue 12, item 6) read what the general decoder reads.

A message's map sections are checked by ``_decode_items`` itself (the accessors call
it directly, without :func:`section_map`'s call), and item loops walk a kept tuple of
indices up to ``_PLACES_MAX`` items and a range past it. For any section bytes, the
direct read must give the general path's value, or decline (None) and leave it to the
general path, or raise the same DecodeError; and lists and maps on either side of the
tuple's bound must decode as they were encoded.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amqp10_proto import DecodeError, Message
from amqp10_proto._decoder import (
    _PLACES_MAX,
    ANY_KEYS,
    SECTION_MAP_DEPTH,
    STR_KEYS,
    _decode_items,
    section_value,
)
from amqp10_proto._types import Map
from amqp10_proto.codec import decode, encode
from tests.strategies import amqp_maps, amqp_scalars, assert_same

_CODES = st.sampled_from([0x71, 0x72, 0x74, 0x78])


def _general(raw: bytes, code: int) -> Any:
    """The section's value the general way, or the DecodeError's type."""
    try:
        return section_value(raw, code)
    except DecodeError as exc:
        return type(exc)


def _direct(raw: bytes, code: int, keys: int) -> Any:
    try:
        return _decode_items(raw, code, 0, 0, SECTION_MAP_DEPTH, "map8", keys)
    except DecodeError as exc:
        return type(exc)


@given(_CODES, st.sampled_from([ANY_KEYS, STR_KEYS]), st.binary(max_size=40),
       st.sampled_from([b"", b"\x00\x53", b"\x00\x53\x72\xc1", b"\x00\x53\x74\xc1"]))
@settings(max_examples=500)
def test_any_section_bytes_read_directly_are_read_as_the_general_path_reads_them(
        code: int, keys: int, tail: bytes, head: bytes) -> None:
    # Sizes and counts that fit and that do not, heads right and wrong: the direct read
    # declines (None), or reads the general path's dict, or raises as it does.
    for raw in (head + tail, head + bytes((len(tail),)) + tail):
        direct = _direct(raw, code, keys)
        if direct is None:
            continue
        general = _general(raw, code)
        if direct is DecodeError:
            assert general is DecodeError, (raw.hex(), general)
        else:
            assert type(direct) is dict
            assert_same(general, direct)


@given(_CODES, amqp_maps(amqp_scalars()))
@settings(max_examples=200)
def test_a_map_section_read_through_the_message_is_the_general_paths(code: int,
                                                                     value: Any) -> None:
    raw = bytes((0x00, 0x53, code)) + encode(value)
    general = _general(raw, code)
    body = b"\x00\x53\x75\xa0\x00"  # the footer comes after the body (3.2)
    msg = Message.decode(body + raw if code == 0x78 else raw + body)
    name = {0x71: "delivery_annotations", 0x72: "message_annotations",
            0x74: "application_properties", 0x78: "footer"}[code]
    keys = ([] if general is DecodeError else
            [k for k, _ in general.pairs] if type(general) is Map else list(general))
    if code == 0x74 and not all(isinstance(k, str) for k in keys):
        with pytest.raises(DecodeError, match=r"3\.2\.5"):
            getattr(msg, name)
        return
    if general is DecodeError:
        with pytest.raises(DecodeError):
            getattr(msg, name)
        return
    assert_same(general, getattr(msg, name))


@pytest.mark.parametrize("n", [0, 1, _PLACES_MAX - 1, _PLACES_MAX, _PLACES_MAX + 1, 300])
def test_lists_and_maps_either_side_of_the_kept_indices_decode_as_encoded(n: int) -> None:
    items = [i * 7 for i in range(n)]
    assert decode(encode(items)) == items
    pairs = {f"k{i}": i for i in range(n)}
    assert decode(encode(pairs)) == pairs
    app = {f"k{i}": i for i in range(n)}
    msg = Message.decode(Message(b"x", application_properties=app,
                                 message_annotations=dict(app)).encode())
    assert msg.application_properties == app
    assert msg.message_annotations == app


@given(st.lists(amqp_scalars(), max_size=2 * _PLACES_MAX + 4))
@settings(max_examples=100)
def test_a_list_of_any_length_decodes_as_it_was_encoded(items: list[Any]) -> None:
    assert_same(items, decode(encode(items)))


@given(amqp_maps(amqp_scalars()), _CODES, _CODES, st.sampled_from([ANY_KEYS, STR_KEYS]))
@settings(max_examples=200)
def test_a_map_section_is_read_directly_only_under_its_own_code(
        value: Any, code: int, asked: int, keys: int) -> None:
    raw = bytes((0x00, 0x53, code)) + encode(value)
    direct = _direct(raw, asked, keys)
    if asked != code:
        assert direct is None  # the general path says what is wrong
        assert _general(raw, asked) is DecodeError
    elif direct is not None and direct is not DecodeError:
        assert_same(_general(raw, code), direct)
