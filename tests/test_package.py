"""The package's shape: public namespaces, import purity, generated code is current."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["amqp10_proto", "amqp10_trio", "amqp10_asyncio", "amqp10_sync", "amqp10_cli"]


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
