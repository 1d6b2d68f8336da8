"""``nanotorch/tensor.pyi`` (for type checkers and IDEs) matches the live Tensor class."""
from pathlib import Path

from nanotorch import _gen_stubs


def test_tensor_stub_is_up_to_date():
    written = _gen_stubs.STUB_PATH.read_text()
    assert written == _gen_stubs.render(), (
        "nanotorch/tensor.pyi is out of date: run `python -m nanotorch._gen_stubs`")


def test_stub_declares_registered_and_inplace_methods():
    text = _gen_stubs.STUB_PATH.read_text()
    for line in ("    def sigmoid(self) -> Any: ...", "    def sigmoid_(self) -> Any: ...",
                 "    def add_(self, other, *, alpha=...) -> Any: ...",
                 "    def shape(self) -> Any: ...", "class Tensor:"):
        assert line + "\n" in text, line


def test_package_is_marked_typed():
    assert (Path(_gen_stubs.__file__).parent / "py.typed").is_file()
