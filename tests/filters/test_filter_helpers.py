"""The filter helpers (3.5.1 filter-set entries): their exact bytes, the same bytes as the
Azure SDK's own encoder and go-amqp's descriptors, their argument checks, and reading back
the filter a peer applied."""

from __future__ import annotations

from typing import Any

import pytest
from azure.servicebus._pyamqp._encode import encode_filter_set, encode_value

import amqp10_proto
from amqp10_proto import (
    LEGACY_TOPIC_BINDING_FILTER,
    SELECTOR_FILTER,
    SESSION_FILTER,
    Described,
    EncodeError,
    Source,
    Symbol,
    ULong,
    codec,
    combine_filters,
    filter_value,
    legacy_direct_filter,
    legacy_headers_filter,
    legacy_topic_filter,
    link_filter,
    no_local_filter,
    selector_filter,
    session_filter,
)
from amqp10_proto.client import receiver_attach_args

#: The helpers, untyped: the table of bad arguments calls them as a careless caller would.
A: Any = amqp10_proto


def sym8(name: str) -> bytes:
    return b"\xa3" + bytes([len(name)]) + name.encode()


def str8(text: str) -> bytes:
    return b"\xa1" + bytes([len(text)]) + text.encode()


def map8(*items: bytes) -> bytes:
    body = b"".join(items)
    return b"\xc1" + bytes([len(body) + 1, len(items)]) + body


SEL = "apache.org:selector-filter:string"


def test_selector_by_name_exact_bytes() -> None:
    # map8 {sym8 name: described(sym8 name, str8 selector)}
    assert codec.encode(selector_filter("a = 1")) == map8(
        sym8(SEL), b"\x00" + sym8(SEL) + str8("a = 1"))


def test_selector_by_code_is_go_amqps_new_selector_filter() -> None:
    # go-amqp: NewLinkFilter(selectorFilter, 0x0000468C00000004, filter): the key is the
    # name, the descriptor the ulong code (0x80: ulong in 8 bytes).
    assert codec.encode(selector_filter("a = 1", numeric=True)) == map8(
        sym8(SEL), b"\x00\x80\x00\x00\x46\x8c\x00\x00\x00\x04" + str8("a = 1"))
    assert selector_filter("a = 1", numeric=True) == link_filter(SEL, "a = 1",
                                                                 code=0x0000468C00000004)


@pytest.mark.parametrize(("helper", "name", "code"), [
    (legacy_direct_filter, "apache.org:legacy-amqp-direct-binding:string", 0),
    (legacy_topic_filter, "apache.org:legacy-amqp-topic-binding:string", 1),
])
def test_legacy_string_filters_exact_bytes(helper: Any, name: str, code: int) -> None:
    assert codec.encode(helper("a.b")) == map8(sym8(name), b"\x00" + sym8(name) + str8("a.b"))
    assert codec.encode(helper("a.b", numeric=True)) == map8(
        sym8(name), b"\x00\x80\x00\x00\x46\x8c\x00\x00\x00" + bytes([code]) + str8("a.b"))


def test_legacy_headers_filter_exact_bytes() -> None:
    name = "apache.org:legacy-amqp-headers-binding:map"
    inner = map8(str8("color"), str8("red"), str8("x-match"), str8("any"))
    assert codec.encode(legacy_headers_filter({"color": "red"}, match="any")) == map8(
        sym8(name), b"\x00" + sym8(name) + inner)
    assert legacy_headers_filter({"size": 3})[Symbol(name)].value == {"size": 3}


def test_no_local_filter_exact_bytes() -> None:
    name = "apache.org:no-local-filter:list"
    assert codec.encode(no_local_filter()) == map8(sym8(name), b"\x00" + sym8(name) + b"\x45")


@pytest.mark.parametrize("session_id", ["orders-7", None])
def test_session_filter_is_what_the_azure_sdk_sends(session_id: str | None) -> None:
    # The Azure SDK for Python (azure-servicebus _pyamqp) sends the key with the bare
    # string, or null for "the next session free": the same bytes, from its own encoder.
    theirs = bytearray()
    encode_value(theirs, encode_filter_set({"com.microsoft:session-filter": session_id}))
    ours = codec.encode(session_filter(session_id))
    assert ours == bytes(theirs)
    value = b"\x40" if session_id is None else str8(session_id)
    assert ours == map8(sym8("com.microsoft:session-filter"), value)


def test_session_filter_described_is_the_go_sdks_form() -> None:
    # azservicebus: NewLinkFilter(name, uint64(0x00000137000000C), id), Microsoft's
    # descriptor 0x00000013:0x7000000C.
    assert codec.encode(session_filter("s1", described=True)) == map8(
        sym8("com.microsoft:session-filter"),
        b"\x00\x80\x00\x00\x00\x13\x70\x00\x00\x0c" + str8("s1"))


def test_selector_same_bytes_as_the_azure_sdk_encoder() -> None:
    theirs = bytearray()
    encode_value(theirs, encode_filter_set({SEL: (SEL, "a = 1")}))
    assert codec.encode(selector_filter("a = 1")) == bytes(theirs)


