"""Fuzz target: arbitrary bytes into a protocol core in every state, as either role.

Each input picks a *case* -- a role (client or server), a configuration (small
frames, idle timeouts, tight channel limits, SASL) and a *stage* -- and a way
to read the rest of the input:

- the stage is a prefix of a valid transcript recorded from a ``CorePair``:
  nothing (a fresh core), the peer's protocol header, its open, everything up
  to the last attach (a session and links each way), or the whole conversation
  up to the peer's teardown (messages in flight, unsettled deliveries, credit);
- the rest of the input is appended as raw bytes, or (structured mode) read as
  a list of choices that build well-formed frames with hostile field values
  (handles and channels that were never attached, windows of zero, ranges of
  2**32 ids, transfers without credit, SASL frames after SASL ...), so the
  fuzzer reaches the engine behind the codec quickly.

The core under test runs with a small deterministic application (``App``): it
answers the peer's begins and attaches, sends a few messages when it gets
credit, settles what arrives, answers drains. The prefix is replayed in the
chunks it was recorded in, with the application reacting in between, so the
core is in exactly the recorded state when the fuzz bytes arrive.

The property (``check_case``): ``receive_data`` raises nothing but
``RemoteProtocolError`` (``DecodeError`` included) and only after ending the
connection; never ``LocalProtocolError``; ``next_event``, ``data_to_send`` and
``tick`` raise nothing; the application's own calls raise at most
``LocalProtocolError``; what the core holds (buffered input, queued output,
events, sessions, links, deliveries, partial messages) stays proportional to
the bytes fed; no input takes long (libFuzzer's ``-timeout``).

Run (atheris is a dev-only dependency: ``.venv/bin/pip install atheris``)::

    .venv/bin/python fuzz/fuzz_engine.py --make-corpus fuzz/corpus/engine
    .venv/bin/python fuzz/fuzz_engine.py fuzz/corpus/engine -max_total_time=600 -timeout=10

``AMQP10_FUZZ_KNOWN=skip`` keeps going past the known bugs (``known_bug``).
See fuzz/README.md. ``tests/test_engine_fuzz.py`` runs the same property on a
few thousand deterministic inputs in CI.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# tests.corepair records the transcripts: the repository root must be importable
# when this runs as a script (python fuzz/fuzz_engine.py).
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.corepair import CorePair  # noqa: E402

from amqp10_proto import (  # noqa: E402
    Accepted,
    Error,
    Message,
    Modified,
    Rejected,
    Released,
    SaslAnonymous,
    SaslPlain,
    SaslServer,
    Source,
    Target,
)
from amqp10_proto._connection import Connection  # noqa: E402
from amqp10_proto._definitions import (  # noqa: E402
    ReceiverSettleMode,
    Role,
    SaslCode,
    SenderSettleMode,
)
from amqp10_proto._errors import EncodeError, LocalProtocolError, RemoteProtocolError  # noqa: E402
from amqp10_proto._events import (  # noqa: E402
    ConnectionOpened,
    CreditGranted,
    DeliveryUpdated,
    LinkAttached,
    MessageReceived,
    RemoteAttach,
    RemoteBegin,
    SessionBegun,
)
from amqp10_proto._framing import AMQP_HEADER, SASL_HEADER, encode_frame  # noqa: E402
from amqp10_proto._link import Receiver, Sender  # noqa: E402
from amqp10_proto._session import Session  # noqa: E402
from amqp10_proto.performatives import (  # noqa: E402
    Attach,
    Begin,
    Close,
    Detach,
    Disposition,
    End,
    Flow,
    Open,
    SaslChallenge,
    SaslInit,
    SaslMechanisms,
    SaslOutcome,
    SaslResponse,
    Transfer,
)

__all__ = [
    "CASES",
    "STAGES",
    "App",
    "Case",
    "Chooser",
    "Violation",
    "check",
    "check_case",
    "frames_from",
    "known_bug",
    "mutate",
    "TestOneInput",
]

ROLES = ("client", "server")
OTHER = {"client": "server", "server": "client"}
STAGES = ("fresh", "header", "open", "attached", "active")


class Violation(AssertionError):
    """The core broke the fuzz property; ``kind`` names which part."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


