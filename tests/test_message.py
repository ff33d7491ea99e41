"""Message: every section, every body kind, lazy decoding, and proton agreeing with us."""

from __future__ import annotations

import datetime as dt
import tracemalloc
import uuid
from typing import Any

import proton
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import amqp10_proto as amqp
from amqp10_proto import (
    AmqpSequence,
    AmqpValue,
    Data,
    Header,
    Message,
    Properties,
    Symbol,
    UInt,
    ULong,
)
from amqp10_proto.codec import decode, encode
from amqp10_proto.errors import DecodeError, EncodeError, EncodeTypeError

from .strategies import amqp_scalars, amqp_values, assert_same

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 26, 12, 30, 0, 250000, tzinfo=UTC)


def full_message(body: Any = b"payload") -> Message:
    return Message(
        body,
        header=Header(durable=True, priority=7, ttl=60000, first_acquirer=True, delivery_count=3),
        delivery_annotations={"x-opt-trace": "t1", ULong(12): b"\x00"},
        message_annotations={"x-opt-partition-key": "pk-7", Symbol("x-opt-n"): UInt(5)},
        properties=Properties(
            message_id="msg-000001", user_id=b"alice", to="orders", subject="created",
            reply_to="replies", correlation_id=uuid.UUID(int=42), content_type="application/json",
            content_encoding="utf-8", absolute_expiry_time=T0 + dt.timedelta(hours=1),
            creation_time=T0, group_id="g1", group_sequence=9, reply_to_group_id="rg"),
        application_properties={"tenant": "acme", "attempt": 3, "urgent": True, "score": 0.5,
                                "when": T0, "id": uuid.UUID(int=1), "n": amqp.Short(-2)},
        footer={"x-opt-hash": b"\x01\x02"},
    )


BODIES: list[Any] = [
    b"payload",
    b"",
    [Data(b"part1"), Data(b"part2"), Data(b"")],
    "text body",
    None,
    {"k": [1, 2, {"n": None}]},
    AmqpValue(b"binary as a value"),
    AmqpSequence([1, "two", [3]]),
    [AmqpSequence([1]), AmqpSequence([]), AmqpSequence(["x"])],
]


@pytest.mark.parametrize("body", BODIES, ids=repr)
def test_round_trip_every_body_kind_with_every_section(body: Any) -> None:
    msg = full_message(body)
    data = msg.encode()
    back = Message.decode(data)
    assert back == msg
    assert back.body_type == msg.body_type
    if msg.body_type == "data":  # data sections decode as bytes (Data is a bytes subclass)
        assert back.body == msg.body
    else:
        assert_same(back.body, msg.body)
    assert back.encode() == data
    eager = Message.decode(data, lazy=False)
    assert eager == msg


def test_body_shapes() -> None:
    assert Message(b"x").body == b"x" and Message(b"x").body_type == "data"
    assert Message(bytearray(b"x")).body == b"x"
    assert Message([Data(b"a"), Data(b"b")]).body == [b"a", b"b"]
    assert Message("s").body_type == "value"
    assert Message(AmqpValue(b"x")).body_type == "value"
    assert Message(AmqpValue(b"x")).body == b"x"
    assert Message(AmqpSequence([1, 2])).body == [1, 2]
    assert Message(AmqpSequence([1, 2])).body_type == "sequence"
    assert Message([1, 2]).body_type == "value"  # a plain list is an amqp-value
    assert Message().body is None and Message().body_type == "value"
    assert Message([Data(b"a"), Data(b"b")]).sections == [Data(b"a"), Data(b"b")]
    assert Message(5).sections == [AmqpValue(5)]


def test_section_encodings_are_exact() -> None:
    assert Message(b"hi").encode() == bytes.fromhex("005375a0026869")
    assert Message("hi").encode() == bytes.fromhex("005377a1026869")
    assert Message(AmqpSequence([])).encode() == bytes.fromhex("00537645")
    assert Message(b"", header=Header(durable=True)).encode() == bytes.fromhex(
        "005370c0020141" "005375a000")
    big = b"z" * 256
    assert Message(big).encode() == bytes.fromhex("005375b000000100") + big


# -- proton agrees --------------------------------------------------------------

