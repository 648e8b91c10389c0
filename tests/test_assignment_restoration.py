"""`restoration` end to end: four models per submission, each scored on its own (slow).

release -> fetch/fill in/run/submit -> collect -> autograde -> each of the four saved models run on
its hidden images, MSE and PSNR vs its own baseline and reference -> one gradebook task cell per
part -> report.
"""

from __future__ import annotations

import pytest
from assignment_checks import by_student, check_gradebook_and_report, run_assignment_demo

pytestmark = pytest.mark.slow

ASSIGNMENT = "restoration"
PARTS = ("colorize_quality", "upres_quality", "inpaint_quality", "frames_quality")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return run_assignment_demo(tmp_path_factory, ASSIGNMENT)


@pytest.fixture(scope="module")
def results(demo):
    return by_student(demo, ASSIGNMENT)


def _part_points(result, grade_id):
    return sum(p.points for p in result.parts if p.name.startswith(grade_id + ":"))


def test_correct_solution_earns_nearly_full_marks_on_every_part(results):
    r = results["correct"]
    assert r.max_model_points == 16
    assert r.test_points == sum(p.max_points for p in r.parts if p.kind == "test") == 4
    for grade_id in PARTS:
        assert _part_points(r, grade_id) >= 3.2, (grade_id, r.parts)
    for p in r.parts:
        if p.kind == "model" and p.metric == "mean_squared_error":
            assert p.value < p.baseline, p


def test_weak_models_score_strictly_between(results):
    r = results["weak_model"]
    assert 0 < r.model_points < results["correct"].model_points
    assert r.test_points == 4


def test_broken_parts_cost_only_their_own_points(results):
    r = results["broken"]
    upres = [p for p in r.parts if p.name.startswith("upres_quality:")]
    assert upres and all(p.points == 0 and p.value is None for p in upres)
    assert all("(batch, 256, 256, 3)" in p.reason for p in upres), upres[0].reason
    inpaint = [p for p in r.parts if p.name.startswith("inpaint_quality:")]
    assert inpaint and all(p.points == 0 and "inpainter.keras" in p.reason for p in inpaint)
    assert _part_points(r, "colorize_quality") > 0 and _part_points(r, "frames_quality") > 0
    assert next(p for p in r.parts if p.name == "test_build_upres").points == 0
    assert next(p for p in r.parts if p.name == "test_mask_center").points == 1


def test_gradebook_and_report_hold_every_score(demo, results):
    check_gradebook_and_report(demo, ASSIGNMENT, results, model_cells=PARTS)
