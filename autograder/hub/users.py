"""Each hub user's nbgrader set-up: course, exchange, student id and which extensions they see.

With a spawner that runs every user as the same OS user (the demo's ``SimpleLocalProcessSpawner``),
nbgrader would take every student's id from the OS user, so each user's own
``~/.jupyter/nbgrader_config.py`` names them (``CourseDirectory.student_id``). Students see the
Assignments tab only; the instructor also gets formgrader and the assignment-creation toolbar. A
production spawner (one OS user or container per student) gives each student their own home with the
same files, written here by the same function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

#: JupyterLab plugins of nbgrader that are for instructors only
INSTRUCTOR_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment")
#: nbgrader's server extensions that are for instructors only
INSTRUCTOR_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader",)


@dataclass(frozen=True)
class HubUser:
    name: str
    instructor: bool = False


def nbgrader_config_text(user: HubUser, course_id: str, exchange_root: Path) -> str:
    """The user's ``~/.jupyter/nbgrader_config.py``: the course, its exchange, who they are."""
    lines = [
        '"""nbgrader settings of one hub user (written at spawn by autograder.hub.users)."""',
        "c = get_config()  # noqa: F821",
        f"c.CourseDirectory.course_id = {course_id!r}",
        f"c.Exchange.root = {str(exchange_root)!r}",
    ]
    if not user.instructor:
        lines.append(f"c.CourseDirectory.student_id = {user.name!r}")
    return "\n".join(lines) + "\n"


def lab_page_config(user: HubUser) -> dict:
    """JupyterLab's page_config.json: students do not get the instructor's plugins."""
    return {"disabledExtensions": {} if user.instructor else dict.fromkeys(INSTRUCTOR_LAB_PLUGINS, True)}


def server_config(user: HubUser) -> dict:
    """jupyter_server_config.json: students do not run formgrader's server extension."""
    if user.instructor:
        return {}
    return {"ServerApp": {"jpserver_extensions": dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS, False)}}


#: JupyterLab's news pop-up can cover buttons and asks the internet: off
NOTIFICATION_SETTINGS = {"fetchNews": "false", "checkForUpdates": False}


def write_user_home(home: Path, user: HubUser, course_id: str, exchange_root: Path) -> Path:
    """Write the user's Jupyter configuration under ``home/.jupyter``; returns that folder."""
    config = Path(home) / ".jupyter"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    (config / "nbgrader_config.py").write_text(nbgrader_config_text(user, course_id, exchange_root))
    (config / "labconfig" / "page_config.json").write_text(json.dumps(lab_page_config(user), indent=1))
    (config / "jupyter_server_config.json").write_text(json.dumps(server_config(user), indent=1))
    settings = config / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps(NOTIFICATION_SETTINGS))
    return config
