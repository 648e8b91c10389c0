"""The ``autograder`` command: parses arguments, calls the library, prints. No grading logic here."""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from pathlib import Path

from .errors import AutograderError


def _course(args):
    from .course import Course

    return Course.at(args.course_dir)


def _assignments(args, course) -> list[str]:
    if getattr(args, "all", False):
        return course.assignments()
    if not args.assignment:
        raise AutograderError("name an assignment or pass --all")
    return [args.assignment]


def cmd_demo(args) -> int:
    from .demo import run_demo
    from .demo.students import demo_assignments
    from .reports import results_frame, terminal_table

    chosen = demo_assignments() if args.all else (args.assignment or ["digits"])
    outcome = run_demo(Path(args.course_dir), chosen, mode=args.mode)
    for a, results in outcome.results.items():
        print(f"\n{a} ({results[0].mode} mode)" if results else f"\n{a}")
        print(terminal_table(results_frame(results)))
        csv_path, html_path = outcome.reports[a]
        print(f"\nreport: {csv_path}\n        {html_path}")
    print(f"\ndemo finished in {outcome.seconds:.0f} s")
    return 0


def _print_report(written) -> None:
    from .reports import terminal_table

    print(terminal_table(written.frame))
    print(f"report: {written.folder}/ ({', '.join(sorted(p.name for p in written.files))})")


def cmd_grade(args) -> int:
    from .runner.executors import make_executor

    executor = make_executor(args.executor, workers=args.workers, address=args.address)
    course = _course(args)
    assignments = _assignments(args, course)
    if hasattr(executor, "warm_up"):
        # the workers' imports (seconds) overlap this process's own; TensorFlow only for models
        executor.warm_up(tensorflow=any(course.spec(a).models() for a in assignments))
    from .instructor_report import make_report
    from .reports.export import parse_formats
    from .runner.grade import grade_assignment

    formats = parse_formats(args.format)
    _import_in_background(*REPORT_MODULES)
    for a in assignments:
        if not args.no_pictures and (args.mode or course.spec(a).mode) != "load":
            # The report runs the saved models here (in load mode the grading workers make their
            # pictures as they score them): Keras' import (seconds) overlaps the grading.
            _import_in_background("keras")
        if args.collect:
            from .demo import _check

            _check(course.nbgrader_api().collect(a), f"collect {a}")
        results = grade_assignment(course, a, mode=args.mode, students=args.student or None,
                                   force=args.force, executor=executor)
        if not results:
            print(f"{a}: no submissions in {course.root / 'submitted'} (run nbgrader collect)")
            continue
        _print_report(make_report(course, a, formats, pictures=not args.no_pictures))
    return 0


#: What the report imports (plots, parquet) that grading does not: imported while grading runs.
REPORT_MODULES = ("matplotlib.figure", "matplotlib.backends.backend_agg", "pyarrow.parquet")


def _import_in_background(*modules: str) -> None:
    import importlib
    import threading

    def run() -> None:
        from .models import quiet_tensorflow

        quiet_tensorflow()
        for module in modules:
            with contextlib.suppress(Exception):  # the report imports it again and says what failed
                importlib.import_module(module)

    threading.Thread(target=run, daemon=True, name="import-for-report").start()


def cmd_report(args) -> int:
    from .instructor_report import make_report
    from .reports.export import parse_formats

    course = _course(args)
    formats = parse_formats(args.format)
    for a in _assignments(args, course):
        written = make_report(course, a, formats, pictures=not args.no_pictures)
        if not len(written.frame):
            print(f"{a}: no results yet")
        _print_report(written)
        if args.integrity:
            _integrity(course, a, models=True)
    return 0


def _integrity(course, assignment: str, models: bool, **thresholds) -> None:
    from .integrity import Thresholds, check_integrity, write_integrity_report

    findings = check_integrity(course, assignment, models=models, thresholds=Thresholds(**thresholds))
    written = write_integrity_report(course, findings)
    for note in findings.notes:
        print(f"{assignment}: {note}")
    flags = findings.flags()
    for flag in flags:
        who = f"{flag.student_a} and {flag.student_b}" if flag.student_b else flag.student_a
        print(f"{assignment}: {flag.kind} ({flag.subject}): {who}")
    print(f"{assignment}: {len(flags)} integrity flags for {len(findings.students)} submissions; "
          f"{course.report_dir(assignment)}/ ({', '.join(sorted(p.name for p in written))})")


