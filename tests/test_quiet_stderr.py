"""autograder.quiet_stderr: start-up notices filtered from the terminal, everything else kept."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from autograder.quiet_stderr import is_startup_line

STARTUP = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796472907.519316    4817 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 AVX512F AVX512_VNNI FMA, in other operations, "
    "rebuild TensorFlow with the appropriate compiler flags.",
    "I0000 00:00:1796472907.5 123 util.cc:169] oneDNN custom operations are on. You may see "
    "slightly different numerical results due to floating-point round-off errors.",
    "W0000 00:00:1796472907.5 123 gpu_device.cc:2344] Cannot dlopen some GPU libraries.",
    "E0000 00:00:1796472907.5 123 cuda_dnn.cc:8579] Unable to register cuDNN factory: Attempting "
    "to register factory for plugin cuDNN when one has already been registered",
]
KEPT = [
    "E0000 00:00:1796472907.5 123 op_kernel.cc:1840] OP_REQUIRES failed: out of memory",
    "Traceback (most recent call last):",
    "ValueError: the model's output has shape (3, 2)",
    "/x/keras/src/models.py:12: UserWarning: Do not pass an `input_shape`",
    "[2/4] weak_model: 4.15/10 points | 12.4/min, ETA 5 s",
    "autograder: error: no grading spec",
]


@pytest.mark.parametrize("line", STARTUP)
def test_startup_notices_are_recognised(line):
    assert is_startup_line(line.encode() + b"\n")


@pytest.mark.parametrize("line", KEPT)
def test_errors_warnings_and_progress_are_kept(line):
    assert not is_startup_line(line.encode() + b"\n")


def test_child_processes_inherit_the_filter(tmp_path):
    """A child started inside the filter writes notices and real lines to its fd 2: the terminal
    (here the parent's captured stderr) gets only the real ones, in order."""
    script = textwrap.dedent(f"""
        import subprocess, sys
        from autograder.quiet_stderr import filtered_stderr
        lines = {STARTUP + KEPT!r}
        child = "import sys\\nfor line in %r: sys.stderr.write(line + '\\\\n')" % (lines,)
        with filtered_stderr():
            print("parent before", file=sys.stderr, flush=True)
            subprocess.run([sys.executable, "-c", child], check=True)
            print("parent after", file=sys.stderr, flush=True)
        print("outside", file=sys.stderr, flush=True)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == ["parent before", *KEPT, "parent after", "outside"]


def test_raw_stderr_turns_the_filter_off(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from autograder.quiet_stderr import filtered_stderr
        with filtered_stderr():
            print({STARTUP[0]!r}, file=sys.stderr, flush=True)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "AUTOGRADER_RAW_STDERR": "1"})
    assert proc.stderr.splitlines() == [STARTUP[0]]
