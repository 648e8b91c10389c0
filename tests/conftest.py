import os
import sys
import warnings
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore", message=".*not in session.*")

from autograder._env import ensure_tools_on_path  # noqa: E402

ensure_tools_on_path()

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


def python() -> str:
    return sys.executable
