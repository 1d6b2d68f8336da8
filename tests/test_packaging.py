"""Project guardrails: one version source, the licence, and CI's refusal to run without the
references the parity tests compare against."""
import importlib.metadata
from pathlib import Path

import conftest
import pytest

import nanotorch

ROOT = Path(__file__).resolve().parent.parent


def test_version_has_one_source():
    assert importlib.metadata.version("nanotorch") == nanotorch.__version__
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert nanotorch.__version__ not in pyproject
    assert 'attr = "nanotorch._version.__version__"' in pyproject


def test_license_file_is_shipped():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert importlib.metadata.metadata("nanotorch")["License-Expression"] == "MIT"


def test_missing_reference_fails_the_session_when_required(monkeypatch):
    monkeypatch.setitem(conftest.REFERENCES, "no_such_reference_pkg", "pip install nothing")
    monkeypatch.setenv("NANOTORCH_REQUIRE_REFERENCE", "1")
    with pytest.raises(pytest.UsageError, match="no_such_reference_pkg"):
        conftest.pytest_sessionstart(None)
    monkeypatch.setenv("NANOTORCH_REQUIRE_REFERENCE", "0")
    conftest.pytest_sessionstart(None)  # a developer's machine: skips, no failure
