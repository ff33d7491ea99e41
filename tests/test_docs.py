"""The documentation builds with no warning, and its example programs do what it says.

The build is Sphinx with ``-W --keep-going -n`` (every warning an error, every cross
reference resolved). The programs under docs/examples are the ones the pages include;
they run against the embedded broker (amqp10_cli.start_broker), and the RabbitMQ guide's
against RabbitMQ 3.10, one of the real peers of tests/interop.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import trio

import amqp10_asyncio
import amqp10_cli
import amqp10_proto
import amqp10_sync
import amqp10_trio
from amqp10_cli import RunningBroker, start_broker
from amqp10_proto import Described, Message, Symbol, client, codec, errors, performatives, trace
from tests.interop.peers import stop_all
from tests.sync.conftest import start

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"


@pytest.fixture(scope="session", autouse=True)
def _stop_peers_at_the_end() -> Iterator[None]:
    yield
    stop_all()


@pytest.fixture(scope="module")
def broker() -> Iterator[RunningBroker]:
    with start_broker(users={"guest": "guest"}, allow_anonymous=True) as running:
        yield running


def load_example(name: str) -> ModuleType:
    """Import docs/examples/NAME.py under a name of its own (no sys.path change)."""
    spec = importlib.util.spec_from_file_location(f"docs_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look modules up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def examples() -> dict[str, ModuleType]:
    return {path.stem: load_example(path.stem) for path in sorted(EXAMPLES.glob("*.py"))}


def address(tag: str) -> str:
    return f"docs-{tag}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One ``sphinx-build -W --keep-going -n`` of docs/ for the tests below."""
    tmp = tmp_path_factory.mktemp("docs")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html",
         "-d", str(tmp / "doctrees"), str(DOCS), str(tmp / "html")],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    return proc, tmp / "html"


def test_the_docs_build_without_a_warning(
        built: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, out = built
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout}\n{proc.stderr}"
    # The pages the index promises are there, with the generated parts filled in.
    for page in ("index", "tutorials/sync", "tutorials/asyncio", "tutorials/trio",
                 "howto/embedding", "state-diagrams", "comparison", "reference/proto"):
        assert (out / f"{page}.html").is_file(), page
    diagrams = (out / "state-diagrams.html").read_text()
    assert diagrams.count('class="graphviz state-diagram"') == 3
    # The embedding guide includes the selectors example itself (tags stripped: the
    # highlighter wraps every token).
    embedding = re.sub(r"<[^>]+>", "", (out / "howto" / "embedding.html").read_text())
    assert "conn.receive_data(chunk)" in embedding