# -- configurations ---------------------------------------------------------------------

def _sasl_kw(role: str) -> dict[str, Any]:
    if role == "client":
        return {"sasl": [SaslPlain("user", "pw"), SaslAnonymous()], "hostname": "h"}
    return {"sasl": SaslServer(plain=lambda user, pw: pw == "pw")}


@dataclass(frozen=True)
class Config:
    """How both ends are configured; ``kw(role, is_target)`` gives fresh keyword arguments."""

    name: str
    target: dict[str, Any] = field(default_factory=dict)
    peer: dict[str, Any] = field(default_factory=dict)
    sasl: bool = False

    def kw(self, role: str, is_target: bool) -> dict[str, Any]:
        kw = dict(self.target if is_target else self.peer)
        if self.sasl:
            kw.update(_sasl_kw(role))  # a SaslServer is stateful: a new one each time
        return kw


CONFIGS = (
    Config("small-frames", {"max_frame_size": 512}, {"max_frame_size": 512}),
    Config("idle", {"max_frame_size": 2048, "idle_timeout": 2.0}, {"idle_timeout": 3.0}),
    Config("tight", {"max_frame_size": 700, "channel_max": 2}, {"channel_max": 1}),
    Config("sasl", {"max_frame_size": 1024}, {}, sasl=True),
)


# -- the application on both ends ------------------------------------------------------------

_OUTCOMES: tuple[Any, ...] = (
    Accepted(), Released(), Rejected(error=Error(condition="test:no")), Modified(delivery_failed=True),
)


class App:
    """A small deterministic application: answers, sends, settles; bounded by ``budget``.

    It begins one session of its own once the connection opens and attaches a
    sender and a receiver on it; answers every peer begin and attach; sends
    messages (some larger than a small max-frame-size) while it has credit;
    settles what arrives with a rotating outcome; settles its own deliveries
    once the peer has decided; answers drains. Its calls may be refused with
    ``LocalProtocolError`` when the fuzz bytes have moved the core on; nothing
    else may escape them.
    """

    SIZES = (0, 37, 600, 2100)

    def __init__(self, conn: Connection, tag: str, budget: int = 12) -> None:
        self.conn = conn
        self.tag = tag
        self.budget = budget
        self.own: Session | None = None
        self.n = 0
        self.senders: list[Sender] = []
        self.receivers: list[Receiver] = []

    def react(self) -> int:
        """Handle every queued event; return how many there were."""
        count = 0
        conn = self.conn
        while (ev := conn.next_event()) is not None:
            count += 1
            # A refusal is fine: the core may be somewhere the application did not expect.
            with contextlib.suppress(LocalProtocolError):
                self.on_event(ev)
        return count

    def on_event(self, ev: Any) -> None:
        conn = self.conn
        if isinstance(ev, ConnectionOpened):
            if self.own is None:
                self.own = conn.begin_session(incoming_window=3)
        elif isinstance(ev, SessionBegun):
            s = ev.session
            if s is self.own and not self.senders:
                self.senders.append(s.attach_sender(f"{self.tag}-q", name=f"{self.tag}-out"))
                self.receivers.append(s.attach_receiver(
                    f"{self.tag}-q", name=f"{self.tag}-in", credit=3,
                    rcv_settle_mode=ReceiverSettleMode.SECOND))
        elif isinstance(ev, RemoteBegin):
            ev.session.begin()
        elif isinstance(ev, RemoteAttach):
            link = ev.link
            if isinstance(link, Receiver):
                link.add_credit(3)
                self.receivers.append(link)
            elif isinstance(link, Sender):
                self.senders.append(link)
            link.attach()
        elif isinstance(ev, (LinkAttached, CreditGranted)):
            if isinstance(ev.link, Sender):
                self.feed_sender(ev.link)
        elif isinstance(ev, MessageReceived):
            d = ev.delivery
            link = ev.link
            if not d.settled and d.state is None:
                link.settle(d, _OUTCOMES[self.n % len(_OUTCOMES)])
                self.n += 1
            if link.credit == 0 and self.budget > 0:
                self.budget -= 1
                link.add_credit(2)
        elif isinstance(ev, DeliveryUpdated):
            d = ev.delivery
            if isinstance(d.link, Sender) and not d.settled:
                d.link.settle(d)

    def feed_sender(self, snd: Sender) -> None:
        while snd.sendable and self.budget > 0:
            self.budget -= 1
            self.n += 1
            size = self.SIZES[self.n % len(self.SIZES)]
            snd.send(Message(bytes((self.n % 251,)) * size), settled=self.n % 3 == 0)
        if snd.drain_requested:
            snd.drained()


