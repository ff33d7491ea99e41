"""The direct decoders of the usual flow, disposition and transfer (``_framing._fast_*``).

They must build exactly what the general decoder builds (same values, same
Python types all the way down) or step aside (None), never accept what the
general decoder rejects, and never change what ``FrameReader.frames`` yields or
raises for any input, however truncated or corrupt.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amqp10_proto import _framing
from amqp10_proto._composite import _Composite
from amqp10_proto._decoder import decode_one
from amqp10_proto._definitions import (
    Accepted,
    Declared,
    Error,
    Modified,
    Received,
    Rejected,
    Released,
    Role,
    TransactionalState,
)
from amqp10_proto._encoder import encode
from amqp10_proto._errors import DecodeError, RemoteProtocolError
from amqp10_proto._framing import (
    AMQP_HEADER,
    FrameReader,
    _fast_disposition,
    _fast_flow,
    frame_header,
)
from amqp10_proto._performatives import Disposition, Flow, Transfer
from amqp10_proto._types import Described, Symbol, UInt, ULong

from .strategies import amqp_maps, amqp_scalars, assert_same

FastDecoder = Callable[[bytes, int, int], Any]

# ---------------------------------------------------------------------------
# Comparison helpers
# ---------------------------------------------------------------------------


def assert_same_perf(expected: Any, actual: Any, path: str = "perf") -> None:
    """Equal field by field, with the same Python types all the way down."""
    assert type(actual) is type(expected), f"{path}: {type(actual)} != {type(expected)}"
    if isinstance(expected, _Composite):
        for name in expected._FIELDS:
            assert_same_perf(getattr(expected, name), getattr(actual, name), f"{path}.{name}")
    else:
        try:
            assert_same(expected, actual)
        except AssertionError as exc:
            raise AssertionError(f"{path}: {exc}") from None


def fast(fn: FastDecoder, body: bytes) -> Any:
    """The fast decoder's verdict on a whole performative ``body`` (descriptor included).

    IndexError and struct.error are its documented ways of saying "not the usual form".
    """
    try:
        return fn(body, 3, len(body))
    except (IndexError, struct.error):
        return None


def check_agrees(fn: FastDecoder, body: bytes) -> Any:
    """The fast result for ``body``, asserting it agrees with the general decoder."""
    try:
        expected, after = decode_one(body, 0)
    except DecodeError:
        assert fast(fn, body) is None, "the fast path accepted what the decoder rejects"
        return None
    got = fast(fn, body)
    if got is not None:
        assert_same_perf(expected, got[0])
        assert got[1] == after
    return got


# ---------------------------------------------------------------------------
# Hand-made encodings: every legal form of each field, and some foreign ones
# ---------------------------------------------------------------------------

UINTS = st.one_of(st.integers(0, 255), st.integers(0, 2**32 - 1), st.sampled_from([0, 255, 256, 2**32 - 1]))


@st.composite
def uint_field(draw: st.DrawFn, value: int | None) -> tuple[bytes, bool]:
    """An encoding of a uint field and whether the fast path should take it (if all else is valid).

    The general decoder also accepts other integer types in range (a ulong, a
    ubyte...), which the fast path leaves to it.
    """
    if value is None:
        return b"\x40", True
    usual = [b"\x70" + struct.pack(">I", value)]
    if value < 256:
        usual.append(b"\x52" + bytes((value,)))
    if value == 0:
        usual.append(b"\x43")
    foreign = [b"\x80" + struct.pack(">Q", value), b"\x71" + struct.pack(">i", value)
               if value < 2**31 else b"\x81" + struct.pack(">q", value)]
    if value < 256:
        foreign += [b"\x53" + bytes((value,)), b"\x50" + bytes((value,))]
    if value == 0:
        foreign.append(b"\x44")
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(foreign)), False
    return draw(st.sampled_from(usual)), True


@st.composite
def flag_field(draw: st.DrawFn, value: bool, nullable: bool = True) -> tuple[bytes, bool]:
    """A boolean (true/false, the 0x56 form, or null where null means false) and whether it is valid.

    One in twenty is invalid: a 0x56 whose byte is neither 0 nor 1 (1.6.2), or a
    null where the field is mandatory.
    """
    if draw(st.integers(0, 19)) == 0:
        bad = [b"\x56" + bytes((draw(st.integers(2, 255)),))]
        if not nullable:
            bad.append(b"\x40")
        return draw(st.sampled_from(bad)), False
    forms = [b"\x41", b"\x56\x01"] if value else [b"\x42", b"\x56\x00"]
    if not value and nullable:
        forms.append(b"\x40")
    return draw(st.sampled_from(forms)), True


def list_of(fields: list[bytes], wide: bool) -> bytes:
    body = b"".join(fields)
    if wide or len(body) + 1 > 255:
        return b"\xd0" + struct.pack(">II", len(body) + 4, len(fields)) + body
    return bytes((0xC0, len(body) + 1, len(fields))) + body


@st.composite
def composite_list(draw: st.DrawFn, fields: list[tuple[bytes, bool]],
                   needed: int) -> tuple[bytes, bool]:
    """Fields as a list8 or list32, trailing absent fields sometimes left out, sometimes extra."""
    present = needed
    for i, (enc, ok) in enumerate(fields):
        if enc not in (b"\x40", b"\x42", b"\x56\x00") or not ok:
            present = max(present, i + 1)
    count = draw(st.integers(present, len(fields)))
    chosen = [enc for enc, _ in fields[:count]]
    usual = all(ok for _, ok in fields[:count])
    if draw(st.integers(0, 15)) == 0:  # extra trailing fields: legal, left to the decoder
        chosen = [enc for enc, _ in fields] + [b"\x40"] * draw(st.integers(1, 3))
        usual = False
    return list_of(chosen, draw(st.booleans())), usual


SYMBOLS = st.text("abcxyz:-_.", max_size=6).map(Symbol)
ERRORS = st.builds(
    Error,
    condition=st.sampled_from(["amqp:internal-error", "amqp:not-found", "x:custom"]),
    description=st.none() | st.text(max_size=20),
    info=st.none() | st.dictionaries(SYMBOLS, amqp_scalars(), max_size=3),
)
ANNOTATIONS = st.none() | st.dictionaries(SYMBOLS, amqp_scalars(), max_size=3)
OUTCOMES = st.one_of(
    st.just(Accepted()), st.just(Released()),
    st.builds(Rejected, error=st.none() | ERRORS),
    st.builds(Modified, delivery_failed=st.none() | st.booleans(),
              undeliverable_here=st.none() | st.booleans(), message_annotations=ANNOTATIONS),
)
STATES = st.one_of(
    st.none(),
    OUTCOMES,
    st.builds(Received, section_number=st.integers(0, 2**32 - 1),
              section_offset=st.integers(0, 2**64 - 1)),
    st.builds(Declared, txn_id=st.binary(min_size=1, max_size=8)),
    st.builds(TransactionalState, txn_id=st.binary(min_size=1, max_size=8),
              outcome=st.none() | OUTCOMES),
    st.builds(Described, st.just(ULong(0x99)), st.lists(amqp_scalars(), max_size=2)),
)


@st.composite
def state_field(draw: st.DrawFn, state: Any) -> bytes:
    """A delivery state, empty ones also as list8, list32 or with a symbolic descriptor."""
    if state is None:
        return b"\x40"
    if type(state) in (Accepted, Released):
        code = 0x24 if type(state) is Accepted else 0x26
        name = b"amqp:accepted:list" if code == 0x24 else b"amqp:released:list"
        descriptor = draw(st.sampled_from([
            bytes((0x53, code)), b"\x80" + struct.pack(">Q", code),
            b"\xa3" + bytes((len(name),)) + name]))
        value = draw(st.sampled_from([b"\x45", b"\xc0\x01\x00", b"\xd0\x00\x00\x00\x04\x00\x00\x00\x00"]))
        return b"\x00" + descriptor + value
    return encode(state)


@st.composite
def flows(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A flow's body (descriptor included) in some legal form, and whether it is a usual one."""
    opt = st.none() | UINTS
    numbers: list[int | None] = [
        draw(opt), draw(UINTS), draw(UINTS), draw(UINTS), draw(opt), draw(opt), draw(opt), draw(opt)]
    mandatory_null = draw(st.integers(0, 19)) == 0
    if mandatory_null:  # invalid: the general decoder says why
        numbers[draw(st.integers(1, 3))] = None
    fields = [draw(uint_field(n)) for n in numbers]
    fields.append(draw(flag_field(draw(st.booleans()))))
    fields.append(draw(flag_field(draw(st.booleans()))))
    props = draw(st.none() | st.dictionaries(SYMBOLS, amqp_scalars(),
                                             max_size=3) | amqp_maps(amqp_scalars()))
    fields.append((b"\x40" if props is None else encode(props), True))
    body, usual = draw(composite_list(fields, 4))
    return b"\x00\x53\x13" + body, usual and not mandatory_null


