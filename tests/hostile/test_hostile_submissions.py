"""Trusted grading: every hostile submission is contained (slow: one batch of ~45 submissions).

One test per attack. Each asserts, on the single graded batch of ``conftest.batch``:

* the batch finished: every submission has a result;
* the control's score equals its score when graded alone;
* the hostile part got 0 points with a reason that names the cause;
* the grade is what the genuine work deserves (no forged points, no extra grade cells) and the
  result file and gradebook agree with it;
* no secret reached the student's graded notebook or result;
* no file outside the sandboxes changed, nothing was created outside ``autograded/``, no graded
  folder changed after its own grading;
* nothing escaped: no sandbox process left, no connection reached the test's listeners, no code
  from a model file ran in the grader.

The course, the canaries and the batch are built by ``hostile_batch.py``; the submissions, with
what each one must get, by ``hostile_submissions.py``. The whole suite takes about 4 to 5 minutes
on 2 CPU cores (the two wall-clock attacks alone hold a worker for 60 s each).

An attack the package does not withstand today is marked ``xfail(strict=True)`` with what is wrong.
"""

from __future__ import annotations

import json
import re

import pytest
from hostile_batch import Batch, read_result_file
from hostile_submissions import ASSIGNMENT, AUTOENCODER, CONTROL, Attack, attacks

from autograder.course import Course

pytestmark = pytest.mark.slow

ATTACKS = attacks()

# What the issue asks for, by the attack that covers it.
REQUIRED = {
    "infinite loop": "infinite_loop", "fork bomb": "fork_bomb", "memory bomb": "memory_bomb",
    "disk fill": "disk_fill", "huge output": "huge_output", "sleep past the limit": "sleep_past_limit",
    "os._exit": "os_exit", "SIGKILL of itself": "sigkill_self", "network access": "network_access",
    "reading hidden data by path": "read_hidden_data",
    "reading reference models by path": "read_reference_model",
    "reading other students' submissions": "read_other_submissions",
    "patching the grader's or nbgrader's functions": "patch_grader_modules",
    "forging output to look like a score": "forge_result_file",
    "writing to the gradebook database": "write_gradebook",
    "a .keras file with a Lambda layer": "lambda_layer", "a pickle payload": "pickle_payload",
    "a model that returns NaN": "nan_model", "wrong output shape": "wrong_output_shape",
    "a huge model file": "huge_model_file",
    "an autoencoder that bypasses its bottleneck": "autoencoder_bypass",
    "a corrupt notebook JSON": "corrupt_notebook_json",
    "deleted grade cells": "deleted_grade_cells", "reordered grade cells": "reordered_grade_cells",
    "changed hidden-test cell ids": "changed_cell_ids",
    "unicode file names": "unicode_file_names", "zip-bomb file names": "zip_bomb_model",
}


def _param(attack: Attack):
    marks = [pytest.mark.xfail(strict=True, reason=attack.xfail)] if attack.xfail else []
    return pytest.param(attack.name, id=attack.name, marks=marks)


def test_the_suite_covers_the_issue():
    names = {a.name for a in ATTACKS}
    assert len(names) == len(ATTACKS) >= 25
    missing = {what: name for what, name in REQUIRED.items() if name not in names}
    assert not missing


# ---------------------------------------------------------------------------------------------
# Checks shared by every attack


def check_batch_finished(batch: Batch) -> None:
    missing = [s for s in batch.students if s not in batch.results]
    assert not missing, f"the batch did not finish: no result for {missing}"


def check_control_unchanged(batch: Batch) -> None:
    solo, now = batch.solo, batch.results[CONTROL]
    assert solo.total == pytest.approx(solo.max_total + solo.extra_credit), (
        f"the control should earn every point alone: {solo.parts}")
    assert [(p.name, round(p.points, 6)) for p in now.parts] == [
        (p.name, round(p.points, 6)) for p in solo.parts], (
        f"the control scored {now.total} in the hostile batch, {solo.total} alone: {now.parts}")


def _selected(result, zero: tuple[str, ...]):
    out = []
    for sel in zero:
        if sel == "tests":
            out += [p for p in result.parts if p.kind == "test"]
        elif sel == "model":
            out += [p for p in result.parts if p.kind == "model"]
        else:
            out += [p for p in result.parts if p.name == sel]
    return out


def check_hostile_part(batch: Batch, attack: Attack) -> None:
    result = batch.results[attack.name]
    parts = _selected(result, attack.zero)
    assert len(parts) >= len(attack.zero), f"parts {attack.zero} not all in {result.parts}"
    for p in parts:
        assert p.points == 0, f"{p.name} got {p.points} points (reason: {p.reason!r})"
        assert re.search(attack.reason, p.reason, re.IGNORECASE | re.DOTALL), (
            f"the reason of {p.name} does not name the cause ({attack.reason!r}): {p.reason!r}")
    for p in result.parts:  # every reason is a sentence for the student, not a traceback
        assert "Traceback (most recent call last)" not in p.reason and "\x1b[" not in p.reason
        assert len(p.reason) <= 700, f"the reason of {p.name} is {len(p.reason)} characters long"


