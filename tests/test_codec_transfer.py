"""The send path's usual transfer performative, packed in one step, is the generic encoding."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from amqp10_proto._codec import encode
from amqp10_proto._framing import transfer_performative
from amqp10_proto.performatives import Transfer


@settings(max_examples=300)
@given(handle=st.integers(0, 300), did=st.integers(200, 2**32 - 1),
       tag=st.binary(min_size=3, max_size=5), fmt=st.sampled_from([0, 0, 0, 1]),
       settled=st.booleans(), more=st.booleans())
def test_the_usual_transfer_packed_in_one_step_is_the_generic_encoding(
        handle: int, did: int, tag: bytes, fmt: int, settled: bool, more: bool) -> None:
    generic = encode(Transfer(handle=handle, delivery_id=did, delivery_tag=tag,
                              message_format=fmt, settled=settled, more=more))
    assert transfer_performative(handle, did, tag, fmt, settled, more) == generic


def test_the_usual_transfer_bytes() -> None:
    # handle 1, delivery-id 1000, tag 00 00 03 e8, format 0, unsettled
    assert transfer_performative(1, 1000, b"\x00\x00\x03\xe8", 0, False, False).hex() == (
        "005314c0100552017000000" "3e8a004000003e84342")
    # handle 0 (uint0), settled
    assert transfer_performative(0, 256, b"\x00\x00\x01\x00", 0, True, False).hex() == (
        "005314c00f05437000000100a004000001004341")
