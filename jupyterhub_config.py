"""A local JupyterHub for the course: `make hub` (see NOTES-hub.md). Loopback only.

Students log in (demo authenticator: fixed users, one shared password), get JupyterLab with nbgrader's
Assignments tab, fetch and submit through nbgrader's exchange; the `autograder-watch` service grades
each submission as it arrives and releases feedback when the assignment's spec allows it. The
instructor's server opens in the course directory with formgrader.

Settings (environment): AUTOGRADER_HUB_COURSE (course directory, default ./hub-course),
AUTOGRADER_HUB_STATE (hub database, cookie secret, users' homes; default ./.hub-state),
AUTOGRADER_HUB_PORT (default 8000; the hub API and the proxy API use the next two ports),
AUTOGRADER_HUB_PASSWORD (default "demo"), AUTOGRADER_HUB_STUDENTS (comma-separated, default
student1,student2,student3), AUTOGRADER_WATCH_INTERVAL (seconds, default 5).
Production: PAM or OAuth instead of the demo authenticator, a spawner per user; see NOTES-hub.md.
"""

import os
import sys
from pathlib import Path

from autograder.course import Course
from autograder.hub.course import DEMO_INSTRUCTOR, DEMO_STUDENTS, HubCourse
from autograder.hub.users import HubUser, write_user_home

c = get_config()  # noqa: F821 - provided by traitlets when JupyterHub loads this file

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
COURSE = Path(os.environ.get("AUTOGRADER_HUB_COURSE", HERE / "hub-course")).resolve()
STATE = Path(os.environ.get("AUTOGRADER_HUB_STATE", HERE / ".hub-state")).resolve()
PORT = int(os.environ.get("AUTOGRADER_HUB_PORT", "8000"))
STUDENTS = tuple(s for s in os.environ.get("AUTOGRADER_HUB_STUDENTS", ",".join(DEMO_STUDENTS)).split(",") if s)
STATE.mkdir(parents=True, exist_ok=True)
hub_course = HubCourse.of(Course.at(COURSE), DEMO_INSTRUCTOR, STUDENTS)

# Loopback only: the public proxy, the hub's API, the proxy's API and every user server.
c.JupyterHub.bind_url = f"http://127.0.0.1:{PORT}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = PORT + 1
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PORT + 2}"
c.ConfigurableHTTPProxy.command = [os.environ.get("AUTOGRADER_CHP", str(HERE / ".hub-tools" / "node_modules"
                                                                       / ".bin" / "configurable-http-proxy"))]
c.Spawner.ip = "127.0.0.1"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# Demo authenticator: fixed users and one password. Production: PAM (the default JupyterHub
# authenticator) or OAuth (oauthenticator), see NOTES-hub.md.
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = os.environ.get("AUTOGRADER_HUB_PASSWORD", "demo")
c.Authenticator.allowed_users = {hub_course.instructor, *hub_course.students}
c.Authenticator.admin_users = {hub_course.instructor}

# Every user runs as this OS user, in their own home under STATE (demo only; see NOTES-hub.md).
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "home" / "{username}")
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []  # the server refuses root otherwise
c.Spawner.environment = {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120


def pre_spawn_hook(spawner):
    """Write the user's nbgrader configuration; the instructor works in the course directory."""
    user = HubUser(spawner.user.name, instructor=spawner.user.name == hub_course.instructor)
    home = Path(spawner.home_dir)
    write_user_home(home, user, hub_course.course_id, hub_course.exchange_root)
    spawner.notebook_dir = str(hub_course.course.root if user.instructor else home)


c.Spawner.pre_spawn_hook = pre_spawn_hook

# Grading on submit, started and stopped with the hub.
c.JupyterHub.services = [{
    "name": "autograder-watch",
    "command": [sys.executable, "-m", "autograder.cli", "watch", "--course-dir", str(hub_course.course.root),
                "--interval", os.environ.get("AUTOGRADER_WATCH_INTERVAL", "1")],
    "environment": {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                    "TF_CPP_MIN_LOG_LEVEL": "2"},
}]
