"""Each hub user's nbgrader files: who they are, the course's exchange, the extensions they get."""

import json

from traitlets.config.loader import PyFileConfigLoader

from autograder.hub.users import INSTRUCTOR_LAB_PLUGINS, HubUser, write_user_home


def _load(folder):
    return PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()


def test_a_student_is_named_and_gets_no_instructor_tools(tmp_path):
    folder = write_user_home(tmp_path, HubUser("student1"), "dl-course", tmp_path / "exchange")
    config = _load(folder)
    assert config.CourseDirectory.student_id == "student1"
    assert config.CourseDirectory.course_id == "dl-course"
    assert config.Exchange.root == str(tmp_path / "exchange")
    page = json.loads((folder / "labconfig" / "page_config.json").read_text())
    assert set(page["disabledExtensions"]) == set(INSTRUCTOR_LAB_PLUGINS)
    server = json.loads((folder / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == {"nbgrader.server_extensions.formgrader": False}


def test_the_instructor_keeps_formgrader_and_is_no_student(tmp_path):
    folder = write_user_home(tmp_path, HubUser("instructor", instructor=True), "dl-course", tmp_path / "x")
    assert "student_id" not in _load(folder).CourseDirectory
    assert json.loads((folder / "labconfig" / "page_config.json").read_text()) == {"disabledExtensions": {}}
    assert json.loads((folder / "jupyter_server_config.json").read_text()) == {}


def test_writing_twice_updates_the_files(tmp_path):
    write_user_home(tmp_path, HubUser("student1"), "old", tmp_path / "exchange")
    folder = write_user_home(tmp_path, HubUser("student1"), "new", tmp_path / "exchange")
    assert _load(folder).CourseDirectory.course_id == "new"