@st.composite
def dispositions(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A disposition's body in some legal form, and whether it is a usual one."""
    fields = [draw(flag_field(draw(st.booleans()), nullable=False)),
              draw(uint_field(draw(UINTS))), draw(uint_field(draw(st.none() | UINTS))),
              draw(flag_field(draw(st.booleans()))),
              (draw(state_field(draw(STATES))), True),
              draw(flag_field(draw(st.booleans())))]
    body, usual = draw(composite_list(fields, 2))
    return b"\x00\x53\x15" + body, usual


@st.composite
def encoded_flows(draw: st.DrawFn) -> bytes:
    """A Flow as our own encoder writes it."""
    opt = st.none() | UINTS
    flow = Flow(next_incoming_id=draw(opt), incoming_window=draw(UINTS),
                next_outgoing_id=draw(UINTS), outgoing_window=draw(UINTS), handle=draw(opt),
                delivery_count=draw(opt), link_credit=draw(opt), available=draw(opt),
                drain=draw(st.booleans()), echo=draw(st.booleans()),
                properties=draw(st.none() | st.dictionaries(st.text("abcxyz:-", max_size=6), amqp_scalars(),
                                                            max_size=3)))
    return encode(flow)


@st.composite
def encoded_dispositions(draw: st.DrawFn) -> bytes:
    """A Disposition as our own encoder writes it."""
    disp = Disposition(role=draw(st.sampled_from(Role)), first=draw(UINTS),
                       last=draw(st.none() | UINTS), settled=draw(st.booleans()),
                       state=draw(STATES), batchable=draw(st.booleans()))
    return encode(disp)


# ---------------------------------------------------------------------------
# The fast decoders against the general one
# ---------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(flows())
def test_flow_any_legal_form_same_as_decoder(case: tuple[bytes, bool]) -> None:
    body, usual = case
    got = check_agrees(_fast_flow, body)
    assert (got is not None) == usual, body.hex(" ")


@settings(max_examples=400, deadline=None)
@given(dispositions())
def test_disposition_any_legal_form_same_as_decoder(case: tuple[bytes, bool]) -> None:
    body, usual = case
    got = check_agrees(_fast_disposition, body)
    assert (got is not None) == usual, body.hex(" ")


@settings(max_examples=200, deadline=None)
@given(encoded_flows(), encoded_dispositions())
def test_our_encodings_take_the_fast_path(flow: bytes, disp: bytes) -> None:
    assert check_agrees(_fast_flow, flow) is not None, flow.hex(" ")
    assert check_agrees(_fast_disposition, disp) is not None, disp.hex(" ")


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"\x00\x53\x13", b"\x00\x53\x15"]), st.binary(max_size=40))
def test_random_bytes_never_accepted_unless_decoder_agrees(prefix: bytes, tail: bytes) -> None:
    check_agrees(_fast_flow if prefix[2] == 0x13 else _fast_disposition, prefix + tail)