def test_every_public_name_is_in_the_api_reference(
        built: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    """Each name in a public ``__all__`` has an entry (an HTML anchor) in the reference."""
    out = built[1]
    anchors = set()
    for page in (out / "reference").glob("*.html"):
        anchors |= set(re.findall(r'id="([\w.]+)"', page.read_text()))
    missing = []
    for module in (amqp10_proto, errors, codec, performatives, client, trace, amqp10_sync,
                   amqp10_asyncio, amqp10_trio, amqp10_cli):
        for name in module.__all__:
            if module is amqp10_proto and (name in errors.__all__ or name in (
                    "codec", "errors", "performatives")):
                continue  # documented once, under amqp10_proto.errors / their own page
            if f"{module.__name__}.{name}" not in anchors:
                missing.append(f"{module.__name__}.{name}")
    assert not missing, f"not in the API reference: {missing}"


def test_sync_tutorial(broker: RunningBroker, examples: dict[str, ModuleType]) -> None:
    tutorial = examples["sync_tutorial"]
    assert tutorial.run(broker.url, address("sync")) == ["order 0", "order 1", "order 2"]
    bad = broker.url.replace("://", "://guest:wrong@")
    assert tutorial.show_errors(broker.url, bad, address("sync-errors")) == [
        "AuthenticationError", "TimeoutError", "LinkDetachedError"]


def test_asyncio_tutorial(broker: RunningBroker, examples: dict[str, ModuleType]) -> None:
    tutorial = examples["asyncio_tutorial"]
    bodies = asyncio.run(tutorial.run(broker.url, address("asyncio")))
    assert bodies == ["order 0", "order 1", "order 2", "after the cancel"]
    bad = broker.url.replace("://", "://guest:wrong@")
    assert asyncio.run(tutorial.show_errors(bad, broker.url, address("asyncio-errors"))) == [
        "AuthenticationError", "TimeoutError", "LinkDetachedError"]


def test_trio_tutorial(broker: RunningBroker, examples: dict[str, ModuleType]) -> None:
    tutorial = examples["trio_tutorial"]
    bodies = trio.run(tutorial.run, broker.url, address("trio"))
    assert bodies == ["order 0", "order 1", "order 2", "after the cancel"]
    bad = broker.url.replace("://", "://guest:wrong@")
    assert trio.run(tutorial.show_errors, bad, broker.url, address("trio-errors")) == [
        "AuthenticationError", "TimeoutError", "LinkDetachedError"]


def test_manual_credit_and_drain(broker: RunningBroker,
                                 examples: dict[str, ModuleType]) -> None:
    first, rest, credit = examples["manual_credit"].run(broker.url, address("credit"))
    assert first == [b"job 0", b"job 1"]
    assert rest == [b"job 2", b"job 3", b"job 4"]
    assert credit == 0  # the drain gave the unused credit back


def test_request_response(broker: RunningBroker, examples: dict[str, ModuleType]) -> None:
    answers = asyncio.run(examples["request_response"].run(broker.url, address("rpc")))
    assert answers == ["HELLO", "REQUEST", "RESPONSE"]


def test_large_messages(broker: RunningBroker, examples: dict[str, ModuleType]) -> None:
    large = examples["large_messages"]
    assert large.run(broker.url, address("large")) == 8 << 20
    assert large.over_the_limit(broker.url, address("limit")) == "LinkDetachedError"


def test_resilience(broker: RunningBroker, examples: dict[str, ModuleType]) -> None:
    """The example survives cuts under both its producer and its consumer: nothing lost,
    duplicates recognised by message-id."""
    from tests.faultproxy import FaultProxy

    example = examples["resilience"]
    q = address("resilience")
    with FaultProxy(broker.port) as dead, FaultProxy(broker.port) as proxy:
        dead.refuse_new(True)
        urls = [dead.url, proxy.url]  # the first of the list is down
        events: list[str] = []
        cutter = threading.Timer(0.3, proxy.cut)
        cutter.start()
        example.produce(urls, q, 200, events)
        cutter.join()
        cuts = {50, 120}

        def cut_once_at(n: int) -> None:
            if n in cuts:  # once: a redelivered duplicate leaves the count where it was
                cuts.discard(n)
                proxy.cut()

        seen = example.consume(urls, q, 200, events, during=cut_once_at)
    assert set(seen) == {f"order-{i}" for i in range(200)}
    assert sum(1 for e in events if e.startswith("back on")) >= 2
    assert all(e.startswith(("lost", "back on")) for e in events)


def test_tracing_logs_every_frame_and_hides_secrets(
        broker: RunningBroker, examples: dict[str, ModuleType],
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AMQP10_TRACE", "0")  # restored after the test; the example sets 1
    caplog.set_level(logging.DEBUG, logger="amqp10.trace")
    examples["tracing"].run(broker.url.replace("://", "://guest:guest@"), address("trace"))
    lines = [r.getMessage() for r in caplog.records if r.name == "amqp10.trace"]
    text = "\n".join(lines)
    for frame in ("-> header", "<- [0] sasl SaslMechanisms", "-> [0] Open(", "<- [0] Open(",
                  "-> [0] Attach(", "-> [0] Transfer(", "<- [0] Disposition(", "-> [0] Close("):
        assert frame in text, frame
    assert "initial_response=<" in text and "bytes hidden>" in text
    assert "guest" not in "".join(line for line in lines if "SaslInit" in line)


def test_azure_and_artemis_code_runs(broker: RunningBroker,
                                     examples: dict[str, ModuleType]) -> None:
    """Neither service is here: this runs the guides' code against the embedded broker,
    which ignores the filters and capabilities, to show it attaches and moves messages."""
    azure, artemis = examples["azure"], examples["artemis"]
    queue = address("servicebus")
    hub = address("hub")
    with amqp10_sync.open_connection(broker.url, timeout=10) as conn:
        azure.send_to_queue(conn, queue, b"in session s1", session_id="s1")
        assert azure.receive_from_session(conn, queue, "s1", 1) == [b"in session s1"]
        where = azure.event_hubs_address(hub, "$Default", 3)
        assert where == f"{hub}/ConsumerGroups/$Default/Partitions/3"
        with conn.open_session() as session, session.open_sender(where) as sender:
            sender.send(Message(b"event", message_annotations={"x-opt-offset": "120"}))
        assert azure.read_partition(conn, hub, 3, offset="-1", count=1) == [("120", b"event")]
        artemis.send_to_queue(conn, "orders-" + queue, b"anycast")
        assert artemis.subscribe(conn, "orders-" + queue, 1) == [b"anycast"]
        receiver = artemis.durable_subscription(conn, artemis.fqqn("news-" + queue, "sub1"),
                                                "sub-" + queue)
        assert receiver.address == f"news-{queue}::sub1"
        receiver.session.close()
    assert azure.offset_filter("@latest") == {
        "apache.org:selector-filter:string": Described(
            Symbol("apache.org:selector-filter:string"),
            "amqp.annotation.x-opt-offset > '@latest'")}
    token = azure.sas_token("sb://ns.servicebus.windows.net/q", "send", "a2V5", ttl=60)
    assert token.startswith("SharedAccessSignature sr=sb%3A%2F%2Fns.servicebus.windows.net%2Fq"
                            "&sig=") and token.endswith("&skn=send")


def test_rabbitmq_address_forms(examples: dict[str, ModuleType]) -> None:
    peer = start("rabbitmq")
    url = f"amqp://guest:guest@127.0.0.1:{peer.port}/"
    name = address("rabbit")
    assert examples["rabbitmq_addresses"].run(url, name) == (
        b"to a queue", b"to a topic", "amqp:not-found")
