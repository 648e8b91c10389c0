"""The integrity report: tables, the page (code side by side), several notebooks, a real browser."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess

import nbformat
import numpy as np
import pytest

from autograder.course import Course
from autograder.integrity import FLAG_KINDS, IntegrityFindings, check_integrity, write_integrity_report
from autograder.integrity.code import CodeDocument, similar_code
from autograder.integrity.hidden import ScoreGap, hidden_data_flags
from autograder.integrity.report import marked, render_page, tables
from autograder.integrity.weights import shared_models, summarize

pytest.importorskip("copydetect")

COPIED = """def area(width, height):
    product = width * height
    if product < 0:
        raise ValueError("negative area from " + str(width) + " and " + str(height))
    return product

def perimeter(width, height):
    total = 2 * (width + height)
    return total
"""
RENAMED = COPIED.replace("width", "w").replace("height", "h").replace("product", "p").replace("total", "t")
OWN = """import math

def circle(radius):
    return math.pi * radius ** 2
"""


def findings() -> IntegrityFindings:
    """Findings with one flag of every kind, built from small synthetic inputs."""
    rng = np.random.default_rng(0)
    models = {s: [rng.normal(size=(4, 8)), rng.normal(size=8)] for s in ("ann", "ben", "cat", "dan")}
    summaries = [summarize(s, "m", f"f-{s}", w) for s, w in models.items()]
    summaries += [summarize("eve", "m", "f-ann", models["ann"]),  # the same file
                  summarize("fox", "m", "f-fox", models["ben"]),  # the same weights
                  summarize("gil", "m", "f-gil", [w + 1e-6 for w in models["cat"]]),
                  summarize("hal", "m", "f-hal", [w + 0.05 * rng.normal(size=w.shape)
                                                  for w in models["dan"]])]
    pairs, nearest = shared_models(summaries)
    gaps = [ScoreGap(s, "m", "accuracy", True, 1.0, 0.7 + 0.01 * i, f"w{s}")
            for i, s in enumerate(("ann", "ben", "cat", "dan", "fox", "gil"))]
    gaps.append(ScoreGap("hal", "m", "accuracy", True, 0.99, 0.99, "whal"))
    flags, stats = hidden_data_flags(gaps)
    docs = [CodeDocument("ann", "nb", COPIED), CodeDocument("ben", "nb", RENAMED + "\n<b>x</b>\n"),
            CodeDocument("cat", "nb", OWN)]
    code = similar_code(docs, threshold=0.5, min_overlap=20)
    students = ("ann", "ben", "cat", "dan", "eve", "fox", "gil", "hal")
    return IntegrityFindings("toy", students, tuple(code), 0.5, tuple(pairs), tuple(nearest), tuple(gaps),
                             tuple(stats), tuple(flags), ("a note for the instructor",))


def test_every_kind_becomes_a_flag_with_evidence():
    found = findings()
    kinds = [f.kind for f in found.flags()]
    assert kinds == list(FLAG_KINDS)
    assert all(f.evidence for f in found.flags())
    assert found.flagged_students() == {"ann", "ben", "cat", "dan", "eve", "fox", "gil", "hal"}


def test_tables_and_page():
    found = findings()
    frames = tables(found)
    assert list(frames["integrity_flags"]["kind"]) == list(FLAG_KINDS)
    assert frames["integrity_code_pairs"].loc[0, "lines_a"].startswith("1")
    assert set(frames["integrity_models"]["student"]) >= {"ann", "hal"}
    page = render_page(found)
    assert "never part of student feedback" in page and "a note for the instructor" in page
    assert page.count("<mark>") >= 2 and "&lt;b&gt;" in page  # students' code is escaped
    assert marked("abcdef", ((1, 3), (2, 5))) == "a<mark>bc</mark><mark>de</mark>f"


def test_written_files(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    written = write_integrity_report(Course.at(tmp_path), findings())
    assert sorted(p.name for p in written) == [
        "integrity.html", "integrity_code_pairs.csv", "integrity_flags.csv", "integrity_model_pairs.csv",
        "integrity_models.csv"]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "reports/toy/integrity_flags.csv").read_text())))
    assert [r["kind"] for r in rows] == list(FLAG_KINDS)


def _notebook(*sources: str, solution: bool = True) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for i, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = {"grade_id": f"cell{i}", "solution": solution, "grade": False,
                                     "locked": False, "schema_version": 3}
        nb.cells.append(cell)
    return nb


def test_several_notebooks_without_a_model_code_only(tmp_path, capsys):
    """An assignment of two notebooks and no spec: each notebook is compared on its own."""
    from autograder.cli import main

    root = tmp_path / "course"
    for folder in ("source/hw", "release/hw"):
        (root / folder).mkdir(parents=True)
        for name in ("part1", "part2"):
            stub = _notebook("# YOUR CODE HERE\nraise NotImplementedError()")
            nbformat.write(stub, root / folder / f"{name}.ipynb")
    (root / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    handed_in = {"ann": (OWN, COPIED), "ben": (COPIED.replace("area", "surface"), RENAMED), "cat": ("", OWN)}
    for student, (part1, part2) in handed_in.items():
        folder = root / "submitted" / student / "hw"
        folder.mkdir(parents=True)
        nbformat.write(_notebook(part1), folder / "part1.ipynb")
        nbformat.write(_notebook(part2), folder / "part2.ipynb")
    found = check_integrity(Course.at(root), "hw", thresholds=_low_overlap())
    assert [(f.kind, f.subject, f.student_a, f.student_b) for f in found.flags()] == [
        ("code_similarity", "part2", "ann", "ben")]
    assert "no graded model: code similarity only" in found.notes
    assert main(["integrity", "hw", "--course-dir", str(root), "--no-models"]) == 0
    assert "code_similarity (part2): ann and ben" in capsys.readouterr().out
    assert (root / "reports/hw/integrity.html").is_file()
    (root / "reports/hw/integrity.html").unlink()
    assert main(["report", "hw", "--course-dir", str(root), "--format", "csv", "--no-pictures",
                 "--integrity"]) == 0
    assert "1 integrity flags for 3 submissions" in capsys.readouterr().out
    assert (root / "reports/hw/integrity.html").is_file()


def _low_overlap():
    from autograder.integrity import Thresholds

    return Thresholds(code_min_overlap=20)


def test_report_renders_in_a_real_browser(tmp_path):
    from PIL import Image

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (`make browser-tools` installs it as root with apt-get)")
    page = tmp_path / "integrity.html"
    page.write_text(render_page(findings()), encoding="utf-8")
    shot = tmp_path / "integrity.png"
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--window-size=1200,2400", "--enable-logging=stderr", "--v=0", f"--screenshot={shot}",
         page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not console, console
    pixels = np.asarray(Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 20, "the screenshot is blank"
    # the matching code is marked (#f4a261) beside its copy
    assert (np.abs(pixels.astype(int) - [0xF4, 0xA2, 0x61]).sum(axis=1) < 12).sum() > 200
