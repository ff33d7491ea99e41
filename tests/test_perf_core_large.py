"""Issue 12, item 4: a large message is received holding at most two copies of itself.

A receiver's core reassembles a delivery's transfers in place (one bytearray grown
as they arrive) and ``Message.decode`` reads a bytearray or memoryview where it
lies, copying out only what the message keeps. Before, the transfers were kept
as chunks, joined, and the body sliced out of the join: three copies at the peak.
These tests bound the peak of traced allocations (tracemalloc: exact, unlike a
resident-set figure), never a time.

Run as a script for the figures bench/RESULTS.md quotes (time and peak RSS for
one message of each size, fed to a core in 256 KiB reads of 64 KiB frames):
``python tests/test_perf_core_large.py 12.5 50 200 500``.
"""

from __future__ import annotations

import array
import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator

import pytest

from amqp10_proto import Message, Properties
from amqp10_proto._events import LinkDetached, MessageReceived
from amqp10_proto._framing import encode_frame
from amqp10_proto.errors import DecodeError
from amqp10_proto.performatives import Transfer

if __package__:
    from .corepair import CorePair, linked_pair
else:  # run as a script
    sys.path.insert(0, __file__.rsplit("/tests/", 1)[0])
    from tests.corepair import CorePair, linked_pair

MIB = 1 << 20
READ = 1 << 18  # what an adapter reads from its socket at once


def transfer_stream(p: CorePair, sender: object, message: bytes, frame: int = 65536,
                    read: int = READ, head: bytes = b"") -> Iterator[bytes]:
    """The bytes a peer would send for ``head + message`` in frames of ``frame`` bytes,
    cut into reads of ``read`` bytes (``head``: so the script's zeros are never copied)."""
    ch = sender.session.channel  # type: ignore[attr-defined]
    handle = sender.handle  # type: ignore[attr-defined]
    view = memoryview(message)
    total = len(head) + len(message)
    pending = bytearray()
    pos = 0
    while pos < total:
        if pos == 0:
            t = Transfer(handle=handle, delivery_id=0, delivery_tag=b"t", message_format=0,
                         settled=True, more=True)
        else:
            t = Transfer(handle=handle, more=True)
        room = frame - len(encode_frame(0, ch, t)) - 1
        n = min(room, total - pos)
        t.more = pos + n < total
        if pos == 0:
            payload = head + bytes(view[:n - len(head)])
        else:
            payload = bytes(view[pos - len(head):pos - len(head) + n])
        pending += encode_frame(0, ch, t, payload)
        pos += n
        while len(pending) >= read:
            yield bytes(pending[:read])
            del pending[:read]
    if pending:
        yield bytes(pending)


def receive(message: bytes) -> tuple[Message, float]:
    """Feed ``message`` to a receiving core; return it decoded and the traced peak / size."""
    p, sender, _ = linked_pair(credit=1, receiver_kw={"max_message_size": None})
    reads = list(transfer_stream(p, sender, message))
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        for chunk in reads:
            p.server.receive_data(chunk)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    (mr,) = p.events("server", MessageReceived)
    return mr.message, peak / len(message)