@settings(max_examples=300, deadline=None)
@given(st.one_of(flows(), dispositions()), st.data())
def test_mutated_forms_never_accepted_unless_decoder_agrees(case: tuple[bytes, bool],
                                                            data: st.DataObject) -> None:
    body = bytearray(case[0])
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(3, len(body) - 1))
        kind = data.draw(st.integers(0, 2))
        if kind == 0:
            body[i] = data.draw(st.integers(0, 255))
        elif kind == 1:
            del body[i]
        else:
            body.insert(i, data.draw(st.integers(0, 255)))
        if len(body) < 5:
            break
    check_agrees(_fast_flow if body[2] == 0x13 else _fast_disposition, bytes(body))


def nested(depth: int) -> bytes:
    """A list nested ``depth`` deep, as raw bytes (list8 of one list8 ... of null)."""
    enc = b"\x40"
    for _ in range(depth):
        enc = bytes((0xC0, len(enc) + 1, 1)) + enc
    return enc


def test_nesting_limit_as_in_the_decoder() -> None:
    """A state or properties nested right at the depth limit: the same verdict either way."""
    verdicts: dict[str, set[bool]] = {"disposition": set(), "flow": set()}
    for depth in range(55, 66):
        state = b"\x00\x53\x99" + nested(depth)
        disp = b"\x00\x53\x15" + list_of([b"\x41", b"\x43", b"\x40", b"\x41", state], False)
        props = b"\xc1" + bytes((len(nested(depth)) + 4, 2)) + b"\xa3\x01k" + nested(depth)
        flow = b"\x00\x53\x13" + list_of([b"\x40", b"\x43", b"\x43", b"\x43"] + [b"\x40"] * 6
                                          + [props], False)
        verdicts["disposition"].add(check_agrees(_fast_disposition, disp) is None)
        verdicts["flow"].add(check_agrees(_fast_flow, flow) is None)
    # The limit lies within the depths tried: some are taken, some refused.
    assert verdicts == {"disposition": {True, False}, "flow": {True, False}}


