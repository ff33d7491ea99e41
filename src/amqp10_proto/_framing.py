"""Protocol headers and frames (transport 2.2 and 2.3), both directions.

A frame is an 8-byte header (size, data offset, type, channel), an optional
extended header, and a body: one performative and, for transfers, payload.
:class:`FrameReader` cuts frames out of arbitrary chunks of bytes with linear
copying: chunks are only joined once a whole frame (whose size the header
declares) is present. The usual transfer, flow and disposition are decoded
directly (``_fast_*``); any other form goes to the general decoder.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import Any

from ._decoder import decode_one
from ._definitions import _DELIVERY_STATE_TYPES, Accepted, Released, Role
from ._encoder import _e_uint, encode
from ._errors import DecodeError, LocalProtocolError, RemoteProtocolError
from ._performatives import Disposition, Flow, Transfer
from ._types import Map, UInt

__all__ = [
    "AMQP_HEADER",
    "FRAME_AMQP",
    "FRAME_SASL",
    "MIN_MAX_FRAME_SIZE",
    "SASL_HEADER",
    "TLS_HEADER",
    "FrameReader",
    "encode_frame",
    "frame_header",
    "transfer_performative",
    "usual_transfer_head",
]

#: 2.2: the protocol headers: "AMQP", protocol id, major, minor, revision.
AMQP_HEADER = b"AMQP\x00\x01\x00\x00"
TLS_HEADER = b"AMQP\x02\x01\x00\x00"
SASL_HEADER = b"AMQP\x03\x01\x00\x00"
HEADERS = {AMQP_HEADER: "AMQP", TLS_HEADER: "TLS", SASL_HEADER: "SASL"}

FRAME_AMQP = 0x00
FRAME_SASL = 0x01
#: 2.7.1: no peer may set a max-frame-size below 512 bytes.
MIN_MAX_FRAME_SIZE = 512

_S_HDR = struct.Struct(">IBBH")
_pack_hdr = _S_HDR.pack
_unpack_hdr = _S_HDR.unpack_from
EMPTY_FRAME = _pack_hdr(8, 2, FRAME_AMQP, 0)


def frame_header(size: int, frame_type: int, channel: int) -> bytes:
    """The 8-byte header of a frame of ``size`` bytes (header included), no extension."""
    return _pack_hdr(size, 2, frame_type, channel)


def encode_frame(frame_type: int, channel: int, performative: Any, payload: bytes = b"") -> bytes:
    """A whole frame: header, the encoded performative and any payload."""
    body = encode(performative)
    return _pack_hdr(8 + len(body) + len(payload), 2, frame_type, channel) + body + payload


def describe_header(data: bytes) -> str:
    """A readable name for 8 bytes that should have been a protocol header."""
    name = HEADERS.get(data)
    if name is not None:
        return f"the {name} protocol header"
    if data[:4] == b"AMQP":
        return f"an AMQP header for another version ({data[4:].hex(' ')})"
    if data[:4] in (b"HTTP", b"GET ", b"POST", b"PUT "):
        return "HTTP"
    if data[:1] == b"\x16":
        return "a TLS handshake (is the peer expecting amqps?)"
    if data[:2] == b"\x15\x03":
        return "a TLS alert (the peer speaks TLS: is it expecting amqps?)"
    return f"bytes {data.hex(' ')}"


class FrameReader:
    """Splits incoming bytes into protocol headers and frames.

    ``feed(data)`` queues bytes; ``frames()`` yields, in order, ``("header", bytes)``
    for an 8-byte protocol header (when one is expected) and
    ``(type, channel, performative, payload)`` tuples for frames, with
    ``performative`` None for an empty (heartbeat) frame.
    """

    __slots__ = ("_chunks", "_expect_header", "_have", "_need", "bytes_received", "max_frame_size",
                 "scratch")

    def __init__(self, max_frame_size: int) -> None:
        self.max_frame_size = max_frame_size
        self._chunks: list[bytes] = []
        self._have = 0  # bytes queued in _chunks
        self._need = 8  # bytes needed before parsing can progress
        self._expect_header = True
        self.bytes_received = 0
        #: A Transfer the consumer never keeps, reused for the usual transfers (or None).
        self.scratch: Transfer | None = None

    def expect_header(self) -> None:
        """The next 8 bytes are a protocol header (after SASL, before AMQP)."""
        self._expect_header = True
        self._need = 8

    @property
    def buffered(self) -> int:
        """Bytes received but not yet consumed as whole frames."""
        return self._have

    def feed(self, data: bytes) -> None:
        if data:
            self._chunks.append(data)
            self._have += len(data)
            self.bytes_received += len(data)

    def frames(self) -> Iterator[tuple[Any, ...]]:
        """Yield every complete header and frame queued so far."""
        while self._have >= self._need:
            chunks = self._chunks
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            chunks.clear()
            n = len(data)
            pos = 0
            self._need = 8
            try:
                while n - pos >= 8:
                    if self._expect_header:
                        self._expect_header = False
                        pos += 8
                        yield ("header", data[pos - 8:pos], None, b"")
                        continue
                    size, doff, ftype, channel = _unpack_hdr(data, pos)
                    if doff != 2 or size > self.max_frame_size or size < 8:
                        self._check_size(size, doff)
                    if size > n - pos:
                        self._need = size
                        break
                    end = pos + size
                    body = pos + doff * 4
                    if body == end:
                        pos = end
                        yield (ftype, channel, None, b"")  # 2.3.2: an empty frame
                        continue
                    try:
                        if body + 3 < end and data[body + 1] == 0x53 and not data[body]:
                            # The usual transfer, flow and disposition skip the generic walk.
                            d = data[body + 2]
                            try:
                                if d == 0x14:
                                    got: tuple[Any, int] | None = _fast_transfer(
                                        data, body + 3, end, self.scratch)
                                elif d == 0x15:
                                    got = _fast_disposition(data, body + 3, end)
                                elif d == 0x13:
                                    got = _fast_flow(data, body + 3, end)
                                else:
                                    got = None
                            except (IndexError, struct.error):
                                got = None  # malformed: the general decoder says why
                            if got is not None:
                                pos = end
                                stop = got[1]
                                yield (ftype, channel, got[0], data[stop:end] if stop < end else b"")
                                continue
                        perf, after = decode_one(data, body)
                    except DecodeError as exc:
                        raise RemoteProtocolError(
                            f"undecodable frame body: {exc}", condition="amqp:decode-error"
                        ) from None
                    if after > end:
                        raise RemoteProtocolError(
                            "a performative runs past the end of its frame",
                            condition="amqp:connection:framing-error")
                    pos = end
                    yield (ftype, channel, perf, data[after:end] if after < end else b"")
            finally:
                if pos < n:
                    chunks.append(data[pos:] if pos else data)
                self._have = n - pos

    def _check_size(self, size: int, doff: int) -> None:
        # 2.3.1: doff is at least 2 (the 8-byte header), within the frame.
        if doff < 2 or doff * 4 > size:
            raise RemoteProtocolError(
                f"malformed frame header: size {size}, data offset {doff}",
                condition="amqp:connection:framing-error")
        if size > self.max_frame_size:
            raise RemoteProtocolError(
                f"frame of {size} bytes exceeds the max-frame-size {self.max_frame_size}",
                condition="amqp:connection:framing-error")


# The performatives and states built here have object's __new__ (checked below): called
# directly, without _composite._new's frame.
_new = object.__new__
assert all(c.__new__ is _new for c in (Transfer, Flow, Disposition, Accepted, Released))
# Enum members looked up once (a member through its class costs a lookup each time).
_ROLE_RECEIVER = Role.RECEIVER
_ROLE_SENDER = Role.SENDER
_SMALL_UINTS = [UInt(i) for i in range(256)]
_UINT0 = _SMALL_UINTS[0]
_UINT_HALF = UInt(0x7FFFFFFF)  # 2**31 - 1: the window most peers give (Qpid, Proton)
_BAD = object()
_unpack_I = struct.Struct(">I").unpack_from


def _fast_transfer(data: bytes, pos: int, end: int,
                   scratch: Transfer | None = None) -> tuple[Transfer, int] | None:
    """Decode the usual first transfer (2.7.5) directly, or return None.

    The usual one is a list8 of five or six fields: handle, delivery-id (uint,
    smalluint or uint0), delivery-tag (vbin8), message-format, settled and
    perhaps more. Anything else goes to the general decoder, which also
    validates; this only spares the common case its generic walk. With ``scratch``
    (a Transfer no one keeps) its fields are overwritten instead of a new one built.
    Truncated input may raise IndexError or struct.error, which mean None too.
    """
    if data[pos] != 0xC0:
        return None
    count = data[pos + 2]
    stop = pos + 2 + data[pos + 1]
    if count < 5 or count > 6 or stop > end:
        return None
    p = pos + 3
    c = data[p]
    if c == 0x52:
        handle = _SMALL_UINTS[data[p + 1]]
        p += 2
    elif c == 0x43:
        handle = _UINT0
        p += 1
    else:
        return None
    c = data[p]
    if c == 0x70:
        did = UInt(_unpack_I(data, p + 1)[0])
        p += 5
    elif c == 0x52:
        did = _SMALL_UINTS[data[p + 1]]
        p += 2
    elif c == 0x43:
        did = _UINT0
        p += 1
    else:
        return None
    if data[p] != 0xA0:
        return None
    n = data[p + 1]
    tag = data[p + 2:p + 2 + n]
    p += 2 + n
    c = data[p]
    if c == 0x43:
        fmt = _UINT0
        p += 1
    elif c == 0x40:
        fmt = None
        p += 1
    else:
        return None
    c = data[p]
    settled = True if c == 0x41 else False if c == 0x42 else None if c == 0x40 else _BAD
    p += 1
    more: object = False
    if count == 6:
        c = data[p]
        more = True if c == 0x41 else False if c in (0x42, 0x40) else _BAD
        p += 1
    if p != stop or settled is _BAD or more is _BAD:
        return None
    t = scratch
    if t is None:
        t = _new(Transfer)
        t.rcv_settle_mode = t.state = None
        t.resume = t.aborted = t.batchable = False
    t.handle = handle
    t.delivery_id = did
    t.delivery_tag = tag
    t.message_format = fmt
    t.settled = settled  # type: ignore[assignment]
    t.more = more is True
    return t, stop


_unpack_II = struct.Struct(">II").unpack_from
# The depth the general decoder has left when it reaches a field of a
# performative (decode_one's 64, less the described value and its list).
_FIELD_DEPTH = 62


def _fast_flow(data: bytes, pos: int, end: int) -> tuple[Flow, int] | None:
    """Decode the usual flow (2.7.4) directly from its list at ``pos``, or return None.

    Handles a list8 or list32 of four to eleven fields whose numbers are uint,
    smalluint, uint0 or null, flags true, false, null or boolean, and properties
    null or a map; builds the same Flow the general decoder does (UInt values,
    defaults for absent fields). Anything else, including every invalid flow,
    returns None for the general decoder to decode or reject. Truncated input
    may raise IndexError or struct.error, which mean None too.
    """
    layout = _flow_layout[0]
    if layout is not None and pos + layout[0] <= end:
        got = _flow_by_layout(data, pos, layout)
        if got is not None:
            return got
    c = data[pos]
    if c == 0xC0:
        count = data[pos + 2]
        p = pos + 3
        stop = pos + 2 + data[pos + 1]
    elif c == 0xD0:
        size, count = _unpack_II(data, pos + 1)
        p = pos + 9
        stop = pos + 5 + size
    else:
        return None
    if count < 4 or count > 11 or stop > end:
        return None
    small = _SMALL_UINTS
    vals: list[Any] = [None] * 8  # the eight uint fields; absent ones stay null
    for i in range(8 if count > 8 else count):
        c = data[p]
        if c == 0x70:
            n = _unpack_I(data, p + 1)[0]
            vals[i] = _UINT_HALF if n == 0x7FFFFFFF else UInt(n)  # the usual window: one made
            p += 5
        elif c == 0x52:
            vals[i] = small[data[p + 1]]
            p += 2
        elif c == 0x43:
            vals[i] = _UINT0
            p += 1
        elif c == 0x40:
            p += 1
        else:
            return None
    # 2.7.4: incoming-window, next-outgoing-id and outgoing-window are mandatory.
    if vals[1] is None or vals[2] is None or vals[3] is None:
        return None
    drain = echo = False
    props = None
    if count > 8:
        if data[p] == 0x42:  # drain false, the usual: no call
            p += 1
        else:
            drain, p = _flag(data, p)
        if count > 9:
            echo, p = _flag(data, p)
            if count > 10:
                if data[p] == 0x40:
                    p += 1
                else:
                    props, p = _value(data, p, stop)
                    if type(props) is not dict and type(props) is not Map:
                        return None
    if p != stop:
        return None
    if props is None and data[pos] == 0xC0:
        _flow_layout[0] = _layout_of(data, pos)
    return _flow(vals, drain, echo, props), stop


def _flow(uints: list[Any], drain: bool, echo: bool, properties: Any) -> Flow:
    """The Flow of these fields (the eight uint ones in order), as the decoder builds it."""
    v = _new(Flow)
    (v.next_incoming_id, v.incoming_window, v.next_outgoing_id, v.outgoing_window,
     v.handle, v.delivery_count, v.link_credit, v.available) = uints
    v.drain = drain
    v.echo = echo
    v.properties = properties
    return v


# A flow's layout (2.7.4): the constructors of a usual flow's list8, remembered from the
# last one walked; a peer sends its flows alike (Qpid: nine fields, uints as uint,
# smalluint or uint0), so the next one with the same constructors is read by one unpack
# (about 70 % of the walk's instructions). A window given as a uint is part of the
# layout with its value (2.5.6: peers keep theirs). Its tuple: the list's size with its
# constructor, the unpack, the getter of the constructors (and windows) in the unpack's
# result and what they must be (the list's head included: its size and count), the
# eight uint fields with the fixed ones filled, for each other uint then each smalluint
# (index in the result, field), drain and echo.
_FlowLayout = tuple[int, Callable[[bytes, int], tuple[int, ...]],
                    Callable[[tuple[int, ...]], tuple[int, ...]], tuple[int, ...],
                    list[Any], tuple[tuple[int, int], ...], tuple[tuple[int, int], ...], bool,
                    bool]
_flow_layout: list[_FlowLayout | None] = [None]


def _layout_of(data: bytes, pos: int) -> _FlowLayout | None:
    """The layout of the flow list8 at ``pos``, which ``_fast_flow``'s walk just read as
    valid; None unless its flags are true, false or null and its properties null."""
    count = data[pos + 2]
    fmt = ">BBB"
    where = [0, 1, 2]
    expected = [0xC0, data[pos + 1], count]
    fixed: list[Any] = [None] * 8
    uints: list[tuple[int, int]] = []
    smalluints: list[tuple[int, int]] = []
    drain = echo = False
    p = pos + 3
    for i in range(count):
        c = data[p]
        where.append(len(fmt) - 1)
        expected.append(c)
        if (i == 1 or i == 3) and c == 0x70:
            # A window (2.5.6): a peer keeps it, so it is part of the layout, value too.
            n = _unpack_I(data, p + 1)[0]
            where.append(len(fmt))
            expected.append(n)
            fixed[i] = UInt(n)
        elif i < 8 and (c == 0x70 or c == 0x52):
            (uints if c == 0x70 else smalluints).append((len(fmt), i))
        if i < 8 and (c == 0x70 or c == 0x52):
            fmt += "BI" if c == 0x70 else "BB"
            p += 5 if c == 0x70 else 2
            continue
        if i < 8:
            fixed[i] = _UINT0 if c == 0x43 else None
        elif c != 0x40 and (i == 10 or (c != 0x41 and c != 0x42)):
            return None  # a boolean-coded flag or properties: the walk's
        elif i == 8:
            drain = c == 0x41
        elif i == 9:
            echo = c == 0x41
        fmt += "B"
        p += 1
    packed = struct.Struct(fmt)
    return (packed.size, packed.unpack_from, itemgetter(*where), tuple(expected), fixed,
            tuple(uints), tuple(smalluints), drain, echo)


def _flow_by_layout(data: bytes, pos: int, layout: _FlowLayout) -> tuple[Flow, int] | None:
    """The flow list8 at ``pos`` read by ``layout``, or None if its constructors are others."""
    size, unpack, constructors, expected, fixed, uints, smalluints, drain, echo = layout
    t = unpack(data, pos)
    if constructors(t) != expected:
        return None
    vals = fixed.copy()
    for at, i in uints:
        vals[i] = UInt(t[at])
    for at, i in smalluints:
        vals[i] = _SMALL_UINTS[t[at]]
    return _flow(vals, drain, echo, None), pos + size


def _fast_disposition(data: bytes, pos: int, end: int) -> tuple[Disposition, int] | None:
    """Decode the usual disposition (2.7.6) directly from its list at ``pos``, or return None.

    Handles a list8 or list32 of two to six fields: role and flags as true,
    false or boolean (settled and batchable also null), first and last as uint,
    smalluint or uint0 (last also null), and a state that is null, accepted or
    released (3.4, as an empty list0 or list8) or any delivery state the
    general decoder reads. Builds the same Disposition the general decoder does
    (Role, UInt, a new state object, defaults for absent fields). Anything else
    returns None; truncated input may raise IndexError or struct.error.
    """
    c = data[pos]
    if c == 0xC0:
        count = data[pos + 2]
        p = pos + 3
        stop = pos + 2 + data[pos + 1]
    elif c == 0xD0:
        size, count = _unpack_II(data, pos + 1)
        p = pos + 9
        stop = pos + 5 + size
    else:
        return None
    # 2.7.6: role and first are mandatory.
    if count < 2 or count > 6 or stop > end:
        return None
    c = data[p]
    if c == 0x41:
        role = _ROLE_RECEIVER
        p += 1
    elif c == 0x42:
        role = _ROLE_SENDER
        p += 1
    elif c == 0x56 and data[p + 1] < 2:
        role = _ROLE_RECEIVER if data[p + 1] else _ROLE_SENDER
        p += 2
    else:
        return None
    c = data[p]
    if c == 0x52:
        first = _SMALL_UINTS[data[p + 1]]
        p += 2
    elif c == 0x70:
        first = UInt(_unpack_I(data, p + 1)[0])
        p += 5
    elif c == 0x43:
        first = _UINT0
        p += 1
    else:
        return None
    last = None
    settled = batchable = False
    state: Any = None
    if count > 2:
        c = data[p]
        if c == 0x52:
            last = _SMALL_UINTS[data[p + 1]]
            p += 2
        elif c == 0x70:
            last = UInt(_unpack_I(data, p + 1)[0])
            p += 5
        elif c == 0x43:
            last = _UINT0
            p += 1
        elif c == 0x40:
            p += 1
        else:
            return None
        if count > 3:
            if data[p] == 0x41:  # settled true, the usual: no call
                settled = True
                p += 1
            else:
                settled, p = _flag(data, p)
            if count > 4:
                c = data[p]
                if c == 0x40:
                    p += 1
                elif (c == 0x00 and data[p + 1] == 0x53 and (data[p + 2] | 2) == 0x26
                        and data[p + 3] == 0x45):  # accepted (0x24) or released (0x26)
                    state = _new(Accepted if data[p + 2] == 0x24 else Released)
                    p += 4
                else:
                    state, p = _value(data, p, stop)
                    if type(state) not in _DELIVERY_STATE_TYPES:
                        return None
                if count > 5:
                    batchable, p = _flag(data, p)
    if p != stop:
        return None
    v = _new(Disposition)
    v.role = role
    v.first = first
    v.last = last
    v.settled = settled
    v.state = state
    v.batchable = batchable
    return v, stop


def _flag(data: bytes, p: int) -> tuple[bool, int]:
    """A boolean field defaulting to false (true, false, null or 0x56 0/1) and the offset after it.

    Anything else raises IndexError, which the callers' callers read as "not the
    usual form".
    """
    c = data[p]
    if c == 0x41:
        return True, p + 1
    if c == 0x42 or c == 0x40:
        return False, p + 1
    if c == 0x56:
        b = data[p + 1]
        if b < 2:
            return b == 1, p + 2
    raise IndexError("not a usual flag")


def _value(data: bytes, p: int, stop: int) -> tuple[Any, int]:
    """Any value inside a list ending at ``stop``, as the general decoder reads it there.

    Decoded with the depth the general decoder would have left; a value it
    would reject raises IndexError (so the caller falls back to it).
    """
    if p >= stop:
        raise IndexError("field past the end of the list")
    try:
        return decode_one(data, p, max_depth=_FIELD_DEPTH)
    except DecodeError:
        raise IndexError("not a usual field") from None



def transfer_performative(handle: int, delivery_id: int, tag: bytes, message_format: int,
                          settled: bool, more: bool) -> bytes:
    """The first transfer of a delivery (2.7.5), encoded directly: the send hot path.

    Same bytes as ``encode(Transfer(...))`` for these fields (checked by a test).
    """
    n = len(tag)
    if n == 4 and handle < 256 and 255 < delivery_id <= 0xFFFFFFFF and not more and (
            message_format == 0):
        # A sender's usual first transfer (a counter tag, a delivery-id past 255): the
        # list's head and handle cached, the rest one pack.
        return (_PACK_USUAL_8 if handle else _PACK_USUAL_7)(
            _USUAL_HEADS[handle], 0x70, delivery_id, 0xA0, 4, tag, 0x43,
            0x41 if settled else 0x42)
    if n > 32:
        raise LocalProtocolError("delivery-tag is at most 32 bytes (2.8.7)")
    body = ((_SMALLUINT[handle] if handle < 256 else _e_uint(handle))
            + (_pack_uint(0x70, delivery_id) if 255 < delivery_id <= 0xFFFFFFFF else _e_uint(delivery_id))
            + _TAG8[n] + tag
            + (b"\x43" if message_format == 0 else _e_uint(message_format))
            + (b"\x41" if settled else b"\x42") + (b"\x41" if more else b""))
    size = len(body) + 1
    if size < 256:
        return b"\x00\x53\x14\xc0" + bytes((size, 6 if more else 5)) + body
    return encode(Transfer(handle=handle, delivery_id=delivery_id, delivery_tag=tag,
                           message_format=message_format, settled=settled, more=more))


def usual_transfer_head(channel: int, handle: int
                        ) -> tuple[Callable[[int, bytes, int, int, bytes, int], bytes], bytes, int] | None:
    """How a sender's usual first transfers on ``channel`` and ``handle`` are framed: the
    frame header and performative of each in one pack; None when ``handle`` is 256 or more.

    The usual one (see ``transfer_performative``): ``handle`` < 256, 255 < delivery-id
    <= 2**32-1, a 4-byte tag, message-format 0, not more, no state; the caller checks
    these. Returns ``(pack, prefix, size)``: ``prefix`` is what every such frame holds
    between its size and its delivery-id (2.3.1: doff 2, type 0, the channel; the
    performative up to its handle; the delivery-id's constructor, uint), ``size`` the
    frame's size without payload (28 on handle 0, 29 on another), and
    ``pack(size + payload size, prefix, delivery-id, 0xA004 (vbin8 of 4), tag,
    0x4341 or 0x4342 (message-format 0 as uint0, then settled true or false))`` the head.
    """
    if not 0 <= handle < 256:
        return None
    prefix = _pack_hdr(0, 2, 0, channel)[4:] + _USUAL_HEADS[handle] + b"\x70"
    return (_PACK_PREFIXED_12 if handle == 0 else _PACK_PREFIXED_13), prefix, len(prefix) + 16


_TAG8 = [b"\xa0" + bytes((n,)) for n in range(33)]
# transfer, list8 of 5 (handle, delivery-id as a uint, delivery-tag as a vbin8 of 4,
# message-format 0 as uint0, settled): its head up to the handle, by handle.
_USUAL_HEADS = [b"\x00\x53\x14\xc0\x0f\x05\x43",
                *(b"\x00\x53\x14\xc0\x10\x05\x52" + bytes((h,)) for h in range(1, 256))]
# ... then 0x70 delivery-id, 0xa0 0x04 tag, 0x43, 0x41 / 0x42 (settled).
_PACK_USUAL_7 = struct.Struct(">7s" "BI" "BB4s" "B" "B").pack
_PACK_USUAL_8 = struct.Struct(">8s" "BI" "BB4s" "B" "B").pack
# ... the same after the frame's size and a prefix (usual_transfer_head).
_PACK_PREFIXED_12 = struct.Struct(">I12sIH4sH").pack
_PACK_PREFIXED_13 = struct.Struct(">I13sIH4sH").pack
_SMALLUINT = [b"\x43", *(b"\x52" + bytes((i,)) for i in range(1, 256))]
_pack_uint = struct.Struct(">BI").pack
