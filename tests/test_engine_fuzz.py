"""The engine fuzz property (``fuzz/fuzz_engine.py``) on a few thousand deterministic inputs.

For every case -- client or server, four configurations, a core that is fresh,
has the peer's header, its open, a session and links attached, or messages in
flight -- random bytes, frames built from random choices, and mutations of
recorded conversations (bit flips, truncations, splices from other
conversations, duplicated, dropped, swapped and replaced frames, other
chunkings). Whatever the bytes: ``receive_data`` raises only
``RemoteProtocolError`` and only after ending the connection, never
``LocalProtocolError`` or anything else; the core's footprint stays
proportional to its input; every input finishes quickly.

Engine bugs the fuzzer found (9, 10, 11, 13) are fixed; the ``test_known_bug_*``
tests below are their regression tests. ``known_bug`` stays as the hook that
would tolerate a newly found, named bug until it is fixed.
"""

from __future__ import annotations

import contextlib
import random
import struct
import time
from pathlib import Path

import pytest
from fuzz import fuzz_engine as fe

from amqp10_proto import Message
from amqp10_proto._connection import Connection
from amqp10_proto._definitions import Role
from amqp10_proto._events import RemoteAttach, RemoteBegin
from amqp10_proto._framing import AMQP_HEADER, encode_frame
from amqp10_proto.errors import RemoteProtocolError
from amqp10_proto.performatives import Attach, Begin, Open, Transfer

#: Per input: the core must never take this long (a hang, or quadratic work).
SLOW = 2.0


def known_bug(exc: BaseException) -> bool:
    """True for a symptom of a known bug (``fe.known_bug``; repros at the end of this file)."""
    return fe.known_bug(exc) is not None


def run(case: fe.Case, pieces: list[bytes], *, chunk: int = 0, ticks: bool = False) -> None:
    start = time.perf_counter()
    fe.check_case(case, pieces, chunk=chunk, ticks=ticks, tolerate=known_bug)
    took = time.perf_counter() - start
    assert took < SLOW, f"{case.name}: one input took {took:.1f} s"


def case_id(case: fe.Case) -> str:
    return case.name


def test_every_transcript_replays_cleanly() -> None:
    """The harness itself: the recorded peer bytes bring a fresh core through the whole story."""
    for role in fe.ROLES:
        for config in fe.CONFIGS:
            chunks = fe.transcript(role, config)
            kinds = [w for _, _, w in fe.frame_spans(b"".join(chunks))]
            assert {"Open", "Begin", "Attach", "Transfer", "Disposition", "Close"} <= set(kinds)
            conn, app = fe.new_target(role, config)
            r = fe.Run()
            for piece in chunks:
                fe.feed(conn, app, piece, r, prefix=True)
            assert conn.ended and conn.error is None, (role, config.name, conn.error)


def test_stages_are_what_they_say() -> None:
    for case in fe.CASES:
        kinds = [w for _, _, w in fe.frame_spans(b"".join(case.prefix))]
        want = {"fresh": None, "header": "header", "open": "Open", "attached": "Attach"}
        if case.stage in want:
            assert (kinds[-1] if kinds else None) == want[case.stage], case.name
        else:
            assert "Transfer" in kinds and "Close" not in kinds, case.name


@pytest.mark.parametrize("case", fe.CASES, ids=case_id)
def test_random_bytes_after_each_stage(case: fe.Case) -> None:
    rng = random.Random(f"raw-{case.name}")
    rest = b"".join(fe.transcript(case.role, case.config))[sum(map(len, case.prefix)):]
    for i in range(30):
        kind = i % 3
        if kind == 0:
            pieces = [rng.randbytes(rng.randrange(1, 300))]
        elif kind == 1:
            # A plausible frame header with a random body, so the codec is reached.
            size = rng.randrange(8, 400)
            pieces = [struct.pack(">IBBH", size, 2, rng.choice((0, 0, 1, 7)), rng.randrange(3))
                      + b"\x00\x53" + bytes((rng.randrange(0x10, 0x19),))
                      + rng.randbytes(rng.randrange(size))]
        else:
            # The real rest of the conversation, cut and then garbage.
            pieces = [rest[:rng.randrange(len(rest) + 1)], rng.randbytes(rng.randrange(60))]
        run(case, pieces, chunk=rng.choice((0, 0, 1, 5, 64)), ticks=rng.random() < 0.3)


@pytest.mark.parametrize("case", fe.CASES, ids=case_id)
def test_structured_frames_after_each_stage(case: fe.Case) -> None:
    rng = random.Random(f"frames-{case.name}")
    for _ in range(35):
        pieces = fe.frames_from(fe.Chooser(rng=rng), limit=rng.randrange(1, 25))
        run(case, pieces, chunk=rng.choice((0, 0, 0, 3, 64)), ticks=rng.random() < 0.3)


