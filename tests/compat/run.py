"""Run unchanged PyTorch scripts with nanotorch answering their ``import torch``.

    python tests/compat/run.py SCRIPT.py [SCRIPT.py ...]           # under nanotorch
    python tests/compat/run.py --real-torch SCRIPT.py [...]        # under the torch wheel

Before a script runs, ``sys.modules["torch"]`` is nanotorch, and an import hook answers
every ``torch.<sub>`` import (``torch.nn``, ``torch.nn.functional``, ``torch.optim``,
``torch.utils.data``, ...) with ``nanotorch.<sub>``, the same module object. The script's
text is not touched; a submodule nanotorch lacks fails to import as it would in a torch
without it. With several scripts, each one's output follows a ``==== <name>`` line and an
exception in one is printed there (``!!!! <exception>``) before the next one runs, so one
process (one library import) serves the whole suite."""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import runpy
import sys
import traceback

_ALIAS = "torch"
_TARGET = "nanotorch"
SECTION = "==== "
FAILED = "!!!! "


class _AliasLoader(importlib.abc.Loader):
    """Hands back an already imported nanotorch module instead of creating one."""

    def __init__(self, module):
        self._module = module
        self._spec = module.__spec__

    def create_module(self, spec):
        return self._module

    def exec_module(self, module):
        # the import system stamped the alias spec onto the module; nanotorch's own relative
        # imports need its real one back
        module.__spec__ = self._spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``torch.<sub>`` as ``nanotorch.<sub>``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _ALIAS and not fullname.startswith(_ALIAS + "."):
            return None
        real_name = _TARGET + fullname[len(_ALIAS):]
        try:
            module = importlib.import_module(real_name)
        except ModuleNotFoundError as exc:
            if exc.name == real_name:  # the submodule does not exist; a deeper failure is real
                return None
            raise
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(module),
                                              is_package=hasattr(module, "__path__"))


def install() -> None:
    """Make ``import torch`` and ``import torch.<sub>`` give nanotorch's modules."""
    if _ALIAS in sys.modules:
        raise RuntimeError("torch is already imported; install() must come first")
    sys.meta_path.insert(0, _AliasFinder())
    importlib.import_module(_ALIAS)


def run_script(path: str) -> bool:
    """Run one script as ``__main__`` in its own namespace; False if it raised."""
    argv = sys.argv
    sys.argv = [path]
    try:
        runpy.run_path(path, run_name="__main__")
        return True
    except Exception as exc:  # reported in the script's section; the next script still runs
        sys.stdout.flush()
        traceback.print_exc()
        print(f"{FAILED}{type(exc).__name__}: {exc}", flush=True)
        return False
    finally:
        sys.argv = argv


def main(argv: list[str]) -> int:
    real_torch = "--real-torch" in argv
    scripts = [a for a in argv if a != "--real-torch"]
    if not scripts:
        print(__doc__, file=sys.stderr)
        return 2
    if not real_torch:
        install()
    ok = True
    for path in scripts:
        if len(scripts) > 1:
            print(f"{SECTION}{os.path.basename(path)}", flush=True)
        ok = run_script(path) and ok
        sys.stdout.flush()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
