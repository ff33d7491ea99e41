"""The AMQP 1.0 message (messaging.xml, section 3.2) and its body sections.

A message is a sequence of described sections in a fixed order: header,
delivery-annotations, message-annotations, properties, application-properties,
the body (one or more data sections, one or more amqp-sequence sections, or a
single amqp-value section) and footer. Each section on its own (its code, its
encoding, its reading when first asked for) is ``_sections``'s.

Decoding is built for the common case. Data bodies are sliced out with one copy;
every other section is only measured (its sizes checked against the input) and
kept as its original bytes until first read, so a section nobody reads costs a
slice, and re-encoding an unread section writes its original bytes back. An
unread header, annotations, properties, application-properties or footer is
held as those bytes themselves (``00 53 code value``: no decoded section is
ever ``bytes``); body sections as :class:`_Lazy`, since a body may be bytes.
"""

from __future__ import annotations

from itertools import repeat
from typing import Any, Literal

from ._composite import _e_annotations
from ._decoder import (
    ANY_KEYS,
    STR_KEYS,
    _decode_items,
    register_described,
    skip_value,
)
from ._definitions import (
    Header,
    Properties,
    _dec_header,
    _dec_properties,
    _enc_header,
    _enc_properties,
)
from ._encoder import _e_any, _e_list, register_encoder
from ._errors import DecodeError, EncodeError, EncodeTypeError
from ._sections import (
    _APP_PROPS,
    _DATA,
    _DATA8,
    _DELIVERY_ANN,
    _DEPTH,
    _FOOTER,
    _HEAD_ORDER,
    _HEADER,
    _MESSAGE_ANN,
    _ORDER_OF,
    _PREFIXES,
    _PROPERTIES,
    _SEQUENCE,
    _SHORT_SIZED,
    _VALUE,
    _data_header,
    _descriptor,
    _enc_app_props,
    _in_section,
    _Lazy,
    _load_list,
    _load_map,
    _mixed_body,
    _pack_I,
    _raw,
    _section,
    _unpack_I,
)

# Imported from here by the tests (the header cache, the section readers).
from ._sections import _HEADER_CACHE_MAX as _HEADER_CACHE_MAX
from ._sections import _HEADERS as _HEADERS
from ._sections import _read_header as _read_header
from ._sections import _read_properties as _read_properties
from ._types import Described, ULong

__all__ = [
    "AmqpSequence",
    "AmqpValue",
    "ApplicationProperties",
    "BodyType",
    "Data",
    "DeliveryAnnotations",
    "Footer",
    "Message",
    "MessageAnnotations",
]

#: "none" is a message with no body section at all (sent by e.g. python-qpid-proton for
#: a body of None): 3.2 asks for one, but refusing it would lose a settled message.
BodyType = Literal["data", "value", "sequence", "none"]


class Data(bytes):
    """A data section (3.2.6): opaque binary application data."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Data({bytes(self)!r})"


class AmqpSequence(list[Any]):
    """An amqp-sequence section (3.2.7): a list of AMQP values."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"AmqpSequence({list(self)!r})"


