"""What grading a submission costs: measured, recorded, budgeted and reported."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

from autograder.cost import Cost, CostBudget, Usage, budget_overrun
from autograder.errors import SpecError
from autograder.results import PartResult, SubmissionResult, read_result, write_result
from autograder.runner.metering import SCORING, STUDENT, in_process, metering, record
from autograder.runner.sandbox import Limits, Sandbox, isolation_mode, run_sandboxed
from autograder.spec import parse_spec

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {s}: pass\n"


def burn(seconds: float) -> None:
    exec(BURN.format(s=seconds))


def test_usages_add_seconds_and_keep_the_larger_peak():
    a = Usage(cpu_s=1.0, wall_s=2.0, peak_memory_mb=100.0)
    b = Usage(cpu_s=0.5, wall_s=1.0, peak_memory_mb=300.0, gpu_s=0.5)
    both = a.plus(b)
    assert (both.cpu_s, both.wall_s, both.peak_memory_mb, both.gpu_s) == (1.5, 3.0, 300.0, 0.5)
    assert a.plus(a).gpu_s is None  # no GPU in play stays "none", not 0
    assert a.plus(b, wall=False).wall_s == 2.0


def test_budget_overrun_names_each_amount_over_and_nothing_within():
    cost = Cost(student=Usage(cpu_s=30.0, wall_s=40.0, peak_memory_mb=900.0),
                scoring=Usage(cpu_s=5.0, wall_s=5.0, peak_memory_mb=1200.0))
    assert budget_overrun(CostBudget(), cost) == ""
    assert budget_overrun(CostBudget(cpu_s=60, wall_s=60, memory_mb=2000), cost) == ""
    reason = budget_overrun(CostBudget(cpu_s=20, memory_mb=1000, gpu_s=1), cost)
    assert reason == ("over the assignment's cost budget per submission: CPU time 35.0 s > 20 s, "
                      "peak memory 1200.0 MB > 1000 MB")  # no GPU used: its budget is not over


MODEL_SPEC = {"assignment": "a", "notebook": "a", "task": "classifier", "dataset": "digits", "mode": "load",
              "model_file": "m.keras", "model_grade_id": "model", "seed": 1,
              "metrics": [{"name": "accuracy", "points": 4, "baseline": "majority_class"}]}


def test_spec_cost_table_is_optional_and_checked_like_limits():
    assert parse_spec(MODEL_SPEC).cost == CostBudget()
    spec = parse_spec({**MODEL_SPEC, "cost": {"cpu_s": 120, "memory_mb": 2048, "action": "flag"}})
    assert spec.cost == CostBudget(cpu_s=120.0, memory_mb=2048.0, action="flag")
    tests_only = parse_spec({"assignment": "t", "notebook": "t", "tests_only": True, "cost": {"wall_s": 5}})
    assert tests_only.cost.wall_s == 5.0
    for bad, says in (({"cpu_seconds": 1}, "unknown keys"), ({"cpu_s": 0}, "positive"),
                      ({"memory_mb": "lots"}, "positive"), ({"action": "fail"}, "action must be one of")):
        with pytest.raises(SpecError, match=says):
            parse_spec({**MODEL_SPEC, "cost": bad})


def result(student="s", cost=None, parts=()):
    return SubmissionResult(assignment="a", student=student, mode="load", parts=parts, device="CPU",
                            seed=1, data_fingerprint="f", reference_version="v", duration_s=1.0, cost=cost)


def test_results_keep_their_cost_and_older_results_load_without_one(tmp_path):
    cost = Cost(student=Usage(cpu_s=1.5, wall_s=2.0, peak_memory_mb=80.0, gpu_s=1.0),
                scoring=Usage(cpu_s=0.5, wall_s=0.6, peak_memory_mb=900.0), over_budget="over")
    write_result(result(cost=cost), tmp_path / "r.json")
    assert read_result(tmp_path / "r.json").cost == cost
    old = result().to_dict()
    del old["cost"]  # a result file written before costs were recorded
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert read_result(tmp_path / "old.json").cost is None


def test_a_sandbox_reports_its_cpu_memory_and_wall_time(tmp_path):
    code = BURN.format(s=0.6) + "x = bytearray(150 * 2**20)\nfor i in range(0, len(x), 4096): x[i] = 1\n"
    # held for a second: bwrap's outer process does not reap the sandbox's processes, so a peak
    # shorter than the watchdog's sampling interval is not seen (wait4 reports bwrap's own)
    code += "import time\ntime.sleep(1.0)\n"
    with metering() as meter:
        out = run_sandboxed([sys.executable, "-c", code],
                            Sandbox(scratch=tmp_path / "s", limits=Limits(wall_s=30.0)))
    assert out.returncode == 0, out.stderr
    used = meter.usage(STUDENT)
    assert used == out.usage and meter.usage(SCORING) == Usage()
    assert 0.6 <= used.cpu_s < 5.0  # the kernel's own account when the sandbox is reaped
    assert used.peak_memory_mb >= 150
    assert used.wall_s >= used.cpu_s / (os.cpu_count() or 1)
    assert used.gpu_s is None


def test_the_watchdog_samples_a_tree_it_does_not_reap(tmp_path):
    """A kernel is reaped by jupyter_client, not by us: its cost is the watchdog's samples."""
    import subprocess

    from autograder.runner.sandbox import Watchdog

    proc = subprocess.Popen([sys.executable, "-c", BURN.format(s=0.8) + "time.sleep(0.5)"])
    dog = Watchdog(proc.pid, Sandbox(scratch=tmp_path, limits=Limits(wall_s=30.0), gpu=None), interval=0.05)
    dog.start()
    proc.wait()
    dog.stop()
    used = dog.usage()
    assert 0.6 <= used.cpu_s <= 2.0 and used.peak_memory_mb > 5 and used.wall_s >= 1.0