def cmd_integrity(args) -> int:
    course = _course(args)
    given = {"code": args.code_threshold, "weights_ratio": args.weights_ratio, "hidden_k": args.hidden_k}
    for a in _assignments(args, course):
        _integrity(course, a, models=not args.no_models, **{k: v for k, v in given.items() if v is not None})
    return 0


def cmd_feedback(args) -> int:
    from .reports import load_results
    from .student_feedback import generate_feedback

    course = _course(args)
    for a in _assignments(args, course):
        results = load_results(course, a)
        if not results:
            print(f"{a}: no results yet (run autograder grade first)")
            continue
        outcome = generate_feedback(course, a, results, pictures=not args.no_pictures)
        if not outcome.get("success"):
            raise AutograderError(f"nbgrader generate_feedback {a} failed:\n{outcome.get('error')}")
        print(f"{a}: feedback for {len(results)} students in {course.root / 'feedback'}")
    return 0


def cmd_train_reference(args) -> int:
    from .reference import train_reference

    course = _course(args)
    for a in _assignments(args, course):
        if not course.spec(a).models():
            print(f"{a}: grades no model (notebook tests only): no reference to train")
            continue
        for model, build in zip(course.spec(a).models(), train_reference(course, a), strict=True):
            refm = build.metrics
            values = ", ".join(f"{k} {v:.4f}" for k, v in refm.reference.items())
            name = f"{a} {model.part}" if model.part else a
            print(f"{name}: reference {values} (version {refm.version})")
            if build.drift is not None:
                print(f"{name}: {build.drift.summary()}")
    return 0


def cmd_new(args) -> int:
    from .spec_draft import write_draft

    course = _course(args)
    path = write_draft(course, args.assignment, force=args.force)
    print(f"{path}: drafted from {course.source_dir(args.assignment)}; check every line, then run "
          f"`autograder check {args.assignment}`")
    return 0


def cmd_check(args) -> int:
    from .check import check_assignment

    course = _course(args)
    found = 0
    for a in _assignments(args, course):
        problems = check_assignment(course, a)
        for problem in problems:
            print(problem)
        found += len(problems)
        if not problems:
            print(f"{a}: no problems found")
    return 1 if found else 0


def cmd_generate(args) -> int:
    from .demo import _check

    course = _course(args)
    api = course.nbgrader_api()
    for a in _assignments(args, course):
        _check(api.generate_assignment(a, force=True, create=True), f"generate_assignment {a}")
        print(f"{a}: {course.release_dir(a)} regenerated from {course.source_dir(a)}")
    return 0


def cmd_watch(args) -> int:
    from .hub.graders import make_grader
    from .hub.submissions import SubmissionWatcher, serve

    if args.interval <= 0:
        raise AutograderError(f"--interval must be positive, got {args.interval:g}")
    grader = make_grader(args.executor, workers=args.workers, address=args.address)
    watcher = SubmissionWatcher(_course(args), tuple(args.assignment or ()), grader=grader)
    if args.once:
        with watcher:
            done = watcher.poll_once()
        print(f"{len(done.new)} new, {len(done.graded)} graded, {len(done.released)} feedback released, "
              f"{len(done.errors)} errors")
        return 1 if done.errors else 0
    serve(watcher, args.interval)
    return 0


def cmd_hub_course(args) -> int:
    from .hub.course import DEMO_STUDENTS, setup_hub_course

    students = tuple(args.student or DEMO_STUDENTS)
    hub = setup_hub_course(Path(args.course_dir), args.assignment or ["digits"], students)
    print(f"hub course in {hub.course.root}: {', '.join(args.assignment or ['digits'])} released to "
          f"{', '.join(hub.students)}; exchange {hub.exchange_root}")
    return 0