# -- recorded transcripts ---------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """A core of ``role`` under ``config``, brought to ``stage`` by the recorded ``prefix``."""

    role: str
    config: Config
    stage: str
    prefix: tuple[bytes, ...]  # the peer's bytes, in the chunks they were recorded in

    @property
    def name(self) -> str:
        return f"{self.role}-{self.config.name}-{self.stage}"


def new_target(role: str, config: Config) -> tuple[Connection, App]:
    conn = Connection(role=role, container_id=role, **config.kw(role, True))  # type: ignore[arg-type]
    conn.open()
    return conn, App(conn, "target")


def _rounds(target: Connection, peer: Connection, apps: Sequence[App], chunks: list[bytes],
            limit: int = 100) -> None:
    for _ in range(limit):
        a = peer.data_to_send()
        b = target.data_to_send()
        if not a and not b:
            return
        if a:
            chunks.append(a)
            target.receive_data(a)
        if b:
            peer.receive_data(b)
        for app in apps:
            app.react()
    raise RuntimeError("the recording did not settle down")


def record(role: str, config: Config) -> list[bytes]:
    """The peer's side of a whole conversation with a ``role`` core, chunk by chunk.

    Both ends run an ``App``; then the peer drains, detaches, ends and closes.
    """
    peer_role = OTHER[role]
    kw = {role: config.kw(role, True), peer_role: config.kw(peer_role, False)}
    pair = CorePair(client=kw["client"], server=kw["server"])
    target, peer = pair.side(role), pair.side(peer_role)
    t_app, p_app = App(target, "target"), App(peer, "peer")
    apps = (t_app, p_app)
    chunks: list[bytes] = []
    pair.client.open()
    pair.server.open()
    _rounds(target, peer, apps, chunks)
    p_app.budget = 3
    for r in p_app.receivers:
        if r.attached:
            r.drain()
    _rounds(target, peer, apps, chunks)
    for s in p_app.senders[:1]:
        s.detach()
    _rounds(target, peer, apps, chunks)
    if p_app.own is not None:
        p_app.own.end()
    _rounds(target, peer, apps, chunks)
    peer.close()
    _rounds(target, peer, apps, chunks)
    if not (target.ended and peer.ended):
        raise RuntimeError(f"recording {role}/{config.name} did not close")
    return chunks


def frame_spans(data: bytes) -> list[tuple[int, int, str]]:
    """(start, end, what) for each protocol header and frame in a peer's byte stream."""
    from amqp10_proto._codec import decode_one

    out: list[tuple[int, int, str]] = []
    pos = 0
    while pos + 8 <= len(data):
        if data[pos:pos + 4] == b"AMQP":
            out.append((pos, pos + 8, "header"))
            pos += 8
            continue
        size = int.from_bytes(data[pos:pos + 4], "big")
        doff = data[pos + 4]
        if size < 8 or pos + size > len(data):
            break
        what = "empty"
        if doff * 4 < size:
            try:
                what = type(decode_one(data, pos + doff * 4)[0]).__name__
            except RemoteProtocolError:
                what = "?"
        out.append((pos, pos + size, what))
        pos += size
    return out


def _cut(chunks: Sequence[bytes], offset: int) -> tuple[bytes, ...]:
    """The chunks holding the first ``offset`` bytes, the last one cut short."""
    out: list[bytes] = []
    left = offset
    for c in chunks:
        if left <= 0:
            break
        out.append(c[:left])
        left -= len(c)
    return tuple(out)