def test_a_16_mib_message_is_received_within_two_copies_of_itself() -> None:
    body = bytes(range(256)) * (16 * MIB // 256)
    encoded = Message(body).encode()
    message, peak = receive(encoded)
    assert message.body == body
    # The reassembly (a bytearray, up to 1/8 over-allocated as it grows) and the body.
    assert peak <= 2.2, f"peak {peak:.2f}x the message"


def test_every_section_of_a_large_multi_frame_message_arrives() -> None:
    body = b"\x5a" * (3 * MIB + 17)
    original = Message(body, properties=Properties(message_id="big", subject="s"),
                       application_properties={"k": 1}, footer={"sig": b"\x01\x02"})
    message, peak = receive(original.encode())
    assert message == original
    assert peak <= 2.2


def test_max_message_size_stops_a_multi_frame_delivery_before_it_is_kept() -> None:
    p, sender, receiver = linked_pair(credit=1)
    receiver.max_message_size = 200_000
    reads = list(transfer_stream(p, sender, Message(bytes(1 * MIB)).encode()))
    for chunk in reads[:2]:  # 512 KiB in: past the limit
        p.server.receive_data(chunk)
    p.pump()
    (det,) = p.events("client", LinkDetached)
    assert det.error is not None and det.error.condition == "amqp:link:message-size-exceeded"
    assert receiver._partial is None  # what arrived of it is dropped
    assert not p.events("server", MessageReceived)


# -- Message.decode reads a bytearray or memoryview where it lies -------------------------

def _decode_peak(data: bytes | bytearray | memoryview) -> tuple[Message, float]:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        message = Message.decode(data)
        _ = message.properties
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return message, peak / len(data)


@pytest.mark.parametrize("wrap", [bytearray, memoryview, lambda b: memoryview(bytearray(b))])
@pytest.mark.parametrize("with_properties", [False, True])
def test_decode_of_a_bytearray_or_view_copies_only_the_body(wrap: object,
                                                             with_properties: bool) -> None:
    body = b"\xa5" * (4 * MIB)
    original = Message(body, properties=Properties(message_id=7) if with_properties else None)
    data = wrap(original.encode())  # type: ignore[operator]
    message, peak = _decode_peak(data)
    assert message == original and type(message.body) is bytes
    assert peak < 1.05, f"decode allocated {peak:.2f}x the message"  # was 2x: a copy first


def test_decode_of_a_view_with_a_symbolic_descriptor_and_several_data_sections() -> None:
    # 3.2: a section may be described by its symbol; two data sections make a list body.
    data = (b"\x00\xa3\x14amqp:properties:list\xc0\x03\x01\xa1\x00"
            b"\x00\xa3\x10amqp:data:binary\xa0\x02ab"
            b"\x00\x53\x75\xb0\x00\x00\x00\x01c")
    for wrapped in (bytearray(data), memoryview(data), memoryview(b"--" + data)[2:]):
        message = Message.decode(wrapped)
        assert message.body == [b"ab", b"c"] and message.properties is not None
        assert message.properties.message_id == ""


def test_decode_of_other_memoryviews() -> None:
    data = Message(b"hello", properties=Properties(subject="s")).encode()
    ints = array.array("b", data)  # signed bytes: a format other than "B"
    strided = memoryview(bytes(b for c in data for b in (c, 0)))[::2]  # not contiguous
    for view in (memoryview(ints), strided):
        message = Message.decode(view)
        assert message.body == b"hello" and message.properties is not None
    with pytest.raises(TypeError, match="expected bytes"):
        Message.decode("text")  # type: ignore[arg-type]


def test_a_truncated_bytearray_message_is_a_decode_error() -> None:
    data = bytearray(Message(b"x" * 1000, properties=Properties(subject="s")).encode())
    with pytest.raises(DecodeError):
        Message.decode(data[:-1])
    with pytest.raises(DecodeError):
        Message.decode(memoryview(data)[:40])


# -- the figures --------------------------------------------------------------------------

def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _rss_now() -> int:
    """The resident set now (Linux), not its peak: the baseline the peak is measured from."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def main(sizes: list[float]) -> None:  # pragma: no cover - a measurement, run by hand
    """Time and peak RSS of receiving one message per size, each in a fresh process."""
    import subprocess

    if len(sizes) != 1:
        for mib in sizes:
            subprocess.run([sys.executable, __file__, str(mib)], check=True)
        return
    size = int(sizes[0] * MIB)
    p, sender, _ = linked_pair(credit=1, receiver_kw={"max_message_size": None})
    zeros = bytes(size)  # calloc'd: never written, so never resident
    reads = list(transfer_stream(p, sender, zeros, head=b"\x00\x53\x75\xb0" + size.to_bytes(4, "big")))
    del zeros  # the reads are the one copy the baseline holds
    base = _rss_now()
    if _peak_rss() > base + size // 2:
        raise SystemExit("the stream's making peaked above the baseline: peak RSS unreadable")
    start = time.perf_counter()
    for chunk in reads:
        p.server.receive_data(chunk)
    seconds = time.perf_counter() - start
    (mr,) = p.events("server", MessageReceived)
    assert len(mr.message.body) == size
    print(f"{sizes[0]:>6g} MiB  {seconds:7.3f} s  {seconds / sizes[0] * 100:6.3f} s/100 MiB"
          f"  peak RSS {(_peak_rss() - base) / size:4.2f}x the message")


if __name__ == "__main__":
    main([float(a) for a in sys.argv[1:]] or [12.5, 50, 200, 500])
