"""Composite types from the spec XML: exact encodings, defaults, validation, proton."""

from __future__ import annotations

import datetime as dt
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import proton
import pytest

import amqp10_proto as amqp
from amqp10_proto import performatives as pf
from amqp10_proto.codec import decode, encode
from amqp10_proto.errors import DecodeError, EncodeError, EncodeTypeError

SPEC = Path(__file__).resolve().parent.parent.parent / "shared" / "spec"
NS = "{http://www.amqp.org/schema/amqp.xsd}"
UTC = dt.timezone.utc


def spec_composites() -> dict[str, tuple[int, str, list[str]]]:
    """name -> (code, symbolic descriptor, field names) for every composite in the XML."""
    out = {}
    for f in SPEC.glob("*.xml"):
        for t in ET.parse(f).getroot().iter(NS + "type"):
            if t.get("class") != "composite":
                continue
            d = t.find(NS + "descriptor")
            assert d is not None
            hi, lo = d.attrib["code"].split(":")
            fields = [x.attrib["name"].replace("-", "_") for x in t.findall(NS + "field")]
            out[t.attrib["name"]] = ((int(hi, 16) << 32) | int(lo, 16), d.attrib["name"], fields)
    return out


def class_for(name: str) -> Any:
    cls_name = "".join(p.capitalize() for p in name.split("-"))
    return getattr(amqp, cls_name, None) or getattr(pf, cls_name)


COMPOSITES = spec_composites()


def test_every_composite_of_the_spec_exists_with_its_fields_in_order() -> None:
    assert len(COMPOSITES) == 33  # 9 performatives, 5 SASL frames, 19 others
    for name, (code, symbol, fields) in COMPOSITES.items():
        cls = class_for(name)
        assert code == cls.DESCRIPTOR, name
        assert symbol == cls.SYMBOL, name
        assert list(cls._FIELDS) == fields, name


# One fully populated instance of each composite, with values of the declared types.
ERROR = amqp.Error(condition=amqp.ErrorCondition.NOT_FOUND, description="gone",
                   info={"node": "q1"})
FULL: list[Any] = [
    pf.Open(container_id="c", hostname="h", max_frame_size=512, channel_max=7,
            idle_time_out=30000, outgoing_locales=["en-US"], incoming_locales=["de", "fr"],
            offered_capabilities=["ANONYMOUS-RELAY"], desired_capabilities=["a", "b"],
            properties={"product": "amqp10", "n": 1}),
    pf.Begin(remote_channel=3, next_outgoing_id=2**32 - 1, incoming_window=100,
             outgoing_window=0, handle_max=31, offered_capabilities=["x"],
             desired_capabilities=["y"], properties={"k": b"v"}),
    pf.Attach(name="link", handle=1, role=amqp.Role.RECEIVER,
              snd_settle_mode=amqp.SenderSettleMode.SETTLED,
              rcv_settle_mode=amqp.ReceiverSettleMode.SECOND,
              source=amqp.Source(address="q", durable=amqp.TerminusDurability.UNSETTLED_STATE,
                                 expiry_policy=amqp.TerminusExpiryPolicy.NEVER, timeout=60,
                                 dynamic=True, dynamic_node_properties={"lifetime-policy": amqp.DeleteOnClose()},
                                 distribution_mode=amqp.DistributionMode.COPY,
                                 filter={"sel": amqp.Described(amqp.Symbol("apache.org:selector-filter:string"), "a = 1")},
                                 default_outcome=amqp.Released(),
                                 outcomes=["amqp:accepted:list", "amqp:released:list"],
                                 capabilities=["queue"]),
              target=amqp.Target(address="t", durable=amqp.TerminusDurability.CONFIGURATION,
                                 expiry_policy=amqp.TerminusExpiryPolicy.LINK_DETACH,
                                 timeout=5, dynamic=False, capabilities=["topic"]),
              unsettled={b"tag1": amqp.Accepted()}, incomplete_unsettled=True,
              initial_delivery_count=9, max_message_size=2**40,
              offered_capabilities=["o"], desired_capabilities=["d"], properties={"p": 1}),
    pf.Flow(next_incoming_id=1, incoming_window=2, next_outgoing_id=3, outgoing_window=4,
            handle=5, delivery_count=6, link_credit=7, available=8, drain=True, echo=True,
            properties={"f": 1}),
    pf.Transfer(handle=0, delivery_id=1, delivery_tag=b"\x00\x01", message_format=0,
                settled=True, more=True, rcv_settle_mode=amqp.ReceiverSettleMode.FIRST,
                state=amqp.Received(section_number=1, section_offset=2**33), resume=True,
                aborted=True, batchable=True),
    pf.Disposition(role=amqp.Role.SENDER, first=0, last=10, settled=True,
                   state=amqp.Modified(delivery_failed=True, undeliverable_here=True,
                                       message_annotations={"x-opt-reason": "retry"}),
                   batchable=True),
    pf.Detach(handle=3, closed=True, error=ERROR),
    pf.End(error=ERROR),
    pf.Close(error=amqp.Error(condition=amqp.ErrorCondition.CONNECTION_FORCED)),
    pf.SaslMechanisms(sasl_server_mechanisms=["PLAIN", "ANONYMOUS"]),
    pf.SaslInit(mechanism="PLAIN", initial_response=b"\x00u\x00p", hostname="host"),
    pf.SaslChallenge(challenge=b"c"),
    pf.SaslResponse(response=b"r"),
    pf.SaslOutcome(code=amqp.SaslCode.AUTH, additional_data=b"why"),
    amqp.Header(durable=True, priority=9, ttl=1000, first_acquirer=True, delivery_count=2),
    amqp.Properties(message_id=uuid.UUID(int=5), user_id=b"u", to="q", subject="s",
                    reply_to="r", correlation_id=amqp.ULong(7), content_type="text/plain",
                    content_encoding="gzip",
                    absolute_expiry_time=dt.datetime(2030, 1, 1, tzinfo=UTC),
                    creation_time=dt.datetime(2020, 1, 1, 0, 0, 0, 1000, tzinfo=UTC),
                    group_id="g", group_sequence=4, reply_to_group_id="rg"),
    amqp.Received(section_number=0, section_offset=0),
    amqp.Accepted(),
    amqp.Rejected(error=ERROR),
    amqp.Released(),
    amqp.Modified(delivery_failed=False, undeliverable_here=True, message_annotations={"a": 1}),
    amqp.Error(condition="vendor:custom", description="d", info={"k": [1, 2]}),
    amqp.Source(address="q"),
    amqp.Target(address="q"),
    amqp.DeleteOnClose(),
    amqp.DeleteOnNoLinks(),
    amqp.DeleteOnNoMessages(),
    amqp.DeleteOnNoLinksOrMessages(),
    amqp.Coordinator(capabilities=[amqp.TxnCapability.LOCAL_TRANSACTIONS]),
    amqp.Declare(global_id=None),
    amqp.Discharge(txn_id=b"txn", fail=True),
    amqp.Declared(txn_id=b"txn"),
    amqp.TransactionalState(txn_id=b"txn", outcome=amqp.Accepted()),
]