def add_executor_options(p: argparse.ArgumentParser) -> None:
    """Where submissions are graded: the same options for ``grade`` and ``watch``."""
    p.add_argument("--workers", type=int,
                   help="local executor: parallel workers (default: one per CPU core, one per GPU)")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="where submissions are graded: local worker processes (default) or a Ray "
                   "cluster (needs the `ray` extra)")
    p.add_argument("--address", help="--executor ray: the Ray cluster, host:port, ray://host:port or "
                   "auto (default: start a local Ray instance)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autograder",
        description="Grade deep-learning assignments: nbgrader notebook tests plus model quality "
        "against a reference model on hidden data.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, func, help_, assignment=True):
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        if assignment:
            p.add_argument("assignment", nargs="?", help="assignment name, e.g. digits")
            p.add_argument("--all", action="store_true", help="every assignment of the course")
            p.add_argument("--course-dir", default=".", help="course root (default: .)")
        return p

    p = sub.add_parser("demo", help="run a whole course cycle with simulated students")
    p.set_defaults(func=cmd_demo)
    p.add_argument("assignment", nargs="*", help="assignments to demo (default: digits)")
    p.add_argument("--all", action="store_true", help="demo every assignment that has a demo")
    p.add_argument("--course-dir", default="demo-course", help="where to build the demo course")
    p.add_argument("--mode", choices=["load", "train"], help="override the spec's grading mode")

    p = add("grade", cmd_grade, "grade collected submissions and write the report")
    p.add_argument("--mode", choices=["load", "train"], help="override the spec's grading mode")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="regrade submissions already graded")
    p.add_argument("--collect", action="store_true", help="run nbgrader collect first")
    add_executor_options(p)
    report = add("report", cmd_report, "write the report (HTML, tables, plots, exports) from the results")
    for q in (p, report):
        q.add_argument("--format", help="comma-separated report files to write: html, csv, parquet, "
                       "nbgrader (nbgrader export's CSV), lms (student id, total, per assignment); "
                       "default: all")
        q.add_argument("--no-pictures", action="store_true",
                       help="skip running the saved models for confusion matrices and reconstructions")
    report.add_argument("--integrity", action="store_true",
                        help="also run `autograder integrity` (loads every saved model once more)")
    p = add("integrity", cmd_integrity, "academic integrity: similar code, shared or fine-tuned models, "
            "possible training on hidden data (reports/<assignment>/integrity.html; instructors only)")
    p.add_argument("--no-models", action="store_true", help="check code only (load no model)")
    p.add_argument("--code-threshold", type=float,
                   help="flag code pairs with at least this fraction matched (default: 0.5)")
    p.add_argument("--weights-ratio", type=float, help="flag models closer than this fraction of the "
                   "class's median distance of independent trainings (default: 0.5)")
    p.add_argument("--hidden-k", type=float, help="flag hidden-minus-public gaps more than K robust "
                   "deviations above the class's median (default: 3)")
    p = add("feedback", cmd_feedback, "nbgrader feedback with each student's model section (no hidden tests)")
    p.add_argument("--no-pictures", action="store_true", help="model sections without pictures")
    add("train-reference", cmd_train_reference, "retrain the reference model and its metrics")
    add("generate", cmd_generate, "regenerate release/<assignment> from source/ with nbgrader")
    p = sub.add_parser("new", help="draft reference_models/<assignment>/spec.toml from the source notebooks",
                       description="Draft a commented grading spec from the source notebooks.")
    p.set_defaults(func=cmd_new)
    p.add_argument("assignment", help="assignment name (a folder of source/)")
    p.add_argument("--course-dir", default=".", help="course root (default: .)")
    p.add_argument("--force", action="store_true", help="replace an existing spec.toml")
    add("check", cmd_check, "report every mismatch between spec, notebooks, data and reference "
        "(one line each; exit status 1 when any)")

    p = sub.add_parser("watch", help="grade on submit: collect, grade and release feedback as "
                       "submissions arrive in nbgrader's exchange (a JupyterHub service)")
    p.set_defaults(func=cmd_watch)
    p.add_argument("assignment", nargs="*", help="assignments to watch (default: every one with a spec)")
    p.add_argument("--course-dir", default=".", help="course root (default: .)")
    p.add_argument("--interval", type=float, default=1.0,
                   help="seconds between looks at the exchange (default: 1)")
    p.add_argument("--once", action="store_true", help="one round (grade what is there), then exit")
    add_executor_options(p)

    p = sub.add_parser("hub-course", help="a fresh demo course for the hub (`make hub`), "
                       "assignments released")
    p.set_defaults(func=cmd_hub_course)
    p.add_argument("assignment", nargs="*", help="assignments to release (default: digits)")
    p.add_argument("--course-dir", default="hub-course", help="where to build it (default: hub-course)")
    p.add_argument("--student", action="append", default=None, help="a student (repeatable; default: "
                   "student1..student3)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # nbgrader's gradebook triggers SQLAlchemy autoflush warnings that say nothing to a user.
    warnings.filterwarnings("ignore", message=".*not in session.*")
    from .quiet_stderr import filtered_stderr

    # The fork server, kernel factories and kernels inherit this filter on their standard error.
    with filtered_stderr():
        try:
            return args.func(args)
        except AutograderError as exc:
            print(f"autograder: error: {exc}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
