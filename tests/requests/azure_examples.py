"""The Azure how-to's programs, docs/examples/azure.py (docs/ is no package), loaded as a
module for tests/requests/test_azure_examples.py, which runs them against the embedded
broker's $cbs, $management and WebSocket listener."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

PATH = Path(__file__).resolve().parents[2] / "docs" / "examples" / "azure.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_examples_azure", PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


azure = _load()
