"""The instructor report: tables, exports, formats, numbers against the gradebook, a real browser."""

from __future__ import annotations

import io
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from report_helpers import ASSIGNMENT, fake_course

from autograder.errors import AutograderError
from autograder.reports import write_reports
from autograder.reports.export import FORMATS, lms_frame, parse_formats
from autograder.reports.tables import model_parts_summary, parts_frame


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course, results = fake_course(tmp_path_factory.mktemp("report") / "course")
    return course, results, write_reports(course, ASSIGNMENT)


class Tables(HTMLParser):
    """Every <table> of a page as a list of rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables, self.imgs, self._cell = [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "img":
            self.imgs.append(dict(attrs)["src"])

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell.strip())
            self._cell = None


def page_of(written) -> Tables:
    parser = Tables()
    parser.feed((written.folder / "report.html").read_text(encoding="utf-8"))
    return parser


def gradebook_scores(course) -> dict[str, float]:
    """Each student's score of the assignment, read with nbgrader's API (not ours)."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}


def test_html_numbers_match_the_gradebook(graded):
    course, results, written = graded
    scores = next(t for t in page_of(written).tables if t[0][:2] == ["student", "total"])
    header, rows = scores[0], scores[1:]
    in_html = {row[0]: float(row[header.index("total")]) for row in rows}
    expected = gradebook_scores(course)
    assert set(in_html) == set(expected) == {r.student for r in results}
    for student, score in expected.items():
        assert in_html[student] == pytest.approx(score, abs=0.006), student
        row = next(r for r in rows if r[0] == student)
        assert float(row[header.index("gradebook_total")]) == pytest.approx(score, abs=0.006)


def test_every_figure_is_a_valid_embedded_and_written_png(graded):
    _, _, written = graded
    files = sorted((written.folder / "figures").glob("*.png"))
    stems = {f.stem for f in files}
    # one metric plot per part name: two models share "accuracy" and keep apart
    assert {"score_distribution", "time_per_submission", "metric_model_quality_accuracy",
            "metric_second_model_accuracy", "metric_model_quality_top_2_accuracy"} <= stems
    for f in files:
        with Image.open(f) as img:
            img.verify()
        with Image.open(f) as img:
            assert np.asarray(img.convert("L")).std() > 5, f"{f.name} is blank"
    embedded = page_of(written).imgs
    assert len(embedded) == len(files)
    assert all(src.startswith("data:image/png;base64,") for src in embedded)


def test_tables_key_metrics_by_part_and_record_failures_and_runs(graded):
    _, results, written = graded
    folder = written.folder
    report = pd.read_csv(folder / "report.csv")
    assert {"value:model_quality:accuracy", "value:second_model:accuracy"} <= set(report.columns)
    assert "value:accuracy" not in report.columns
    models = pd.read_csv(folder / "models.csv").set_index("part")
    assert models.loc["second_model:accuracy", "best"] == pytest.approx(0.96)
    assert models.loc["model_quality:accuracy", "measured"] == 2
    assert models.loc["model_quality:accuracy", "reference"] == pytest.approx(0.95)
    failures = pd.read_csv(folder / "failures.csv")
    broken = failures[failures["student"] == "broken_model"]
    assert "the model file toy_model.keras is missing" in set(broken["reason"])
    runs = pd.read_csv(folder / "runs.csv").set_index("student")
    assert runs.loc["perfect", "duration_s"] == 4.0 and runs.loc["perfect", "device"] == "cpu"
    parquet = pd.read_parquet(folder / "parts.parquet")
    assert len(parquet) == sum(len(r.parts) for r in results)


def test_nbgrader_export_and_lms_sheet(graded):
    course, _, written = graded
    export = pd.read_csv(written.folder / "nbgrader_export.csv")
    assert list(export.columns) == ["assignment", "duedate", "timestamp", "student_id", "last_name",
                                    "first_name", "email", "raw_score", "late_submission_penalty",
                                    "score", "max_score"]
    expected = gradebook_scores(course)
    assert dict(zip(export["student_id"], export["score"], strict=True)) == pytest.approx(expected)
    lms = pd.read_csv(written.folder / "lms.csv").set_index("student_id")
    assert list(lms.columns) == ["total", ASSIGNMENT]
    assert lms["total"].to_dict() == pytest.approx(expected)


def test_lms_sheet_sums_assignments():
    export = pd.DataFrame({"assignment": ["a", "b", "a"], "student_id": ["s1", "s1", "s2"],
                           "score": [1.0, 2.5, 4.0]})
    lms = lms_frame(export).set_index("student_id")
    assert lms.loc["s1"].to_dict() == {"total": 3.5, "a": 1.0, "b": 2.5}
    assert lms.loc["s2"].to_dict() == {"total": 4.0, "a": 4.0, "b": 0.0}
    assert list(lms_frame(export.iloc[:0]).columns) == ["student_id", "total"]


def test_format_option_writes_only_what_is_asked(graded, tmp_path):
    course, _, _ = graded
    written = write_reports(course, ASSIGNMENT, parse_formats("csv"))
    names = {p.name for p in written.files}
    assert "report.csv" in names and not {"report.html", "lms.csv", "report.parquet"} & names
    assert parse_formats(None) == FORMATS
    assert parse_formats("html, lms,html") == ("html", "lms")


@pytest.mark.parametrize("text", ["pdf", "", "csv,xlsx"])
def test_unknown_format_is_refused(text):
    with pytest.raises(AutograderError, match="unknown report format"):
        parse_formats(text)


def test_parquet_without_pyarrow_says_what_to_do(monkeypatch):
    monkeypatch.setattr("autograder.reports.export.parquet_available", lambda: False)
    with pytest.raises(AutograderError, match="needs pyarrow"):
        parse_formats("parquet")
    assert "parquet" not in parse_formats(None)


def test_summary_of_a_part_nobody_could_measure():
    from report_helpers import fake_result

    parts = parts_frame([fake_result("broken_model", 0.0, None, None)])
    summary = model_parts_summary(parts).set_index("part")
    assert summary.loc["second_model:accuracy", "measured"] == 0
    assert pd.isna(summary.loc["second_model:accuracy", "best"])


def test_report_renders_in_a_real_browser(graded, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (`make browser-tools` installs it as root with apt-get)")
    _, _, written = graded
    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--window-size=1200,2400", "--enable-logging=stderr", "--v=0", f"--screenshot={shot}",
         (written.folder / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not console, console
    pixels = np.asarray(Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 50, "the screenshot is blank"
    # the histogram's bars (#4c72b0) were drawn: the embedded figures decoded and rendered
    assert (np.abs(pixels.astype(int) - [0x4C, 0x72, 0xB0]).sum(axis=1) < 12).sum() > 500


def test_report_command_formats(graded, capsys):
    from autograder.cli import main

    course, _, _ = graded
    assert main(["report", ASSIGNMENT, "--course-dir", str(course.root), "--format", "pdf"]) == 2
    assert "unknown report format" in capsys.readouterr().err
    assert main(["report", ASSIGNMENT, "--course-dir", str(course.root), "--format", "csv,lms",
                 "--no-pictures"]) == 0
    out = capsys.readouterr().out
    assert "lms.csv" in out and "report.csv" in out and "report.html" not in out
    assert "value:second_model:accuracy" in out


def test_feedback_command_without_results(tmp_path, capsys):
    from autograder.cli import main

    (tmp_path / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    assert main(["feedback", ASSIGNMENT, "--course-dir", str(tmp_path)]) == 0
    assert "no results yet" in capsys.readouterr().out