def test_combine_gives_every_entry_and_refuses_a_clash() -> None:
    both = combine_filters(selector_filter("a = 1"), no_local_filter(),
                           session_filter(None))
    assert list(both) == [SEL, "apache.org:no-local-filter:list", SESSION_FILTER]
    assert all(type(k) is Symbol for k in both)
    with pytest.raises(ValueError, match="two filters named"):
        combine_filters(selector_filter("a = 1"), selector_filter("b = 2"))
    two = combine_filters(selector_filter("a = 1"), selector_filter("b = 2", key="second"))
    assert two[Symbol("second")] == Described(SELECTOR_FILTER, "b = 2")
    with pytest.raises(TypeError):
        combine_filters([("k", 1)])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        combine_filters({1: None})  # type: ignore[dict-item]


def test_output_is_what_open_receiver_takes() -> None:
    # The adapters' open_receiver(filters=...) passes through receiver_attach_args.
    filters = combine_filters(selector_filter("color = 'red'"), legacy_topic_filter("a.*"),
                              session_filter(None))
    args = receiver_attach_args("q", dynamic=False, filters=filters, settle_mode="unsettled",
                                rcv_settle_mode="first", durable=None, expiry_policy=None,
                                capabilities=None)
    source = args["source"]
    assert isinstance(source, Source)
    assert source.filter == filters
    decoded = codec.decode(codec.encode(source))
    assert decoded.filter == filters


@pytest.mark.parametrize(("call", "error"), [
    (lambda: A.selector_filter(42), TypeError),
    (lambda: A.selector_filter(""), ValueError),
    (lambda: A.selector_filter("a = 1", numeric=1), TypeError),
    (lambda: A.selector_filter("a = 1", key=""), ValueError),
    (lambda: A.selector_filter("a = 1", key="sélecteur"), ValueError),
    (lambda: A.selector_filter("a = 1", key=b"k"), TypeError),
    (lambda: A.legacy_direct_filter(None), TypeError),
    (lambda: A.legacy_topic_filter(""), ValueError),
    (lambda: A.legacy_headers_filter([("a", 1)]), TypeError),
    (lambda: A.legacy_headers_filter({1: "a"}), TypeError),
    (lambda: A.legacy_headers_filter({}), ValueError),
    (lambda: A.legacy_headers_filter({"a": 1}, match="some"), ValueError),
    (lambda: A.legacy_headers_filter({"x-match": "all"}, match="any"), ValueError),
    (lambda: A.legacy_headers_filter({"a": object()}), EncodeError),
    (lambda: A.session_filter(7), TypeError),
    (lambda: A.session_filter(""), ValueError),
    (lambda: A.session_filter("s", described="yes"), TypeError),
    (lambda: A.link_filter("x", 1, code=0), ValueError),
    (lambda: A.link_filter("x", 1, code=1 << 64), ValueError),
    (lambda: A.link_filter("x", 1, code=True), TypeError),
    (lambda: A.link_filter("x", 1, code="1"), TypeError),
    (lambda: A.link_filter("x", object()), EncodeError),
    (lambda: A.link_filter("", 1), ValueError),
    (lambda: A.filter_value(None, 3), TypeError),
])
def test_bad_arguments_are_typed_errors(call: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()


def test_link_filter_without_code_uses_the_name() -> None:
    assert link_filter("my:filter", [1, 2]) == {
        Symbol("my:filter"): Described(Symbol("my:filter"), [1, 2])}
    assert link_filter("my:filter", "v", code=0x11, key="k") == {
        Symbol("k"): Described(ULong(0x11), "v")}


def test_filter_value_reads_back_by_key_or_descriptor() -> None:
    # The peer's answer may use its own keys and either descriptor form.
    answer = Source(address="q", filter={
        Symbol("jms-selector"): Described(ULong(0x0000468C00000004), "a = 1"),
        Symbol("com.microsoft:session-filter"): "session-42",
        Symbol("t"): Described(LEGACY_TOPIC_BINDING_FILTER, "a.*"),
    })
    assert filter_value(answer, SELECTOR_FILTER) == "a = 1"
    assert filter_value(answer, "jms-selector") == "a = 1"
    assert filter_value(answer, SESSION_FILTER) == "session-42"
    assert filter_value(answer, LEGACY_TOPIC_BINDING_FILTER) == "a.*"
    assert filter_value(answer, "apache.org:no-local-filter:list") is None
    assert filter_value(Source(address="q"), SELECTOR_FILTER) is None
    assert filter_value(None, SELECTOR_FILTER) is None


def test_exported() -> None:
    for name in ("selector_filter", "session_filter", "combine_filters", "filter_value",
                 "legacy_direct_filter", "legacy_topic_filter", "legacy_headers_filter",
                 "no_local_filter", "link_filter", "SELECTOR_FILTER", "SESSION_FILTER"):
        assert name in amqp10_proto.__all__
