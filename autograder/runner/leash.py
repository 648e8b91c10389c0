"""Run a command that dies with the grader, even when the grader dies while starting it.

Usage: ``python -I -S leash.py PARENT_PID COMMAND...``

bubblewrap's ``--die-with-parent`` asks the kernel to kill the sandbox when its parent dies, but
only once bubblewrap is running: if the grader is killed between starting the sandbox and
bubblewrap's first instructions, the sandbox is orphaned and lives on. This launcher closes that
window: it asks for SIGKILL on its parent's death *first*, then checks that the parent is still the
grader (a dead parent means it was re-parented already), then replaces itself with the command. The
request survives ``exec`` of the (non set-user-ID) ``prlimit`` and ``bwrap`` that follow.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    parent, command = int(argv[0]), argv[1:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        sys.exit(f"leash: prctl failed (errno {ctypes.get_errno()})")
    if os.getppid() != parent:
        sys.exit(125)  # the grader is already gone: start nothing
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