def test_every_composite_is_covered_by_full() -> None:
    covered = {type(v).SYMBOL for v in FULL}
    assert covered == {symbol for _, symbol, _ in COMPOSITES.values()}


@pytest.mark.parametrize("value", FULL, ids=lambda v: type(v).__name__)
def test_round_trip_numeric_and_symbolic_descriptor(value: Any) -> None:
    data = encode(value)
    back = decode(data)
    assert type(back) is type(value)
    assert back == value
    assert encode(back) == data
    # The same list under the symbolic descriptor decodes to the same object (1.5).
    assert data[:2] == b"\x00\x53"
    symbolic = b"\x00" + encode(amqp.Symbol(type(value).SYMBOL)) + data[3:]
    assert decode(symbolic) == value
    # ... and under the long ulong form.
    long_form = b"\x00\x80" + type(value).DESCRIPTOR.to_bytes(8, "big") + data[3:]
    assert decode(long_form) == value


def described(code: int, *fields_hex: str) -> bytes:
    """A described list8 with the given encoded fields (hex), for hand-made frames."""
    body = bytes.fromhex("".join(fields_hex))
    return bytes((0x00, 0x53, code, 0xC0, len(body) + 1, len(fields_hex))) + body


@pytest.mark.parametrize("value", FULL, ids=lambda v: type(v).__name__)
def test_proton_reads_our_composites(value: Any) -> None:
    if isinstance(value, pf.Attach):
        # proton's Python binding cannot hash binary map keys (its memoryviews),
        # so leave the unsettled map out of this check.
        value = decode(encode(value))
        value.unsettled = None
    d = proton.Data()
    d.decode(encode(value))
    obj = d.get_object()
    assert isinstance(obj, proton.Described)
    assert obj.descriptor == type(value).DESCRIPTOR
    fields = obj.value if obj.value is not None else []
    assert len(fields) <= len(type(value)._FIELDS)
    # Re-encoded by proton, it decodes to our value again.
    d2 = proton.Data()
    d2.put_object(obj)
    assert decode(d2.encode()) == value