def stage_prefixes(chunks: Sequence[bytes]) -> dict[str, tuple[bytes, ...]]:
    spans = frame_spans(b"".join(chunks))

    def after_last(kind: str, before: int | None = None) -> int:
        ends = [e for s, e, w in spans if w == kind and (before is None or e <= before)]
        return ends[-1] if ends else 0

    first_teardown = min((s for s, _, w in spans if w in ("Detach", "End", "Close")),
                         default=spans[-1][1])
    return {
        "fresh": (),
        "header": _cut(chunks, 8),
        "open": _cut(chunks, after_last("Open")),
        "attached": _cut(chunks, after_last("Attach", first_teardown)),
        "active": _cut(chunks, first_teardown),
    }


_TRANSCRIPTS: dict[tuple[str, str], list[bytes]] = {}


def transcript(role: str, config: Config) -> list[bytes]:
    key = (role, config.name)
    if key not in _TRANSCRIPTS:
        _TRANSCRIPTS[key] = record(role, config)
    return _TRANSCRIPTS[key]


def _cases() -> list[Case]:
    out: list[Case] = []
    for config in CONFIGS:
        for role in ROLES:
            prefixes = stage_prefixes(transcript(role, config))
            out.extend(Case(role, config, stage, prefixes[stage]) for stage in STAGES)
    return out


CASES = _cases()


# -- structured inputs -----------------------------------------------------------------------

class Exhausted(Exception):
    """The input has no more choices to read."""


class Chooser:
    """Choices read from fuzz bytes, or drawn from a seeded ``random.Random``."""

    def __init__(self, data: bytes = b"", rng: random.Random | None = None) -> None:
        self.data = data
        self.pos = 0
        self.rng = rng

    def below(self, n: int) -> int:
        """An int in ``range(n)``."""
        if self.rng is not None:
            return self.rng.randrange(n)
        width = 1 if n <= 256 else 4
        if self.pos + width > len(self.data):
            raise Exhausted
        v = int.from_bytes(self.data[self.pos:self.pos + width], "big")
        self.pos += width
        return v % n

    def pick(self, options: Sequence[Any]) -> Any:
        return options[self.below(len(options))]

    def flag(self) -> bool:
        return self.below(2) == 1

    def maybe(self, value: Any) -> Any:
        return value if self.below(3) else None

    def blob(self, limit: int) -> bytes:
        n = self.below(limit + 1)
        if self.rng is not None:
            return self.rng.randbytes(n)
        data = self.data[self.pos:self.pos + n]
        self.pos += len(data)
        return data


_NUMS = (0, 1, 2, 3, 5, 255, 256, 65535, 65536, (1 << 31) - 1, 1 << 31, (1 << 32) - 1)
_NAMES = ("peer-out", "peer-in", "target-out", "target-in", "x", "")


def _num(c: Chooser) -> int:
    return int(c.pick(_NUMS)) if c.below(4) == 0 else c.below(6)


def _error(c: Chooser) -> Error | None:
    if c.below(3) == 0:
        return None
    return Error(condition=c.pick(("amqp:internal-error", "x:y")), description="fuzz")


def _state(c: Chooser) -> Any:
    return c.pick((None, *_OUTCOMES))


def _payload(c: Chooser) -> bytes:
    kind = c.below(4)
    if kind == 0:
        return b""
    if kind == 1:
        return c.blob(40)
    whole = Message(bytes(c.below(3000))).encode()
    if kind == 2:
        return whole
    start = c.below(len(whole) + 1)
    return whole[start:start + c.below(700)]


