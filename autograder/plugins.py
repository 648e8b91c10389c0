"""Course plugins: tasks, metrics and datasets registered by Python entry points.

An instructor's package registers what a spec cannot say, as pytest's plugins (``pytest11``) do,
in its ``pyproject.toml``::

    [project.entry-points."autograder.tasks"]
    segmentation = "mycourse.tasks:SEGMENTATION"      # a Task object (or a module with TASK)

    [project.entry-points."autograder.metrics"]
    dice_score = "mycourse.metrics:dice_score"        # a function (direction from its name)
                                                      # or an autograder.metrics.MetricInfo

    [project.entry-points."autograder.datasets"]
    cells = "mycourse.data.cells"                     # load(split, source) -> Split, and optional
                                                      # write_student_files(dest), hidden_files()

Once the package is installed (``pip install mycourse``) specs name them like built-in ones. This
project registers its own tasks and datasets the same way (see its ``pyproject.toml``).

When this package runs from a source tree whose installed metadata predates its entry points
(e.g. an old editable install), the groups of the source tree's own ``pyproject.toml`` stand in for
its missing entry points, so the bundled course never depends on how it was installed.
"""

from __future__ import annotations

import functools
import importlib
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from .errors import SpecError

TASKS = "autograder.tasks"
METRICS = "autograder.metrics"
DATASETS = "autograder.datasets"
GROUPS = (TASKS, METRICS, DATASETS)
#: this project's distribution, which registers the bundled course's tasks and datasets
OWN_DISTRIBUTION = "dl-autograder"
_SOURCE_PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


@dataclass(frozen=True)
class Plugin:
    """One registered entry point.

    Attributes:
        name: the name specs use (the entry point's name).
        value: ``module`` or ``module:attribute``.
        distribution: the package that registers it.
    """

    name: str
    value: str
    distribution: str

    def load(self) -> Any:
        """Import the registered object; a failing import is the plugin's, said as such."""
        module, _, attr = self.value.partition(":")
        try:
            obj = importlib.import_module(module.strip())
            for part in filter(None, attr.strip().split(".")):
                obj = getattr(obj, part)
        except Exception as exc:  # a broken plugin must say which one, whatever it raised
            raise SpecError(f"{self.distribution} registers {self.name!r} as {self.value!r}, which "
                            f"cannot be loaded ({type(exc).__name__}: {exc}); fix or reinstall "
                            f"{self.distribution}") from exc
        return obj


@functools.cache
def registered(group: str) -> dict[str, tuple[Plugin, ...]]:
    """Every plugin of ``group`` by name (more than one when two packages claim a name).

    Cached: call :func:`clear_cache` after installing a package in a running process.
    """
    found: dict[str, dict[str, Plugin]] = {}
    for ep in metadata.entry_points(group=group):
        dist = ep.dist.name if ep.dist is not None else "an unknown package"
        found.setdefault(ep.name, {}).setdefault(ep.value, Plugin(ep.name, ep.value, dist))
    if not any(p.distribution == OWN_DISTRIBUTION for ps in found.values() for p in ps.values()):
        for name, value in _source_tree_entry_points(group).items():
            found.setdefault(name, {}).setdefault(value, Plugin(name, value, OWN_DISTRIBUTION))
    return {name: tuple(by_value.values()) for name, by_value in sorted(found.items())}


def _source_tree_entry_points(group: str) -> dict[str, str]:
    """``group``'s entry points in the ``pyproject.toml`` of the source tree we run from, if any."""
    try:
        project = tomllib.loads(_SOURCE_PYPROJECT.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    if project.get("name") != OWN_DISTRIBUTION:
        return {}
    return dict(project.get("entry-points", {}).get(group, {}))


def names(group: str) -> list[str]:
    """The names registered in ``group``, sorted."""
    return list(registered(group))


def find(group: str, name: str) -> Plugin | None:
    """The plugin registered as ``name`` in ``group``, or None.

    Raises:
        SpecError: two packages register ``name`` with different objects.
    """
    plugins = registered(group).get(name, ())
    if len(plugins) > 1:
        claims = "; ".join(sorted(f"{p.distribution} ({p.value})" for p in plugins))
        raise SpecError(f"{name!r} is registered twice in entry point group {group!r}: {claims}; "
                        "uninstall one of the packages or rename its entry point")
    return plugins[0] if plugins else None


def clear_cache() -> None:
    """Forget what was discovered (after installing or removing a plugin package)."""
    registered.cache_clear()
