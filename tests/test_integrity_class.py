"""A simulated class of 13 on a model assignment, with every planted integrity case: each is flagged
with its kind, and no pair of honest students is flagged."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess

import pytest
from integrity_course import ASSIGNMENT, EXPECTED, HONEST, simulate_class, write_course

from autograder.course import Course
from autograder.integrity import check_integrity

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    pytest.importorskip("keras")
    pytest.importorskip("copydetect")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    base = tmp_path_factory.mktemp("integrity")
    root, private = base / "course", base / "private"
    pool = write_course(root, private)
    students = simulate_class(root, pool)
    return Course.at(root), students


def test_every_planted_case_is_flagged_and_no_honest_pair(graded_class):
    course, students = graded_class
    assert len(students) >= 12
    findings = check_integrity(course, ASSIGNMENT)
    found = {(f.kind, frozenset(s for s in (f.student_a, f.student_b) if s)) for f in findings.flags()}
    assert EXPECTED <= found, (EXPECTED - found, findings.flags(), findings.gaps)
    honest = set(HONEST)
    wrongly = [f for f in findings.flags() if {f.student_a, f.student_b} - {""} <= honest]
    assert not wrongly, wrongly
    # every flag involves a planted student (the planted cases flag nothing else by accident)
    assert all({f.student_a, f.student_b} - honest - {""} for f in findings.flags()), findings.flags()
    gaps = {g.student: g for g in findings.gaps}
    assert len(gaps) == len(students) and gaps["hidden_trainer"].gap > max(gaps[s].gap for s in honest)


def test_command_writes_the_report_and_tables(graded_class, capsys):
    from autograder.cli import main

    course, students = graded_class
    assert main(["integrity", ASSIGNMENT, "--course-dir", str(course.root)]) == 0
    out = capsys.readouterr().out
    assert "fine_tuned (model_quality): fine_tuner and honest_cy" in out
    folder = course.report_dir(ASSIGNMENT)
    page = (folder / "integrity.html").read_text()
    assert "never part of student feedback" in page and "<mark>" in page and "copy_second" in page
    with open(folder / "integrity_flags.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["kind"] for r in rows} == {kind for kind, _ in EXPECTED}
    assert all(r["evidence"] for r in rows)
    with open(folder / "integrity_models.csv", newline="") as fh:
        per_student = list(csv.DictReader(fh))
    assert {r["student"] for r in per_student} == set(students)
    assert not (course.root / "feedback").exists()
    _render_in_browser(folder / "integrity.html", folder.parent / "integrity.png")


def test_train_mode_keeps_no_model_files_so_only_code_is_checked(graded_class):
    course, _ = graded_class
    spec = course.reference_dir(ASSIGNMENT) / "spec.toml"
    text = spec.read_text()
    try:
        spec.write_text(text.replace('mode = "load"', 'mode = "train"') + '\n[train]\ncells = ["imports"]\n')
        findings = check_integrity(course, ASSIGNMENT)
    finally:
        spec.write_text(text)
    assert {f.kind for f in findings.flags()} == {"code_similarity"}
    assert any("train mode" in n and "only code similarity" in n for n in findings.notes)


def _render_in_browser(page, shot) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return  # tests/test_integrity_report.py says why it skips
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--window-size=1200,2400", f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.stat().st_size > 1000, proc.stderr[-2000:]
