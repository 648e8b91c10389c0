"""One assignment's instructor report: its tables and figures, built from results and pictures."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..pictures import ClassifierPictures, Pictures, ReconstructionPictures
from ..results import SubmissionResult
from . import figures
from .table import results_frame
from .tables import cost_totals, costs_frame, failures_frame, model_parts_summary, parts_frame, runs_frame


@dataclass(frozen=True)
class Figure:
    """A picture of the report: a file stem, a caption, PNG bytes."""

    stem: str
    caption: str
    png: bytes


@dataclass(frozen=True)
class Report:
    """The instructor report of one assignment."""

    assignment: str
    scores: pd.DataFrame
    parts: pd.DataFrame
    models: pd.DataFrame
    failures: pd.DataFrame
    runs: pd.DataFrame
    figures: tuple[Figure, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: what each submission cost, most expensive first (see :func:`.tables.costs_frame`)
    costs: pd.DataFrame = field(default_factory=lambda: costs_frame([]))

    @property
    def cost_totals(self) -> pd.DataFrame:
        return cost_totals(self.costs)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"report": self.scores, "parts": self.parts, "models": self.models,
                "failures": self.failures, "runs": self.runs, "costs": self.costs,
                "cost_totals": self.cost_totals}


def build_report(assignment: str, results: list[SubmissionResult],
                 gradebook_totals: dict[str, float] | None = None,
                 pictures: dict[str, dict[str, Pictures]] | None = None,
                 notes: tuple[str, ...] = ()) -> Report:
    """Tables and figures of ``results``; ``pictures`` maps model grade id -> student -> pictures."""
    parts = parts_frame(results)
    report = Report(
        assignment=assignment, scores=results_frame(results, gradebook_totals), parts=parts,
        models=model_parts_summary(parts), failures=failures_frame(parts), runs=runs_frame(results),
        notes=tuple(notes), costs=costs_frame(results),
    )
    figs = score_figures(report, results) + picture_figures(pictures or {})
    return dataclasses.replace(report, figures=tuple(figs))


def score_figures(report: Report, results: list[SubmissionResult]) -> list[Figure]:
    """Score distribution, each model metric against its reference, time per submission."""
    if not results:
        return []
    max_total = max(r.max_total for r in results)
    out = [Figure("score_distribution", "Distribution of total points",
                  figures.score_distribution(report.scores["total"], max_total))]
    model = report.parts[report.parts["kind"] == "model"]
    for row in report.models.itertuples():
        rows = model[model["part"] == row.part]
        if row.reference is None or row.baseline is None or pd.isna(row.reference):
            continue
        out.append(Figure(
            "metric_" + _stem(row.part), f"{row.part}: each student against the reference and baseline",
            figures.metric_against_reference(row.part, rows["value"], list(rows["student"]),
                                             float(row.reference), float(row.baseline))))
    out.append(Figure("time_per_submission", "Grading time per submission (device)",
                      figures.time_per_submission(list(report.runs["student"]),
                                                  list(report.runs["duration_s"]),
                                                  list(report.runs["device"]))))
    return out


def picture_figures(pictures: dict[str, dict[str, Pictures]]) -> list[Figure]:
    """Per model: the class's summed confusion matrix, or its best and worst reconstructions."""
    out = []
    for grade_id, by_student in sorted(pictures.items()):
        classifiers = [p for p in by_student.values() if isinstance(p, ClassifierPictures)]
        if classifiers:
            total = class_confusion(classifiers)
            out.append(Figure(f"confusion_{_stem(grade_id)}",
                              f"{grade_id}: confusion matrix of the class's {len(classifiers)} classifiers",
                              figures.confusion_matrix_plot(total, f"{grade_id}: all classifiers")))
        recon = {s: p for s, p in by_student.items() if isinstance(p, ReconstructionPictures)}
        if recon:
            rows, titles = best_and_worst(recon)
            out.append(Figure(f"reconstructions_{_stem(grade_id)}",
                              f"{grade_id}: the class's best and worst reconstructions",
                              figures.image_grid(rows, titles, ["input", "output", "target"],
                                                 f"{grade_id}: best (top) and worst (bottom)")))
    return out


def class_confusion(pictures: list[ClassifierPictures]) -> np.ndarray:
    """The sum of confusion matrices (padded to the largest number of classes)."""
    n = max(p.confusion.shape[0] for p in pictures)
    total = np.zeros((n, n), dtype=np.int64)
    for p in pictures:
        k = p.confusion.shape[0]
        total[:k, :k] += p.confusion
    return total


def best_and_worst(recon: dict[str, ReconstructionPictures], n: int = 3):
    """The ``n`` lowest- and ``n`` highest-error examples over every student's chosen examples."""
    pool = [(float(p.errors[i]), student, p, i) for student, p in sorted(recon.items())
            for i in range(len(p.errors))]
    pool.sort(key=lambda item: item[0])
    n = max(1, min(n, len(pool) // 2))
    chosen = pool[:n] + pool[::-1][:n] if len(pool) > 1 else pool
    rows = [[p.inputs[i], p.outputs[i], p.targets[i]] for _, _, p, i in chosen]
    titles = [f"{s}\nMSE {e:.4f}" for e, s, _, _ in chosen]
    return rows, titles


def _stem(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