class AmqpValue:
    """An amqp-value section (3.2.8): one AMQP value as the whole body."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        if type(other) is not AmqpValue:
            return NotImplemented
        return bool(self.value == other.value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"AmqpValue({self.value!r})"


class DeliveryAnnotations(dict[Any, Any]):
    """A delivery-annotations section (3.2.2) as a stand-alone value."""

    __slots__ = ()


class MessageAnnotations(dict[Any, Any]):
    """A message-annotations section (3.2.3) as a stand-alone value."""

    __slots__ = ()


class ApplicationProperties(dict[Any, Any]):
    """An application-properties section (3.2.5) as a stand-alone value."""

    __slots__ = ()


class Footer(dict[Any, Any]):
    """A footer section (3.2.9) as a stand-alone value."""

    __slots__ = ()


# -- encoding of sections -------------------------------------------------------

register_encoder(Data, lambda v: _data_header(len(v)) + v)
register_encoder(AmqpSequence, lambda v: b"\x00\x53\x76" + _e_list(v))
register_encoder(AmqpValue, lambda v: b"\x00\x53\x77" + _e_any(v.value))
register_encoder(DeliveryAnnotations, lambda v: b"\x00\x53\x71" + _e_annotations(v))
register_encoder(MessageAnnotations, lambda v: b"\x00\x53\x72" + _e_annotations(v))
register_encoder(ApplicationProperties, _enc_app_props)
register_encoder(Footer, lambda v: b"\x00\x53\x78" + _e_annotations(v))


def _section_factory(code: int, wrap: Any, accepts: tuple[type, ...]) -> Any:
    def factory(value: Any) -> Any:
        if type(value) in accepts:
            return wrap(value)
        return Described(ULong(code), value)

    return factory


register_described(0x71, "amqp:delivery-annotations:map",
                   _section_factory(0x71, DeliveryAnnotations, (dict,)))
register_described(0x72, "amqp:message-annotations:map",
                   _section_factory(0x72, MessageAnnotations, (dict,)))
register_described(0x74, "amqp:application-properties:map",
                   _section_factory(0x74, ApplicationProperties, (dict,)))
register_described(0x75, "amqp:data:binary", _section_factory(0x75, Data, (bytes,)))
register_described(0x76, "amqp:amqp-sequence:list",
                   _section_factory(0x76, AmqpSequence, (list,)))
register_described(0x77, "amqp:amqp-value:*", AmqpValue)
register_described(0x78, "amqp:footer:map", _section_factory(0x78, Footer, (dict,)))




class Message:
    """An AMQP message: every section of 3.2, each optional but the body.

    ``Message(b"...")`` is a single data section; ``Message([Data(a), Data(b)])``
    several; ``Message(AmqpSequence([...]))`` an amqp-sequence; any other body
    (``str``, ``dict``, ``None`` ...) or ``AmqpValue(v)`` is an amqp-value.
    ``body`` gives back the payload: ``bytes`` for one data section, the value
    of an amqp-value, the list of one amqp-sequence, and a list of those for
    several sections; ``body_type`` says which kind it is. A decoded message
    that had no body section at all has ``body_type`` ``"none"`` and body None,
    and encodes without one again.
    """

    __slots__ = ("_ap", "_body", "_body_type", "_da", "_footer", "_header", "_ma", "_properties")

    _header: Header | bytes | None  # bytes: the section still encoded (unread)
    _da: Any
    _ma: Any
    _properties: Properties | bytes | None
    _ap: Any
    _body: Any  # list of payloads (data, sequence) or the value (or a _Lazy)
    _body_type: BodyType
    _footer: Any

    def __init__(
        self,
        body: Any = None,
        *,
        header: Header | None = None,
        delivery_annotations: dict[Any, Any] | None = None,
        message_annotations: dict[Any, Any] | None = None,
        properties: Properties | None = None,
        application_properties: dict[str, Any] | None = None,
        footer: dict[Any, Any] | None = None,
    ) -> None:
        self._header = header
        self._da = delivery_annotations
        self._ma = message_annotations
        self._properties = properties
        self._ap = application_properties
        self._footer = footer
        if type(body) is bytes:  # the common case, without the property call
            self._body = (body,)  # (a tuple of bytes: dropped from GC tracking)
            self._body_type = "data"
        else:
            self.body = body

    # -- sections -------------------------------------------------------------
    @property
    def header(self) -> Header | None:
        """The header section (3.2.1): durable, priority, ttl, first-acquirer, delivery-count."""
        h = self._header
        if type(h) is bytes:
            h = self._header = _read_header(h) or _dec_header(_load_list(h, _HEADER))
        return h  # type: ignore[return-value]

    @header.setter
    def header(self, value: Header | None) -> None:
        self._header = value

    @property
    def delivery_annotations(self) -> dict[Any, Any] | None:
        """Delivery annotations (3.2.2): keys are Symbol or ULong."""
        v = self._da
        if type(v) is bytes:
            # (section_map's work, without its call: _decode_items checks the section)
            v = self._da = (_decode_items(v, _DELIVERY_ANN, 0, 0, _DEPTH, "map8", ANY_KEYS)
                            or _load_map(v, _DELIVERY_ANN, "delivery-annotations"))
        return v  # type: ignore[no-any-return]

    @delivery_annotations.setter
    def delivery_annotations(self, value: dict[Any, Any] | None) -> None:
        self._da = value

    @property
    def message_annotations(self) -> dict[Any, Any] | None:
        """Message annotations (3.2.3): keys are Symbol or ULong (``x-opt-...`` by convention)."""
        v = self._ma
        if type(v) is bytes:
            v = self._ma = (_decode_items(v, _MESSAGE_ANN, 0, 0, _DEPTH, "map8", ANY_KEYS)
                            or _load_map(v, _MESSAGE_ANN, "message-annotations"))
        return v  # type: ignore[no-any-return]

    @message_annotations.setter
    def message_annotations(self, value: dict[Any, Any] | None) -> None:
        self._ma = value

    @property
    def properties(self) -> Properties | None:
        """The properties section (3.2.4): message-id, to, subject, correlation-id ..."""
        p = self._properties
        if type(p) is bytes:
            p = self._properties = (_read_properties(p)
                                    or _dec_properties(_load_list(p, _PROPERTIES)))
        return p  # type: ignore[return-value]

    @properties.setter
    def properties(self, value: Properties | None) -> None:
        self._properties = value

    @property
    def application_properties(self) -> dict[str, Any] | None:
        """Application properties (3.2.5): string keys, simple-typed values."""
        v = self._ap
        if type(v) is bytes:
            # 3.2.5: string keys; read into a dict at once when every key is a str8 or sym8.
            ap = _decode_items(v, _APP_PROPS, 0, 0, _DEPTH, "map8", STR_KEYS)
            if ap is not None:
                self._ap = ap
                return ap  # type: ignore[no-any-return]
            v = _load_map(v, _APP_PROPS, "application-properties")
            keys = v.keys() if type(v) is dict else [k for k, _ in v.pairs]
            if not all(map(isinstance, keys, _STRS)):
                key = next(k for k in keys if not isinstance(k, str))
                raise DecodeError(f"application-properties key {key!r:.40} is not a string "
                                  "(3.2.5)")
            self._ap = v
        return v  # type: ignore[no-any-return]

    @application_properties.setter
    def application_properties(self, value: dict[str, Any] | None) -> None:
        self._ap = value

    @property
    def footer(self) -> dict[Any, Any] | None:
        """The footer (3.2.9): annotations after the body, e.g. hashes or signatures."""
        v = self._footer
        if type(v) is bytes:
            v = self._footer = (_decode_items(v, _FOOTER, 0, 0, _DEPTH, "map8", ANY_KEYS)
                                or _load_map(v, _FOOTER, "footer"))
        return v  # type: ignore[no-any-return]

    @footer.setter
    def footer(self, value: dict[Any, Any] | None) -> None:
        self._footer = value

    # -- body -----------------------------------------------------------------
    @property
    def body_type(self) -> BodyType:
        """``"data"``, ``"value"``, ``"sequence"``, or ``"none"`` for no body section."""
        return self._body_type

    @property
    def body(self) -> Any:
        """The payload (see the class docstring for its shape per body type)."""
        b = self._body
        kind = self._body_type
        if kind == "value" or kind == "none":
            if type(b) is _Lazy:
                b = self._body = b.value()
            return b
        if kind == "sequence":
            b = self._body = [s.value() if type(s) is _Lazy else s for s in b]
            for s in b:
                if type(s) is not list:
                    raise DecodeError("amqp-sequence section must be a list")
        return b[0] if len(b) == 1 else b

    @body.setter
    def body(self, body: Any) -> None:
        t = type(body)
        if t is bytes or t is Data:
            self._body, self._body_type = [body], "data"
        elif t is bytearray or t is memoryview:
            self._body, self._body_type = [bytes(body)], "data"
        elif t is AmqpValue:
            self._body, self._body_type = body.value, "value"
        elif t is AmqpSequence:
            self._body, self._body_type = [list(body)], "sequence"
        elif t is list and body and all(type(s) is Data for s in body):
            self._body, self._body_type = list(body), "data"
        elif t is list and body and all(type(s) is AmqpSequence for s in body):
            self._body, self._body_type = [list(s) for s in body], "sequence"
        else:
            self._body, self._body_type = body, "value"

    @property
    def sections(self) -> list[Data | AmqpValue | AmqpSequence]:
        """The body as its sections, exactly as they are (or would be) on the wire."""
        body = self.body
        if self._body_type == "value":
            return [AmqpValue(body)]
        if self._body_type == "none":
            return []
        payloads = self._body
        if self._body_type == "data":
            return [Data(b) for b in payloads]
        return [AmqpSequence(s) for s in payloads]

    # -- encoding -------------------------------------------------------------
    def encode(self) -> bytes:
        """The message as bytes: the payload of one or more transfer frames."""
        return b"".join(self.encode_parts())

    def encode_parts(self) -> list[bytes]:
        """The encoded message as a list of byte strings to be joined.

        Large data bodies stand alone in the list, so whoever joins the parts
        (into a frame, say) copies the body once.
        """
        body = self._body
        if (self._properties is None and self._ap is None and self._body_type == "data"
                and len(body) == 1 and self._header is None and self._ma is None
                and self._da is None and self._footer is None and type(body[0]) is bytes):
            # The bulk message, one data section alone (3.2.6): its header and the body.
            b = body[0]
            n = len(b)
            return [_DATA8[n] if n < 256 else b"\x00\x53\x75\xb0" + _pack_I(n), b]
        parts = []
        v: Any = self._header
        if v is not None:
            parts.append(_raw(v, _HEADER) if type(v) is bytes else _enc_header(v))
        v = self._da
        if v is not None:
            parts.append(_raw(v, _DELIVERY_ANN) if type(v) is bytes else _section(b"\x00\x53\x71", v, "delivery-annotations", _e_annotations))
        v = self._ma
        if v is not None:
            parts.append(_raw(v, _MESSAGE_ANN) if type(v) is bytes else _section(b"\x00\x53\x72", v, "message-annotations", _e_annotations))
        v = self._properties
        if v is not None:
            parts.append(_raw(v, _PROPERTIES) if type(v) is bytes else _enc_properties(v))
        v = self._ap
        if v is not None:
            parts.append(_raw(v, _APP_PROPS) if type(v) is bytes else _section(b"", v, "application-properties", _enc_app_props))
        kind = self._body_type
        body = self._body
        if kind == "data":
            for b in body:
                if type(b) is not bytes and not isinstance(b, bytes):
                    raise EncodeTypeError(f"data section {b!r:.60} must be bytes", "body")
                n = len(b)
                parts.append(_DATA8[n] if n < 256 else b"\x00\x53\x75\xb0" + _pack_I(n))
                parts.append(b)
        elif kind == "none":
            pass
        elif kind == "value":
            if type(body) is _Lazy:
                parts.append(body.raw)
            else:
                try:
                    parts.append(b"\x00\x53\x77" + _e_any(body))
                except EncodeError as exc:
                    raise _in_section(exc, "body") from None
        else:
            for s in body:
                if type(s) is _Lazy:
                    parts.append(s.raw)
                    continue
                try:
                    parts.append(b"\x00\x53\x76" + _e_list(s))
                except EncodeError as exc:
                    raise _in_section(exc, "body") from None
        v = self._footer
        if v is not None:
            parts.append(_raw(v, _FOOTER) if type(v) is bytes else _section(b"\x00\x53\x78", v, "footer", _e_annotations))
        return parts

    # -- decoding -------------------------------------------------------------
    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview, *, lazy: bool = True) -> Message:
        """Decode a whole message (the joined payload of its transfers).

        With ``lazy`` (the default) sections other than data bodies are
        checked for framing only and decoded when first read, so a malformed
        value inside, say, the footer raises :class:`DecodeError` on that read.
        ``lazy=False`` decodes and checks everything now.
        """
        if type(data) is bytes:
            # The commonest message first (its first section a data section: 00 53 75).
            if len(data) > 4 and data[2] == 0x75:
                only = data_only_message(data)
                if only is not None:
                    return only
            buf: Any = data
            view = None
        else:
            # A bytearray (a receiver's reassembled transfers) or memoryview is read in
            # place: only what is kept (the body, the lazy sections) is copied out, so a
            # large message peaks at twice its size, not three times.
            buf = view = _byte_view(data)
            only = data_only_message(buf)
            if only is not None:
                return only
        n = len(buf)
        msg = _new_message(cls)
        # The sections other than the body, by their place in 3.2 (5, the body, unused).
        sections: list[Any] = [None, None, None, None, None, None, None]
        body: list[Any] = []
        kind: str | None = None
        kind_code = -1
        stage = -1
        pos = 0
        short = _SHORT_SIZED
        order_of = _ORDER_OF
        head = _HEAD_ORDER
        while pos < n:
            if pos + 4 < n and buf[pos + 1] == 0x53 and not buf[pos]:
                code = buf[pos + 2]
                order = head[code]
                if order > stage and buf[pos + 3] in short:
                    # The usual header, annotations, properties: 00 53 code, a one-byte
                    # size (list8, map8 ...), in their order; kept as their bytes.
                    end = pos + 5 + buf[pos + 4]
                    if end > n:
                        raise DecodeError("input ends inside value", pos + 3)
                    sections[order] = buf[pos:end] if view is None else view[pos:end].tobytes()
                    stage = order
                    pos = end
                    continue
                vpos = pos + 3
                prefix = None
            else:
                code, vpos = _descriptor(buf, view, pos)
                # Kept (and written back) with the short descriptor, 00 53 code.
                prefix = _PREFIXES[code]
            order = order_of[code]
            if order is None:
                raise DecodeError(f"unknown message section 0x{code:x}", pos)
            if order <= stage and (order != 5 or order < stage):
                raise DecodeError("message sections out of order or repeated (3.2)", pos)
            stage = order
            if vpos + 1 < n and buf[vpos] in short:  # list8, map8, vbin8, str8 ...
                end = vpos + 2 + buf[vpos + 1]
                if end > n:
                    raise DecodeError("input ends inside value", vpos)
            elif vpos + 5 <= n and buf[vpos] == 0xB0:  # vbin32: a data section over 255 bytes
                end = vpos + 5 + _unpack_I(buf, vpos + 1)[0]
                if end > n:
                    raise DecodeError("input ends inside value", vpos)
            else:
                end = skip_value(buf, vpos)
            if code == _DATA:
                if kind_code != _DATA:
                    if kind is not None:
                        raise _mixed_body(kind_code, code, pos)
                    kind, kind_code = "data", _DATA
                ctor = buf[vpos]
                if ctor == 0xA0:
                    start = vpos + 2
                elif ctor == 0xB0:
                    start = vpos + 5
                else:
                    raise DecodeError("a data section must hold binary", vpos)
                body.append(buf[start:end] if view is None else view[start:end].tobytes())
                pos = end
                continue
            if view is not None:
                raw = view[pos:end].tobytes() if prefix is None else prefix + view[vpos:end].tobytes()
            else:
                raw = buf[pos:end] if prefix is None else prefix + buf[vpos:end]
            pos = end
            if order != 5:
                sections[order] = raw
            elif code == _SEQUENCE:
                if kind_code != _SEQUENCE:
                    if kind is not None:
                        raise _mixed_body(kind_code, code, pos)
                    kind, kind_code = "sequence", _SEQUENCE
                body.append(_Lazy(raw))
            else:
                if kind is not None:
                    if kind_code == _VALUE:
                        raise DecodeError("a body has more than one amqp-value section", pos)
                    raise _mixed_body(kind_code, code, pos)
                kind, kind_code = "value", _VALUE
                msg._body = _Lazy(raw)
        (msg._header, msg._da, msg._ma, msg._properties, msg._ap, _,
         msg._footer) = sections
        if stage < 0:
            raise DecodeError("a message has at least one section (3.2)", n)
        if kind is None:
            # No body section (3.2 wants one): accepted as body None, re-encoded without one.
            kind = "none"
            msg._body = None
        msg._body_type = kind  # type: ignore[assignment]
        if kind == "data" or kind == "sequence":
            msg._body = body
        if not lazy:
            msg._load_all()
        return msg

    def _load_all(self) -> None:
        """Decode every lazily kept section now (raises DecodeError if one is bad)."""
        _ = (self.header, self.delivery_annotations, self.message_annotations, self.properties,
             self.application_properties, self.body, self.footer)

    # -- comparison and display -------------------------------------------------
    def _fields(self) -> tuple[Any, ...]:
        return (self.header, self.delivery_annotations, self.message_annotations,
                self.properties, self.application_properties, self.body_type, self.body,
                self.footer)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        kind = self._body_type
        parts = [repr(self.body) if kind == "data" else "<no body section>" if kind == "none" else
                 f"{'AmqpValue' if kind == 'value' else 'AmqpSequence'}({self.body!r})"]
        for name in ("header", "delivery_annotations", "message_annotations", "properties",
                     "application_properties", "footer"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        return f"Message({', '.join(parts)})"


def data_only_message(buf: bytes | memoryview) -> Message | None:
    """The commonest message of all, one data section and nothing else, or None.

    Recognised by its first bytes and built directly (one copy of the body, also
    from a memoryview); anything else is for :meth:`Message.decode`.
    """
    n = len(buf)
    if n < 5 or buf[2] != 0x75 or buf[1] != 0x53 or buf[0]:
        return None
    c = buf[3]
    if c == 0xA0 and buf[4] + 5 == n:
        body = buf[5:]
    elif c == 0xB0 and n > 8 and _unpack_I(buf, 4)[0] + 8 == n:
        body = buf[8:]
    else:
        return None
    if type(body) is not bytes:
        body = body.tobytes()  # type: ignore[union-attr]
    msg = _new_message(Message)
    msg._header = msg._da = msg._ma = msg._properties = msg._ap = msg._footer = None
    msg._body = [body]
    msg._body_type = "data"
    return msg


_new_message = object.__new__
_STRS = repeat(str)  # isinstance's second argument, for ever


def _byte_view(data: bytes | bytearray | memoryview) -> memoryview:
    """``data`` as a flat memoryview of bytes, without copying when it already is one."""
    if isinstance(data, (bytearray, memoryview)):
        view = memoryview(data)
        if view.format in ("B", "b", "c") and view.ndim == 1 and view.c_contiguous:
            return view.cast("B") if view.format != "B" else view
        return memoryview(view.tobytes())
    raise TypeError(f"expected bytes, got {type(data).__name__}")

