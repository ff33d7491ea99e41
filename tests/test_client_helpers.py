"""The I/O-free helpers every adapter shares (amqp10_proto.client)."""

from __future__ import annotations

from typing import Any

import pytest

from amqp10_proto import (
    Accepted,
    Error,
    Message,
    Modified,
    Received,
    ReceiverSettleMode,
    Rejected,
    Released,
    SaslAnonymous,
    SaslPlain,
    SenderSettleMode,
    Source,
    Symbol,
    Target,
    TerminusDurability,
)
from amqp10_proto.client import (
    DEFAULT,
    ReceivedSections,
    connect_sasl,
    describe_error,
    outcome_error,
    receiver_attach_args,
    sender_attach_args,
    socket_peer,
    url_sasl,
)
from amqp10_proto.errors import MessageModified, MessageRejected, MessageReleased

from .corepair import linked_pair


def delivery_with(state: Any) -> Any:
    p, sender, _ = linked_pair()
    d = sender.send(Message(b"m"))
    d.remote_state = state
    return d


def test_describe_error() -> None:
    assert describe_error(None) == ""
    assert describe_error(Error(condition="amqp:not-found")) == "amqp:not-found"
    assert describe_error(Error(condition="amqp:not-found", description="no q")) == (
        "amqp:not-found: no q")


@pytest.mark.parametrize(("state", "kind"), [
    (None, None), (Accepted(), None), (Received(section_number=0, section_offset=0), None),
    (Rejected(error=Error(condition="amqp:invalid-field", description="bad")), MessageRejected),
    (Rejected(), MessageRejected), (Released(), MessageReleased),
    (Modified(delivery_failed=True), MessageModified),
])
def test_outcome_error_maps_each_outcome(state: Any, kind: Any) -> None:
    exc = outcome_error(delivery_with(state))
    if kind is None:
        assert exc is None
        return
    assert exc is not None and type(exc) is kind and exc.state is state
    if isinstance(state, Rejected) and state.error is not None:
        assert exc.condition == "amqp:invalid-field" and "bad" in str(exc)


def test_received_sections_read_the_message() -> None:
    p, sender, receiver = linked_pair()
    d = sender.send(Message(b"body", application_properties={"k": 1}))
    msg = ReceivedSections(Message(b"body", application_properties={"k": 1}), d, receiver)
    assert msg.body == b"body" and msg.application_properties == {"k": 1}
    assert msg.header is None and msg.properties is None and not msg.settled
    assert repr(msg).startswith("ReceivedSections(Message(b'body'")


def test_sender_options_become_the_target_and_settle_mode() -> None:
    args = sender_attach_args("q", settle_mode="settled", durable="configuration",
                              expiry_policy="never", capabilities=["queue"], name="n")
    target = args["target"]
    assert isinstance(target, Target) and target.address == "q"
    assert target.durable is TerminusDurability.CONFIGURATION
    assert target.expiry_policy == Symbol("never") and target.capabilities == [Symbol("queue")]
    assert args["snd_settle_mode"] is SenderSettleMode.SETTLED and args["name"] == "n"
    mine = Target(address="given")
    assert sender_attach_args(mine, settle_mode="mixed", durable=None, expiry_policy=None,
                              capabilities=None)["target"] is mine


def test_receiver_options_become_the_source_with_symbol_filter_keys() -> None:
    args = receiver_attach_args(None, dynamic=True, filters={"apache.org:selector-filter:string": "x"},
                                settle_mode="mixed", rcv_settle_mode="second", durable=True,
                                expiry_policy=None, capabilities=None, credit=7)
    source = args["source"]
    assert isinstance(source, Source) and source.dynamic and source.address is None
    assert source.durable is TerminusDurability.UNSETTLED_STATE
    assert source.filter is not None
    assert list(source.filter) == [Symbol("apache.org:selector-filter:string")]
    assert type(next(iter(source.filter))) is Symbol
    assert args["rcv_settle_mode"] is ReceiverSettleMode.SECOND and args["credit"] == 7


@pytest.mark.parametrize(("option", "value", "text"), [
    ("settle_mode", "sometimes", "settle_mode must be one of"),
    ("rcv_settle_mode", "third", "rcv_settle_mode must be one of"),
    ("durable", "forever", "durable must be"),
])
def test_bad_link_options_raise_value_error_before_anything_is_sent(
        option: str, value: str, text: str) -> None:
    options: dict[str, Any] = {"dynamic": False, "filters": None, "settle_mode": "mixed",
                               "rcv_settle_mode": "first", "durable": None,
                               "expiry_policy": None, "capabilities": None}
    options[option] = value
    with pytest.raises(ValueError, match=text):
        receiver_attach_args("q", **options)


def test_url_credentials_mean_plain_and_none_mean_anonymous() -> None:
    parsed, sasl = url_sasl("amqps://us%40er:p%3Aw@example.com/", DEFAULT, ssl_context=None,
                            allow_plain_without_tls=False)
    assert isinstance(sasl, SaslPlain) and (parsed.host, parsed.port) == ("example.com", 5671)
    assert sasl.initial_response() == b"\x00us@er\x00p:w"
    _, anonymous = url_sasl("amqp://127.0.0.1", DEFAULT, ssl_context=None,
                            allow_plain_without_tls=False)
    assert isinstance(anonymous, SaslAnonymous)
    assert url_sasl("amqp://127.0.0.1", None, ssl_context=None,
                    allow_plain_without_tls=False)[1] is None


