"""The ``DEFAULT_*`` constants are the defaults amqp10 really uses: every adapter's
signature and the core's are checked against them, so the documented table cannot drift."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

import amqp10_asyncio
import amqp10_proto
import amqp10_sync
import amqp10_trio
from amqp10_proto import (
    DEFAULT_CHANNEL_MAX,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_HANDLE_MAX,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_INCOMING_WINDOW,
    DEFAULT_LINK_CREDIT,
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_OUTGOING_WINDOW,
    DEFAULT_RECEIVER_SETTLE_MODE,
    DEFAULT_SENDER_SETTLE_MODE,
    DEFAULT_TIMEOUT,
)

ADAPTERS = [amqp10_sync, amqp10_asyncio, amqp10_trio]


def defaults(fn: Callable[..., Any]) -> dict[str, Any]:
    return {name: p.default for name, p in inspect.signature(fn).parameters.items()
            if p.default is not inspect.Parameter.empty}


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda m: m.__name__)
def test_open_connection_defaults(adapter: Any) -> None:
    got = defaults(adapter.open_connection)
    assert got["max_frame_size"] == DEFAULT_MAX_FRAME_SIZE
    assert got["channel_max"] == DEFAULT_CHANNEL_MAX
    assert got["idle_timeout"] == DEFAULT_IDLE_TIMEOUT
    assert got["connect_timeout"] == DEFAULT_CONNECT_TIMEOUT
    assert got["timeout"] == DEFAULT_TIMEOUT


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda m: m.__name__)
def test_session_and_link_defaults(adapter: Any) -> None:
    session = defaults(adapter.Connection.open_session)
    assert session["incoming_window"] == DEFAULT_INCOMING_WINDOW
    assert session["outgoing_window"] == DEFAULT_OUTGOING_WINDOW
    assert session["handle_max"] == DEFAULT_HANDLE_MAX
    sender = defaults(adapter.Session.open_sender)
    assert sender["settle_mode"] == DEFAULT_SENDER_SETTLE_MODE
    assert sender["rcv_settle_mode"] == DEFAULT_RECEIVER_SETTLE_MODE
    receiver = defaults(adapter.Session.open_receiver)
    assert receiver["credit"] == DEFAULT_LINK_CREDIT
    assert receiver["max_message_size"] == DEFAULT_MAX_MESSAGE_SIZE
    assert receiver["rcv_settle_mode"] == DEFAULT_RECEIVER_SETTLE_MODE


def test_core_defaults() -> None:
    conn = defaults(amqp10_proto.Connection)
    assert conn["max_frame_size"] == DEFAULT_MAX_FRAME_SIZE
    assert conn["channel_max"] == DEFAULT_CHANNEL_MAX
    begin = defaults(amqp10_proto.Connection.begin_session)
    assert begin["incoming_window"] == DEFAULT_INCOMING_WINDOW
    assert begin["outgoing_window"] == DEFAULT_OUTGOING_WINDOW
    assert begin["handle_max"] == DEFAULT_HANDLE_MAX


def test_values_and_the_go_amqp_ones() -> None:
    # go-amqp (conn.go, session.go, receiver.go): 65536-byte frames, 65536 sessions,
    # one minute idle, session windows 5000, credit 1, no message size limit.
    assert (DEFAULT_MAX_FRAME_SIZE, DEFAULT_CHANNEL_MAX + 1) == (65536, 65536)
    assert DEFAULT_IDLE_TIMEOUT == 60.0
    # Where go-amqp differs from us (the porting table's rows):
    assert (amqp10_proto.GO_AMQP_LINK_CREDIT, DEFAULT_LINK_CREDIT) == (1, 100)
    assert (amqp10_proto.GO_AMQP_OUTGOING_WINDOW, DEFAULT_OUTGOING_WINDOW) == (5000, 2**31 - 1)
    assert amqp10_proto.GO_AMQP_MAX_MESSAGE_SIZE is None
    assert DEFAULT_MAX_MESSAGE_SIZE == 100 * 1024 * 1024
