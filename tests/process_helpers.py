"""Finding processes from the host, for tests of code that runs in a sandbox's own pid namespace."""

from __future__ import annotations

from pathlib import Path


def processes_named(name: str) -> list[int]:
    """Host pids whose command name is ``name``: a pid written inside a sandbox is a pid of its own
    namespace, which can belong to an unrelated process out here, so sandboxed test code renames
    itself (``/proc/self/comm``) instead."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
