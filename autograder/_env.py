"""Process environment fixes needed by the tools we drive."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def ensure_tools_on_path() -> None:
    """Put this interpreter's ``bin`` folder first on PATH.

    nbgrader's gradebook runs the ``alembic`` command and Jupyter starts kernels by name; when the
    virtual environment is used without being activated (``.venv/bin/autograder``), they would not
    be found, or another installation's would be.
    """
    bindir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if not parts or parts[0] != bindir:
        os.environ["PATH"] = os.pathsep.join([bindir] + [p for p in parts if p != bindir])
