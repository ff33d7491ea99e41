"""The built docs as a reader sees them: Debian's headless Chromium loads every page.

The site is built (``sphinx-build -W -n``, as tests/test_docs.py does), served on
127.0.0.1 and read in one tab, driven over Chromium's DevTools protocol (a websocket),
with a 1280 px wide viewport and every host but 127.0.0.1 unresolvable: an offline reader.
Each page must load with no console error and no request leaving the machine, fit its
code blocks in the text column, and the state diagrams must be images (SVG drawn at
build time) whose text is the engine's states and inputs.

Chromium, Graphviz's ``dot`` and the ``websockets`` package come with scripts/test.sh
(apt-get and the dev extra). Without them the tests skip, except under ``CI=true``,
where they fail: the check must not quietly vanish from CI.
"""

from __future__ import annotations

import enum
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

from amqp10_proto._state import ConnectionState, Input, LinkState, SessionState

try:
    from websockets.sync.client import ClientConnection, connect
except ImportError:  # pragma: no cover - scripts/test.sh installs the dev extra
    connect = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CHROMIUM = Path(os.environ.get("AMQP10_CHROMIUM", "/usr/bin/chromium"))
IN_CI = os.environ.get("CI", "").lower() == "true"
WIDTH, HEIGHT = 1280, 900
TIMEOUT = 30.0  # any single wait: Chromium's start, one page load, one DevTools answer

# A quiet, sandbox-free (root in CI) headless run that fetches nothing of its own;
# the resolver rule makes every host but 127.0.0.1 unreachable, as for a reader offline.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--hide-scrollbars", "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    f"--window-size={WIDTH},{HEIGHT}", "--remote-debugging-port=0",
    "--remote-debugging-address=127.0.0.1",
]


def missing(what: str) -> NoReturn:
    """Skip for want of a tool, or fail under CI=true, where it must be there."""
    message = (f"{what}: run scripts/test.sh (it installs chromium and graphviz with "
               f"apt-get, and the dev extra)")
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


