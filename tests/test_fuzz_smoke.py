"""A short, deterministic run of the codec fuzz property (fuzz/fuzz_codec.py) inside pytest.

Random byte strings (biased towards valid constructors), mutations of valid
encodings, and registered composite types (performatives, sections ...) with
fields of every wrong type, from a fixed seed: tens of thousands of inputs in
about a second. The real, coverage-guided run is ``python fuzz/fuzz_codec.py``
(see fuzz/README.md).
"""

from __future__ import annotations

import random
import struct
import time
import traceback
from pathlib import Path

import pytest
from fuzz.fuzz_codec import check, seed_values, seeds

from amqp10_proto import _codec
from amqp10_proto._errors import DecodeError
from amqp10_proto._types import Described, ULong

SEED = 20240517
VALID = [c for c in range(256) if _codec._DECODERS[c] is not _codec._d_invalid]
INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x40, 0x45, 0x53, 0x7F, 0x80, 0xA1, 0xC0, 0xD0, 0xE0,
                     0xF0, 0xFE, 0xFF]
INTERESTING_U32 = [0, 1, 3, 4, 5, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]


def random_input(rng: random.Random) -> bytes:
    """Bytes that start like a value more often than not."""
    n = rng.choice([0, 1, 2, 3, 5, 9, 17, rng.randrange(64), rng.randrange(300)])
    data = bytearray(rng.getrandbits(8) for _ in range(n))
    # Sprinkle constructors so that compound values get some way in.
    for i in range(0, n, rng.choice([1, 2, 3, 5, 9])):
        if rng.random() < 0.5:
            data[i] = rng.choice(VALID)
    return bytes(data)


def mutate(rng: random.Random, data: bytes, corpus: list[bytes]) -> bytes:
    """A few random edits of ``data``, of the kinds libFuzzer makes."""
    buf = bytearray(data)
    for _ in range(rng.choice([1, 1, 1, 2, 3, 8])):
        op = rng.randrange(9)
        i = rng.randrange(len(buf) + 1)
        if op == 0 and buf:  # flip a bit
            j = rng.randrange(len(buf))
            buf[j] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:  # an interesting byte
            buf[rng.randrange(len(buf))] = rng.choice(INTERESTING_BYTES + VALID)
        elif op == 2:  # insert a byte
            buf.insert(i, rng.getrandbits(8))
        elif op == 3 and buf:  # delete a run
            del buf[i:i + rng.randrange(1, 9)]
        elif op == 4:  # truncate
            del buf[i:]
        elif op == 5 and len(buf) >= 4:  # an interesting 32-bit size or count
            j = rng.randrange(len(buf) - 3)
            buf[j:j + 4] = struct.pack(">I", rng.choice(INTERESTING_U32))
        elif op == 6 and buf:  # duplicate a chunk
            j = rng.randrange(len(buf))
            buf[i:i] = buf[j:j + rng.randrange(1, 17)]
        elif op == 7:  # splice in part of another input
            other = rng.choice(corpus)
            j = rng.randrange(len(other) + 1)
            buf[i:i] = other[j:j + rng.randrange(1, 33)]
        elif op == 8 and buf:  # an interesting small size or count
            buf[rng.randrange(len(buf))] = rng.choice([0, 1, 2, 3, 0x7F, 0x80, 0xFE, 0xFF])
    return bytes(buf)


def composite_input(rng: random.Random, pool: list[object], codes: list[int]) -> bytes:
    """A registered composite type whose fields have arbitrary types and values."""
    body: object = [rng.choice(pool) for _ in range(rng.randrange(14))]
    if rng.random() < 0.2:
        body = rng.choice(pool)  # not even a list
    data = _codec.encode(Described(ULong(rng.choice(codes)), body))
    return mutate(rng, data, [data]) if rng.random() < 0.3 else data


def inputs(count: int) -> list[bytes]:
    rng = random.Random(SEED)
    corpus = seeds()
    pool = [v for v in seed_values() if not isinstance(v, Described)]
    codes = sorted(k for k in _codec._DESCRIBED if isinstance(k, int))
    out = list(corpus)
    while len(out) < count:
        r = rng.random()
        if r < 0.2:
            out.append(random_input(rng))
        elif r < 0.4 and codes:
            out.append(composite_input(rng, pool, codes))
        else:
            out.append(mutate(rng, rng.choice(corpus), corpus))
    return out


def test_inputs_are_deterministic_and_varied() -> None:
    a, b = inputs(500), inputs(500)
    assert a == b
    assert len(set(a)) > 450
    assert any(len(x) > 250 for x in a)


def test_fuzz_smoke() -> None:
    data = inputs(20_000)
    start = time.perf_counter()
    failures = []
    decoded = 0
    for item in data:
        try:
            check(item)
        except Exception:
            failures.append(f"{item.hex()}\n{traceback.format_exc()}")
        else:
            # check() passes for inputs that fail to decode too; count the
            # ones that decode, to know the run went beyond the first byte.
            try:
                _codec.decode(item)
                decoded += 1
            except DecodeError:
                pass
    elapsed = time.perf_counter() - start
    if failures:
        pytest.fail(f"{len(failures)} of {len(data)} inputs broke the property; first:\n"
                    + failures[0])
    assert decoded > 2000, decoded
    assert elapsed < 20, f"{elapsed:.1f}s"


def test_check_catches_a_broken_decoder() -> None:
    # The property is not vacuous: a decoder that leaks IndexError is caught.
    def leaky(buf: bytes, pos: int, depth: int) -> tuple[object, int]:
        return buf[pos + 100], pos + 1

    saved = _codec._DECODERS[0x50]
    _codec._DECODERS[0x50] = leaky
    try:
        with pytest.raises(IndexError):
            check(b"\x50\x01")
    finally:
        _codec._DECODERS[0x50] = saved


# -- the seeds of fixed bugs (fuzz/seeds/, written by fuzz/make_seeds.py) ----------------------

SEEDS = Path(__file__).resolve().parent.parent / "fuzz" / "seeds"


def _seed_files(kind: str) -> list[Path]:
    return sorted((SEEDS / kind).iterdir())


def test_the_committed_seeds_are_what_make_seeds_writes() -> None:
    from fuzz.make_seeds import codec_seeds, engine_seeds

    for kind, wanted in (("codec", codec_seeds()), ("engine", engine_seeds())):
        on_disk = {p.name: p.read_bytes() for p in _seed_files(kind)}
        assert on_disk == wanted, f"fuzz/seeds/{kind} is stale: run python fuzz/make_seeds.py"


@pytest.mark.parametrize("path", _seed_files("codec"), ids=lambda p: p.name)
def test_codec_seed_keeps_the_property(path: Path) -> None:
    check(path.read_bytes())


@pytest.mark.parametrize("path", _seed_files("engine"), ids=lambda p: p.name)
def test_engine_seed_keeps_the_property(path: Path) -> None:
    from fuzz.fuzz_engine import check as check_engine

    check_engine(path.read_bytes())
