"""The frame trace (AMQP10_TRACE=1, logger ``amqp10.trace``) of the trio adapter.

Every frame in and out, decoded, one line each, in order; SASL secrets hidden.
The peer is the in-process fake of tests/sync (the core's server role).
"""

from __future__ import annotations

import logging
import re

import pytest
import trio

import amqp10_trio as amqp
from amqp10_proto import Message, SaslServer
from tests.sync.fakepeer import FakePeer

PASSWORD = "s3cret-pw"


def test_every_frame_in_and_out_one_line_each_without_the_password(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AMQP10_TRACE", "1")
    fake = FakePeer(sasl=SaslServer(plain=lambda user, pw: pw == PASSWORD))
    labels: list[str] = []

    async def main() -> None:
        async with amqp.open_connection(f"amqp://user:{PASSWORD}@127.0.0.1:{fake.port}") as conn:
            labels.append(conn.label)
            async with conn.open_session() as session, session.open_sender("q") as sender:
                await sender.send(Message(b"traced"))

    try:
        with caplog.at_level(logging.DEBUG, logger="amqp10.trace"):
            trio.run(main)
    finally:
        fake.close()
    assert fake.received == [b"traced"]
    lines = [r.getMessage() for r in caplog.records if r.name == "amqp10.trace"]
    assert all("\n" not in line for line in lines)
    text = "\n".join(lines)
    assert PASSWORD not in text
    assert "initial_response=<" in text and "bytes hidden>" in text

    shape = re.compile(rf"^{re.escape(labels[0])} (->|<-) (header [0-9a-f ]+|\[\d+\] .+)$")
    assert all(shape.match(line) for line in lines), [ln for ln in lines if not shape.match(ln)]

    def frames(direction: str) -> list[str]:
        out = []
        for line in lines:
            _, arrow, what = line.split(" ", 2)
            if arrow == direction:
                name = "header" if what.startswith("header") else \
                    re.sub(r"^\[\d+\] (sasl )?", "", what).split("(", 1)[0]
                out.append(name)
        return out

    assert frames("->") == ["header", "SaslInit", "header", "Open", "Begin", "Attach",
                            "Transfer", "Detach", "End", "Close"]
    assert frames("<-") == ["header", "SaslMechanisms", "SaslOutcome", "header", "Open",
                            "Begin", "Attach", "Flow", "Disposition", "Detach", "End", "Close"]
    transfer = next(line for line in lines if "Transfer(" in line)
    assert "bytes payload" in transfer  # the message travels after the performative