TYPICAL_FLOW = Flow(next_incoming_id=5, incoming_window=2048, next_outgoing_id=7,
                    outgoing_window=2048, handle=0, delivery_count=5, link_credit=1000,
                    available=0)
TYPICAL_DISPOSITION = Disposition(role=Role.RECEIVER, first=0, last=4, settled=True,
                                  state=Accepted())
TYPICAL_TRANSFER = Transfer(handle=0, delivery_id=5, delivery_tag=b"\x00\x00\x00\x05",
                            message_format=0, settled=False)


def test_typical_values_exactly() -> None:
    """The fast path's objects, checked against literal expectations, not only the decoder."""
    got = _fast_disposition(encode(TYPICAL_DISPOSITION), 3, 15)
    assert got is not None
    disp, stop = got
    assert stop == 15
    assert type(disp.role) is Role and disp.role is Role.RECEIVER
    assert type(disp.first) is UInt and disp.first == 0
    assert type(disp.last) is UInt and disp.last == 4
    assert disp.settled is True and disp.batchable is False
    assert type(disp.state) is Accepted
    body = encode(TYPICAL_FLOW)
    got2 = _fast_flow(body, 3, len(body))
    assert got2 is not None
    flow = got2[0]
    assert flow == TYPICAL_FLOW
    assert all(type(getattr(flow, f)) is UInt for f in Flow._FIELDS[:8])
    assert flow.drain is False and flow.echo is False and flow.properties is None
    # A short flow: absent trailing fields take their defaults, as in _dec_flow.
    short = b"\x00\x53\x13\xc0\x05\x04\x40\x43\x43\x43"
    got3 = _fast_flow(short, 3, len(short))
    assert got3 is not None
    assert got3[0] == Flow(incoming_window=0, next_outgoing_id=0, outgoing_window=0)
    assert got3[0].handle is None and got3[0].drain is False


def test_fast_path_stays_within_the_frame() -> None:
    """A list that runs past ``end`` (the frame) is the general decoder's to report."""
    body = encode(TYPICAL_DISPOSITION)
    assert _fast_disposition(body, 3, len(body)) is not None
    assert _fast_disposition(body + b"\x40", 3, len(body) - 1) is None
    flow = encode(TYPICAL_FLOW)
    assert _fast_flow(flow, 3, len(flow) - 1) is None


# ---------------------------------------------------------------------------
# Through FrameReader: same frames, same errors, with and without the fast path
# ---------------------------------------------------------------------------


@contextmanager
def no_fast_path() -> Iterator[None]:
    def none(*_: Any) -> None:
        return None

    with mock.patch.object(_framing, "_fast_flow", none), \
            mock.patch.object(_framing, "_fast_disposition", none), \
            mock.patch.object(_framing, "_fast_transfer", none):
        yield


