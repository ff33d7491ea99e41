"""Write fuzz/seeds/: the reproductions of fixed bugs as seed inputs of both fuzz targets.

Each finding of issue 10 (hostile testing) becomes seeds, so that the fuzzers start
from it and ``tests/test_fuzz_smoke.py`` replays it on every run:

- ``seeds/codec/<name>``: bytes for ``fuzz_codec.check`` (values and whole messages);
- ``seeds/engine/<name>-<case>-<chunking>``: inputs for ``fuzz_engine.check`` -- a case
  byte (role, configuration, stage), a mode byte (raw), a chunk byte (0: whole, else
  that many bytes at a time), then the peer's frames -- in both roles, whole and chunked.

The bytes come from the regression tests (``tests/test_robust_core.py``), one source for
both. Run ``python fuzz/make_seeds.py`` after adding one; the smoke test checks that the
committed files are what this writes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from tests.test_robust_core import (  # noqa: E402
    ATTACH_THEN_DETACH,
    FLOW_CREDIT_MAX,
    PROTON_NO_BODY,
    UNDECODABLE,
    data_message,
    link_flow,
    peer_attach,
    peer_begin,
    transfer,
)

from amqp10_proto._definitions import Role  # noqa: E402
from amqp10_proto._framing import encode_frame  # noqa: E402
from amqp10_proto.performatives import Transfer  # noqa: E402

__all__ = ["SEEDS", "codec_seeds", "engine_seeds", "write"]

SEEDS = Path(__file__).resolve().parent / "seeds"

#: A described value whose descriptor is an int (12), as python-qpid-proton writes one.
DESCRIBED_INT12 = bytes.fromhex("00540ca10178")
#: An array of described ubytes whose descriptor is that int.
ARRAY_INT12 = bytes.fromhex("e0070200540c500102")
#: A message whose body is a data and an amqp-value section (refused, with the right text).
DATA_AND_VALUE = bytes.fromhex("005375a000005377a000")
#: Message annotations keyed by an int 5, then a data body (decoded, then failed to encode).
INT_ANNOTATION_KEY = bytes.fromhex("005372c10402540541") + data_message(1)


def codec_seeds() -> dict[str, bytes]:
    """Values and messages for the codec target."""
    return {
        "described-int12": DESCRIBED_INT12,
        "array-int12": ARRAY_INT12,
        "message-no-body": PROTON_NO_BODY,
        "message-data-and-value": DATA_AND_VALUE,
        "message-int-annotation-key": INT_ANNOTATION_KEY,
        "message-undecodable": UNDECODABLE,
        "message-value-described-int12": bytes.fromhex("005377") + DESCRIBED_INT12,
        "flow-credit-max": FLOW_CREDIT_MAX[8:],
        "attach-then-detach": ATTACH_THEN_DETACH[8:0x32],
    }


def _sender_link(*frames: bytes) -> bytes:
    """A session (channel 0) and a sending link (handle 0) of the peer's, then ``frames``."""
    return peer_begin(0) + peer_attach(0, "seed-in", Role.SENDER) + b"".join(frames)


def _split(payload: bytes, size: int = 300) -> bytes:
    """A delivery in several transfers of ``size`` payload bytes (within 512-byte frames)."""
    out = transfer(payload[:size], more=True)
    for i in range(size, len(payload), size):
        more = i + size < len(payload)
        out += encode_frame(0, 0, Transfer(handle=0, more=more), payload[i:i + size])
    return out


def _bodies() -> dict[str, bytes]:
    """The peer's frames after its open: each reproduction, within 512-byte frames."""
    return {
        "begins-500": b"".join(peer_begin(ch) for ch in range(500)),
        "attach-then-detach": peer_begin(0) + ATTACH_THEN_DETACH,
        "credit-max": peer_begin(0) + peer_attach(0, "seed-out", Role.RECEIVER) + FLOW_CREDIT_MAX
                      + link_flow(0, 1 << 31),
        "oversize-message": _sender_link(_split(data_message(2048))),
        "no-body": _sender_link(transfer(PROTON_NO_BODY), transfer(PROTON_NO_BODY, 1, settled=True)),
        "undecodable": _sender_link(transfer(UNDECODABLE), transfer(UNDECODABLE, 1, settled=True),
                                    transfer(data_message(3), 2)),
        "data-and-value": _sender_link(transfer(DATA_AND_VALUE)),
        "described-int12": _sender_link(transfer(bytes.fromhex("005377") + DESCRIBED_INT12)),
        "int-annotation-key": _sender_link(transfer(INT_ANNOTATION_KEY)),
    }


def engine_seeds() -> dict[str, bytes]:
    """Engine inputs: every reproduction after the peer's open, and after a whole
    conversation (frames on channels and handles already in use), in both roles,
    whole and in 7-byte (61 for the many begins) chunks."""
    from fuzz.fuzz_engine import CASES

    index = {case.name: i for i, case in enumerate(CASES)}
    out: dict[str, bytes] = {}
    for name, body in _bodies().items():
        for role in ("client", "server"):
            for stage in ("open", "active"):
                if name == "begins-500" and stage == "active":
                    continue  # channel 0 is taken there: the first begin ends it
                case = f"{role}-small-frames-{stage}"
                for chunk in (0, 61 if name == "begins-500" else 7):
                    how = "whole" if chunk == 0 else f"chunk{chunk}"
                    out[f"{name}-{case}-{how}"] = bytes((index[case], 0, chunk)) + body
    return out


def write() -> int:
    """(Re)write fuzz/seeds/ from scratch; return how many files."""
    count = 0
    for kind, seeds in (("codec", codec_seeds()), ("engine", engine_seeds())):
        directory = SEEDS / kind
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.iterdir():
            old.unlink()
        for name, data in seeds.items():
            (directory / name).write_bytes(data)
            count += 1
    return count


if __name__ == "__main__":
    os.chdir(_ROOT)
    print(f"wrote {write()} seeds to {SEEDS}")
