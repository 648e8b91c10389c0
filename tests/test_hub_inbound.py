"""Which exchange submissions are new: nbgrader's rules (latest wins, due dates), pure functions."""

from datetime import datetime

import pytest

from autograder.hub.inbound import (
    chosen_submissions,
    new_submissions,
    parse_inbound_name,
    scan_inbound,
)

T1, T2, T3 = "2026-01-10 10:00:00.000001 UTC", "2026-01-11 10:00:00.000002 UTC", "2026-01-12 09:00:00 UTC"


def sub(student, stamp, assignment="hello", tail="+abc"):
    return parse_inbound_name(f"{student}+{assignment}+{stamp}{tail}")


def test_parse_inbound_name_reads_nbgrader_folder_names():
    s = sub("alice", T1)
    assert (s.student, s.assignment, s.timestamp) == ("alice", "hello", T1)
    assert s.when == datetime(2026, 1, 10, 10, 0, 0, 1)
    old_style = parse_inbound_name(f"bob+hello+{T2}")  # nbgrader before the random suffix
    assert (old_style.student, old_style.timestamp) == ("bob", T2)
    assert parse_inbound_name(f"a+b+hello+{T1}+xyz").student == "a+b"


@pytest.mark.parametrize("name", ["junk", "alice+hello", "alice+hello+not a time+x", f"+hello+{T1}+x",
                                  f"alice++{T1}+x"])
def test_parse_inbound_name_ignores_foreign_folders(name):
    assert parse_inbound_name(name) is None


def test_latest_submission_wins():
    chosen = chosen_submissions([sub("alice", T1), sub("alice", T3), sub("alice", T2), sub("bob", T1)])
    assert chosen[("hello", "alice")].timestamp == T3
    assert chosen[("hello", "bob")].timestamp == T1


def test_before_duedate_takes_the_latest_on_time_submission_else_the_latest():
    subs = [sub("alice", T1), sub("alice", T3), sub("bob", T3)]
    due = datetime(2026, 1, 11)
    chosen = chosen_submissions(subs, due, before_duedate=True)
    assert chosen[("hello", "alice")].timestamp == T1  # on time beats a later late one
    assert chosen[("hello", "bob")].timestamp == T3  # only late: the latest
    assert chosen_submissions(subs, due, before_duedate=False)[("hello", "alice")].timestamp == T3


def test_new_submissions_are_those_not_graded_with_the_same_timestamp():
    chosen = chosen_submissions([sub("alice", T2), sub("bob", T1), sub("carol", T1)])
    graded = {("hello", "alice"): T1, ("hello", "bob"): T1}
    assert [s.student for s in new_submissions(chosen, graded)] == ["alice", "carol"]
    assert new_submissions(chosen, {k: s.timestamp for k, s in chosen.items()}) == []


def test_scan_inbound_lists_submission_folders_only(tmp_path):
    assert scan_inbound(tmp_path / "missing") == []
    (tmp_path / f"alice+hello+{T1}+r1").mkdir()
    (tmp_path / f"bob+other+{T2}+r2").mkdir()
    (tmp_path / "stray-file").write_text("x")
    (tmp_path / "not-a-submission").mkdir()
    found = [(s.student, s.assignment) for s in scan_inbound(tmp_path)]
    assert found == [("alice", "hello"), ("bob", "other")]