def read_all(stream: bytes, chunk: int = 0) -> tuple[list[Any], tuple[str, str] | None]:
    """Every frame FrameReader yields for ``stream`` and the error it ends with, if any."""
    reader = FrameReader(1 << 20)
    out: list[Any] = []
    pieces = [stream[i:i + chunk] for i in range(0, len(stream), chunk)] if chunk else [stream]
    try:
        for piece in pieces:
            reader.feed(piece)
            out.extend(reader.frames())
    except (RemoteProtocolError, DecodeError) as exc:
        return out, (type(exc).__name__, str(exc))
    return out, None


def assert_same_outcome(stream: bytes, chunk: int = 0) -> tuple[list[Any], Any]:
    got = read_all(stream, chunk)
    with no_fast_path():
        expected = read_all(stream, chunk)
    assert got[1] == expected[1], stream.hex(" ")
    assert len(got[0]) == len(expected[0]), stream.hex(" ")
    for g, e in zip(got[0], expected[0], strict=True):
        assert g[:2] == e[:2]
        assert_same_perf(e[2], g[2])
        assert g[3] == e[3]
    return got


def frame(body: bytes, channel: int = 0) -> bytes:
    return frame_header(8 + len(body), 0, channel) + body


TYPICAL_BODIES = [encode(TYPICAL_DISPOSITION), encode(TYPICAL_FLOW),
                  encode(TYPICAL_TRANSFER) + b"\x00\x53\x75\xa0\x05hello"]
TRAILER = frame(encode(TYPICAL_FLOW), 1)


def test_frame_reader_uses_the_fast_paths() -> None:
    """The typical flow, disposition and transfer never reach the general decoder."""
    stream = AMQP_HEADER + b"".join(frame(b) for b in TYPICAL_BODIES)

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("general decoder called")

    with mock.patch.object(_framing, "decode_one", refuse):
        frames, error = read_all(stream)
    assert error is None
    assert [type(f[2]) for f in frames[1:]] == [Disposition, Flow, Transfer]
    assert frames[1][2] == TYPICAL_DISPOSITION
    assert frames[2][2] == TYPICAL_FLOW
    assert frames[3][3] == b"\x00\x53\x75\xa0\x05hello"


@pytest.mark.parametrize("which", range(len(TYPICAL_BODIES)), ids=["disposition", "flow", "transfer"])
def test_every_truncation_same_outcome(which: int) -> None:
    body = TYPICAL_BODIES[which]
    for k in range(len(body) + 1):
        for after in (b"", TRAILER):
            assert_same_outcome(AMQP_HEADER + frame(body[:k]) + after)
        # The frame cut short: fewer bytes than its header declares.
        assert_same_outcome(AMQP_HEADER + frame(body)[:8 + k])
    # Extra bytes after the performative (payload where none belongs).
    for extra in (b"\x40", b"\x00\x53\x24\x45", b"\xff" * 9):
        assert_same_outcome(AMQP_HEADER + frame(body + extra) + TRAILER)


@pytest.mark.parametrize("which", range(len(TYPICAL_BODIES)), ids=["disposition", "flow", "transfer"])
def test_every_single_byte_corruption_same_outcome(which: int) -> None:
    body = TYPICAL_BODIES[which]
    taken = 0
    for i in range(len(body)):
        for b in range(256):
            bad = body[:i] + bytes((b,)) + body[i + 1:]
            for after in (b"", TRAILER):
                frames, error = assert_same_outcome(AMQP_HEADER + frame(bad) + after)
                taken += error is None
    assert taken > 0  # some corruptions are still valid frames (a different uint, a flag)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(flows(), dispositions()).map(lambda c: c[0]), min_size=1, max_size=4),
       st.integers(0, 40), st.randoms(use_true_random=False))
def test_frame_streams_same_outcome(bodies: list[bytes], chunk: int, rnd: random.Random) -> None:
    bodies = [*bodies, TYPICAL_BODIES[2]]
    rnd.shuffle(bodies)
    stream = AMQP_HEADER + b"".join(frame(b, rnd.randrange(3)) for b in bodies)
    assert_same_outcome(stream, chunk)
    if rnd.random() < 0.5:  # and once corrupted somewhere past the protocol header
        i = rnd.randrange(8, len(stream))
        stream = stream[:i] + bytes((rnd.randrange(256),)) + stream[i + 1:]
        assert_same_outcome(stream, chunk)


