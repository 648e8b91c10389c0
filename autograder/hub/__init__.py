"""Students on JupyterHub: the per-user nbgrader set-up and grading on submit.

* :mod:`.inbound`: which submissions in nbgrader's exchange are new (pure functions);
* :mod:`.submissions`: the hub service that collects, grades and releases feedback on submit;
* :mod:`.users`: each hub user's nbgrader configuration (course, exchange, student id, extensions).
"""
