"""The package's shape: public namespaces, import purity, generated code is current."""

from __future__ import annotations

import email.message
import email.parser
import importlib
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["amqp10_proto", "amqp10_trio", "amqp10_asyncio", "amqp10_sync", "amqp10_cli",
            "amqp10_ws"]


def test_core_imports_no_io_or_concurrency_modules() -> None:
    # DESIGN: the core is sans-IO; importing it must not pull in an event loop,
    # sockets or threads. Run in a fresh interpreter so nothing is cached.
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import amqp10_proto, amqp10_proto.codec, amqp10_proto.errors, amqp10_proto.performatives\n"
        "bad = {'trio', 'asyncio', 'socket', 'ssl', 'threading', 'selectors'}\n"
        "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_shared_client_layer_imports_no_io_modules() -> None:
    """amqp10_proto.client is I/O-free too (DESIGN): no event loop, socket or TLS module;
    it logs, and logging imports threading, so that one is allowed here."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import amqp10_proto.client\n"
        "bad = {'trio', 'asyncio', 'socket', 'ssl', 'selectors'}\n"
        "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


#: A hand-written module past this many lines holds more than one concern (DESIGN: private
#: modules, one concern each, under ~700 lines); the generated ones say "do not edit".
MODULE_LINES = 750


def test_hand_written_modules_stay_the_size_of_one_concern() -> None:
    long = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        text = path.read_text()
        if "do not edit" in text[:1000]:
            continue  # tools/gen_definitions.py's output, from the spec's XML
        lines = text.count("\n")
        if lines > MODULE_LINES:
            long.append(f"{path.relative_to(ROOT)}: {lines}")
    assert not long, f"split by concern: {long}"


@pytest.mark.parametrize("name", [*PACKAGES, "amqp10_proto.codec", "amqp10_proto.errors",
                                  "amqp10_proto.performatives"])
def test_public_namespace_exports_exactly_all(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert len(set(exported)) == len(exported)
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names missing {attr}"
    public = {
        n for n, v in vars(module).items()
        if not n.startswith("_") and getattr(v, "__module__", "").startswith("amqp10")
        and not isinstance(v, type(sys))
    }
    assert public <= set(exported), f"{name} has public names not in __all__: {public - set(exported)}"


def test_public_classes_live_in_private_modules() -> None:
    import amqp10_proto

    for attr in amqp10_proto.__all__:
        value = getattr(amqp10_proto, attr)
        mod = getattr(value, "__module__", None)
        if isinstance(value, type) and mod is not None:
            assert mod.split(".")[-1].startswith("_"), f"{attr} is defined in {mod}"


def test_py_typed_markers_ship() -> None:
    for pkg in PACKAGES:
        assert (ROOT / "src" / pkg / "py.typed").exists()


def test_generated_definitions_match_the_spec_xml() -> None:
    spec = ROOT.parent / "shared" / "spec"
    assert spec.is_dir(), f"the AMQP spec XML is expected at {spec}"
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_definitions.py"), str(spec), "--check"],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr


def test_readme_opens_with_the_demo_and_the_test_command_that_ci_runs() -> None:
    import re
    import shutil

    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    assert blocks[0].strip() == (
        "python3 -m venv .venv && .venv/bin/pip install -q '.[trio]' && .venv/bin/amqp10 demo")
    assert blocks[1].strip() == "bash scripts/test.sh"
    # The prose before the two commands is one line: they come first.
    assert readme.index("```bash") < readme.index("\n## ")
    assert "exec bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
    # The demo's console script is installed by the package (pyproject's [project.scripts]).
    assert shutil.which("amqp10", path=str(Path(sys.executable).parent)) is not None


def test_issue_10_events_are_exported_frozen_and_keyword_only() -> None:
    # The contract the adapters code against: emitted when the core fails a link,
    # session or connection itself, or refuses one undecodable delivery.
    import dataclasses

    import amqp10_proto

    fields = {"LinkFailed": ["link", "error"], "SessionFailed": ["session", "error"],
              "ConnectionFailed": ["error"], "MessageUndecodable": ["link", "delivery", "error"]}
    for name, names in fields.items():
        cls = getattr(amqp10_proto, name)
        assert name in amqp10_proto.__all__ and issubclass(cls, amqp10_proto.Event)
        assert [f.name for f in dataclasses.fields(cls)] == names
        params = cls.__dataclass_params__
        assert params.frozen and all(f.kw_only for f in dataclasses.fields(cls))
        assert "__slots__" in cls.__dict__


# --- What `pip install amqp10` gets: the built sdist and wheel (issue 11) --------------

SDIST_MUST_HAVE = ["pyproject.toml", "README.md", "LICENSE", "src/amqp10_proto/__init__.py",
                   "src/amqp10_sync/py.typed", "tests/test_package.py", "tests/corepair.py",
                   "docs/index.md", "docs/conf.py", "docs/examples/sync_tutorial.py",
                   "examples/selectors_client.py", "tools/gen_definitions.py"]
STRAY = re.compile(r"(^|/)(__pycache__|\.hypothesis|\.mypy_cache|\.ruff_cache|\.pytest_cache|"
                   r"\.venv|_build|dist|build|[^/]*\.egg-info)(/|$)|\.py[co]$")
# A dependency pinned to one version, and why it must be (none must today).
MUST_PIN: dict[str, str] = {}


@dataclass(frozen=True)
class Built:
    sdist: list[str]  # paths inside the sdist, without its top directory
    wheel: zipfile.ZipFile
    metadata: email.message.Message


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """``python -m build``: the sdist, then the wheel built from that sdist (so the
    sdist is proven whole), as a release would make them."""
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"python -m build failed:\n{proc.stdout}\n{proc.stderr}"
    (sdist_path,) = out.glob("*.tar.gz")
    (wheel_path,) = out.glob("*.whl")
    with tarfile.open(sdist_path) as tar:
        sdist = [name.split("/", 1)[1] for name in tar.getnames() if "/" in name]
    with zipfile.ZipFile(wheel_path) as wheel:
        (meta,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(wheel.read(meta).decode())
        yield Built(sdist, wheel, metadata)


def test_the_sdist_carries_tests_docs_and_license_and_no_build_outputs(built: Built) -> None:
    missing = [path for path in SDIST_MUST_HAVE if path not in built.sdist]
    assert not missing, f"not in the sdist: {missing}"
    stray = [path for path in built.sdist if STRAY.search(path)]
    assert not stray, f"build outputs or caches in the sdist: {stray[:20]}"


def test_the_wheel_holds_the_five_packages_and_the_license(built: Built) -> None:
    names = built.wheel.namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == set(PACKAGES)
    for pkg in PACKAGES:
        assert f"{pkg}/py.typed" in names
    (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert built.wheel.read(license_file) == (ROOT / "LICENSE").read_bytes()
    assert not [n for n in names if STRAY.search(n)]


def test_the_license_is_the_apache_2_text_the_metadata_names(built: Built) -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the whole text, not a notice
    assert built.metadata["License-Expression"] == "Apache-2.0"


def test_the_version_has_one_place(built: Built) -> None:
    """amqp10_proto.__version__ is read by the build backend; pyproject states none."""
    import amqp10_proto

    project = (ROOT / "pyproject.toml").read_text().split("[project]", 1)[1].split("\n[", 1)[0]
    assert not re.search(r"^version\s*=", project, re.M), "a second version in pyproject.toml"
    assert built.metadata["Version"] == amqp10_proto.__version__
    cli = subprocess.run([sys.executable, "-m", "amqp10_cli", "--version"],
                         capture_output=True, text=True, timeout=60)
    assert cli.stdout.split() == ["amqp10", amqp10_proto.__version__], cli


def test_the_metadata_says_who_where_how_mature_and_which_pythons(built: Built) -> None:
    meta = built.metadata
    assert meta["Author"] or meta["Author-email"]
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL", []))
    assert {"Source", "Issues", "Documentation"} <= set(urls), urls
    classifiers = meta.get_all("Classifier", [])
    assert sum(c.startswith("Development Status :: ") for c in classifiers) == 1
    lowest = int(re.fullmatch(r">=3\.(\d+)", meta["Requires-Python"]).group(1))  # type: ignore[union-attr]
    minors = sorted(int(c.rsplit(".", 1)[1]) for c in classifiers
                    if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c))
    assert minors[0] == lowest and minors == list(range(lowest, minors[-1] + 1)), minors
    assert sys.version_info[1] in minors  # the one this suite runs on is claimed


def test_no_published_dependency_is_pinned_to_one_version(built: Built) -> None:
    pinned = [req for req in built.metadata.get_all("Requires-Dist", [])
              if "==" in req.split(";")[0] or "===" in req]
    names = {re.split(r"[=<>!~ \[;]", req, maxsplit=1)[0] for req in pinned}
    assert names <= set(MUST_PIN), f"pinned without a reason in MUST_PIN: {pinned}"


# --- Logging etiquette: the library's loggers print nothing unless the program asks ----

WARN_ON_DROP = """
import contextlib, logging, sys
if "configured" in sys.argv:
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
import {adapter}
import amqp10_sync as amqp
from amqp10_cli import start_broker
handlers = logging.getLogger("amqp10").handlers
print(sum(isinstance(h, logging.NullHandler) for h in handlers), len(handlers))
with start_broker() as running:  # its stop closes our connection: a WARNING of ours
    conn = amqp.open_connection(running.url, timeout=5, reconnect=None)
with contextlib.suppress(Exception):
    conn.open_session(timeout=5)
conn.close()  # joins the I/O thread: everything it logs is written by now
"""


def run_warning_program(adapter: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WARN_ON_DROP.format(adapter=adapter), *args],
                          capture_output=True, text=True, timeout=60)


def test_a_library_warning_is_printed_once_with_basic_config() -> None:
    proc = run_warning_program("amqp10_sync", "configured")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "connection closed" in line]
    assert len(lines) == 1 and lines[0].startswith("WARNING amqp10: "), proc.stderr


@pytest.mark.parametrize("adapter", ["amqp10_sync", "amqp10_asyncio", "amqp10_trio",
                                     "amqp10_cli"])
def test_the_amqp10_logger_has_one_null_handler(adapter: str) -> None:
    """Library etiquette (the logging HOWTO): a NullHandler on the package's logger, no
    other handler, so a program that configures no logging gets no "last resort" copy
    of a warning on stderr beside the exception that tells the same thing."""
    proc = run_warning_program(adapter)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1", "1"], proc.stdout
    assert "connection closed" not in proc.stderr, proc.stderr