def check_grade_is_genuine(batch: Batch, attack: Attack) -> None:
    result, solo = batch.results[attack.name], batch.solo
    if attack.total is not None:
        assert result.total == pytest.approx(attack.total), (
            f"{attack.name} got {result.total} points; its genuine work deserves {attack.total}: "
            f"{[(p.name, p.points, p.reason[:80]) for p in result.parts]}")
    if attack.assignment == ASSIGNMENT:
        assert result.total <= solo.total + 1e-9
        assert [(p.name, p.max_points) for p in result.parts] == [
            (p.name, p.max_points) for p in solo.parts], "the graded parts or their points changed"
    # The result file is the result (no forged file replaced it), and the gradebook agrees.
    assert read_result_file(batch.env, attack).to_dict() == result.to_dict()
    rows = batch.grades.get(f"{attack.assignment}/{attack.name}", [])
    assert rows, "the gradebook has no grades for the submission"
    assert sum(g.score for g in rows) == pytest.approx(result.total, abs=1e-3)
    if attack.assignment == ASSIGNMENT:
        control_max = {g.cell: g.max_score for g in batch.grades[f"{ASSIGNMENT}/{CONTROL}"]}
        assert {g.cell: g.max_score for g in rows} == control_max
    for assignment in (ASSIGNMENT, AUTOENCODER):
        folder = batch.env.course / "results" / assignment
        files = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
        extra = files - {f"{s}.json" for s in batch.students} - {"pictures"}
        assert not extra, f"files in results/{assignment} that no grading wrote: {sorted(extra)}"
        # the report's pictures of each saved model, made by the worker that scored it
        grade_ids = [m.model_grade_id for m in Course(batch.env.course).spec(assignment).models()]
        pictures = folder / "pictures"
        made = {p.name for p in pictures.iterdir()} if pictures.is_dir() else set()
        stray = made - {f"{s}.{g}.npz" for s in batch.students for g in grade_ids}
        assert not stray, f"pictures in results/{assignment} that no grading wrote: {sorted(stray)}"


def check_no_leak(batch: Batch, attack: Attack) -> None:
    seen = batch.notebook_text(attack.name, attack.assignment)
    seen += json.dumps(batch.results[attack.name].to_dict())
    leaked = [what for what, secret in batch.env.secrets().items() if secret in seen]
    assert not leaked, f"secrets reached the student's graded notebook or result: {leaked}"


def check_nothing_outside_changed(batch: Batch, attack: Attack) -> None:
    changed = sorted(k for k in batch.before.keys() | batch.after.keys()
                     if batch.before.get(k) != batch.after.get(k))
    assert not changed, f"files outside the sandboxes changed: {changed[:10]}"
    own = [str(batch.env.tmp / p) for p in attack.own_canaries]
    changed_own = [p for p in own if batch.own_before.get(p) != batch.own_after.get(p)]
    assert not changed_own, f"the attack changed files outside its sandbox: {changed_own}"


def check_nothing_escaped(batch: Batch) -> None:
    assert not batch.new_outside, f"files created outside autograded/: {batch.new_outside[:10]}"
    assert not batch.host_escapes, f"files written to the host's shared folders: {batch.host_escapes}"
    assert not batch.leftover, f"sandbox processes outlived the batch: {batch.leftover}"
    assert not batch.connections, f"sandboxed code reached the test's listeners: {batch.connections}"
    assert not batch.late_writes, f"graded folders changed after their grading: {batch.late_writes[:10]}"
    ran = sorted(p.name for p in batch.env.markers.iterdir())
    assert not ran, f"code from a submitted model file ran in the grader: {ran}"


# ---------------------------------------------------------------------------------------------
# The tests


@pytest.mark.parametrize("name", [_param(a) for a in ATTACKS])
def test_hostile_submission_is_contained(batch: Batch, name: str):
    attack = batch.attacks[name]
    check_batch_finished(batch)
    check_control_unchanged(batch)
    assert attack.name in batch.results
    check_hostile_part(batch, attack)
    check_grade_is_genuine(batch, attack)
    check_no_leak(batch, attack)
    check_nothing_outside_changed(batch, attack)
    check_nothing_escaped(batch)


def test_control_scores_the_same_alone_and_in_the_hostile_batch(batch: Batch):
    check_batch_finished(batch)
    check_control_unchanged(batch)
    assert batch.env.control_secret in batch.notebook_text(CONTROL)  # its own notebook, graded


def test_every_result_records_the_sandbox(batch: Batch):
    for r in batch.results.values():
        assert r.isolation in ("bwrap", "none")
    assert {r.isolation for r in batch.results.values()} == {batch.solo.isolation}