def test_proton_decodes_what_we_encode() -> None:
    msg = full_message(b"payload")
    pm = proton.Message()
    pm.decode(msg.encode())
    assert pm.durable is True and pm.priority == 7 and pm.ttl == 60.0
    assert pm.first_acquirer is True and pm.delivery_count == 3
    assert pm.id == "msg-000001" and pm.user_id == b"alice" and pm.address == "orders"
    assert pm.subject == "created" and pm.reply_to == "replies"
    assert pm.correlation_id == uuid.UUID(int=42)
    assert pm.content_type == "application/json" and pm.content_encoding == "utf-8"
    assert pm.expiry_time == (T0 + dt.timedelta(hours=1)).timestamp()
    assert pm.creation_time == T0.timestamp()
    assert pm.group_id == "g1" and pm.group_sequence == 9 and pm.reply_to_group_id == "rg"
    assert pm.properties["tenant"] == "acme" and pm.properties["attempt"] == 3
    assert pm.properties["urgent"] is True and pm.properties["score"] == 0.5
    assert isinstance(pm.properties["n"], proton.short) and pm.properties["n"] == -2
    assert pm.annotations[proton.symbol("x-opt-partition-key")] == "pk-7"
    assert isinstance(pm.annotations[proton.symbol("x-opt-n")], proton.uint)
    assert pm.instructions[proton.symbol("x-opt-trace")] == "t1"
    assert bytes(pm.body) == b"payload"


@pytest.mark.parametrize("body", ["text", None, {"a": 1}, [1, "x"], AmqpValue(b"bin")], ids=repr)
def test_proton_reads_our_value_bodies(body: Any) -> None:
    pm = proton.Message()
    pm.decode(Message(body).encode())
    expected = body.value if isinstance(body, AmqpValue) else body
    got = pm.body
    assert (bytes(got) if isinstance(got, memoryview) else got) == expected


def test_we_decode_what_proton_encodes() -> None:
    pm = proton.Message(
        body="hello", id=proton.ulong(7), correlation_id=b"corr", address="q", subject="s",
        durable=True, priority=2, ttl=1.5, content_type="text/plain",
        properties={"a": proton.int32(1), "b": proton.symbol("sym"), "c": proton.timestamp(1000)},
        annotations={proton.symbol("x-opt-a"): proton.ubyte(3)},
        instructions={proton.symbol("x-opt-i"): proton.char("c")},
    )
    pm.creation_time = 1700000000.5
    msg = Message.decode(pm.encode())
    assert msg.body == "hello" and msg.body_type == "value"
    assert msg.properties is not None and msg.header is not None
    assert msg.properties.message_id == 7 and type(msg.properties.message_id) is ULong
    assert msg.properties.correlation_id == b"corr"
    assert msg.properties.to == "q" and msg.properties.subject == "s"
    assert msg.properties.content_type == "text/plain"
    assert msg.properties.creation_time == dt.datetime.fromtimestamp(1700000000.5, UTC)
    assert msg.header.durable is True and msg.header.priority == 2 and msg.header.ttl == 1500
    ap = msg.application_properties
    assert ap is not None
    assert type(ap["a"]) is amqp.Int and type(ap["b"]) is Symbol
    assert ap["c"] == dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert msg.message_annotations == {Symbol("x-opt-a"): amqp.UByte(3)}
    assert msg.delivery_annotations == {Symbol("x-opt-i"): amqp.Char("c")}


def test_we_decode_proton_data_and_sequence_bodies() -> None:
    pm = proton.Message(body=b"raw bytes")
    assert Message.decode(pm.encode()).body == b"raw bytes"
    pm = proton.Message(body=[1, 2, 3])
    pm.inferred = True  # a list body with inferred=True is an amqp-sequence in proton
    m = Message.decode(pm.encode())
    assert m.body_type == "sequence" and m.body == [1, 2, 3]


@settings(max_examples=150, deadline=None)
@given(value=amqp_values(max_leaves=12), props=st.dictionaries(
    st.text(max_size=20), amqp_scalars(), max_size=6))
def test_round_trip_any_value_body_and_properties(value: Any, props: dict[str, Any]) -> None:
    msg = Message(AmqpValue(value), application_properties=props)
    back = Message.decode(msg.encode())
    assert_same(back.body, value)
    assert_same(back.application_properties, props)


# -- lazy decoding ----------------------------------------------------------------

