"""nbgrader configuration of this course (the repository is itself an nbgrader course directory).

`nbgrader generate_assignment <name>` turns source/<name>/ into release/<name>/; `autograder grade`
and `autograder demo` read this file too. See https://nbgrader.readthedocs.io for every option.
"""

import os

from autograder.nbgrader_plugins import configure

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "dl-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# Students' folders also hold data files and saved models; keep them out of the size filter.
c.CourseDirectory.max_file_size = 50_000  # kB
# Where nbgrader's exchange lives on a multi-user host (JupyterHub); tests use a private one.
c.Exchange.root = "/srv/nbgrader/exchange"

configure(c)
