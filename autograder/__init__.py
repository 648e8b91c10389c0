"""Autograder for deep-learning courses: nbgrader notebooks, then model quality against a reference."""

from ._lazy_imports import defer_rfc3987_syntax

defer_rfc3987_syntax()  # 2 s of CPU saved in every grading process (see the module)
