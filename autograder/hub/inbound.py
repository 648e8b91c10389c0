"""Which submissions in nbgrader's exchange are new: pure functions over folder names.

A student's ``Submit`` (nbgrader's exchange) writes ``<exchange>/<course>/inbound/<student>+<assignment>+
<timestamp>+<random>``. nbgrader's rules, followed here so that we grade exactly what ``collect``
copies: the latest submission of a student wins; with ``before_duedate``, the latest one before the due
date wins when there is one. A submission is *new* when the one nbgrader would collect is not the one
already graded (its timestamp differs from the graded result's ``submitted_at``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True, order=True)
class InboundSubmission:
    """One folder of the exchange's inbound folder."""

    assignment: str
    student: str
    timestamp: str  #: as nbgrader wrote it (also in the submission's timestamp.txt)
    when: datetime
    name: str  #: the folder's name


def parse_inbound_name(name: str) -> InboundSubmission | None:
    """``student+assignment+timestamp[+random]`` -> a submission; ``None`` for anything else.

    Like nbgrader's collect, the student id may hold ``+`` (split from the right).
    """
    from nbgrader.utils import parse_utc

    pieces = name.rsplit("+", 3)
    if len(pieces) == 4 and _is_timestamp(pieces[2]):
        student, assignment, stamp = pieces[0], pieces[1], pieces[2]
    else:
        pieces = name.rsplit("+", 2)
        if len(pieces) != 3 or not _is_timestamp(pieces[2]):
            return None
        student, assignment, stamp = pieces
    if not student or not assignment:
        return None
    return InboundSubmission(assignment, student, stamp, parse_utc(stamp), name)


def _is_timestamp(text: str) -> bool:
    from nbgrader.utils import parse_utc

    try:
        parse_utc(text)
    except (ValueError, OverflowError, TypeError):
        return False
    return True


def scan_inbound(inbound: Path) -> list[InboundSubmission]:
    """Every submission folder in ``inbound`` (unreadable or foreign names are ignored)."""
    if not inbound.is_dir():
        return []
    found = (parse_inbound_name(p.name) for p in inbound.iterdir() if p.is_dir())
    return sorted(s for s in found if s is not None)


def chosen_submissions(subs: Iterable[InboundSubmission], duedate: datetime | None = None,
                       before_duedate: bool = False) -> dict[tuple[str, str], InboundSubmission]:
    """The submission nbgrader's collect takes for each ``(assignment, student)``."""
    groups: dict[tuple[str, str], list[InboundSubmission]] = {}
    for s in subs:
        groups.setdefault((s.assignment, s.student), []).append(s)
    chosen = {}
    for key, group in groups.items():
        group.sort(key=lambda s: s.when, reverse=True)
        pick = group[0]
        if before_duedate and duedate is not None:
            early = [s for s in group if s.when <= duedate]
            pick = early[0] if early else pick
        chosen[key] = pick
    return chosen


def new_submissions(chosen: dict[tuple[str, str], InboundSubmission],
                    graded: dict[tuple[str, str], str]) -> list[InboundSubmission]:
    """The chosen submissions whose timestamp is not the graded one (``graded``: key -> submitted_at)."""
    return sorted(s for key, s in chosen.items() if graded.get(key) != s.timestamp)