def test_trailing_null_and_default_fields_are_omitted() -> None:
    assert encode(pf.Open(container_id="c")) == bytes.fromhex("005310c00401a10163")
    assert encode(amqp.Accepted()) == bytes.fromhex("00532445")
    assert encode(amqp.Header()) == bytes.fromhex("00537045")
    # priority 4 is the default: written as null (or left off) rather than 0x50 0x04.
    assert encode(amqp.Header(durable=True, priority=4)) == bytes.fromhex("005370c0020141")
    # A null in the middle stays, as 0x40.
    assert encode(pf.Transfer(handle=0, delivery_tag=b"t")) == described(0x14, "43", "40", "a00174")


def test_defaults_are_applied_on_decode() -> None:
    o = decode(bytes.fromhex("005310c00401a10163"))
    assert o.max_frame_size == 4294967295 and type(o.max_frame_size) is amqp.UInt
    assert o.channel_max == 65535
    assert o.idle_time_out is None
    h = decode(bytes.fromhex("00537045"))
    assert (h.durable, h.priority, h.first_acquirer, h.delivery_count) == (False, 4, False, 0)
    a = decode(encode(pf.Attach(name="n", handle=0, role=amqp.Role.SENDER)))
    assert a.snd_settle_mode is amqp.SenderSettleMode.MIXED
    assert a.rcv_settle_mode is amqp.ReceiverSettleMode.FIRST
    s = decode(bytes.fromhex("00532845"))
    assert s.durable is amqp.TerminusDurability.NONE
    assert s.expiry_policy == "session-end" and type(s.expiry_policy) is amqp.Symbol
    assert s.timeout == 0 and s.dynamic is False


def test_multiple_fields_accept_one_value_or_an_array() -> None:
    single = b"\x00\x53\x40\xc0\x06\x01\xa3\x03abc"  # sasl-mechanisms with one bare symbol
    assert decode(single).sasl_server_mechanisms == ["abc"]
    assert decode(encode(pf.SaslMechanisms(sasl_server_mechanisms=["a", "b"]))
                  ).sasl_server_mechanisms == [amqp.Symbol("a"), amqp.Symbol("b")]


def test_mandatory_fields_missing_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match=r"open\.container-id is mandatory"):
        decode(bytes.fromhex("00531045"))
    with pytest.raises(DecodeError, match=r"transfer\.handle is mandatory"):
        decode(bytes.fromhex("005314c0020140"))


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ((0x14, "a10178"), r"transfer\.handle"),  # a string where a uint belongs
        ((0x14, "43", "41"), r"transfer\.delivery-id"),  # a boolean as delivery-id
        ((0x10, "5501"), r"open\.container-id"),  # a long as container-id
        ((0x12, "a1016e", "43", "5001"), r"attach\.role"),  # a ubyte as role
        ((0x15, "41", "a10178"), r"disposition\.first"),
        ((0x13, "43", "43", "43"), r"flow\.outgoing-window is mandatory"),
    ],
)
def test_wrong_field_types_are_decode_errors(fields: tuple[Any, ...], where: str) -> None:
    with pytest.raises(DecodeError, match=where):
        decode(described(*fields))


def test_integers_of_another_width_are_accepted_when_in_range() -> None:
    # handle is a uint; a peer that writes it as a ulong or a long still means 7.
    for enc in ("5307", "5507", "800000000000000007"):
        t = decode(described(0x14, enc))
        assert t.handle == 7 and type(t.handle) is amqp.UInt
    with pytest.raises(DecodeError, match=r"transfer\.handle"):
        decode(described(0x14, "55ff"))  # long -1
    with pytest.raises(DecodeError, match=r"transfer\.handle"):
        decode(described(0x14, "800000000100000000"))  # 2**32


def test_enum_fields_reject_unknown_values() -> None:
    with pytest.raises(DecodeError, match=r"attach\.snd-settle-mode"):
        decode(described(0x12, "a1016e", "43", "42", "5007"))
    ok = decode(described(0x12, "a1016e", "43", "42", "5001"))
    assert ok.snd_settle_mode is amqp.SenderSettleMode.SETTLED
    assert ok.role is amqp.Role.SENDER


def test_delivery_state_fields_must_be_delivery_states() -> None:
    raw = encode(pf.Disposition(role=amqp.Role.RECEIVER, first=0, state=amqp.Accepted()))
    assert decode(raw).state == amqp.Accepted()
    # A state that is a plain string is not a delivery state.
    with pytest.raises(DecodeError, match=r"disposition\.state"):
        decode(described(0x15, "41", "43", "40", "40", "a10178"))
    # An unknown described state (an extension) is kept as Described.
    ext = encode(pf.Disposition(role=amqp.Role.RECEIVER, first=0,
                                state=amqp.Described(amqp.Symbol("x:y"), [])))
    assert decode(ext).state == amqp.Described(amqp.Symbol("x:y"), [])


