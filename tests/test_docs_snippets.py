"""Every python code block of README.md and docs/**/*.md runs as written.

The programs the pages include from docs/examples are tested by tests/test_docs.py;
this file takes the blocks written in the pages themselves, as a reader copies them
into a file and runs it. Each runs in a fresh interpreter against a broker of its own:
the embedded broker with no options (what ``amqp10 broker`` serves: ANONYMOUS only),
listening on a free port that replaces, in the copy the test runs, the port the block
names (``127.0.0.1:5672``); a block naming more ports (a failover list) gets a broker
for each. Port 5673 is the WebSocket listener of the block's (first) broker, as
``amqp10 broker --ws-port 5673`` serves it; port 35861 is an HTTP proxy (tinyproxy, as
tests/proxy starts it), left as it is. The proxy variables of the environment are not
passed on. A block whose first line says ``# needs RabbitMQ`` runs against RabbitMQ
3.10, one of the real peers of tests/interop. The few blocks that cannot run alone are
listed in FRAGMENTS with the reason, and the list is checked against the pages.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from amqp10_cli import start_broker
from tests.interop.peers import stop_all
from tests.proxy.tinyproxy import OPEN, start_proxy, stop_proxies
from tests.sync.conftest import start

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
HOST_PORT = re.compile(r"(?:127\.0\.0\.1|localhost):(\d+)")
NEEDS_RABBITMQ = "# needs RabbitMQ"
WS_PORT = 5673  # the documented ``amqp10 broker --ws-port 5673``
PROXY_PORT = OPEN.port  # http://127.0.0.1:35861, an open HTTP CONNECT proxy

# Blocks that are not whole programs, by a line each contains: the reason is the value.
FRAGMENTS = {
    "controller = attach_controller(session)": "the order of the core's transaction calls in "
                                               "howto/transactions (session and pumping are the "
                                               "embedding guide's); tests/txn runs them",
    "trace_out.feed(data)": "where two calls go in the selectors loop of howto/embedding "
                            "(examples/selectors_client.py): conn and sock are that loop's",
}


@dataclass(frozen=True)
class Block:
    """One fenced python block: where it is, and its text."""

    page: Path
    line: int
    code: str

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def python_blocks(page: Path) -> list[Block]:
    """The ```python fences of a Markdown page (MyST or GitHub), with their first line."""
    blocks = []
    lines = page.read_text().splitlines()
    start_line = None
    for number, text in enumerate(lines, 1):
        if start_line is None and re.fullmatch(r"```\s*(python|py|pycon)\s*", text):
            start_line = number
        elif start_line is not None and text.startswith("```"):
            blocks.append(Block(page, start_line, "\n".join(lines[start_line:number - 1]) + "\n"))
            start_line = None
    return blocks


ALL_BLOCKS = [block for page in PAGES for block in python_blocks(page)]


def fragment_reason(block: Block) -> str | None:
    return next((why for key, why in FRAGMENTS.items() if key in block.code), None)


@pytest.fixture(scope="session", autouse=True)
def _stop_peers_at_the_end() -> Iterator[None]:
    yield
    stop_all()
    stop_proxies()


