"""nanotorch._malloc: glibc thresholds set at import, with an opt-out."""
import platform
import sys

import pytest

from nanotorch import _malloc

glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not glibc, reason="glibc only")
def test_applied_on_glibc(monkeypatch):
    for name in ("NANOTORCH_MALLOC_TUNING", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(name, raising=False)
    assert _malloc.tune() is True


def test_opt_out(monkeypatch):
    monkeypatch.setenv("NANOTORCH_MALLOC_TUNING", "0")
    assert _malloc.tune() is False


@pytest.mark.parametrize("name", ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"])
def test_user_settings_win(monkeypatch, name):
    monkeypatch.delenv("NANOTORCH_MALLOC_TUNING", raising=False)
    monkeypatch.setenv(name, "1000000")
    assert _malloc.tune() is False