def _performative(c: Chooser) -> tuple[int, Any, bytes]:
    """(frame type, performative, payload) for one frame with hostile but well-typed fields."""
    kind = c.below(13)
    if kind == 0:
        return 0, Open(container_id="fuzz", max_frame_size=c.maybe(512 + _num(c)),
                       channel_max=c.maybe(_num(c) & 0xFFFF),
                       idle_time_out=c.maybe(_num(c))), b""
    if kind == 1:
        return 0, Begin(remote_channel=c.maybe(_num(c) & 0xFFFF), next_outgoing_id=_num(c),
                        incoming_window=_num(c), outgoing_window=_num(c),
                        handle_max=c.maybe(_num(c))), b""
    if kind == 2:
        return 0, Attach(name=c.pick(_NAMES), handle=_num(c), role=c.pick(list(Role)),
                         snd_settle_mode=c.pick(list(SenderSettleMode)),
                         rcv_settle_mode=c.pick(list(ReceiverSettleMode)),
                         source=c.maybe(Source(address=c.pick(("q", "peer-q", "target-q")))),
                         target=c.maybe(Target(address="q")),
                         initial_delivery_count=c.maybe(_num(c)),
                         max_message_size=c.maybe(_num(c))), b""
    if kind in (3, 4):
        return 0, Flow(next_incoming_id=c.maybe(_num(c)), incoming_window=_num(c),
                       next_outgoing_id=_num(c), outgoing_window=_num(c),
                       handle=c.maybe(_num(c)), delivery_count=c.maybe(_num(c)),
                       link_credit=c.maybe(_num(c)), available=c.maybe(_num(c)),
                       drain=c.flag(), echo=c.flag()), b""
    if kind in (5, 6, 7):
        return 0, Transfer(handle=_num(c), delivery_id=c.maybe(_num(c)),
                           delivery_tag=c.maybe(c.blob(8)), message_format=c.maybe(_num(c)),
                           settled=c.maybe(c.flag()), more=c.flag(), state=_state(c),
                           aborted=c.below(5) == 0), _payload(c)
    if kind == 8:
        return 0, Disposition(role=c.pick(list(Role)), first=_num(c), last=c.maybe(_num(c)),
                              settled=c.flag(), state=_state(c)), b""
    if kind == 9:
        return 0, Detach(handle=_num(c), closed=c.flag(), error=_error(c)), b""
    if kind == 10:
        return 0, c.pick((End(error=_error(c)), Close(error=_error(c)))), b""
    if kind == 11:
        sasl = (SaslMechanisms(sasl_server_mechanisms=["PLAIN", "ANONYMOUS"]),
                SaslInit(mechanism=c.pick(("PLAIN", "ANONYMOUS", "X")),
                         initial_response=c.maybe(b"\x00user\x00pw")),
                SaslChallenge(challenge=b"?"), SaslResponse(response=b"\x00user\x00pw"),
                SaslOutcome(code=c.pick(list(SaslCode)), additional_data=None))
        return 1, c.pick(sasl), b""
    return 0, None, b""  # an empty (heartbeat) frame


def frames_from(c: Chooser, limit: int = 40) -> list[bytes]:
    """Well-formed frames (and now and then a protocol header) built from ``c``'s choices."""
    out: list[bytes] = []
    try:
        while len(out) < limit:
            if c.below(16) == 0:
                out.append(c.pick((AMQP_HEADER, SASL_HEADER)))
                continue
            channel = _num(c) & 0xFFFF if c.below(3) == 0 else c.below(3)
            ftype, perf, payload = _performative(c)
            if perf is None:
                out.append(b"\x00\x00\x00\x08\x02\x00" + channel.to_bytes(2, "big"))
                continue
            try:
                out.append(encode_frame(ftype, channel, perf, payload))
            except EncodeError:
                continue
    except Exhausted:
        pass
    return out


# -- mutations of recorded transcripts ----------------------------------------------------------

def split_frames(chunks: Sequence[bytes]) -> list[tuple[int, bytes]]:
    """Each chunk's headers and frames as (chunk index, bytes); chunks hold whole frames."""
    out: list[tuple[int, bytes]] = []
    for i, chunk in enumerate(chunks):
        spans = frame_spans(chunk)
        end = 0
        for s, e, _ in spans:
            out.append((i, chunk[s:e]))
            end = e
        if end < len(chunk):
            out.append((i, chunk[end:]))
    return out


def join_frames(frames: Sequence[tuple[int, bytes]]) -> list[bytes]:
    out: list[bytes] = []
    last = None
    for i, data in frames:
        if out and i == last:
            out[-1] += data
        else:
            out.append(data)
        last = i
    return out