# -- the site, served ---------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML of one ``sphinx-build -W --keep-going -n`` of docs/."""
    if shutil.which("dot") is None:
        missing("Graphviz's dot is not installed (the state diagrams need it)")
    tmp = tmp_path_factory.mktemp("docs-browser")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html",
         "-d", str(tmp / "doctrees"), str(DOCS), str(tmp / "html")],
        capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout}\n{proc.stderr}"
    return tmp / "html"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    """The site on http://127.0.0.1:PORT/ for the length of the module."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="docs-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


# -- Chromium over the DevTools protocol ----------------------------------------------


class DevTools:
    """One DevTools websocket: numbered calls answered in order, events kept aside."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        call_id = self.next_id
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        deadline = time.monotonic() + TIMEOUT
        while True:
            msg = self._recv(deadline, f"the answer to {method}")
            if msg.get("id") == call_id:
                if "error" in msg:
                    raise AssertionError(f"DevTools {method}: {msg['error']}")
                result: dict[str, Any] = msg["result"]
                return result
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, method: str) -> dict[str, Any]:
        """The next event ``method`` (earlier events are kept in ``events``)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            msg = self._recv(deadline, method)
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    params: dict[str, Any] = msg["params"]
                    return params

    def _recv(self, deadline: float, what: str) -> dict[str, Any]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"Chromium: no {what} within {TIMEOUT} s")
        try:
            raw = self.ws.recv(timeout=left)
        except TimeoutError:
            raise AssertionError(f"Chromium: no {what} within {TIMEOUT} s") from None
        msg: dict[str, Any] = json.loads(raw)
        return msg


def devtools_port(proc: subprocess.Popen[bytes], profile: Path) -> int:
    """The port Chromium chose for --remote-debugging-port=0 (it writes it to the profile)."""
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise AssertionError(f"{CHROMIUM} exited with {proc.returncode}:\n{err[-2000:]}")
        lines = active.read_text().splitlines() if active.exists() else []
        if lines and lines[0].isdigit():
            return int(lines[0])
        time.sleep(0.05)
    raise AssertionError(f"{CHROMIUM} opened no DevTools port within {TIMEOUT} s")


@pytest.fixture(scope="module")
def browser() -> Iterator[DevTools]:
    """A page of a fresh headless Chromium, its viewport 1280 px wide, its events on."""
    if connect is None:
        missing("the websockets package is not installed (the dev extra has it)")
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"{CHROMIUM} is not installed (Debian package chromium)")
    with tempfile.TemporaryDirectory(prefix="amqp10-chromium-", ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen(
            [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            port = devtools_port(proc, Path(profile))
            request = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank",
                                             method="PUT")
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                target = json.load(answer)
            with connect(target["webSocketDebuggerUrl"], proxy=None, max_size=None,
                         open_timeout=TIMEOUT, close_timeout=5) as ws:
                tools = DevTools(ws)
                for domain in ("Page", "Runtime", "Log", "Network"):
                    tools.call(f"{domain}.enable")
                tools.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                           deviceScaleFactor=1, mobile=False)
                yield tools
        finally:
            proc.terminate()
            try:
                proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(TIMEOUT)
            if proc.stderr:
                proc.stderr.close()


# What a page looks like once loaded, measured in the page itself.
MEASURE = r"""
(() => {
  const box = (el) => el.getBoundingClientRect();
  const column = document.querySelector('div.body') || document.body;
  const right = box(column).right + 0.5;
  const longest = (text) => text.split('\n').reduce((a, b) => (b.length > a.length ? b : a), '');
  const wide = [];
  for (const el of document.querySelectorAll('pre, dt.sig, div.graphviz')) {
    if (el.scrollWidth > el.clientWidth + 1 || box(el).right > right) {
      wide.push({tag: el.tagName.toLowerCase(), width: Math.round(box(el).width),
                 scroll: el.scrollWidth, right: Math.round(box(el).right),
                 column: Math.round(right), line: longest(el.textContent).slice(0, 160)});
    }
  }
  const diagrams = [];
  for (const div of document.querySelectorAll('div.graphviz')) {
    const obj = div.querySelector('object, img');
    const doc = obj && obj.tagName === 'OBJECT' ? obj.contentDocument : null;
    const root = doc ? doc.documentElement : null;
    diagrams.push({
      element: obj ? obj.tagName.toLowerCase() : null,
      type: obj ? obj.getAttribute('type') : null,
      root: root ? root.tagName.toLowerCase() : null,
      width: obj ? Math.round(box(obj).width) : 0,
      height: obj ? Math.round(box(obj).height) : 0,
      texts: root ? Array.from(root.querySelectorAll('text'), (t) => t.textContent) : [],
    });
  }
  const signatures = Array.from(document.querySelectorAll('dt.sig'), (el) => el.innerText);
  const titles = Array.from(document.querySelectorAll('a[title]'), (el) => el.title);
  return {
    innerWidth: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    text: document.body.innerText,
    wide, diagrams, signatures, titles,
    rows: Array.from(document.querySelectorAll('div.body table tr'), (tr) => [
      tr.innerText, Array.from(tr.querySelectorAll('a[href]'), (a) => a.getAttribute('href'))]),
  };
})()
"""


@dataclass
class Page:
    """What one page did (its console, its requests) and what it measured."""

    path: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    measured: dict[str, Any] = field(default_factory=dict)


def visit(tools: DevTools, base_url: str, path: str) -> Page:
    page = Page(path)
    tools.events.clear()
    nav = tools.call("Page.navigate", url=base_url + path)
    assert "errorText" not in nav, f"{path}: {nav['errorText']}"
    tools.wait_for("Page.loadEventFired")
    result = tools.call("Runtime.evaluate", expression=MEASURE, returnByValue=True)
    assert "exceptionDetails" not in result, f"{path}: {result['exceptionDetails']}"
    page.measured = result["result"]["value"]
    for event in tools.events:
        method, params = event["method"], event["params"]
        if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            page.errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                        for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            page.errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            page.errors.append(f"{params['entry']['text']} {params['entry'].get('url', '')}")
        elif method == "Network.requestWillBeSent":
            page.requests.append(params["request"]["url"])
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            page.failed.append(f"{params['response']['status']} {params['response']['url']}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            page.failed.append(f"{params['errorText']} ({params['type']})")
    return page


@pytest.fixture(scope="module")
def pages(browser: DevTools, site: Path, base_url: str) -> dict[str, Page]:
    """Every page of the site, loaded in turn."""
    paths = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert "index.html" in paths and "state-diagrams.html" in paths
    return {path: visit(browser, base_url, path) for path in paths}


# -- what a reader expects --------------------------------------------------------------


def test_every_page_loads_without_console_errors(pages: dict[str, Page]) -> None:
    assert len(pages) >= 30  # tutorials, how-tos, reference, index pages
    problems = {path: page.errors + page.failed for path, page in pages.items()
                if page.errors or page.failed}
    assert not problems
    for path, page in pages.items():
        assert page.measured["text"].strip(), f"{path} shows nothing"


def test_nothing_is_fetched_from_the_network(pages: dict[str, Page], base_url: str) -> None:
    """An offline reader sees the whole site: no CDN script, font or image."""
    outside = {path: [u for u in page.requests
                      if not u.startswith((base_url, "data:", "blob:", "about:"))]
               for path, page in pages.items()}
    assert not {path: urls for path, urls in outside.items() if urls}
    assert all(page.requests for page in pages.values())  # the recording works


def test_code_blocks_fit_the_column_at_1280px(pages: dict[str, Page]) -> None:
    """No code block, signature or diagram scrolls sideways, and neither does a page."""
    assert {page.measured["innerWidth"] for page in pages.values()} == {WIDTH}
    wide = {path: page.measured["wide"] for path, page in pages.items()
            if page.measured["wide"]}
    assert not wide
    scrolling = {path: page.measured["scrollWidth"] for path, page in pages.items()
                 if page.measured["scrollWidth"] > WIDTH}
    assert not scrolling


def test_measuring_finds_a_block_too_wide(browser: DevTools, base_url: str) -> None:
    """The width check can fail: a Python block with a 304-character line is caught."""
    before = len(visit(browser, base_url, "index.html").measured["wide"])
    grow = ("const div = document.createElement('div');"
            "div.className = 'highlight-python notranslate';"
            "div.innerHTML = '<div class=\"highlight\"><pre></pre></div>';"
            "div.querySelector('pre').textContent = 'x = ' + '1 + '.repeat(75) + '1';"
            "document.querySelector('div.body').appendChild(div); true")
    assert browser.call("Runtime.evaluate", expression=grow, returnByValue=True)[
        "result"]["value"] is True
    measured = browser.call("Runtime.evaluate", expression=MEASURE, returnByValue=True)[
        "result"]["value"]
    assert len(measured["wide"]) == before + 1
    assert measured["wide"][-1]["line"].startswith("x = 1 + 1 + ")


DIAGRAMS: list[tuple[str, type[enum.Enum]]] = [
    ("Connection", ConnectionState), ("Session", SessionState), ("Link", LinkState)]


def test_state_diagrams_are_images_of_the_tables(pages: dict[str, Page]) -> None:
    measured = pages["state-diagrams.html"].measured
    diagrams = measured["diagrams"]
    assert len(diagrams) == len(DIAGRAMS)
    labels = {i.value for i in Input}
    for (title, states), diagram in zip(DIAGRAMS, diagrams, strict=True):
        assert (diagram["element"], diagram["type"], diagram["root"]) == (
            "object", "image/svg+xml", "svg"), title
        assert diagram["width"] > 100 and diagram["height"] > 100, (title, diagram)
        texts = set(diagram["texts"])
        # Every state is a box; every label is an input (no stray source text).
        assert {s.name for s in states} <= texts, title
        assert texts - {s.name for s in states} <= labels, title
    # No diagram source reaches the reader as text.
    assert not re.search(r"digraph|stateDiagram|_initial|\[label=", measured["text"])


PRIVATE = re.compile(r"\b_Default\b|\bamqp10_\w+(?:\.\w+)*\._\w+")


def test_signatures_name_no_private_module(pages: dict[str, Page]) -> None:
    """Signatures and link tooltips say ``amqp10_proto.errors.X``, never ``_errors.X``."""
    found = {}
    for path, page in pages.items():
        names = {m for text in page.measured["signatures"] + page.measured["titles"]
                 for m in PRIVATE.findall(text)}
        if names:
            found[path] = sorted(names)
    assert not found
    assert any(page.measured["signatures"] for page in pages.values())


IMPORT_MAP = [  # what a row of the landing page's table names, and the page it links
    ("amqp10_sync", "sync.html"), ("amqp10_asyncio", "asyncio.html"),
    ("amqp10_trio", "trio.html"), ("from amqp10_proto import Message", "proto.html"),
    ("amqp10_proto.errors", "errors.html"), ("amqp10_cli", "cli.html"),
    ("amqp10_proto.trace", "trace.html"), ("amqp10_proto.codec", "codec.html"),
    ("amqp10_proto.performatives", "performatives.html"),
    ("amqp10_proto.client", "client.html"), ("the amqp10 command", "../cli.html"),
]


def test_the_reference_landing_page_maps_the_packages(pages: dict[str, Page]) -> None:
    """What to import for what: one table row per package, linking to its page."""
    rows = pages["reference/index.html"].measured["rows"]
    for name, page in IMPORT_MAP:
        assert any(name in text and page in {h.split("#")[0] for h in hrefs}
                   for text, hrefs in rows), (name, page)
