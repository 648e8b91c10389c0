"""Each student's model section in nbgrader's feedback: their metric against the reference, what
the points mean, and pictures of their own model.

Pictures come from the student's saved model run on data the student may see (their training
split), never on hidden test data: feedback goes to students. The sections are written as
markdown files that :class:`autograder.nbgrader_feedback.AddModelFeedback` inserts when
``nbgrader generate_feedback`` runs.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

from .course import Course
from .nbgrader_feedback import section_folder
from .pictures import ClassifierPictures, NeighbourPictures, Pictures, ReconstructionPictures
from .results import PartResult, SubmissionResult

# Feedback pictures are computed on this split only: students see it anyway.
FEEDBACK_SPLIT = "train"


@dataclass(frozen=True)
class FeedbackFigure:
    caption: str
    png: bytes


def part_lines(parts: list[PartResult]) -> list[str]:
    """An HTML table (markdown tables render unpadded in nbgrader's feedback): each metric, the
    student's value, reference, baseline, points."""
    cell = 'style="padding: 2px 12px; text-align: left; border-bottom: 1px solid #ddd"'
    header = ["metric", "your model", "reference", "baseline (0 points)", "points"]
    lines = ["<table>", "<tr>" + "".join(f"<th {cell}>{h}</th>" for h in header) + "</tr>"]
    for p in parts:
        value = "not measured" if p.value is None else f"{p.value:.4f}"
        ref = "" if p.reference is None else f"{p.reference:.4f}"
        base = "" if p.baseline is None else f"{p.baseline:.4f}"
        extra = " (extra credit)" if p.extra_credit else ""
        row = [html.escape(p.metric or p.name), value, ref, base, f"{p.points:.2f} / {p.max_points:g}{extra}"]
        lines.append("<tr>" + "".join(f"<td {cell}>{v}</td>" for v in row) + "</tr>")
    return [*lines, "</table>"]


def section_markdown(grade_id: str, parts: list[PartResult], figures: list[FeedbackFigure]) -> str:
    """The model section of one model (grade id) of a student's feedback."""
    lines = [f"## Your model ({grade_id})", "",
             "Your saved model was measured by the grader. Each metric earns 0 points at the "
             "*baseline* (a trivial model, e.g. always the most frequent class or the mean image) "
             "and full points at the *reference* (the instructor's model), linearly in between; "
             "doing better than the reference still earns full points.", ""]
    lines += part_lines(parts)
    reasons = [f"- {p.metric}: {p.reason}" for p in parts if p.reason and p.value is None]
    if reasons:
        lines += ["", "Why a metric was not measured:", *reasons]
    if figures:
        lines += ["", "Pictures of your model on your own training data:", ""]
        for fig in figures:
            uri = "data:image/png;base64," + base64.b64encode(fig.png).decode("ascii")
            lines += [f"**{fig.caption}**", "", f"![{fig.caption}]({uri})", ""]
    return "\n".join(lines).rstrip() + "\n"


def figures_of(pictures: Pictures | None) -> list[FeedbackFigure]:
    """Pictures of a student's own model, drawn for their feedback."""
    from .reports import figures

    if isinstance(pictures, ClassifierPictures):
        out = [FeedbackFigure("Confusion matrix (rows: true class, columns: your prediction)",
                              figures.confusion_matrix_plot(pictures.confusion, "your classifier"))]
        # inputs that are not images (e.g. a flower's 4 measurements) are not drawn
        if len(pictures.mistake_images) and pictures.mistake_images[0].size >= 64:
            titles = [f"true {t}, yours: {a} then {b}"
                      for t, (a, b) in zip(pictures.mistake_true, pictures.mistake_top2, strict=True)]
            grid = figures.image_grid([[im] for im in pictures.mistake_images], titles, ["input"],
                                      "your most confident mistakes")
            out.append(FeedbackFigure("Your model's most confident mistakes (its top 2 guesses)", grid))
        return out
    if isinstance(pictures, ReconstructionPictures):
        rows = [[i, o, t] for i, o, t in zip(pictures.inputs, pictures.outputs, pictures.targets,
                                             strict=True)]
        titles = [f"{'best' if k < pictures.n_best else 'worst'}\nMSE {e:.4f}"
                  for k, e in enumerate(pictures.errors)]
        return [FeedbackFigure("Your model's best and worst outputs",
                               figures.image_grid(rows, titles, ["input", "your output", "target"],
                                                  "best (top) and worst (bottom)"))]
    if isinstance(pictures, NeighbourPictures) and len(pictures.queries):
        rows = [[q, m] for q, m in zip(pictures.queries, pictures.matches, strict=True)]
        titles = [f"{'same person' if same else 'SOMEONE ELSE'}\nd {d:.3f}"
                  for same, d in zip(pictures.same, pictures.distances, strict=True)]
        caption = (f"Your model's closest matches (its nearest other photo is the same person for "
                   f"{pictures.recall_at_1:.0%} of the photos); wrong ones, closest first, below")
        return [FeedbackFigure(caption, figures.image_grid(rows, titles, ["photo", "closest other photo"],
                                                           "closest matches by your encodings"))]
    return []


def pending_markdown(part: PartResult) -> str:
    """The note under a manually graded cell nobody has graded yet."""
    return (f"**Awaiting manual grading** ({part.max_points:g} points): your instructor grades "
            "this answer by hand; its points are not in your total yet.\n")


def write_sections(course: Course, result: SubmissionResult,
                   pictures: dict[str, Pictures | None]) -> list[Path]:
    """Write the feedback sections of one student: one file per model grade id and per manually
    graded cell still awaiting its grade, in the folder of the notebook that holds the cell."""
    root = section_folder(course.root / "results", result.assignment, result.student)
    for stale in root.glob("**/*.md"):
        stale.unlink()
    by_model: dict[tuple[str, str], list[PartResult]] = {}
    for p in result.parts:
        if p.kind == "model":
            by_model.setdefault((p.notebook, p.name.rsplit(":", 1)[0]), []).append(p)
    written = []
    for (notebook, grade_id), parts in by_model.items():
        text = section_markdown(grade_id, parts, figures_of(pictures.get(grade_id)))
        written.append(_write(root / notebook / f"{grade_id}.md", text))
    for p in result.parts:
        if p.pending:
            written.append(_write(root / p.notebook / f"{p.name.rsplit('/', 1)[-1]}.md", pending_markdown(p)))
    return written


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def student_pictures(course: Course, result: SubmissionResult,
                     limit: int = 300) -> dict[str, Pictures | None]:
    """Pictures of the student's saved models on the first ``limit`` examples of their training split."""
    from .pictures import student_model_pictures

    return student_model_pictures(course, result.assignment, result.student, FEEDBACK_SPLIT, limit)


def generate_feedback(course: Course, assignment: str, results: list[SubmissionResult],
                      pictures: bool = True) -> dict:
    """Write every student's model sections, then run nbgrader's generate_feedback."""
    for r in results:
        write_sections(course, r, student_pictures(course, r) if pictures else {})
    api = course.nbgrader_api(**{"AddModelFeedback.results_root": str(course.root / "results")})
    return api.generate_feedback(assignment)
