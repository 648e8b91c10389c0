"""Keep TensorFlow's start-up lines out of the terminal, and everything else in it.

``TF_CPP_MIN_LOG_LEVEL`` does not reach every line: absl writes its "All log messages before
absl::InitializeLog()" notice, and some builds log CPU-feature and oneDNN notices, before
TensorFlow's own filter applies, and the processes that print them (the fork server that imports
TensorFlow for the grading workers, each worker's kernel factory, sandboxed kernels and training
children) inherit the grader's standard error. :func:`filtered_stderr` puts a pipe on file
descriptor 2 for the whole command, so every child process inherits it, and a thread forwards
each line to the real standard error unless it is one of those notices. Errors, tracebacks and
Python warnings go through unchanged.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

#: absl/TensorFlow C++ log lines, by severity: "I0000 00:00:1795610472.030549 3152 file.cc:227] ..."
ABSL_LINE = r"^[{levels}]\d{{4}} \d\d:\d\d:\d+\.\d+\s+\d+ [\w./-]+:\d+\] .*$"
#: absl's notice printed once per process before its first log line
ABSL_NOTICE = r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
#: the second line of TensorFlow's CPU-feature notice
CPU_FEATURES = (r"^To enable the following instructions: .* rebuild TensorFlow with the appropriate "
                r"compiler flags\.$")

#: start-up notices only: informational and warning lines, and the error-level lines the CUDA
#: wheels print when their plugins register twice (harmless, printed by every process)
STARTUP_PATTERNS = (
    ABSL_LINE.format(levels="IW"),
    ABSL_NOTICE,
    CPU_FEATURES,
    r"^E\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w./-]+:\d+\] Unable to register cu\w+ factory: .*$",
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IW] tensorflow/.*$",
    r"^.*oneDNN custom operations are on\. .*$",
)
_STARTUP = re.compile("|".join(f"(?:{p})" for p in STARTUP_PATTERNS).encode())


def is_startup_line(line: bytes) -> bool:
    """Whether one line of standard error (with or without its newline) is a start-up notice."""
    return _STARTUP.match(line.rstrip(b"\r\n")) is not None


def _pump(read_fd: int, write_fd: int) -> None:
    try:
        with os.fdopen(read_fd, "rb", buffering=0) as source, contextlib.suppress(OSError):
            for line in iter(source.readline, b""):
                if not is_startup_line(line):
                    os.write(write_fd, line)
    finally:
        os.close(write_fd)


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Filter start-up notices out of file descriptor 2 (and so out of every child's stderr).

    A no-op when ``AUTOGRADER_RAW_STDERR=1`` or when standard error has no file descriptor.
    """
    if os.environ.get("AUTOGRADER_RAW_STDERR") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        original = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    pump = threading.Thread(target=_pump, args=(read_fd, original), daemon=True, name="stderr-filter")
    pump.start()
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(original, 2)  # closes our end of the pipe; children still holding it keep it open
        # Every line written so far is forwarded once no process holds the pipe; a child still
        # running (a fork server on its way out) may keep it a moment longer.
        pump.join(timeout=2.0)
