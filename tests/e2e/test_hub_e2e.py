"""The hub as people use it: a student in a real browser, grading on submit, clean start and stop.

One hub (module fixture) serves the three tests, in order: the browser loop, the loopback check
(while a user server, the proxy and the service run), then the SIGTERM shutdown.
"""

from __future__ import annotations

import shutil
import time

import pytest
from hub_process import PASSWORD
from tiny_assignment import MAX_POINTS, NAME, SOLUTION

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_student_submits_in_the_browser_and_sees_graded_feedback(hub, tmp_path):
    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed (make browser-tools needs root and apt-get)")
    import hub_browser as hb
    from playwright.sync_api import sync_playwright

    from autograder.gradebook import read_grades
    from autograder.results import read_result

    course, student = hub.course, "student1"
    shots_dir = tmp_path / "screenshots"
    print(f"\nscreenshots: {shots_dir}")
    timings = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            shot = hb.Shots(page, shots_dir)
            t0 = time.perf_counter()
            try:
                hb.log_in(page, hub.base_url, student, PASSWORD)
                timings["log in -> Lab"] = time.perf_counter() - t0
                shot("lab")
                hb.open_assignments(page)
                # students see the Assignments tab, not the instructor's formgrader
                page.locator(f'{hb.MENU}:text("Nbgrader")').click()
                menu = page.locator("#jp-mainmenu-nbgrader")
                menu.wait_for()
                assert menu.get_by_text("Assignment List", exact=True).count() == 1
                assert menu.get_by_text("Formgrader", exact=True).count() == 0
                page.keyboard.press("Escape")
                formgrader = page.request.get(f"{hub.base_url}/user/{student}/formgrader")
                assert formgrader.status == 404  # formgrader's server extension is off for students
                shot("assignments")
                hb.fetch(page, NAME)
                shot("fetched")
                hb.open_notebook(page, hub.base_url, student, NAME, NAME)
                shot("notebook")
                hb.solve_and_run(page, 1, SOLUTION)
                on_disk = hub.home(student) / NAME / f"{NAME}.ipynb"
                _wait_for(lambda: SOLUTION in on_disk.read_text(), 30, "the solved notebook was not saved")
                shot("solved-and-run")
                hb.submit(page, NAME)
                submitted_at = time.perf_counter()
                timings["student loop"] = submitted_at - t0
                shot("submitted")
                hb.fetch_feedback(page, NAME)
                timings["submit -> feedback opened"] = time.perf_counter() - submitted_at
                time.sleep(1)  # let the HTML viewer paint
                shot("feedback")
            except Exception:
                shot("failure")
                raise
        finally:
            browser.close()
    print("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))

    result = read_result(course.result_path(NAME, student))
    assert result.total == MAX_POINTS and result.max_total == MAX_POINTS
    assert result.submitted_at  # graded the exchange's submission, stamped by nbgrader
    grades = {g.cell: g.score for g in read_grades(course.db_url, NAME) if g.student == student}
    assert grades == {"test_square": 2.0, "test_zero": 1.0}
    html = next((hub.home(student) / NAME / "feedback").glob("*/hello.html")).read_text()
    assert f"Score: {MAX_POINTS:.1f} / {MAX_POINTS:.1f}" in html
    assert "square(-2)" not in html  # hidden tests stay hidden
    assert f"{NAME}: {student} graded: 3/3 points" in hub.log()
    assert len(list(shots_dir.glob("*.png"))) >= 7


def test_hub_proxy_service_and_servers_listen_on_loopback_only(hub):
    import psutil

    procs = hub.processes()
    names = " ".join(" ".join(p.cmdline()) for p in procs)
    assert "configurable-http-proxy" in names and "autograder.cli watch" in names
    listening = []
    for p in procs:
        try:
            listening += [c.laddr for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        except psutil.NoSuchProcess:
            continue
    assert {hub.port, hub.port + 1, hub.port + 2} <= {a.port for a in listening}
    assert listening and all(a.ip in ("127.0.0.1", "::1") for a in listening), listening


def test_hub_stops_cleanly_on_sigterm(hub):
    import psutil

    procs = hub.processes()
    hub.seen += procs
    assert len(procs) >= 3  # the hub, the proxy, the grading service (and any user server)
    seconds = hub.stop()
    print(f"\nhub stopped in {seconds:.1f} s")
    assert hub.proc.returncode == 0, hub.log()[-3000:]
    _wait_for(lambda: not [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE],
              15, "processes of the hub outlived it")
    log = hub.log()
    assert "[autograder watch] stopped after" in log
    for port in (hub.port, hub.port + 1, hub.port + 2):
        assert not _listening(port), f"port {port} still open"


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(check, timeout_s: float, message: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, StopIteration):
            pass
        time.sleep(0.3)
    raise AssertionError(message)