def test_message_ids_addresses_and_txn_ids_have_their_spec_types() -> None:
    # 3.2.11-3.2.15: a message-id is a ulong, uuid, binary or string; an address a string
    # (3.5.3); a txn-id binary (4.5.1). Any AMQP integer and a symbol are taken as they
    # came (a plain int is sent as long); anything else is a DecodeError naming the field.
    u = "98" + "00" * 15 + "01"
    p = decode(described(0x73, "5505", "40", "a30171", "40", "a10172", u))
    assert p.message_id == 5 and type(p.message_id) is int
    assert p.to == "q" and type(p.to) is amqp.Symbol and p.reply_to == "r"
    assert p.correlation_id == uuid.UUID(int=1)
    assert decode(described(0x73, "a0020102")).message_id == b"\x01\x02"
    assert type(decode(described(0x73, "5307")).message_id) is amqp.ULong
    with pytest.raises(DecodeError, match=r"properties\.message-id"):
        decode(described(0x73, "41"))  # a boolean
    with pytest.raises(DecodeError, match=r"properties\.correlation-id"):
        decode(described(0x73, "40", "40", "40", "40", "40", "82" + "00" * 8))  # a double
    with pytest.raises(DecodeError, match=r"properties\.to"):
        decode(described(0x73, "40", "40", "a00171"))  # binary
    with pytest.raises(DecodeError, match=r"source\.address"):
        decode(described(0x28, "5307"))
    with pytest.raises(DecodeError, match=r"target\.address"):
        decode(described(0x29, "a00171"))
    assert decode(described(0x33, "a0020102")).txn_id == b"\x01\x02"
    with pytest.raises(DecodeError, match=r"declared\.txn-id"):
        decode(described(0x33, "a10178"))  # a string
    with pytest.raises(DecodeError, match=r"transactional-state\.txn-id is mandatory"):
        decode(described(0x34, "40"))


def test_encode_errors_name_the_field() -> None:
    with pytest.raises(EncodeError, match=r"out of range for AMQP uint at transfer\.handle"):
        encode(pf.Transfer(handle=-1))
    with pytest.raises(EncodeTypeError, match=r"at open\.container-id"):
        encode(pf.Open(container_id=5))  # type: ignore[arg-type]
    with pytest.raises(EncodeError, match=r"at open\.properties\['n'\]"):
        encode(pf.Open(container_id="c", properties={"n": amqp.UInt(2**32)}))
    with pytest.raises(EncodeError, match=r"at attach\.source\.address|source"):
        encode(pf.Attach(name="n", handle=0, role=amqp.Role.SENDER,
                         source=amqp.Source(address=object())))  # type: ignore[arg-type]
    with pytest.raises(EncodeError, match="symbol"):
        encode(pf.Open(container_id="c", offered_capabilities=["caf\u00e9"]))


def test_error_conditions_are_symbols_from_the_spec() -> None:
    assert amqp.ErrorCondition.DECODE_ERROR == "amqp:decode-error"
    assert amqp.ErrorCondition.SESSION_WINDOW_VIOLATION == "amqp:session:window-violation"
    assert amqp.ErrorCondition.LINK_MESSAGE_SIZE_EXCEEDED == "amqp:link:message-size-exceeded"
    assert amqp.ErrorCondition.CONNECTION_REDIRECT != amqp.ErrorCondition.LINK_REDIRECT
    assert type(amqp.ErrorCondition.NOT_FOUND) is amqp.Symbol


def test_repr_shows_fields_that_differ_from_defaults() -> None:
    assert repr(amqp.Header(durable=True)) == "Header(durable=True)"
    assert repr(amqp.Accepted()) == "Accepted()"
    assert "handle=UInt(1)" in repr(decode(encode(pf.Transfer(handle=1))))


def test_composites_compare_by_type_and_fields() -> None:
    assert amqp.Released() != amqp.Accepted()
    assert amqp.Header(ttl=5) == amqp.Header(ttl=5)
    assert amqp.Header(ttl=5) != amqp.Header(ttl=6)
    with pytest.raises(TypeError):
        hash(amqp.Header())


def test_strings_where_symbols_belong_must_be_ascii() -> None:
    # error.condition is a symbol; a str8 holding non-ASCII text cannot be one.
    bad = described(0x1D, "a102c3a9")
    with pytest.raises(DecodeError, match=r"error\.condition"):
        decode(bad)
    ok = decode(described(0x1D, "a1026162"))
    assert ok.condition == "ab" and type(ok.condition) is amqp.Symbol
