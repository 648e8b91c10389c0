"""The integrity report of an assignment: ``reports/<assignment>/integrity.html`` and CSV tables.

For instructors only: nothing here reaches student feedback (``autograder feedback`` never reads
these files). Knows nothing of TensorFlow: it renders :class:`IntegrityFindings`.

Tables (CSV): ``integrity_flags`` (one row per flag, with its evidence), ``integrity_code_pairs``
(pairs of code over the threshold, matching lines), ``integrity_model_pairs`` (shared models,
distances per weight array), ``integrity_models`` (per student and model: nearest classmate by
weights, public and hidden scores, gap).
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from ..course import Course
from .code import CodePair, format_lines
from .findings import FLAG_KINDS, IntegrityFindings

FORMATS = ("html", "csv")

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; font-size: 14px;
         vertical-align: top; }
th { background: #f3f3f3; }
.confidential { background: #fff3cd; border: 1px solid #e0c36a; padding: 8px 12px; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; margin-bottom: 2em; }
.pair > div { min-width: 0; }
.pair pre { background: #f8f8f8; border: 1px solid #ddd; padding: 8px; overflow-x: auto;
            font-size: 12px; margin: 0; }
mark { background: #f4a261; }
"""


def tables(findings: IntegrityFindings) -> dict[str, pd.DataFrame]:
    """The report's tables, by file name (without ``.csv``)."""
    flags = pd.DataFrame([vars(f) for f in findings.flags()],
                         columns=["kind", "subject", "student_a", "student_b", "score", "threshold",
                                  "evidence"])
    code = pd.DataFrame(
        [{"notebook": p.notebook, "student_a": p.student_a, "student_b": p.student_b,
          "similarity_a": p.similarity_a, "similarity_b": p.similarity_b, "overlap": p.overlap,
          "lines_a": format_lines(p.lines_a()), "lines_b": format_lines(p.lines_b())}
         for p in findings.code_pairs],
        columns=["notebook", "student_a", "student_b", "similarity_a", "similarity_b", "overlap", "lines_a",
                 "lines_b"])
    models = pd.DataFrame(
        [{"model": p.model, "kind": p.kind, "student_a": p.student_a, "student_b": p.student_b,
          "distance": p.distance, "threshold": p.threshold, "reference": p.reference,
          "layer_distances": " ".join(f"{d:.4g}" for d in p.layers)} for p in findings.model_pairs],
        columns=["model", "kind", "student_a", "student_b", "distance", "threshold", "reference",
                 "layer_distances"])
    return {"integrity_flags": flags, "integrity_code_pairs": code, "integrity_model_pairs": models,
            "integrity_models": per_student(findings)}


def per_student(findings: IntegrityFindings) -> pd.DataFrame:
    """Per student and model: the nearest classmate by weights and the public/hidden scores."""
    rows: dict[tuple[str, str], dict] = {}
    for n in findings.nearest:
        rows[(n.model, n.student)] = {"model": n.model, "student": n.student, "nearest": n.nearest,
                                      "nearest_distance": n.distance, "independent_median": n.reference}
    for g in findings.gaps:
        row = rows.setdefault((g.model, g.student), {"model": g.model, "student": g.student})
        row.update(metric=g.metric, public=round(g.public, 6), hidden=round(g.hidden, 6), gap=round(g.gap, 6))
    columns = ["model", "student", "nearest", "nearest_distance", "independent_median", "metric", "public",
               "hidden", "gap"]
    return pd.DataFrame([rows[k] for k in sorted(rows)], columns=columns)


def _table(frame: pd.DataFrame, css: str) -> str:
    if frame.empty:
        return "<p>(none)</p>"
    return frame.to_html(index=False, na_rep="", classes=css, border=0, escape=True,
                         float_format=lambda v: f"{v:.4g}")


def marked(code: str, spans: tuple[tuple[int, int], ...]) -> str:
    """``code`` as HTML, its matching ``spans`` in ``<mark>``."""
    out, at = [], 0
    for start, end in sorted(spans):
        start = max(start, at)
        if end <= start:
            continue
        out += [html.escape(code[at:start]), "<mark>", html.escape(code[start:end]), "</mark>"]
        at = end
    out.append(html.escape(code[at:]))
    return "".join(out)


def pair_html(pair: CodePair) -> str:
    """Two students' code side by side, the matching parts marked."""
    def side(student: str, similarity: float, code: str, spans) -> str:
        return (f"<div><h4>{html.escape(student)}: {similarity:.0%} matched</h4>"
                f"<pre>{marked(code, spans)}</pre></div>")

    title = (f"{html.escape(pair.notebook)}: {html.escape(pair.student_a)} and "
             f"{html.escape(pair.student_b)}")
    return (f"<h3>{title}</h3><div class='pair'>"
            f"{side(pair.student_a, pair.similarity_a, pair.code_a, pair.spans_a)}"
            f"{side(pair.student_b, pair.similarity_b, pair.code_b, pair.spans_b)}</div>")


def render_page(findings: IntegrityFindings) -> str:
    """The whole page: flags, code pairs side by side, shared models, per-student table."""
    name = html.escape(findings.assignment)
    frames = tables(findings)
    flags = findings.flags()
    counts = ", ".join(f"{sum(f.kind == k for f in flags)} {k}" for k in FLAG_KINDS)
    notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in findings.notes)
    stats = pd.DataFrame([vars(s) for s in findings.gap_stats],
                         columns=["model", "models", "median", "spread", "threshold"])
    pairs = "".join(pair_html(p) for p in findings.code_pairs) or "<p>(none)</p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Academic integrity: {name}</title>
<style>{_STYLE}</style></head><body>
<h1>Academic integrity: {name}</h1>
<p class="confidential">For instructors only; never part of student feedback. Each flag is a
signal to look into, not proof: read the evidence, and the students' work, before concluding.</p>
<p>{len(findings.students)} submissions; {len(flags)} flags: {counts}.</p>
{notes}
<h2>Flags</h2>
{_table(frames["integrity_flags"], "flags")}
<h2>Code: pairs over the threshold, side by side</h2>
{pairs}
<h2>Models: shared files and weights</h2>
{_table(frames["integrity_model_pairs"], "model-pairs")}
<h2>Hidden data: the class's gaps (hidden minus public score)</h2>
{_table(stats, "gap-stats")}
<h2>Each student's model</h2>
{_table(frames["integrity_models"], "models")}
</body></html>
"""


def write_integrity_report(course: Course, findings: IntegrityFindings,
                           formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write ``integrity.html`` and the CSV tables into ``reports/<assignment>/``."""
    folder = course.report_dir(findings.assignment)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if "csv" in formats:
        for stem, frame in tables(findings).items():
            written.append(folder / f"{stem}.csv")
            frame.to_csv(written[-1], index=False)
    if "html" in formats:
        written.append(folder / "integrity.html")
        written[-1].write_text(render_page(findings), encoding="utf-8")
    return written
