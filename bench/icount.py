"""A fixed amount of codec work, for instruction counts that the machine's load does not move.

Usage: python bench/icount.py MESSAGE OPERATION N
  MESSAGE: typical | typical-10 | tiny (bench/codec.py's messages)
  OPERATION: all (decode, every section read) | fields (decode, every field of every
    section read: bench/codec.py's like-for-like row) | body (decode, the body read) | encode |
    send (``Message(body)`` + ``encode_parts()``, a bulk send's share: for data bodies)

Run it twice under callgrind, with N and N + 20 000, and divide the difference of the
"Collected" totals by 20 000 (start-up cancels out); fix the hash seed, or dict and set
layouts move the count by a few per cent:

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        .venv/bin/python bench/icount.py typical all 2000

Timings on a shared 2-vCPU machine move by ±30 % with the load; these counts do not
(they are not times either: compare counts with counts).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import codec

from amqp10_proto import Message


def main(argv: list[str]) -> int:
    name, op, n = argv[0], argv[1], int(argv[2])
    msg = {"typical": codec.typical, "typical-10": codec.typical10, "tiny": codec.tiny}[name]()
    data = msg.encode()
    decode = Message.decode

    def read_all() -> Any:
        m = decode(data)
        return (m.header, m.delivery_annotations, m.message_annotations, m.properties,
                m.application_properties, m.body, m.footer)

    def read_fields() -> Any:
        return codec.every_field(decode(data))

    ops: dict[str, Callable[[], Any]] = {
        "all": read_all, "fields": read_fields, "body": lambda: decode(data).body, "encode": msg.encode}
    body = msg.body
    new = Message

    def send() -> Any:
        return new(body).encode_parts()

    ops["send"] = send
    fn = ops[op]
    for _ in range(n):
        fn()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
