"""Error hierarchy.

Two families:

* :class:`AutograderError` and subclasses are problems of the course set-up (a bad spec, a missing
  reference model). They stop the command with a message that says what to do next.
* :class:`SubmissionError` and subclasses are problems of one student's submission. They never stop a
  batch: the runner turns them into 0 points for that part, with :attr:`SubmissionError.reason` shown
  to the student.
"""

from __future__ import annotations


class AutograderError(Exception):
    """A problem of the course set-up that the instructor must fix."""


class SpecError(AutograderError):
    """A grading spec is missing, malformed or inconsistent."""


class ReferenceMissingError(AutograderError):
    """The reference model or its recorded metrics are missing."""


class SubmissionError(Exception):
    """A problem of one submission; ``reason`` is written for the student."""

    #: Short machine-readable code, stable across releases (used in reports).
    code = "submission_error"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ModelMissingError(SubmissionError):
    code = "model_missing"


class ModelLoadError(SubmissionError):
    code = "model_unloadable"


class ModelShapeError(SubmissionError):
    code = "wrong_shape"


class NonFiniteOutputError(SubmissionError):
    code = "non_finite_output"


class StudentCodeError(SubmissionError):
    code = "student_code_error"


class TimeLimitError(SubmissionError):
    code = "timeout"


class ResourceLimitError(SubmissionError):
    code = "resource_limit"


class NotebookError(SubmissionError):
    code = "notebook_error"