def test_unread_sections_are_written_back_byte_for_byte() -> None:
    # A footer encoded in a non-minimal way (map32) stays as it came if never read.
    footer = bytes.fromhex("005378d10000000a00000002a30161a10162")
    data = Message(b"x").encode() + footer
    msg = Message.decode(data)
    assert msg.encode() == data
    assert msg.footer == {Symbol("a"): "b"}
    assert msg.encode() == Message(b"x").encode() + bytes.fromhex("005378c10702a30161a10162")


def test_bad_content_in_a_lazy_section_raises_on_read() -> None:
    bad_props = bytes.fromhex("005374c10602a101ffa100")  # key is invalid UTF-8
    data = bad_props + Message(b"x").encode()
    msg = Message.decode(data)  # framing is fine
    assert msg.body == b"x"
    with pytest.raises(DecodeError, match="UTF-8"):
        _ = msg.application_properties
    with pytest.raises(DecodeError, match="UTF-8"):
        Message.decode(data, lazy=False)


@pytest.mark.parametrize(
    ("hexdata", "match"),
    [
        ("", "at least one section"),
        ("005375a00178" "00537045", "out of order"),
        ("00537045" "00537045" "005375a000", "out of order or repeated"),
        ("005377a000" "005377a000", "more than one amqp-value"),
        ("005375a000" "00537645", "both data and amqp-sequence sections"),
        # Issue 10: a data and an amqp-value section, said as such (not "more than one amqp-value").
        ("005375a000" "005377a000", "both data and amqp-value sections"),
        ("005377a000" "005375a000", "both amqp-value and data sections"),
        ("00537645" "005377a000", "both amqp-sequence and amqp-value sections"),
        ("005375a10178", "must hold binary"),
        ("005379a000", "unknown message section"),
        ("a000", "described"),
        ("005375a005", "ends inside"),
        ("005370c00501", "ends inside"),
        ("0053", "ends inside|truncated"),
    ],
)
def test_malformed_messages_raise_decode_error(hexdata: str, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        Message.decode(bytes.fromhex(hexdata))


def test_every_truncation_of_a_message_is_a_decode_error() -> None:
    msg = full_message()
    parts = msg.encode_parts()
    data = b"".join(parts)
    # Cutting between two sections leaves a valid message (without a body, the ones
    # before the body: issue 10, as python-qpid-proton sends); anywhere else is an error.
    bounds = {sum(map(len, parts[:i])) for i in range(1, len(parts))
              if parts[i].startswith(b"\x00\x53")}  # not inside the data section
    assert len(bounds) >= 5
    for n in range(len(data)):
        if n in bounds:
            Message.decode(data[:n], lazy=False)
            continue
        with pytest.raises(DecodeError):
            Message.decode(data[:n], lazy=False)


def test_symbolic_section_descriptors_decode() -> None:
    data = (b"\x00" + encode(Symbol("amqp:header:list")) + b"\xc0\x02\x01\x41"
            + b"\x00" + encode(Symbol("amqp:data:binary")) + b"\xa0\x01z")
    msg = Message.decode(data)
    assert msg.header == Header(durable=True) and msg.body == b"z"


# -- sections as stand-alone values ---------------------------------------------

def test_sections_decode_as_their_types() -> None:
    assert type(decode(encode(Data(b"d")))) is Data
    assert decode(encode(AmqpValue(1))) == AmqpValue(1)
    assert type(decode(encode(AmqpSequence([1])))) is AmqpSequence
    for cls in (amqp.DeliveryAnnotations, amqp.MessageAnnotations, amqp.Footer):
        v = decode(encode(cls({"k": 1})))
        assert type(v) is cls and v == {Symbol("k"): 1}
    ap = decode(encode(amqp.ApplicationProperties({"k": 1})))
    assert type(ap) is amqp.ApplicationProperties and type(next(iter(ap))) is str


# -- encoding errors ----------------------------------------------------------------

def test_application_property_values_must_be_simple() -> None:
    with pytest.raises(EncodeError, match=r"application-properties\['k'\]"):
        Message(b"", application_properties={"k": [1]}).encode()
    with pytest.raises(EncodeError, match=r"application-properties"):
        Message(b"", application_properties={1: "v"}).encode()  # type: ignore[dict-item]


def test_annotation_keys_are_symbols_or_ulongs() -> None:
    ok = Message(b"", message_annotations={"s": 1, 7: 2}).encode()
    assert Message.decode(ok).message_annotations == {Symbol("s"): 1, ULong(7): 2}
    with pytest.raises(EncodeTypeError):
        Message(b"", message_annotations={object(): 1}).encode()


@pytest.mark.parametrize("key", ["54 05", "54 fb", "71 ff ff ff ff", "81 ff ff ff ff ff ff ff fe",
                                 "55 fe", "40", "50 07", "70 00 00 00 07"])
@pytest.mark.parametrize("section", ["71", "72", "78"])
def test_annotation_keys_the_decoder_takes_re_encode(key: str, section: str) -> None:
    # Issue 10: signed-integer (and other) keys, as some stacks write them, decoded but
    # then failed to encode. Each now goes back out in its own type.
    k = bytes.fromhex(key)
    data = (bytes.fromhex(f"0053{section}c1") + bytes((len(k) + 2, 2)) + k + b"\x41"
            + Message(b"x").encode())
    if section == "78":  # the footer follows the body
        data = Message(b"x").encode() + data[:-len(Message(b"x").encode())]
    msg = Message.decode(data, lazy=False)
    again = Message.decode(Message(msg.body, delivery_annotations=msg.delivery_annotations,
                                   message_annotations=msg.message_annotations,
                                   footer=msg.footer).encode(), lazy=False)
    assert again == msg
    for name in ("delivery_annotations", "message_annotations", "footer"):
        before, after = getattr(msg, name), getattr(again, name)
        if before is not None:  # the same keys, of the same AMQP types (Int stays Int)
            assert [type(k) for k in after] == [type(k) for k in before]


def test_symbol_keyed_maps_the_decoder_takes_re_encode() -> None:
    # fields and filter-set maps (2.7.1 properties, 3.5.3 filter) with non-symbol keys.
    from amqp10_proto.performatives import Open

    base = encode(Open(container_id="x", properties={"k": 1}))
    for key in ("54 05", "40", "55 ff"):
        k = bytes.fromhex(key)
        props = b"\xc1" + bytes((len(k) + 3, 2)) + k + b"\x55\x01"
        data = base.replace(bytes.fromhex("c10602a3016b5501"), props)
        data = data[:4] + bytes((data[4] + len(props) - 8,)) + data[5:]
        value = decode(data)
        again = decode(encode(value))
        assert again == value and [type(k) for k in again.properties] == [
            type(k) for k in value.properties]


def test_encode_errors_name_the_section() -> None:
    with pytest.raises(EncodeError, match=r"at properties\.group-sequence"):
        Message(b"", properties=Properties(group_sequence=-1)).encode()
    with pytest.raises(EncodeError, match=r"at body"):
        Message(AmqpValue(UInt(-1))).encode()
    with pytest.raises(EncodeTypeError, match=r"message-annotations"):
        Message(b"", message_annotations=5).encode()  # type: ignore[arg-type]


# -- one copy of a large body ------------------------------------------------------

def peak_of(fn: Any) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        result = fn()
        del result
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_large_body_is_copied_once_each_way() -> None:
    size = 4 << 20
    msg = Message(b"\x07" * size, properties=Properties(message_id="big"))
    data = msg.encode()
    assert peak_of(msg.encode) < size * 1.1
    assert peak_of(lambda: Message.decode(data).body) < size * 1.1
    parts = msg.encode_parts()
    assert parts[-1] is msg.body  # the body itself, not a copy, until joined


@pytest.mark.parametrize(("size", "head"), [
    (0, "005375 a0 00"), (255, "005375 a0 ff"), (256, "005375 b0 00000100"),
])
def test_a_data_only_message_is_its_section_head_and_the_body_itself(size: int,
                                                                     head: str) -> None:
    # 3.2.6: one data section, vbin8 up to 255 bytes, vbin32 above: the bulk send's parts.
    body = b"\x5a" * size
    parts = Message(body).encode_parts()
    assert parts == [bytes.fromhex(head.replace(" ", "")), body]
    assert parts[1] is body
    assert Message.decode(b"".join(parts)).body == body


def test_a_data_body_with_any_other_section_or_not_bytes_goes_the_general_way() -> None:
    data = Data(b"ab")  # a bytes subclass: still one data section
    assert Message(data).encode_parts() == [bytes.fromhex("005375a002"), data]
    two = Message([Data(b"a"), Data(b"b")]).encode_parts()
    assert b"".join(two) == bytes.fromhex("005375a00161005375a00162")
    for msg in (Message(b"x", footer={Symbol("f"): 1}),
                Message(b"x", header=Header(durable=True)),
                Message(b"x", message_annotations={Symbol("m"): 1}),
                Message(b"x", delivery_annotations={Symbol("d"): 1}),
                Message(b"x", application_properties={"a": 1}),
                Message(b"x", properties=Properties(subject="s"))):
        parts = msg.encode_parts()
        assert len(parts) == 3
        assert Message.decode(b"".join(parts)) == msg
    bad = Message(b"x")
    bad._body = [bytearray(b"x")]  # not bytes: the general path's typed error
    with pytest.raises(EncodeTypeError):
        bad.encode_parts()


def test_repr_is_readable() -> None:
    r = repr(Message(b"hi", properties=Properties(subject="s")))
    assert r == "Message(b'hi', properties=Properties(subject='s'))"
    assert repr(Message("x")) == "Message(AmqpValue('x'))"


def test_application_property_keys_must_be_strings_on_decode_too() -> None:
    section = b"\x00\x53\x74" + encode({1: "v"})  # a key that is a long
    msg = Message.decode(section + Message(b"x").encode())
    with pytest.raises(DecodeError, match="not a string"):
        _ = msg.application_properties
    symbol_keys = b"\x00\x53\x74" + encode({Symbol("k"): "v"})
    assert Message.decode(symbol_keys + Message(b"x").encode()).application_properties == {"k": "v"}


# -- a message without a body section (issue 10, item 7) --------------------------------

#: What python-qpid-proton sends for Message(body=None, durable=True, id="m1"): a header
#: and properties, and no body section at all.
PROTON_NO_BODY = bytes.fromhex("005370c0020141" "005373c00501a1026d31")


def test_a_message_without_a_body_section_decodes_with_body_none() -> None:
    msg = Message.decode(PROTON_NO_BODY, lazy=False)
    assert msg.body is None and msg.body_type == "none" and msg.sections == []
    assert msg.header == Header(durable=True)
    assert msg.properties == Properties(message_id="m1")
    assert msg.encode() == PROTON_NO_BODY  # the same sections, and no body invented
    msg.properties = Properties(message_id="m2")  # re-encoded from values, not the raw bytes
    again = Message.decode(msg.encode())
    assert again.body_type == "none" and again.properties == Properties(message_id="m2")
    assert again != Message(None, header=Header(durable=True),  # that one has a null value
                            properties=Properties(message_id="m2"))
    assert "no body" in repr(msg)


@pytest.mark.parametrize("hexdata", ["00537045", "005371c10100", "005372c10100", "005374c10100",
                                     "005378c10100", "00537045" "005378c10100"])
def test_every_section_alone_or_with_a_footer_decodes_without_a_body(hexdata: str) -> None:
    msg = Message.decode(bytes.fromhex(hexdata), lazy=False)
    assert msg.body is None and msg.body_type == "none"
    assert msg.encode().hex() == hexdata


# -- the section readers' fast paths agree with the general decoder (issue 12, item 6) --------

from amqp10_proto._decoder import section_items, section_value  # noqa: E402
from amqp10_proto._definitions import _dec_header  # noqa: E402
from amqp10_proto._message import _read_header  # noqa: E402

_optional_uint = st.none() | st.integers(0, 0xFFFFFFFF).map(UInt)


@given(durable=st.none() | st.booleans(), priority=st.none() | st.integers(0, 255),
       ttl=_optional_uint, first=st.none() | st.booleans(), count=_optional_uint)
@settings(max_examples=300)
def test_the_header_read_directly_is_the_header_the_general_decoder_reads(
        durable: bool | None, priority: int | None, ttl: UInt | None, first: bool | None,
        count: UInt | None) -> None:
    header = Header()
    header.durable, header.ttl = durable, ttl  # type: ignore[assignment]
    header.priority = priority  # type: ignore[assignment]
    header.first_acquirer, header.delivery_count = first, count  # type: ignore[assignment]
    raw = Message(b"", header=header).encode()[:-5]  # without the empty data section
    fast = _read_header(raw)
    general = _dec_header(section_value(raw, 0x70))
    assert fast is not None and fast == general
    assert [type(v) for v in fast._values()] == [type(v) for v in general._values()]


@given(st.binary(min_size=1, max_size=12), st.integers(6, 17))
@settings(max_examples=500)
def test_a_mangled_header_is_read_alike_or_left_to_the_general_decoder(junk: bytes,
                                                                       at: int) -> None:
    raw = Message(b"", header=Header(durable=True, priority=9, ttl=70000, first_acquirer=True,
                                     delivery_count=2)).encode()[:-5]
    mangled = raw[:at] + junk + raw[at + len(junk):]
    mangled = mangled[:4] + bytes((len(mangled) - 5,)) + mangled[5:]  # the list8 size fits
    fast = _read_header(mangled)
    try:
        general = _dec_header(section_value(mangled, 0x70))
    except DecodeError:
        assert fast is None  # the fast path never accepts what the general decoder refuses
        return
    assert fast is None or fast == general


def test_the_usual_header_takes_the_fast_path_and_others_do_not() -> None:
    usual = bytes.fromhex("005370c008034140700000ea60")  # durable, -, ttl 60000 (as we send)
    assert _read_header(usual) == Header(durable=True, ttl=60000)
    unusual = [
        bytes.fromhex("005370c00301" + "5601"),          # boolean as 0x56 0x01
        bytes.fromhex("005370c00402" + "40" + "5205"),   # priority as a smalluint (valid)
        bytes.fromhex("005370d0000000050000000141"),     # list32
    ]
    for raw in unusual:
        assert _read_header(raw) is None
        assert _dec_header(section_value(raw, 0x70)) is not None  # the general path reads it
    for bad in ("005370c0030151" "05",  # priority as a byte: the general path refuses it
                "005370c00201a1"):      # truncated inside
        assert _read_header(bytes.fromhex(bad)) is None


def test_section_items_reads_the_usual_list8_and_map8_only() -> None:
    ap = bytes.fromhex("005374c10902a1016ba103616263")  # {"k": "abc"}
    assert section_items(ap, 0x74, 0xC1) == ["k", "abc"]
    assert section_items(ap, 0x74, 0xC0) is None  # not a list
    assert section_items(ap, 0x73, 0xC1) is None  # another section's code
    odd = bytes.fromhex("005374c10401a1016b")  # a map8 of one element: for the general decoder
    assert section_items(odd, 0x74, 0xC1) is None
    with pytest.raises(DecodeError, match="odd number"):
        section_value(odd, 0x74)
    short = bytes.fromhex("005374c10b02a1016ba10361")  # its size says more than is there
    assert section_items(short, 0x74, 0xC1) is None


@given(st.dictionaries(st.text(max_size=8), amqp_scalars(), max_size=12))
@settings(max_examples=200)
def test_application_properties_read_as_the_general_decoder_reads_them(props: dict[str, Any]
                                                                      ) -> None:
    data = Message(b"x", application_properties=props).encode()
    assert_same(props, Message.decode(data).application_properties)
    ap = Message.decode(data)._ap
    assert_same(section_value(ap, 0x74), Message.decode(data).application_properties)


def test_annotations_with_keys_equal_in_python_stay_a_map() -> None:
    # ulong 1 and long 1 are distinct AMQP keys, equal in Python: both kept, as a Map.
    raw = bytes.fromhex("005372c10b04" "5301a101" "61" "5501a101" "62")
    data = raw + bytes.fromhex("005375a000")
    ma: Any = Message.decode(data).message_annotations
    assert isinstance(ma, amqp.Map) and len(ma.pairs) == 2


def test_a_section_given_as_bytes_must_be_that_encoded_section() -> None:
    msg = Message(b"x")
    msg.header = bytes.fromhex("005370c00201" "41")  # type: ignore[assignment]
    assert msg.header == Header(durable=True)
    msg.properties = bytes.fromhex("005370c00201" "41")  # type: ignore[assignment]
    with pytest.raises(DecodeError):
        _ = msg.properties  # a header's bytes are not a properties section
    msg.properties = b"\x01\x02"  # type: ignore[assignment]
    with pytest.raises(EncodeTypeError, match="not an encoded section"):
        msg.encode()


def test_a_symbolic_section_descriptor_is_kept_as_its_code() -> None:
    data = (b"\x00\xa3\x1camqp:message-annotations:map\xc1\x07\x02\xa3\x01k\xa1\x01v"
            + bytes.fromhex("005375a000"))
    msg = Message.decode(data)
    assert msg.message_annotations == {"k": "v"}
    again = Message.decode(data)
    assert again.encode() == bytes.fromhex("005372c10702a3016ba10176005375a000")