def run_block(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run CODE as ``python snippet.py`` in an empty directory, with a hang guard."""
    script = tmp_path / "snippet.py"
    script.write_text(code)
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")}
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env=env)


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=lambda b: b.name)
def test_code_block_runs_as_written(block: Block, tmp_path: Path) -> None:
    reason = fragment_reason(block)
    if reason is not None:
        pytest.skip(f"a fragment, not a program: {reason}")
    code = block.code
    ports = sorted({int(p) for p in HOST_PORT.findall(code)})
    with contextlib.ExitStack() as stack:
        if code.startswith(NEEDS_RABBITMQ):
            assert ports == [5672], "a RabbitMQ block talks to one broker on the default port"
            moved = {5672: start("rabbitmq").port}
        else:
            moved = {}
            if PROXY_PORT in ports:
                moved[PROXY_PORT] = start_proxy(OPEN).port
            brokers = [port for port in ports if port not in (WS_PORT, PROXY_PORT)]
            if WS_PORT in ports:
                running = stack.enter_context(start_broker(ws_port=0))
                assert running.ws_port is not None
                moved[WS_PORT] = running.ws_port
                if brokers:
                    moved[brokers.pop(0)] = running.port
            moved |= {port: stack.enter_context(start_broker()).port for port in brokers}
        code = HOST_PORT.sub(lambda m: f"127.0.0.1:{moved[int(m.group(1))]}", code)
        proc = run_block(code, tmp_path)
    assert proc.returncode == 0, (
        f"{block.name} failed (exit {proc.returncode}):\n{code}\n{proc.stdout}\n{proc.stderr}")
    assert "Traceback" not in proc.stderr, proc.stderr


def test_the_pages_have_blocks_and_every_listed_fragment_is_still_there() -> None:
    names = {block.name for block in ALL_BLOCKS}
    assert any(name.startswith("README.md") for name in names)
    assert any(name.startswith("docs/index.md") for name in names)
    for key in FRAGMENTS:
        assert sum(key in block.code for block in ALL_BLOCKS) == 1, key


def test_a_block_that_needs_another_broker_says_so_on_its_first_line() -> None:
    """A reader with only ``amqp10 broker`` must see at once which blocks are not for it:
    credentials in a URL mean a broker with users, which ``amqp10 broker`` has not."""
    for block in ALL_BLOCKS:
        if re.search(r"amqps?://[^/@\s\"']+@", block.code) and fragment_reason(block) is None:
            assert block.code.startswith(NEEDS_RABBITMQ), (
                f"{block.name} logs in with a user: say which broker it needs")


def test_newcomers_read_one_settle_style() -> None:
    """The README, the index and the tutorials and guides settle with ``msg.accept()``
    (``receiver.accept(msg)`` stays in the API reference)."""
    pages = [ROOT / "README.md", ROOT / "docs" / "index.md",
             *sorted((ROOT / "docs" / "tutorials").glob("*.md")),
             *sorted((ROOT / "docs" / "howto").glob("*.md")),
             *sorted((ROOT / "docs" / "examples").glob("*.py"))]
    # The embedding guide is about the core, whose Receiver settles a Delivery.
    pages.remove(ROOT / "docs" / "howto" / "embedding.md")
    old_style = re.compile(r"\breceiver\.(accept|reject|release|modify)\(\s*\w")
    found = [f"{page.relative_to(ROOT)}: {m.group(0)}" for page in pages
             for m in old_style.finditer(page.read_text())]
    assert not found, found
    assert "msg.accept()" in (ROOT / "README.md").read_text()
    assert "msg.accept()" in (ROOT / "docs" / "index.md").read_text()


def fenced(page: Path, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", page.read_text(), re.S)


def test_readme_and_the_index_agree() -> None:
    """Same first program, same two first commands, same way to build the docs."""
    readme, index = ROOT / "README.md", ROOT / "docs" / "index.md"
    assert fenced(readme, "python")[0] == fenced(index, "python")[0]
    readme_shell, index_shell = fenced(readme, "bash"), fenced(index, "bash")
    for command in readme_shell[:2]:  # the clone's two commands (tests/test_package.py)
        assert command in index_shell
    build = [block for block in readme_shell if "sphinx" in block]
    assert len(build) == 1 and build[0] in index_shell
    assert "'.[docs]'" in build[0] and " -W " in build[0]


def test_the_readme_serves_a_pip_user_right_after_the_two_commands() -> None:
    """The README is the PyPI page: after the clone's two commands, the first section
    tells someone who ran ``pip install amqp10`` what to run, then a first program."""
    readme = (ROOT / "README.md").read_text()
    first_section = readme.split("\n## ")[1]
    assert "pip install amqp10" in first_section
    assert "amqp10 demo" in first_section and "amqp10 broker" in first_section
    assert fenced(ROOT / "README.md", "python")[0] in first_section
