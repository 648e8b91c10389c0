"""Code similarity: the code each student wrote, compared pairwise with copydetect's winnowing.

What is compared, per notebook, is the code a student wrote: the nbgrader solution cells and the
code cells they added, in notebook order. Everything in the released notebook (the template's
imports, stubs, locked cells) is boilerplate: its fingerprints are removed before comparing, so two
students never match on what they were both given.

copydetect (PyPI) replaces names with placeholders (a renamed variable changes nothing), hashes
every ``k``-gram of the filtered code (and keeps all of them: see :data:`GUARANTEE`); a pair's
similarity, for each side, is the fraction of that side's code covered by fingerprints found in
the other. Fingerprints are a set, so reordered functions match as well as they did in place.

Memory is linear in the class: one fingerprint set per document; pairs are compared one at a time
and only pairs above the threshold are kept.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..notebook import read_notebook

#: copydetect's noise threshold: the shortest match (in filtered characters) that counts
NOISE_K = 25
#: copydetect's guarantee threshold: matches this long are always found (window = GUARANTEE - NOISE + 1).
#: Equal to NOISE_K (copydetect's defaults): a window of 1 keeps every k-gram, so results do not
#: depend on Python's per-process string hashes, which decide what a wider window keeps.
GUARANTEE = 25
#: a pair is flagged when either side has at least this fraction of its code matched in the other
CODE_THRESHOLD = 0.5
#: ... and the match covers at least this many filtered characters (a few lines, not one idiom)
MIN_OVERLAP = 80


@dataclass(frozen=True)
class CodeDocument:
    """The code one student wrote in one notebook."""

    student: str
    notebook: str
    code: str


@dataclass(frozen=True)
class CodePair:
    """Two students' code in one notebook that share more than the threshold.

    Attributes:
        notebook: the notebook compared.
        student_a: the first student (in name order).
        student_b: the second student.
        similarity_a: fraction of ``student_a``'s code found in ``student_b``'s.
        similarity_b: fraction of ``student_b``'s code found in ``student_a``'s.
        overlap: matched filtered characters.
        code_a: ``student_a``'s code.
        code_b: ``student_b``'s code.
        spans_a: character ranges ``(start, end)`` of ``code_a`` that match.
        spans_b: character ranges of ``code_b`` that match.
    """

    notebook: str
    student_a: str
    student_b: str
    similarity_a: float
    similarity_b: float
    overlap: int
    code_a: str
    code_b: str
    spans_a: tuple[tuple[int, int], ...]
    spans_b: tuple[tuple[int, int], ...]

    @property
    def similarity(self) -> float:
        """The larger side's similarity: how much of one student's code is in the other's."""
        return max(self.similarity_a, self.similarity_b)

    def lines_a(self) -> tuple[tuple[int, int], ...]:
        """1-based line ranges of ``code_a`` that match."""
        return line_ranges(self.code_a, self.spans_a)

    def lines_b(self) -> tuple[tuple[int, int], ...]:
        return line_ranges(self.code_b, self.spans_b)


def student_code(submitted: Path, released: Path | None = None) -> str:
    """The code a student wrote in the notebook ``submitted``: its solution cells and the code
    cells it has that the released notebook ``released`` does not (cells the student added).

    A missing or unreadable notebook has no code (an empty string).
    """
    try:
        nb = read_notebook(submitted)
    except Exception:  # a broken notebook is a grading problem, not an integrity one
        return ""
    given = set(released_cells(released)) if released is not None else set()
    chunks = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        own = bool(meta.get("solution")) or (not meta and cell.source.strip() not in given)
        text = without_magics(cell.source) if own else ""
        if text.strip():
            chunks.append(text)
    return "\n\n".join(chunks) + ("\n" if chunks else "")


def without_magics(source: str) -> str:
    """The cell's Python: IPython magics and shell escapes (``%...``, ``!...``) left out."""
    if source.lstrip().startswith("%%"):
        return ""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


