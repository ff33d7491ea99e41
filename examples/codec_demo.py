"""Build an AMQP 1.0 message, encode it to wire bytes, decode it back, and show both.

Run: python examples/codec_demo.py
"""

from __future__ import annotations

import datetime as dt

from amqp10_proto import Header, Message, Properties, Symbol, UInt, codec


def main() -> None:
    msg = Message(
        b'{"order": 1234, "total": 99.5}',
        header=Header(durable=True, ttl=60000),
        properties=Properties(
            message_id="msg-000001",
            subject="order.created",
            content_type="application/json",
            creation_time=dt.datetime.now(dt.timezone.utc),
        ),
        application_properties={"tenant": "acme", "attempt": 3, "urgent": True},
        message_annotations={"x-opt-partition-key": "pk-7"},
    )
    data = msg.encode()
    print(f"encoded {len(data)} bytes:")
    for i in range(0, len(data), 32):
        print("   ", data[i:i + 32].hex(" "))
    back = Message.decode(data)
    print("decoded:", back)
    assert back.body == msg.body and back.application_properties == msg.application_properties
    print("body:", back.body.decode())
    print("a single value:", codec.encode([UInt(7), Symbol("amqp:accepted:list"), "text"]).hex(" "))


if __name__ == "__main__":
    main()
