"""What the integrity checks of one assignment found, and the flags they raise (one record each)."""

from __future__ import annotations

from dataclasses import dataclass

from .code import CodePair, format_lines
from .hidden import GapStats, HiddenFlag, ScoreGap
from .weights import ModelPair, Nearest

#: every kind of flag, in the order the report lists them
FLAG_KINDS = ("code_similarity", "identical_file", "same_weights", "near_identical_weights", "fine_tuned",
              "hidden_data")


@dataclass(frozen=True)
class Flag:
    """One thing for an instructor to look into.

    Attributes:
        kind: one of :data:`FLAG_KINDS`.
        subject: the notebook (code) or the model (models, hidden data) concerned.
        student_a: a student (the only one for ``hidden_data``).
        student_b: the other student of a pair ("" for ``hidden_data``).
        score: the pair's similarity (code), distance (models) or the model's gap (hidden data).
        threshold: what ``score`` was compared with.
        evidence: the evidence, in words.
    """

    kind: str
    subject: str
    student_a: str
    student_b: str
    score: float
    threshold: float
    evidence: str


@dataclass(frozen=True)
class IntegrityFindings:
    """Everything the integrity checks of one assignment found."""

    assignment: str
    students: tuple[str, ...]
    code_pairs: tuple[CodePair, ...] = ()
    code_threshold: float = 0.0
    model_pairs: tuple[ModelPair, ...] = ()
    nearest: tuple[Nearest, ...] = ()
    gaps: tuple[ScoreGap, ...] = ()
    gap_stats: tuple[GapStats, ...] = ()
    hidden_flags: tuple[HiddenFlag, ...] = ()
    notes: tuple[str, ...] = ()

    def flags(self) -> list[Flag]:
        """Every flag: code pairs, shared models, possible training on hidden data."""
        out = [code_flag(p, self.code_threshold) for p in self.code_pairs]
        out += [model_flag(p) for p in self.model_pairs]
        out += [hidden_flag(f) for f in self.hidden_flags]
        order = {k: i for i, k in enumerate(FLAG_KINDS)}
        return sorted(out, key=lambda f: (order[f.kind], f.subject, f.student_a, f.student_b))

    def flagged_students(self) -> set[str]:
        return {s for f in self.flags() for s in (f.student_a, f.student_b) if s}


def code_flag(pair: CodePair, threshold: float) -> Flag:
    return Flag(
        "code_similarity", pair.notebook, pair.student_a, pair.student_b, pair.similarity, threshold,
        f"{pair.similarity_a:.0%} of {pair.student_a}'s code (lines {format_lines(pair.lines_a())}) "
        f"and {pair.similarity_b:.0%} of {pair.student_b}'s (lines {format_lines(pair.lines_b())}) "
        f"match, names and order aside ({pair.overlap} characters of filtered code)")


_MODEL_EVIDENCE = {
    "identical_file": "the same model file, byte for byte (same SHA-256)",
    "same_weights": "different files holding the same weights, array by array (re-saved, or copied into "
                    "a model with other layer names)",
    "near_identical_weights": "the same architecture and weights equal up to {distance:.2g} "
                              "(normalized distance; independent trainings of the class: {reference:.2f})",
    "fine_tuned": "the same architecture, weights at distance {distance:.3f}, under {ratio:.0%} of the "
                  "class's median distance of independent trainings ({reference:.3f}): one model was "
                  "probably trained on from the other; per weight array: {layers}",
}


def model_flag(pair: ModelPair) -> Flag:
    ratio = pair.threshold / pair.reference if pair.reference else 0.0
    layers = ", ".join(f"{d:.3f}" for d in pair.layers)
    evidence = _MODEL_EVIDENCE[pair.kind].format(distance=pair.distance, reference=pair.reference,
                                                  ratio=ratio, layers=layers)
    return Flag(pair.kind, pair.model, pair.student_a, pair.student_b, pair.distance, pair.threshold,
                evidence)


def hidden_flag(flag: HiddenFlag) -> Flag:
    return Flag(
        "hidden_data", flag.model, flag.student, "", flag.gap, flag.threshold,
        f"possible training on the hidden data: {flag.metric} {flag.hidden:.4f} on the hidden split "
        f"against {flag.public:.4f} on the public split (gap {flag.gap:+.4f}; the class's median gap "
        f"{flag.median_gap:+.4f}, flagged above {flag.threshold:+.4f}); a signal, not proof")
