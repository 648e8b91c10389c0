"""Report plots as PNG bytes (matplotlib's Agg canvas, no display, no global pyplot state).

Every function takes plain data (pandas frames, numpy arrays) and returns the bytes of a PNG, so
the same picture can be embedded in HTML and written as a file.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd


def _figure(width: float = 6.0, height: float = 3.6):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def score_distribution(totals: pd.Series, max_total: float) -> bytes:
    """Histogram of students' totals between 0 and the assignment's maximum."""
    fig = _figure()
    ax = fig.add_subplot()
    top = max(float(max_total), float(totals.max()) if len(totals) else 0.0, 1.0)
    ax.hist(totals.astype(float), bins=np.linspace(0, top, 11), color="#4c72b0", edgecolor="white")
    ax.set_xlabel("total points")
    ax.set_ylabel("students")
    ax.set_title(f"Score distribution ({len(totals)} submissions, max {max_total:g})")
    return _png(fig)


def metric_against_reference(part: str, values: pd.Series, students: Sequence[str],
                             reference: float, baseline: float) -> bytes:
    """Each student's value of one model metric, with the reference and baseline lines."""
    fig = _figure(6.0, 0.8 + 0.3 * max(len(students), 3))
    ax = fig.add_subplot()
    y = np.arange(len(students))
    measured = values.astype(float).to_numpy()
    shown = np.where(np.isnan(measured), baseline, measured)
    colors = ["#c44e52" if np.isnan(v) else "#4c72b0" for v in measured]
    ax.scatter(shown, y, c=colors, zorder=3)
    ax.axvline(reference, color="#55a868", linestyle="-", label=f"reference {reference:.4g}")
    ax.axvline(baseline, color="#8c8c8c", linestyle="--", label=f"baseline {baseline:.4g}")
    ax.set_yticks(y, labels=list(students))
    ax.set_xlabel(part + " (red: not measured)")
    ax.set_title(part)
    ax.legend(loc="best", fontsize=8)
    return _png(fig)


def time_per_submission(students: Sequence[str], seconds: Sequence[float],
                        devices: Sequence[str]) -> bytes:
    """Grading time of each submission, labelled with the device it ran on."""
    fig = _figure(6.0, 0.8 + 0.3 * max(len(students), 3))
    ax = fig.add_subplot()
    y = np.arange(len(students))
    ax.barh(y, list(seconds), color="#dd8452")
    ax.set_yticks(y, labels=[f"{s} ({d})" for s, d in zip(students, devices, strict=True)])
    ax.set_xlabel("seconds")
    ax.set_title("Grading time per submission")
    return _png(fig)


def confusion_matrix_plot(matrix: np.ndarray, title: str) -> bytes:
    """A confusion matrix (rows: true class, columns: predicted class) with its counts."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got shape {matrix.shape}")
    fig = _figure(4.8, 4.4)
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="Blues")
    n = matrix.shape[0]
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    if n <= 12:
        top = matrix.max() if matrix.size else 0
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if matrix[i, j] > top / 2 else "black")
    return _png(fig)


def image_grid(rows: Sequence[Sequence[np.ndarray]], row_titles: Sequence[str],
               col_titles: Sequence[str], title: str) -> bytes:
    """A grid of images: one row per example, one column per kind (input, output, target)."""
    if not rows:
        raise ValueError("an image grid needs at least one row")
    n_cols = len(rows[0])
    fig = _figure(1.4 * n_cols + 1.2, 1.3 * len(rows) + 0.6)
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            ax = fig.add_subplot(len(rows), n_cols, i * n_cols + j + 1)
            ax.imshow(as_image(image), cmap="gray", vmin=0.0, vmax=1.0)  # cmap: grey images only
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(col_titles[j], fontsize=8)
            if j == 0:
                ax.set_ylabel(row_titles[i], fontsize=7)
    fig.suptitle(title, fontsize=10)
    return _png(fig)


def as_image(array: np.ndarray) -> np.ndarray:
    """An image matplotlib can show, values clipped to [0, 1]: grey (h, w) or colour (h, w, 3).

    Accepts a flat square vector, (h, w), (h, w, 1), (h, w, 3), and frames stacked on the channel
    axis (h, w, 3k or h, w, k), of which the first frame is shown.
    """
    a = np.asarray(array, dtype=np.float64)
    if a.ndim == 1:
        side = int(round(np.sqrt(a.size)))
        if side * side != a.size:
            raise ValueError(f"a flat image of {a.size} values is not square")
        a = a.reshape(side, side)
    elif a.ndim == 3:
        a = a[..., :3] if a.shape[-1] % 3 == 0 else a[..., 0]
    elif a.ndim != 2:
        raise ValueError(f"cannot show an array of shape {a.shape} as an image")
    return np.clip(a, 0.0, 1.0)
