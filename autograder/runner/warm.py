"""A worker process's warm state: TensorFlow imported, the grading context and nbgrader loaded once.

Local pool workers and Ray workers both grade many submissions in one long-lived process. What
they keep between submissions is only the grader's own state (spec, reference metrics, hidden
split, nbgrader's API) and a warm kernel factory (:mod:`.warm_kernels`); student code runs in a
fresh process per submission, so warm workers share nothing between students.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..course import Course


@dataclass(frozen=True)
class WarmState:
    ctx: object  # GradingContext (imported lazily: it pulls in nbgrader)
    api: object
    device: str


_CACHE: dict[tuple[str, str, str], WarmState] = {}


def warm_state(root: str, assignment: str, mode: str, env: dict[str, str] | None = None) -> WarmState:
    """This process's warm state for one assignment and mode, built on first use.

    ``env`` (e.g. the GPU a worker owns) is applied before TensorFlow is imported.
    """
    key = (str(root), assignment, mode)
    if key not in _CACHE:
        from .grade import GradingContext

        course = Course(Path(root))
        _CACHE[key] = warm_up(course, course.spec(assignment),
                              lambda: GradingContext.load(course, assignment, mode), env)
    return _CACHE[key]


def warm_up(course: Course, spec, load_context, env: dict[str, str] | None = None) -> WarmState:
    """Warm this process for ``spec``: ``env`` applied, nbgrader's API and kernel factories
    started, TensorFlow imported when the assignment grades a model, then ``load_context()`` (the
    grading context; loaded while the kernels warm up)."""
    os.environ.update(env or {})
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    from ..models import current_device
    from .grade import kernel_overrides
    from .kernel import prestart_factory
    from .placement import enable_memory_growth

    api = course.nbgrader_api(**kernel_overrides(spec, course))
    prestart_factory(api.config)  # notebook kernels: warm while this process warms up too
    if spec.models():  # a tests-only assignment never imports TensorFlow here
        enable_memory_growth()  # imports TensorFlow now, before anything touches a GPU; no-op on CPU
    ctx = load_context()
    return WarmState(ctx, api, current_device() if ctx.models else "CPU")


def grade_warm(root: str, assignment: str, mode: str, student: str,
               env: dict[str, str] | None = None) -> dict:
    """Grade one submission in this warm process; the result as a plain dict (for pickling).
    ``env``: as for :func:`warm_state` (used by the first submission this process grades)."""
    from .grade import compute_submission

    state = warm_state(root, assignment, mode, env=env)
    return compute_submission(state.ctx, student, state.api).to_dict()
