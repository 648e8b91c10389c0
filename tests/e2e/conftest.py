"""Fixtures of the hub's end-to-end tests: a tiny course, a real JupyterHub on loopback, its teardown."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hub_process import (
    PASSWORD,
    REPO,
    STUDENTS,
    RunningHub,
    _kill_left,
    free_port_block,
    proxy_command,
    wait_healthy,
)


@pytest.fixture(scope="module")
def tiny_course(tiny_course_template, tmp_path_factory):
    """A private copy of the course with the tiny tests-only assignment released to the students."""
    from tiny_assignment import tiny_course_copy

    return tiny_course_copy(tiny_course_template, tmp_path_factory.mktemp("hub") / "course")




@pytest.fixture(scope="module")
def hub(tiny_course, tmp_path_factory):
    """JupyterHub (with its proxy and the grading-on-submit service) on 127.0.0.1, stopped after."""
    chp = proxy_command()
    if chp is None:
        pytest.skip("configurable-http-proxy is not installed (run `make hub-tools`, which needs npm)")
    state = tmp_path_factory.mktemp("hub-state")
    port = free_port_block()
    env = {**os.environ, "AUTOGRADER_HUB_COURSE": str(tiny_course.root), "AUTOGRADER_HUB_STATE": str(state),
           "AUTOGRADER_HUB_PORT": str(port), "AUTOGRADER_HUB_PASSWORD": PASSWORD,
           "AUTOGRADER_HUB_STUDENTS": ",".join(STUDENTS), "AUTOGRADER_WATCH_INTERVAL": "1",
           "AUTOGRADER_CHP": chp,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    log_path = state / "hub.log"
    start = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "jupyterhub"), "-f",
                                 str(REPO / "jupyterhub_config.py")], cwd=state, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    running = RunningHub(proc, f"http://127.0.0.1:{port}", port, tiny_course, state, log_path, 0.0)
    running.seen = []
    try:
        wait_healthy(running.base_url, proc)
        running.start_s = time.perf_counter() - start
        print(f"\nhub up in {running.start_s:.1f} s at {running.base_url}; log: {log_path}")
        yield running
    finally:
        running.seen += running.processes()
        running.stop()
        _kill_left(proc, running.seen)
