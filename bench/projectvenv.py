"""A bench script run by a Python that lacks what it imports (the system's `python3`) runs
itself again under the project venv's (`tools/venv`, created on first use); once only."""
from __future__ import annotations

import importlib.util
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
_AGAIN = "HEAT_K8S_HOOK_BENCH_REEXEC"


def require(*modules: str) -> None:
    """Return if every module can be imported here, else exec the running script (sys.argv)
    under the project venv's python; raise ImportError if that one lacks them too."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if not missing:
        return
    if os.environ.get(_AGAIN):
        raise ImportError(f"not in the project venv either: {', '.join(missing)}")
    venv = subprocess.run([str(ROOT / "tools" / "venv")], check=True, text=True,
                          stdout=subprocess.PIPE).stdout.strip().splitlines()[-1]
    os.environ[_AGAIN] = "1"
    py = os.path.join(venv, "bin", "python")
    os.execv(py, [py, os.path.abspath(sys.argv[0])] + sys.argv[1:])