def test_in_process_scoring_counts_its_own_cpu_and_the_wall_time_of_the_sandboxes_within(tmp_path):
    with metering() as meter:
        with in_process(SCORING):
            burn(0.3)
            record(SCORING, Usage(cpu_s=2.0, wall_s=50.0, peak_memory_mb=10.0))  # a sandbox inside
        record(STUDENT, Usage(cpu_s=1.0, wall_s=3.0, peak_memory_mb=20.0))
    scoring = meter.usage(SCORING)
    assert scoring.cpu_s >= 2.3 and scoring.wall_s < 5.0  # the sandbox's wall time is inside the block's
    assert scoring.peak_memory_mb > 10  # this process's own peak
    assert meter.usage(STUDENT) == Usage(cpu_s=1.0, wall_s=3.0, peak_memory_mb=20.0)
    record(STUDENT, Usage(cpu_s=9.0))  # no meter open: counted nowhere
    assert meter.usage(STUDENT).cpu_s == 1.0


def test_over_budget_zeroes_the_model_parts_with_the_reason_or_only_flags():
    from autograder.runner.grade import apply_budget

    model = (PartResult(name="model:accuracy", kind="model", points=3.0, max_points=4.0, metric="accuracy",
                        value=0.9),)
    cost = Cost(student=Usage(cpu_s=100.0, wall_s=100.0, peak_memory_mb=10.0))
    spec = parse_spec({**MODEL_SPEC, "cost": {"cpu_s": 10}})
    parts, charged = apply_budget(spec, model, cost)
    assert parts[0].points == 0.0 and parts[0].value == 0.9
    assert parts[0].reason == charged.over_budget == (
        "over the assignment's cost budget per submission: CPU time 100.0 s > 10 s")
    flagged = parse_spec({**MODEL_SPEC, "cost": {"cpu_s": 10, "action": "flag"}})
    parts, charged = apply_budget(flagged, model, cost)
    assert parts == model and charged.over_budget.startswith("over the assignment's cost budget")
    assert apply_budget(parse_spec(MODEL_SPEC), model, cost) == (model, cost)


def test_report_totals_costs_and_lists_the_most_expensive_first():
    from autograder.reports.page import cost_html
    from autograder.reports.report import build_report

    results = [result(f"s{i}", Cost(student=Usage(cpu_s=float(i), wall_s=2.0 * i, peak_memory_mb=100.0 * i),
                                    scoring=Usage(cpu_s=1.0, wall_s=1.0, peak_memory_mb=50.0),
                                    over_budget="over" if i == 12 else ""))
               for i in range(1, 13)] + [result("old")]
    report = build_report("a", results)
    costs = report.costs
    assert list(costs["student"][:3]) == ["s12", "s11", "s10"] and "old" not in set(costs["student"])
    totals = report.cost_totals.iloc[0]
    assert totals["submissions"] == 12 and totals["over_budget"] == 1
    assert totals["total_cpu_s"] == sum(range(1, 13)) + 12 and totals["student_cpu_s"] == 78
    assert totals["total_peak_memory_mb"] == 1200 and totals["total_gpu_s"] is None
    page = cost_html(report, top=3)
    assert "12 submissions cost in total: CPU 90.0 s (student code 78.0 s, scoring 12.0 s)" in page
    assert "Most expensive submissions (top 3" in page and "s12" in page and "s9" not in page
    assert {"costs", "cost_totals"} <= set(report.tables())
    assert "no costs recorded" in cost_html(build_report("a", [result("old")]))


@pytest.mark.slow
def test_a_graded_submission_records_its_cost_and_the_report_shows_it(tiny_course_template, tmp_path):
    """The tiny tests-only assignment, graded for real: the student's code burns a second of CPU."""
    from tiny_assignment import NAME, tiny_course_copy

    from autograder.demo import COURSE_ID
    from autograder.demo import student as st
    from autograder.reports import write_reports
    from autograder.runner.grade import grade_assignment

    course = tiny_course_copy(tiny_course_template, tmp_path / "course")
    spec = course.root / "reference_models" / NAME / "spec.toml"
    spec.write_text(spec.read_text() + "\n[cost]\ncpu_s = 0.5\n")
    home = tmp_path / "home"
    st.fetch(COURSE_ID, course.root / "exchange", home, NAME, "student1")
    solution = BURN.format(s=1.0) + "def square(x):\n    return x * x"
    st.fill_in(home / NAME / f"{NAME}.ipynb", {"square": solution})
    st.submit(COURSE_ID, course.root / "exchange", home, NAME, "student1")
    assert course.nbgrader_api().collect(NAME).get("success")
    start = time.perf_counter()
    [graded] = grade_assignment(course, NAME, workers=1, log=lambda _m: None)
    elapsed = time.perf_counter() - start
    assert graded.total == 3.0  # a tests-only assignment has no model points to zero: flagged only
    cost = read_result(course.result_path(NAME, "student1")).cost
    print(f"graded in {elapsed:.1f} s; cost {cost}")
    assert cost == graded.cost
    assert 1.0 <= cost.student.cpu_s < 30 and cost.student.peak_memory_mb > 20
    assert cost.student.cpu_s / (os.cpu_count() or 1) <= cost.student.wall_s <= elapsed
    assert cost.scoring == Usage() and cost.student.gpu_s is None  # no model, no GPU
    assert cost.over_budget.startswith("over the assignment's cost budget per submission: CPU time")
    written = write_reports(course, NAME, formats=("csv", "html"))
    assert "student1" in (written.folder / "costs.csv").read_text()
    assert "submissions cost in total" in (written.folder / "report.html").read_text()
    if isolation_mode() == "bwrap":
        assert graded.isolation == "bwrap"