MUTATIONS = ("bitflip", "truncate", "splice", "duplicate", "drop", "swap", "replace", "rechunk")


def mutate(chunks: Sequence[bytes], rng: random.Random, donors: Sequence[Sequence[bytes]],
           kind: str | None = None) -> tuple[str, list[bytes]]:
    """One mutation of a transcript (by ``kind``, or a random one): (kind, new chunks)."""
    kind = kind or rng.choice(MUTATIONS)
    chunks = [c for c in chunks if c]
    frames = split_frames(chunks)
    if not frames:
        return kind, list(chunks)
    if kind == "bitflip":
        out = list(chunks)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(out))
            if out[i]:
                b = bytearray(out[i])
                pos = rng.randrange(len(b))
                b[pos] ^= 1 << rng.randrange(8)
                out[i] = bytes(b)
        return kind, out
    if kind == "truncate":
        whole = sum(map(len, chunks))
        return kind, list(_cut(chunks, rng.randrange(whole)))
    if kind == "rechunk":
        stream = b"".join(chunks)
        pieces: list[bytes] = []
        pos = 0
        while pos < len(stream):
            n = rng.choice((1, 3, 8, 50, 500, len(stream)))
            pieces.append(stream[pos:pos + n])
            pos += n
        return kind, pieces
    i = rng.randrange(len(frames))
    if kind == "splice":
        donor = split_frames([c for c in rng.choice(donors) if c])
        if donor:
            j = rng.randrange(len(donor))
            take = donor[j:j + rng.randint(1, 4)]
            frames[i:i] = [(frames[i][0], data) for _, data in take]
    elif kind == "duplicate":
        frames.insert(i, frames[i])
    elif kind == "drop":
        del frames[i]
    elif kind == "swap" and i + 1 < len(frames):
        frames[i], frames[i + 1] = (frames[i][0], frames[i + 1][1]), (frames[i + 1][0], frames[i][1])
    elif kind == "replace":
        new = frames_from(Chooser(rng=rng), limit=1)
        if new:
            frames[i] = (frames[i][0], new[0])
    return kind, join_frames(frames)


# -- the property ------------------------------------------------------------------------------

def footprint(conn: Connection) -> int:
    """Roughly the bytes the core holds on the peer's behalf."""
    total = conn._reader.buffered + sum(len(x) for x in conn._out) + 64 * len(conn._events)
    for s in conn.sessions:
        total += 256 + 64 * (len(s._remote_links) + len(s._dispositions))
        total += sum(len(b[3]) + 64 for b in s._blocked)
        for lk in s.links:
            total += 256 + 64 * len(lk.unsettled)
            partial = getattr(lk, "_partial", None)  # a receiver's delivery in progress
            if partial is not None:
                total += len(partial)
    return total


@dataclass
class Run:
    """What happened to one input."""

    fed: int = 0
    out: int = 0
    ended_by: str | None = None  # the RemoteProtocolError's condition, if one ended it
    events: int = 0


def feed(conn: Connection, app: App, data: bytes, run: Run, *, prefix: bool = False) -> None:
    """Give ``data`` to the core, then let the application react and collect the output."""
    ended = conn.ended
    was_open = conn.opened
    try:
        conn.receive_data(data)
    except RemoteProtocolError as exc:
        if prefix:
            raise Violation("valid-prefix-rejected", f"{exc!r}") from exc
        if ended:
            raise Violation("error-after-end", f"{exc!r} from a core that had ended") from exc
        if not conn.ended:
            raise Violation("error-without-close",
                            f"{exc!r} raised but the connection did not end") from exc
        run.ended_by = exc.condition
        if was_open:
            # 2.4.3: an open connection tells the peer why, in a close with the condition.
            closes = [p for p in _performatives_in(conn.data_to_send()) if isinstance(p, Close)]
            if not closes or closes[-1].error is None or closes[-1].error.condition != exc.condition:
                raise Violation("no-close-sent",
                                f"{exc!r} but the close queued was {closes!r}") from exc
    except LocalProtocolError as exc:
        raise Violation("local-error-from-receive_data", f"{exc!r}") from exc
    run.fed += len(data)
    run.events += app.react()
    run.out += len(conn.data_to_send())