@pytest.mark.parametrize("kind", fe.MUTATIONS)
def test_mutated_transcripts(kind: str) -> None:
    rng = random.Random(f"mutate-{kind}")
    donors = [fe.transcript(r, c) for r in fe.ROLES for c in fe.CONFIGS]
    fresh = [c for c in fe.CASES if c.stage == "fresh"]
    for i in range(120):
        case = fresh[i % len(fresh)]
        chunks = fe.transcript(case.role, case.config)
        _, chunks = fe.mutate(chunks, rng, donors, kind)
        if rng.random() < 0.3:  # now and then a second mutation of any kind
            _, chunks = fe.mutate(chunks, rng, donors)
        run(case, chunks, chunk=rng.choice((0, 0, 0, 1, 9)), ticks=rng.random() < 0.2)


def test_the_fuzz_entry_point(tmp_path: Path) -> None:
    """``check`` (the atheris entry point) on the seed corpus and on bytes that pick every case and mode."""
    fe.make_corpus(str(tmp_path))
    seeds = sorted(tmp_path.iterdir())
    assert len(seeds) == 2 * len(fe.CASES)
    for path in seeds:
        try:
            fe.check(path.read_bytes())
        except Exception as exc:
            if not known_bug(exc):
                raise
    rng = random.Random("entry")
    for i in range(4 * len(fe.CASES)):
        try:
            fe.check(bytes((i % len(fe.CASES), i // len(fe.CASES), rng.randrange(70)))
                            + rng.randbytes(rng.randrange(200)))
        except Exception as exc:
            if not known_bug(exc):
                raise


# -- bugs found by fuzzing, fixed: each in a few lines, as a regression test --------------

def _opened_client(open_: Open, begin: Begin) -> Connection:
    """A client with a session of its own, answered by a hand-written peer."""
    c = Connection(role="client", container_id="c")
    c.open()
    c.begin_session()
    c.data_to_send()
    c.receive_data(AMQP_HEADER + encode_frame(0, 0, open_) + encode_frame(0, 0, begin))
    return c


def test_known_bug_9_peer_begin_with_no_free_channel() -> None:
    c = _opened_client(Open(container_id="p", channel_max=0),
                       Begin(remote_channel=0, next_outgoing_id=0, incoming_window=9,
                             outgoing_window=9))
    with contextlib.suppress(RemoteProtocolError):  # a fix may close, or refuse the session
        c.receive_data(encode_frame(0, 1, Begin(next_outgoing_id=0, incoming_window=9,
                                                outgoing_window=9)))


def test_known_bug_10_peer_attach_with_no_free_handle() -> None:
    c = _opened_client(Open(container_id="p"),
                       Begin(remote_channel=0, next_outgoing_id=0, incoming_window=9,
                             outgoing_window=9, handle_max=0))
    c.sessions[0].attach_receiver("q", name="mine")  # takes handle 0
    with contextlib.suppress(RemoteProtocolError):
        c.receive_data(encode_frame(0, 0, Attach(name="theirs", handle=0, role=Role.SENDER)))


def test_known_bug_11_error_detach_larger_than_the_peer_allows() -> None:
    c = Connection(role="server", container_id="s")
    c.open()
    c.receive_data(AMQP_HEADER + encode_frame(0, 0, Open(container_id="p", max_frame_size=512))
                   + encode_frame(0, 0, Begin(next_outgoing_id=0, incoming_window=9,
                                              outgoing_window=9)))
    (rb,) = [e for e in iter(c.next_event, None) if isinstance(e, RemoteBegin)]
    rb.session.begin()
    c.receive_data(encode_frame(0, 0, Attach(name="n" * 440, handle=0, role=Role.SENDER,
                                             initial_delivery_count=0)))
    (ra,) = [e for e in iter(c.next_event, None) if isinstance(e, RemoteAttach)]
    ra.link.attach()  # with no credit
    c.data_to_send()
    with contextlib.suppress(RemoteProtocolError):
        c.receive_data(encode_frame(0, 0, Transfer(handle=0, delivery_id=0, delivery_tag=b"t"),
                                    Message(b"x").encode()))


def test_known_bug_13_short_transfer_frame() -> None:
    perf = b"\x00\x53\x14" + b"\xc0\x05\x05" + b"\x43\x43" + b"\xa0\xff"  # a 255-byte tag, absent
    c = Connection(role="server", container_id="s")
    c.open()
    with pytest.raises(RemoteProtocolError):
        c.receive_data(AMQP_HEADER + struct.pack(">IBBH", 8 + len(perf), 2, 0, 0) + perf)