def test_truncated_uint_at_frame_end_is_a_protocol_error() -> None:
    """A transfer whose delivery-id uint runs off the end of the input.

    The fast path's read of it raised struct.error, which escaped
    ``FrameReader.frames``; now the general decoder reports it.
    """
    body = bytes.fromhex("005314c0040543705200")
    reader = FrameReader(1 << 16)
    reader.feed(AMQP_HEADER + frame(body))
    with pytest.raises(RemoteProtocolError, match="list8 declares 5 elements"):
        list(reader.frames())
    for fn, code in ((_fast_flow, 0x13), (_fast_disposition, 0x15)):
        cut = bytes((0, 0x53, code)) + bytes.fromhex("c00404524170")
        with no_fast_path():
            expected = read_all(AMQP_HEADER + frame(cut))
        assert read_all(AMQP_HEADER + frame(cut)) == expected
        assert expected[1] is not None and expected[1][0] == "RemoteProtocolError"
        assert fast(fn, cut) is None


# ---------------------------------------------------------------------------
# A flow read by the layout of the one before (_framing._flow_layout)
# ---------------------------------------------------------------------------

# A flow as the Qpid C broker sends it: next-incoming-id, incoming-window 2**31-1,
# next-outgoing-id 0, outgoing-window 2**31-1, handle 0, delivery-count, link-credit,
# available null, drain false; uints as uint, smalluint or uint0 by their size.
def qpid_flow(nid: int, count: int, credit: int, drain: bytes = b"\x42") -> bytes:
    def u(n: int) -> bytes:
        return b"\x43" if n == 0 else bytes((0x52, n)) if n < 256 else b"\x70" + struct.pack(">I", n)
    fields = (u(nid) + b"\x70\x7f\xff\xff\xff\x43\x70\x7f\xff\xff\xff\x43" + u(count) + u(credit)
              + b"\x40" + drain)
    return b"\x00\x53\x13\xc0" + bytes((len(fields) + 1, 9)) + fields


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(UINTS, UINTS, UINTS, st.sampled_from([b"\x42", b"\x41", b"\x40"])),
                min_size=2, max_size=6))
def test_flows_alike_read_by_the_layout_as_by_the_decoder(
        flows: list[tuple[int, int, int, bytes]]) -> None:
    # Each flow after the first is tried by the layout of the one before: same
    # constructors (read by one unpack) or not (walked); every one agrees either way.
    for nid, count, credit, drain in flows:
        assert check_agrees(_fast_flow, qpid_flow(nid, count, credit, drain)) is not None


def test_a_flow_unlike_the_last_is_not_read_by_its_layout() -> None:
    seed = qpid_flow(1000, 1000, 5)
    assert check_agrees(_fast_flow, seed) is not None
    layout = _framing._flow_layout[0]
    assert layout is not None
    # The same flow again is read by the layout alone (the walk never runs).
    with mock.patch.object(_framing, "_layout_of", side_effect=AssertionError("walked")):
        assert check_agrees(_fast_flow, qpid_flow(2000, 3000, 7)) is not None
    assert _framing._flow_layout[0] is layout
    # Alike up to one constructor or the list's size: never read by that layout.
    null_window = seed.replace(b"\x70\x7f\xff\xff\xff", b"\x40", 1)  # mandatory: invalid
    null_window = null_window[:4] + bytes((null_window[4] - 4,)) + null_window[5:]
    for body in (
        seed.replace(b"\x43\x70\x7f", b"\x40\x70\x7f", 1),  # next-outgoing-id null: invalid
        null_window,
        seed[:4] + bytes((seed[4] + 1,)) + seed[5:] + b"\x40",  # a longer list, same fields
        seed[:-1] + b"\x56",  # drain as a boolean without its byte: truncated
        seed[:-1],  # the last field missing
        seed.replace(b"\x70\x7f\xff\xff\xff", b"\x70\x00\x00\x13\x88", 1),  # another window
    ):
        try:
            by_layout = _framing._flow_by_layout(body, 3, layout)
        except struct.error:
            by_layout = None
        assert by_layout is None, body.hex(" ")
        _framing._flow_layout[0] = layout
        check_agrees(_fast_flow, body)
