"""The compatibility suite: each script in tests/compat/ runs under nanotorch (``import
torch`` answered by nanotorch, tests/compat/run.py) and under the torch wheel, in separate
processes, and prints the same thing.

Outputs are compared line by line: numbers are parsed and compared as numbers, the text
around them must be equal (runs of spaces aside: tensor printing pads to the widest number).
Integers must be equal. A decimal number may differ by one unit in its last printed digit
(the two libraries round a value on either side of a printing boundary), plus ``RTOL`` of
the largest magnitude on the line: the scripts train for tens of steps, and float32 rounding
differences in long reductions (BLAS blocking order, fused kernels) grow through training to
a few 1e-5 relative; a small coefficient printed next to large ones (a polynomial fit) carries
the absolute error of the large ones. Both processes run single-threaded, side by side."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent
COMPAT = ROOT / "tests" / "compat"
SCRIPTS = sorted(p.name for p in COMPAT.glob("*.py") if p.name != "run.py")
RTOL = 1e-4

_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])|nan|inf")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def _run_all(real_torch: bool) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    args = [sys.executable, str(COMPAT / "run.py")] + (["--real-torch"] if real_torch else [])
    return subprocess.Popen(args + [str(COMPAT / s) for s in SCRIPTS], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^==== (\S+)\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


@pytest.fixture(scope="module")
def outputs():
    procs = {"nanotorch": _run_all(False), "torch": _run_all(True)}  # in parallel
    return {name: _sections(p.communicate()[0]) for name, p in procs.items()}


def _split(line: str):
    """(text with numbers replaced by '#', numbers as strings)."""
    line = _ADDRESS.sub("0x?", line)
    numbers = _NUMBER.findall(line)
    return " ".join(_NUMBER.sub("#", line).split()), numbers


def _last_digit_unit(s: str) -> float:
    mantissa, _, exp = s.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (-decimals + (int(exp) if exp else 0))


def _is_int(s: str) -> bool:
    return s not in ("nan", "inf") and not any(c in s for c in ".eE")


def _same_number(a: str, b: str, scale: float) -> bool:
    if a in ("nan", "inf") or b in ("nan", "inf"):
        return a == b
    if _is_int(a) and _is_int(b):
        return int(a) == int(b)
    x, y = float(a), float(b)
    unit = max(_last_digit_unit(a), _last_digit_unit(b))
    return abs(x - y) <= unit * 1.01 + RTOL * max(abs(x), abs(y), scale)


def _scale(numbers) -> float:
    """The largest magnitude among a line's decimal numbers."""
    return max((abs(float(n)) for n in numbers if not _is_int(n) and n not in ("nan", "inf")),
               default=0.0)


def compare(ours: str, theirs: str) -> list[str]:
    """The differences between two outputs, as messages (empty: the same)."""
    a, b = ours.splitlines(), theirs.splitlines()
    problems = []
    if len(a) != len(b):
        problems.append(f"{len(a)} lines against torch's {len(b)}")
    for k, (la, lb) in enumerate(zip(a, b), 1):
        (ta, na), (tb, nb) = _split(la), _split(lb)
        if ta != tb or len(na) != len(nb):
            problems.append(f"line {k}: text differs\n  ours:  {la}\n  torch: {lb}")
        elif not all(_same_number(x, y, _scale(nb)) for x, y in zip(na, nb)):
            problems.append(f"line {k}: numbers differ\n  ours:  {la}\n  torch: {lb}")
    return problems


def test_the_suite_has_the_tutorial_scripts():
    assert {"autograd_basics.py", "build_model.py", "cnn_images.py", "custom_function.py",
            "mnist_style.py", "optimization_loop.py", "polynomial_fit.py", "tensors_tour.py",
            "transfer_learning.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_prints_what_torch_prints(outputs, script):
    ours, theirs = outputs["nanotorch"].get(script), outputs["torch"].get(script)
    assert theirs is not None and "!!!! " not in theirs, f"{script} fails under torch"
    assert ours is not None, f"{script}: no output under nanotorch"
    assert "!!!! " not in ours, f"{script} raised under nanotorch:\n{ours[-2000:]}"
    problems = compare(ours, theirs)
    assert not problems, f"{script}:\n" + "\n".join(problems[:10])


@pytest.mark.parametrize("ours, theirs, same", [
    ("loss: 0.440390  [  192/  512]", "loss: 0.440391  [  192/  512]", True),  # last digit
    ("loss: 0.440390  [  192/  512]", "loss: 0.440490  [  192/  512]", False),
    ("loss: 0.4404  [  192/  512]", "loss: 0.4404  [  191/  512]", False),    # integers exact
    ("tensor([1., 1.])", "tensor([1.0000, 1.0000])", True),                   # print width
    ("y = 3238.30029296875", "y = 3238.300537109375", True),                  # RTOL
    ("y = 3238.30029296875", "y = 3238.9", False),
    ("y = 1.1081 + -4.7801e-05 x^3", "y = 1.1081 + -4.7809e-05 x^3", True),   # line scale
    ("y = 1.1081 + -4.7801e-05 x^3", "y = 1.1081 + -4.9809e-04 x^3", False),
    ("<AddBackward0 object at 0x7f0e>", "<AddBackward0 object at 0x7fa9>", True),
    ("requires_grad: True", "requires_grad: False", False),
    ("conv1.weight 1.5e-05", "conv1.weight 1.5e-05", True),
])
def test_compare_is_strict_where_it_should_be(ours, theirs, same):
    assert (compare(ours, theirs) == []) is same