def test_plain_in_clear_text_to_another_host_needs_the_opt_in() -> None:
    with pytest.raises(ValueError, match=r"clear text to example\.com"):
        url_sasl("amqp://u:p@example.com", DEFAULT, ssl_context=None,
                 allow_plain_without_tls=False)
    _, sasl = url_sasl("amqp://u:p@example.com", DEFAULT, ssl_context=None,
                       allow_plain_without_tls=True)
    assert isinstance(sasl, SaslPlain)
    with pytest.raises(ValueError, match="clear text"):
        connect_sasl(SaslPlain("u", "p"), tls=False, host="10.1.2.3",
                     allow_plain_without_tls=False)
    assert isinstance(connect_sasl(DEFAULT, tls=False, host="10.1.2.3",
                                   allow_plain_without_tls=False), SaslAnonymous)


def test_an_ssl_context_with_an_amqp_url_is_refused() -> None:
    with pytest.raises(ValueError, match="use amqps://"):
        url_sasl("amqp://127.0.0.1", DEFAULT, ssl_context=object(),  # type: ignore[arg-type]
                 allow_plain_without_tls=False)


def test_socket_peer_names_the_other_end_or_none() -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            assert socket_peer(client) == ("127.0.0.1", f"127.0.0.1:{port}")
    a, b = socket.socketpair()
    with a, b:
        assert socket_peer(a) is not None and socket_peer(a)[0] == "localhost"  # type: ignore[index]
    lone = socket.socket()
    with lone:
        assert socket_peer(lone) is None  # not connected


# -- dispatch_events: what a peer sends never escapes as an exception (issue 10) -------

def _opened_client(*frames: bytes) -> Any:
    """A client core with session 0 begun and answered by a scripted peer."""
    from amqp10_proto import Connection
    from amqp10_proto.performatives import Begin, Open
    from tests.hostile.servers import AMQP_HEADER, frame

    core = Connection(container_id="c", sasl=None)
    core.open()
    core.begin_session()
    core.receive_data(AMQP_HEADER + frame(0, Open(container_id="peer")) + frame(
        0, Begin(remote_channel=0, next_outgoing_id=0, incoming_window=10,
                 outgoing_window=10)) + b"".join(frames))
    core.data_to_send()
    return core


def test_a_peer_link_attached_and_detached_in_one_read_needs_no_refusal() -> None:
    from amqp10_proto.client import dispatch_events
    from tests.hostile.servers import ATTACH_DETACH_ONE_READ

    core = _opened_client()
    dispatch_events(core, "test")
    core.receive_data(ATTACH_DETACH_ONE_READ)
    assert dispatch_events(core, "test")  # the refusal of a closed link raised here once
    assert not core.ended
    assert b"\x00\x53\x18" not in core.data_to_send()  # no close (2.7.9)


def test_our_exception_handling_an_event_closes_with_internal_error(
        caplog: pytest.LogCaptureFixture) -> None:
    from amqp10_proto import Role
    from amqp10_proto import Source as Src
    from amqp10_proto.client import dispatch_events
    from amqp10_proto.performatives import Attach, Transfer
    from tests.hostile.servers import frame

    core = _opened_client()
    dispatch_events(core, "test")
    receiver = core._sessions[0].attach_receiver(Src(address="q"), credit=5)
    delivered: list[Any] = []

    class Broken:
        def _deliver(self, event: Any) -> None:
            delivered.append(event)
            raise RuntimeError("a bug of ours")

    receiver.context = Broken()
    core.data_to_send()
    transfers = b"".join(
        frame(0, Transfer(handle=0, delivery_id=n, delivery_tag=b"t%d" % n, settled=True),
              Message(b"x").encode()) for n in range(2))
    core.receive_data(frame(0, Attach(name=receiver.name, handle=0, role=Role.SENDER,
                                      source=Src(address="q"), initial_delivery_count=0))
                      + transfers)
    assert dispatch_events(core, "test")  # nothing escapes
    assert len(delivered) == 2  # the event after the failed one was handled too
    out = core.data_to_send()
    assert b"amqp:internal-error" in out
    assert "internal error handling MessageReceived" in caplog.text


def test_receivers_default_to_the_shared_max_message_size() -> None:
    import inspect

    import amqp10_asyncio
    import amqp10_sync
    import amqp10_trio
    from amqp10_proto.client import DEFAULT_MAX_MESSAGE_SIZE

    assert DEFAULT_MAX_MESSAGE_SIZE == 100 << 20
    for adapter in (amqp10_sync, amqp10_asyncio, amqp10_trio):
        default = inspect.signature(adapter.Session.open_receiver).parameters[
            "max_message_size"].default
        assert default is DEFAULT_MAX_MESSAGE_SIZE, adapter.__name__
