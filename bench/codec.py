"""Message encode/decode benchmark: amqp10 against python-qpid-proton, in one run.

Usage: python bench/codec.py [--quick]

Messages: typical (5 application properties, 1 annotation), typical-10 (issue 12's:
10 application properties, 3 message annotations, 1 delivery annotation), tiny, 1 MiB.
The Azure SDK's ``_pyamqp`` decode (every section read; it has no lazy path) is a
third column when its venv (shared/peers' peers_ensure_ws_venv) is there.

For each message it times, per message:
- encode: amqp10 ``Message.encode()`` vs proton ``Message.encode()``;
- decode: amqp10 ``Message.decode(data).body`` (lazy: the body read, other
  sections decoded on first access) vs proton ``Message.decode(data)`` + body;
- decode, all sections: amqp10 with every section read (proton's decode converts its
  maps and body to Python; its header and properties fields stay in C);
- decode, every field read: like for like, both sides read every field of every section:
  amqp10 the header's 5 fields, the properties' 13, the maps, body and footer; proton
  the same fields through its accessors (``m.durable`` ... ``m.reply_to_group_id``,
  each converted from C on access), its maps and body.
It prints microseconds per operation (best of several repeats) and the ratio
amqp10 / proton (below 1.0 means amqp10 is faster), and, for the 1 MiB body,
how many copies of the body encode and decode make (peak traced allocation
divided by the body size).
"""

from __future__ import annotations

import datetime
import sys
import timeit
import tracemalloc
from collections.abc import Callable
from typing import Any

import _bench
import proton
from _bench import azure_available, machine

from amqp10_proto import Header, Message, Properties

NOW = datetime.datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=datetime.timezone.utc)


def typical() -> Message:
    """The issue's typical message: header, properties, 5 app properties, 1 annotation, 1 KiB."""
    return Message(
        b"x" * 1024,
        header=Header(durable=True, priority=4, ttl=60000),
        properties=Properties(
            message_id="msg-000001",
            correlation_id="corr-000001",
            subject="order.created",
            content_type="application/json",
            reply_to="replies",
            creation_time=NOW,
        ),
        application_properties={
            "tenant": "acme", "attempt": 3, "urgent": True, "score": 0.5, "region": "eu-west",
        },
        message_annotations={"x-opt-partition-key": "pk-7"},
    )


def typical10() -> Message:
    """Issue 12's typical message: ~10 application properties and annotations of both kinds."""
    base = typical()
    return Message(
        base.body, header=base.header, properties=base.properties,
        application_properties={**(base.application_properties or {}), "customer": "c-1042",
                                "items": 7, "total": 129.95, "currency": "EUR",
                                "retry": False},
        message_annotations={"x-opt-partition-key": "pk-7", "x-opt-sequence-number": 1042,
                             "x-opt-enqueued-time": NOW},
        delivery_annotations={"x-opt-lock-token": "lock-7f3a"},
    )


def tiny() -> Message:
    return Message(b"x")


def big() -> Message:
    return Message(b"\x01" * (1 << 20))


def proton_message(data: bytes) -> proton.Message:
    m = proton.Message()
    m.decode(data)
    return m


def every_field(m: Message) -> Any:
    """Every field of every section of ``m`` read (the like-for-like row's amqp10 side)."""
    h = m.header
    p = m.properties
    fields: tuple[Any, ...] = ()
    if h is not None:
        fields = (h.durable, h.priority, h.ttl, h.first_acquirer, h.delivery_count)
    if p is not None:
        fields += (p.message_id, p.user_id, p.to, p.subject, p.reply_to, p.correlation_id,
                   p.content_type, p.content_encoding, p.absolute_expiry_time,
                   p.creation_time, p.group_id, p.group_sequence, p.reply_to_group_id)
    return (fields, m.delivery_annotations, m.message_annotations, m.application_properties,
            m.body, m.footer)


def best_us(fn: Callable[[], Any], number: int, repeat: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def copies(fn: Callable[[], Any], size: int) -> float:
    """Peak traced allocation of one call, in units of ``size``."""
    fn()  # warm caches
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak / size


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    rows: list[tuple[str, str, float, float]] = []
    cases = [("typical", typical(), 20000), ("typical-10", typical10(), 20000),
             ("tiny", tiny(), 50000), ("1 MiB body", big(), 200)]
    azure: dict[str, float] = {}
    for name, msg, number in cases:
        if quick:
            number = max(10, number // 20)
        repeat = 3 if quick else 7
        data = msg.encode()
        pm = proton_message(data)
        # (keep pm alive: proton's memoryview body points into the Message)
        assert bytes(pm.body) == msg.body
        assert Message.decode(data) == msg

        def ours_decode(d: bytes = data) -> Any:
            return Message.decode(d).body

        def ours_decode_all(d: bytes = data) -> Any:
            m = Message.decode(d)
            return (m.header, m.delivery_annotations, m.message_annotations, m.properties,
                    m.application_properties, m.body, m.footer)

        def ours_decode_fields(d: bytes = data) -> Any:
            return every_field(Message.decode(d))

        def proton_decode(d: bytes = data) -> Any:
            m = proton.Message()
            m.decode(d)
            return m.body

        def proton_decode_fields(d: bytes = data) -> Any:
            m = proton.Message()
            m.decode(d)
            return (m.durable, m.priority, m.ttl, m.first_acquirer, m.delivery_count,
                    m.instructions, m.annotations, m.id, m.user_id, m.address, m.subject,
                    m.reply_to, m.correlation_id, m.content_type, m.content_encoding,
                    m.expiry_time, m.creation_time, m.group_id, m.group_sequence,
                    m.reply_to_group_id, m.properties, m.body)

        enc_ours = best_us(msg.encode, number, repeat)
        enc_proton = best_us(pm.encode, number, repeat)
        dec_ours = best_us(ours_decode, number, repeat)
        dec_all = best_us(ours_decode_all, number, repeat)
        dec_proton = best_us(proton_decode, number, repeat)
        dec_fields = best_us(ours_decode_fields, number, repeat)
        dec_proton_fields = best_us(proton_decode_fields, number, repeat)
        rows.append((name, "encode", enc_ours, enc_proton))
        rows.append((name, "decode (body read)", dec_ours, dec_proton))
        rows.append((name, "decode (all sections read)", dec_all, dec_proton))
        rows.append((name, "decode (every field read)", dec_fields, dec_proton_fields))
        if azure_available():  # the Azure SDK's _pyamqp reads every section too
            azure[name] = _bench.azure("decode", data_hex=data.hex(), number=number,
                                       repeat=repeat)["us"]

    print(f"{machine()}, python-qpid-proton {'.'.join(map(str, proton.VERSION))}")
    if not azure_available():
        print("(no Azure _pyamqp anchor: run shared/peers' peers_ensure_ws_venv first)")
    print(f"{'message':<12} {'operation':<28} {'amqp10 µs':>10} {'proton µs':>10} {'ratio':>7} "
          f"{'pyamqp µs':>10} {'ratio':>7}")
    for name, op, ours, theirs in rows:
        line = f"{name:<12} {op:<28} {ours:>10.2f} {theirs:>10.2f} {ours / theirs:>7.2f}"
        if name in azure and op.startswith("decode"):
            line += f" {azure[name]:>10.2f} {ours / azure[name]:>7.2f}"
        print(line)

    size = 1 << 20
    msg = big()
    data = msg.encode()
    print(f"1 MiB body: encode allocates {copies(msg.encode, size):.2f}x the body, "
          f"decode {copies(lambda: Message.decode(data).body, size):.2f}x "
          "(1.00 = one copy)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