def released_cells(released: Path | None) -> list[str]:
    """The code cells of the released notebook (the template every student starts from)."""
    if released is None or not Path(released).is_file():
        return []
    try:
        nb = read_notebook(released)
    except Exception:
        return []
    return [c.source.strip() for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def boilerplate_hashes(template: str, k: int = NOISE_K):
    """Fingerprints of the released template (every k-gram), removed from every student's."""
    import numpy as np
    from copydetect import CodeFingerprint

    if not template.strip():
        return np.array([], dtype=np.int64)
    fp = CodeFingerprint("template.py", k, 1, language="python", fp=io.StringIO(template))
    return np.unique(np.array(sorted(fp.hashes)))


def fingerprint(doc: CodeDocument, boilerplate, k: int = NOISE_K, guarantee: int = GUARANTEE):
    """copydetect's fingerprint of one document (the template's fingerprints removed)."""
    from copydetect import CodeFingerprint

    return CodeFingerprint(f"{doc.student}/{doc.notebook}.py", k, guarantee - k + 1, boilerplate=boilerplate,
                           language="python", fp=io.StringIO(doc.code))


def similar_code(docs: Iterable[CodeDocument], template: str = "", *, threshold: float = CODE_THRESHOLD,
                 min_overlap: int = MIN_OVERLAP, k: int = NOISE_K,
                 guarantee: int = GUARANTEE) -> list[CodePair]:
    """Every pair of documents of the same notebook whose shared code passes the thresholds.

    Args:
        docs: one document per student and notebook (several notebooks are compared separately).
        template: the released notebook's code of that notebook (or of all of them), boilerplate.
        threshold: a pair is kept when ``max(similarity_a, similarity_b) >= threshold``.
        min_overlap: ... and at least this many filtered characters match.
        k: copydetect's noise threshold.
        guarantee: copydetect's guarantee threshold (``>= k``).

    Returns:
        The pairs, most similar first.
    """
    from copydetect import compare_files

    boilerplate = boilerplate_hashes(template, k)
    by_notebook: dict[str, list[CodeDocument]] = {}
    for doc in docs:
        if doc.code.strip():
            by_notebook.setdefault(doc.notebook, []).append(doc)
    pairs = []
    for notebook, group in sorted(by_notebook.items()):
        group = sorted(group, key=lambda d: d.student)
        prints = [fingerprint(d, boilerplate, k, guarantee) for d in group]
        for i, j in _pairs(len(group)):
            a, b = prints[i], prints[j]
            if not a.hashes or not b.hashes or a.hashes.isdisjoint(b.hashes):
                continue
            overlap, (sim_a, sim_b), (slices_a, slices_b) = compare_files(a, b)
            if overlap < min_overlap or max(sim_a, sim_b) < threshold:
                continue
            pairs.append(CodePair(
                notebook=notebook, student_a=group[i].student, student_b=group[j].student,
                similarity_a=round(float(sim_a), 4), similarity_b=round(float(sim_b), 4),
                overlap=int(overlap), code_a=group[i].code, code_b=group[j].code,
                spans_a=_spans(slices_a), spans_b=_spans(slices_b)))
    return sorted(pairs, key=lambda p: (-p.similarity, p.notebook, p.student_a, p.student_b))


def _pairs(n: int) -> Iterator[tuple[int, int]]:
    for i in range(n):
        for j in range(i + 1, n):
            yield i, j


def _spans(slices) -> tuple[tuple[int, int], ...]:
    if len(slices) == 0 or len(slices[0]) == 0:
        return ()
    return tuple((int(s), int(e)) for s, e in zip(slices[0], slices[1], strict=True))


def line_ranges(code: str, spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """1-based, inclusive line ranges covered by character ``spans`` of ``code``, merged."""
    out: list[list[int]] = []
    for start, end in sorted(spans):
        first = code.count("\n", 0, start) + 1
        last = code.count("\n", 0, max(start, end - 1)) + 1
        if out and first <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], last)
        else:
            out.append([first, last])
    return tuple((a, b) for a, b in out)


def format_lines(ranges: Iterable[tuple[int, int]]) -> str:
    """``((1, 4), (9, 9))`` -> ``"1-4, 9"``."""
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in ranges)
