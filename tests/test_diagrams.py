"""docs/state-diagrams.md is current and draws exactly the engine's transition tables."""

from __future__ import annotations

import enum
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from amqp10_proto._connection import Connection
from amqp10_proto._state import (
    CONNECTION_TABLE,
    LINK_TABLE,
    SESSION_TABLE,
    ConnectionState,
    Input,
    LinkState,
    SessionState,
)

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "gen_diagrams.py"
DOC = ROOT / "docs" / "state-diagrams.md"

# One statement of a generated digraph: an edge (labelled or not) or a lone node.
EDGE = re.compile(r'^\s*(\w+) -> (\w+)(?: \[label="(.+?)"\])?;$')
NODE = re.compile(r"^\s*(\w+);$")
INITIAL, FINAL = "_initial", "_final"  # the point and the bull's eye

Table = Mapping[tuple[enum.Enum, Input], enum.Enum]
TABLES: list[tuple[str, type[enum.Enum], Table]] = [
    ("Connection", ConnectionState, CONNECTION_TABLE),  # type: ignore[list-item]
    ("Session", SessionState, SESSION_TABLE),  # type: ignore[list-item]
    ("Link", LinkState, LINK_TABLE),  # type: ignore[list-item]
]


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True,
                          cwd=ROOT, check=False)


def diagram(title: str) -> list[str]:
    """The statements of the digraph in the graphviz fence under ``## title``."""
    text = DOC.read_text(encoding="utf-8")
    m = re.search(rf"^## {title}\n(.*?)^```{{graphviz}}\n(.*?)^```", text, re.S | re.M)
    assert m is not None, f"no graphviz diagram under '## {title}'"
    lines = [line for line in m.group(2).splitlines() if not line.startswith(":")]
    body = lines[lines.index(f"digraph {title} {{") + 1:]
    assert body[-1] == "}"
    return body[:-1]


def test_doc_is_current() -> None:
    out = run_tool("--check")
    assert out.returncode == 0, (
        f"{DOC.relative_to(ROOT)} is stale: run python tools/gen_diagrams.py\n{out.stderr}")


def test_check_fails_when_stale(tmp_path: Path) -> None:
    stale = tmp_path / "state-diagrams.md"
    stale.write_text(DOC.read_text(encoding="utf-8").replace("send open", "send opne", 1),
                     encoding="utf-8")
    assert run_tool("--check", "--output", str(stale)).returncode == 1
    assert run_tool("--check", "--output", str(tmp_path / "missing.md")).returncode == 1
    # Regenerating fixes it.
    assert run_tool("--output", str(stale)).returncode == 0
    assert run_tool("--check", "--output", str(stale)).returncode == 0
    assert stale.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize(("title", "states", "table"), TABLES, ids=[t[0] for t in TABLES])
def test_every_entry_is_an_edge(title: str, states: type[enum.Enum], table: Table) -> None:
    edges: set[tuple[str, str | None, str]] = set()
    for line in diagram(title):
        m = EDGE.match(line)
        if m and not {INITIAL, FINAL} & {m.group(1), m.group(2)}:
            edges.add((m.group(1), m.group(3), m.group(2)))
    expected = {(s.name, i.value, n.name) for (s, i), n in table.items()}
    assert edges == expected
    # One line per entry: nothing drawn twice.
    labelled = [m for line in diagram(title) if (m := EDGE.match(line)) and m.group(3)]
    assert len(labelled) == len(table)


@pytest.mark.parametrize(("title", "states", "table"), TABLES, ids=[t[0] for t in TABLES])
def test_every_state_is_drawn(title: str, states: type[enum.Enum], table: Table) -> None:
    drawn: set[str] = set()
    for line in diagram(title):
        if m := EDGE.match(line):
            drawn.update((m.group(1), m.group(2)))
        elif m := NODE.match(line):
            drawn.add(m.group(1))
    assert {s.name for s in states} <= drawn


@pytest.mark.parametrize(("title", "states", "table"), TABLES, ids=[t[0] for t in TABLES])
def test_initial_state_is_marked(title: str, states: type[enum.Enum], table: Table) -> None:
    initial = [m.group(2) for line in diagram(title)
               if (m := EDGE.match(line)) and m.group(1) == INITIAL]
    assert initial == [next(iter(states)).name]


@pytest.mark.parametrize(("title", "states", "table"), TABLES, ids=[t[0] for t in TABLES])
def test_final_states_are_marked(title: str, states: type[enum.Enum], table: Table) -> None:
    # Exactly the states with no way out lead to the bull's eye.
    final = {m.group(1) for line in diagram(title)
             if (m := EDGE.match(line)) and m.group(2) == FINAL}
    assert final == {s.name for s in states} - {s.name for s, _ in table}
    assert final


def test_initial_states_are_the_engines() -> None:
    # The generator marks each enum's first member as initial: the engine agrees.
    from amqp10_proto._definitions import ReceiverSettleMode, SenderSettleMode
    from amqp10_proto._link import Receiver, Sender
    from amqp10_proto._session import Session

    conn = Connection(role="client")
    session = Session(conn, 0, incoming_window=1, outgoing_window=1, handle_max=1,
                      properties=None)
    links = [cls(session, "l", 0, source=None, target=None,
                 snd_settle_mode=SenderSettleMode.MIXED, rcv_settle_mode=ReceiverSettleMode.FIRST,
                 max_message_size=None, properties=None, offered_capabilities=None,
                 desired_capabilities=None) for cls in (Sender, Receiver)]
    assert conn.state is next(iter(ConnectionState))
    assert session.state is next(iter(SessionState))
    assert all(link.state is next(iter(LinkState)) for link in links)
