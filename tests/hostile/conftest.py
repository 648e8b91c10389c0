"""Fixtures of the hostile-submission suite: one graded batch per test session of this folder."""

from __future__ import annotations

import shutil

import pytest
from hostile_batch import Batch, grade_hostile_batch


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Batch:
    result = grade_hostile_batch(tmp_path_factory.mktemp("hostile"))
    yield result
    # The disk-fill attack leaves hundreds of MB in its graded folder: do not keep them in /tmp.
    shutil.rmtree(result.env.course / "autograded" / "disk_fill", ignore_errors=True)