def _performatives_in(data: bytes) -> list[Any]:
    """The performatives of the AMQP frames in a stream of our output (headers skipped)."""
    from amqp10_proto._codec import decode_one

    out = []
    for start, _, what in frame_spans(data):
        if what not in ("header", "empty", "?"):
            out.append(decode_one(data, start + data[start + 4] * 4)[0])
    return out


def check_case(case: Case, payload: Iterable[bytes], *, chunk: int = 0, ticks: bool = False,
               tolerate: Callable[[BaseException], bool] | None = None) -> Run:
    """Replay ``case``'s prefix, then feed ``payload`` (pieces, each cut into ``chunk``-byte bits)."""
    conn, app = new_target(case.role, case.config)
    run = Run()
    now = 0.0
    for piece in case.prefix:
        feed(conn, app, piece, run, prefix=True)
    base = footprint(conn) + 300_000  # the application's own sends are not the peer's doing
    try:
        for piece in payload:
            step = chunk or len(piece) or 1
            for i in range(0, max(len(piece), 1), step):
                feed(conn, app, piece[i:i + step], run)
                if ticks:
                    now += 0.7
                    conn.tick(now)
                held = footprint(conn)
                if held > base + 64 * run.fed:
                    raise Violation("memory", f"the core holds {held} bytes after {run.fed} fed")
        conn.receive_data(b"")  # the peer goes away
        app.react()
        conn.data_to_send()
        conn.tick(now + 1000.0)
        if not conn.ended:
            raise Violation("no-end", "the socket closed but the connection did not end")
    except Exception as exc:
        if tolerate is not None and tolerate(exc):
            return run
        raise
    return run


# -- known bugs --------------------------------------------------------------------------------

def known_bug(exc: BaseException) -> str | None:
    """The known engine bug ``exc`` is a symptom of, if any.

    Bugs 9, 10, 11 and 13 that this target found are fixed (their repros stay in
    tests/test_engine_fuzz.py as regression tests); this is the hook for the next.
    """
    del exc
    return None


#: Set AMQP10_FUZZ_KNOWN=skip to keep fuzzing past the known bugs.
_SKIP_KNOWN = os.environ.get("AMQP10_FUZZ_KNOWN") == "skip"


# -- the atheris entry point ------------------------------------------------------------------

def check(data: bytes) -> None:
    """Byte 0 picks the case, byte 1 the mode (bit 0 structured, bit 1 ticks), byte 2 the chunk size."""
    if len(data) < 3:
        return
    case = CASES[data[0] % len(CASES)]
    mode = data[1]
    body = data[3:]
    pieces = frames_from(Chooser(body)) if mode & 1 else [body]
    check_case(case, pieces, chunk=data[2] % 70, ticks=bool(mode & 2),
               tolerate=(lambda exc: known_bug(exc) is not None) if _SKIP_KNOWN else None)


def TestOneInput(data: bytes) -> None:
    """atheris's entry point (the libFuzzer name)."""
    check(data)


def make_corpus(directory: str) -> int:
    """A seed corpus: for every case, the rest of its transcript (raw) and a structured input."""
    os.makedirs(directory, exist_ok=True)
    rng = random.Random(0)
    for i, case in enumerate(CASES):
        whole = b"".join(transcript(case.role, case.config))
        rest = whole[sum(map(len, case.prefix)):]
        with open(os.path.join(directory, f"{case.name}-raw"), "wb") as f:
            f.write(bytes((i, 0, 0)) + rest)
        with open(os.path.join(directory, f"{case.name}-structured"), "wb") as f:
            f.write(bytes((i, 1, 0)) + rng.randbytes(400))
    return 2 * len(CASES)


def main(argv: list[str]) -> None:
    if len(argv) == 3 and argv[1] == "--make-corpus":
        print(f"wrote {make_corpus(argv[2])} seeds to {argv[2]}")
        return
    import atheris

    atheris.instrument_all()  # coverage feedback from the core (and the codec) under test
    atheris.Setup(argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
