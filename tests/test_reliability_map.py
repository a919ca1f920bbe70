"""scripts/reliability.py: its map of campaign defects to regression tests cannot rot."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "reliability.py"


def _script():
    spec = importlib.util.spec_from_file_location("reliability", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_defect_of_both_campaigns_has_tests_that_exist():
    script = _script()
    assert list(script.DECEMBER) == [f"G{n}" for n in range(1, 30)]
    assert list(script.NOVEMBER) == [f"F{n}" for n in range(1, 34)]
    assert all(tests for _, tests in (*script.DECEMBER.values(), *script.NOVEMBER.values()))
    assert script.missing_tests() == []


def test_a_renamed_test_is_found_missing(monkeypatch):
    script = _script()
    monkeypatch.setitem(script.DECEMBER, "G1", ("x", ("tests/test_files.py::test_that_does_not_exist",)))
    assert script.missing_tests() == ["tests/test_files.py::test_that_does_not_exist"]
