"""The typed per-assignment grading spec.

Each assignment has ``reference_models/<assignment>/spec.toml`` (written by the instructor) beside
``reference.keras`` and ``metrics.json`` (both written by ``autograder train-reference``). The spec
is declarative: adding an assignment means a notebook, a spec and a reference, not new code paths.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cost import BUDGET_ACTIONS, CostBudget
from .errors import ReferenceMissingError, SpecError
from .runner.sandbox import Limits

if TYPE_CHECKING:
    from .data.files import FileDataset
    from .function_checks import FunctionCheck

MODES = ("load", "train")
SPEC_FILE = "spec.toml"
METRICS_FILE = "metrics.json"
REFERENCE_MODEL_FILE = "reference.keras"


@dataclass(frozen=True)
class MetricSpec:
    """One graded model metric.

    Attributes:
        name: a metric of :data:`autograder.metrics.METRICS`.
        points: points at (or beyond) the reference value.
        baseline: the trivial baseline the task computes (0 points), e.g. ``majority_class``.
        extra_credit: award the points as nbgrader extra credit (not counted in the maximum).
    """

    name: str
    points: float
    baseline: str
    extra_credit: bool = False


@dataclass(frozen=True)
class Budget:
    """What the grader spends on one submission's model."""

    epochs: int = 5
    batch_size: int = 64
    time_limit_s: float = 600.0
    max_model_mb: float = 50.0


@dataclass(frozen=True)
class TrainSpec:
    """How ``train`` mode rebuilds a model from the student's notebook.

    Attributes:
        cells: grade ids of the notebook cells whose code is run, in order.
        builder: the function those cells define; called with no arguments, it returns a compiled
            Keras model.
    """

    cells: tuple[str, ...] = ()
    builder: str = "build_model"


@dataclass(frozen=True)
class AutogradeSpec:
    """How nbgrader autograde avoids training a submitted model a second time.

    Attributes:
        training_cell: grade id of the notebook cell that trains the model and saves ``model_file``.
            During autograde, when the submission holds that file, the cell loads it into
            ``model_variable`` instead of training again (and runs as written when it does not).
        model_variable: the name later cells use for the trained model.
        json_variables: other results of the cell that later cells use, each saved by the cell as
            a JSON file: variable name -> file (e.g. a GAN's loss ``history``).
    """

    training_cell: str = ""
    model_variable: str = ""
    json_variables: tuple[tuple[str, str], ...] = ()


#: ``[evaluation] sandbox`` values: when a model is evaluated in a sandbox with the notebook's
#: classes (:mod:`autograder.sandboxed_eval`) rather than refused by Keras safe mode
SANDBOX_POLICIES = ("auto", "always", "never")


@dataclass(frozen=True)
class EvaluationSpec:
    """Where a model is evaluated (``[evaluation]`` in spec.toml).

    Attributes:
        sandbox: ``auto``: in the grader's process with Keras safe mode, and in a sandbox that
            first runs the notebook's class definitions when the model needs classes of its own
            (custom layers, a subclassed model); ``always``: every model in a sandbox; ``never``:
            models that need their own classes are refused.
        cells: grade ids of the cells the sandbox runs as written; empty: the top-level imports,
            classes, functions and constants of every code cell (see :mod:`autograder.definitions`).
    """

    sandbox: str = "auto"
    cells: tuple[str, ...] = ()


@dataclass(frozen=True)
class GradingSpec:
    """How one assignment's model is graded."""

    assignment: str
    notebook: str
    task: str
    #: a registered dataset's name, or files declared in a ``[dataset]`` table
    dataset: str | FileDataset
    mode: str
    model_file: str
    model_grade_id: str
    seed: int
    metrics: tuple[MetricSpec, ...]
    budget: Budget = field(default_factory=Budget)
    train: TrainSpec = field(default_factory=TrainSpec)
    reference_seed: int | None = None
    limits: Limits = field(default_factory=Limits)
    autograde: AutogradeSpec = field(default_factory=AutogradeSpec)
    evaluation: EvaluationSpec = field(default_factory=EvaluationSpec)
    #: the part's name when this spec is one model of a multi-model assignment
    part: str = ""
    #: a multi-model assignment's models (``[[parts]]`` in spec.toml), each a full spec
    parts: tuple[GradingSpec, ...] = ()
    #: only the notebook's test cells are graded: no model, no reference, no dataset
    tests_only: bool = False
    #: grading on submit (``autograder watch``) releases nbgrader feedback right after grading
    feedback_on_submit: bool = False
    #: every notebook of the assignment whose test cells are graded (``notebooks = [...]``);
    #: empty means the notebooks of the models (or ``notebook``)
    notebooks: tuple[str, ...] = ()
    #: no spec.toml: a plain nbgrader assignment, graded as ``nbgrader autograde`` grades it
    inferred: bool = False
    #: modules warm kernel factories import before forking (``preload = [...]``); None: what the
    #: source notebooks import
    preload: tuple[str, ...] | None = None
    #: what one submission may cost in total (``[cost]``; unset: no budget)
    cost: CostBudget = field(default_factory=CostBudget)
    #: function checks (``[[checks]]``): test cells whose points come from calling the student's
    #: function outside their kernel (:mod:`autograder.function_checks`)
    checks: tuple[FunctionCheck, ...] = ()

    @property
    def graded_notebooks(self) -> tuple[str, ...]:
        """Every notebook whose cells are graded: the listed ones, then the models' own."""
        names = list(self.notebooks) or ([self.notebook] if self.notebook else [])
        for model in self.models():
            if model.notebook and model.notebook not in names:
                names.append(model.notebook)
        return tuple(names)

    def models(self) -> tuple[GradingSpec, ...]:
        """The specs of the assignment's graded models: its parts, or itself when it has one model
        (none for a tests-only assignment)."""
        if self.tests_only:
            return ()
        return self.parts or (self,)

    def with_mode(self, mode: str) -> GradingSpec:
        """A copy graded in ``mode`` (``load`` or ``train``)."""
        _check_mode(mode, f"spec of {self.assignment}")
        for model in self.models():
            if mode == "train" and not model.train.cells:
                where = f" part {model.part!r}" if model.part else ""
                raise SpecError(f"{self.assignment}{where}: mode 'train' needs [train] cells in spec.toml")
        return _replace(self, mode=mode, parts=tuple(_replace(p, mode=mode) for p in self.parts))

    @property
    def max_model_points(self) -> float:
        return sum(m.points for model in self.models() for m in model.metrics if not m.extra_credit)


@dataclass(frozen=True)
class ReferenceMetrics:
    """What ``train-reference`` measured: reference and baseline values of each metric."""

    reference: dict[str, float]
    baseline: dict[str, dict[str, float]]
    data_fingerprint: str
    version: str
    extra: dict[str, Any] = field(default_factory=dict)

    def baseline_value(self, metric: MetricSpec) -> float:
        return self.baseline[metric.name][metric.baseline]


def _replace(obj: Any, **changes: Any) -> Any:
    return dataclasses.replace(obj, **changes)


def _check_mode(mode: str, where: str = "spec") -> None:
    if mode not in MODES:
        raise SpecError(f"{where}: mode must be one of {', '.join(MODES)}; got {mode!r}")


def _require(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise SpecError(f"{where}: missing required key {key!r}")
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise SpecError(f"{where}: {key!r} must be {kind.__name__}, got {type(value).__name__}")
    return value


def _optional(table: dict[str, Any], key: str, kind: type, default: Any, where: str) -> Any:
    return _require(table, key, kind, where) if key in table else default


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise SpecError(f"{where}: [{key}] must be a table")
    return dict(value)


#: keys a ``[[parts]]`` table may set; the others are the assignment's, shared by every part
PART_KEYS = {"name", "notebook", "task", "dataset", "model_file", "model_grade_id", "metrics", "train",
             "budget", "autograde", "evaluation"}
#: part keys the assignment may also set, as every part's default
SHARED_PART_KEYS = {"notebook", "train", "budget", "evaluation"}


def parse_spec(data: dict[str, Any], where: str = "spec", base: Path | None = None) -> GradingSpec:
    """Build a :class:`GradingSpec` from a parsed TOML table, validating every field.

    A multi-model assignment lists its models as ``[[parts]]`` tables (see :data:`PART_KEYS`);
    each part inherits the assignment's other keys, and its ``[parts.train]`` and ``[parts.budget]``
    tables are merged over the assignment's ``[train]`` and ``[budget]`` (shared cells, a builder
    and epochs per part). The returned spec is then the
    first part's, with every part in :attr:`GradingSpec.parts`.

    ``base`` is the course root, where the relative paths of a ``[dataset]`` table start.
    ``[[checks]]`` tables (function checks) belong to the assignment, whatever its kind.
    """
    if "checks" in data:
        from .function_checks import parse_checks

        data = dict(data)
        raw_checks = data.pop("checks")
        spec = parse_spec(data, where, base)
        return _replace(spec, checks=parse_checks(raw_checks, where, spec.notebook))
    if "parts" in data:
        return _parse_parts(data, where, base)
    return _parse_single(data, where, base)


def _parse_parts(data: dict[str, Any], where: str, base: Path | None = None) -> GradingSpec:
    raw_parts = data["parts"]
    if not raw_parts or not isinstance(raw_parts, list) or not all(isinstance(p, dict) for p in raw_parts):
        raise SpecError(f"{where}: 'parts' must be one or more [[parts]] tables")
    shared = {k: v for k, v in data.items() if k != "parts"}
    clash = sorted(set(shared) & (PART_KEYS - SHARED_PART_KEYS))
    if clash:
        raise SpecError(f"{where}: {clash} belong in each [[parts]] table when parts are used")
    parts = []
    for i, raw in enumerate(raw_parts):
        pw = f"{where}: parts[{i}]"
        name = _require(raw, "name", str, pw)
        if not name.isidentifier():
            raise SpecError(f"{pw}: name {name!r} must be a plain identifier (it names a folder)")
        unknown = set(raw) - PART_KEYS
        if unknown:
            raise SpecError(f"{pw}: unknown keys {sorted(unknown)}; a part sets {sorted(PART_KEYS)}")
        merged = {**shared, **{k: v for k, v in raw.items() if k != "name"}}
        for table in ("train", "budget"):
            merged[table] = {**_table(shared, table, where), **_table(raw, table, pw)}
        parts.append(_replace(_parse_single(merged, f"{where}: part {name!r}", base), part=name))
    for key in ("part", "model_file"):
        values = [getattr(p, key) for p in parts if getattr(p, key)]
        if len(set(values)) != len(values):
            raise SpecError(f"{where}: each part needs its own {key.replace('part', 'name')}; got {values}")
    cells = [(p.notebook, p.model_grade_id) for p in parts]
    if len(set(cells)) != len(cells):
        raise SpecError(f"{where}: each part needs its own model_grade_id (a task cell of its notebook); "
                        f"got {[gid for _nb, gid in cells]}")
    first = parts[0]
    return _replace(first, part="", parts=tuple(parts),
                    notebook=shared.get("notebook", first.notebook))


#: the only keys of a tests-only spec (``tests_only = true``): no model is graded
TESTS_ONLY_KEYS = {"assignment", "notebook", "notebooks", "tests_only", "feedback_on_submit", "limits",
                   "preload", "cost"}


def _parse_tests_only(data: dict[str, Any], where: str) -> GradingSpec:
    """A spec that grades only the notebook's test cells (nbgrader's points, no model)."""
    unknown = set(data) - TESTS_ONLY_KEYS
    if unknown:
        raise SpecError(f"{where}: a tests-only spec (tests_only = true) grades no model; remove "
                        f"{sorted(unknown)} (allowed keys: {sorted(TESTS_ONLY_KEYS)})")
    notebooks = _parse_notebooks(data, where)
    if not notebooks and "notebook" not in data:
        raise SpecError(f"{where}: a tests-only spec names its notebook (notebook = \"hw1\") or "
                        "notebooks (notebooks = [\"part1\", \"part2\"])")
    return GradingSpec(
        assignment=_require(data, "assignment", str, where),
        notebook=_optional(data, "notebook", str, notebooks[0] if notebooks else "", where),
        task="", dataset="", mode="load", model_file="", model_grade_id="", seed=0, metrics=(),
        limits=_parse_limits(data, where), tests_only=True,
        feedback_on_submit=_optional(data, "feedback_on_submit", bool, False, where),
        notebooks=notebooks, preload=_parse_preload(data, where), cost=_parse_cost(data, where),
    )


def _parse_preload(data: dict[str, Any], where: str) -> tuple[str, ...] | None:
    """``preload = ["numpy", "sklearn"]``: module names (``[]`` preloads nothing)."""
    if "preload" not in data:
        return None
    names = _require(data, "preload", list, where)
    if not all(isinstance(n, str) and all(part.isidentifier() for part in n.split(".")) for n in names):
        raise SpecError(f"{where}: preload must list module names such as \"numpy\" or "
                        f"\"sklearn.datasets\"; got {names!r}")
    return tuple(names)


def _parse_notebooks(data: dict[str, Any], where: str) -> tuple[str, ...]:
    """``notebooks = [...]``: names without ``.ipynb``, each once."""
    names = _optional(data, "notebooks", list, [], where)
    if not all(isinstance(n, str) and n and not n.endswith(".ipynb") and "/" not in n for n in names):
        raise SpecError(f"{where}: notebooks must be notebook names without .ipynb, e.g. "
                        f"[\"part1\", \"part2\"]; got {names!r}")
    if len(set(names)) != len(names):
        raise SpecError(f"{where}: a notebook is listed twice in notebooks: {names!r}")
    return tuple(names)


def _parse_limits(data: dict[str, Any], where: str) -> Limits:
    limits_raw = _table(data, "limits", where)
    lw = f"{where}: [limits]"
    lim_fields = {f.name: f.type for f in dataclasses.fields(Limits)}
    unknown = set(limits_raw) - set(lim_fields)
    if unknown:
        raise SpecError(f"{lw}: unknown keys {sorted(unknown)}; known: {sorted(lim_fields)}")
    defaults_lim = Limits()
    lim_values = {}
    for name in lim_fields:
        kind = float if isinstance(getattr(defaults_lim, name), float) else int
        value = _optional(limits_raw, name, kind, getattr(defaults_lim, name), lw)
        if value <= 0:
            raise SpecError(f"{lw}: {name} must be positive")
        lim_values[name] = value
    return Limits(**lim_values)


def _parse_cost(data: dict[str, Any], where: str) -> CostBudget:
    """``[cost]``: the budget of one submission, each key optional (as ``[limits]``'s, positive)."""
    raw = _table(data, "cost", where)
    cw = f"{where}: [cost]"
    amounts = ("cpu_s", "wall_s", "memory_mb", "gpu_s")
    unknown = set(raw) - {*amounts, "action"}
    if unknown:
        raise SpecError(f"{cw}: unknown keys {sorted(unknown)}; known: {sorted({*amounts, 'action'})}")
    values = {}
    for name in amounts:
        if name in raw:
            value = raw[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise SpecError(f"{cw}: {name} must be a positive number, got {value!r}")
            values[name] = float(value)
    action = _optional(raw, "action", str, "zero", cw)
    if action not in BUDGET_ACTIONS:
        raise SpecError(f"{cw}: action must be one of {', '.join(BUDGET_ACTIONS)}; got {action!r}")
    return CostBudget(**values, action=action)


def _parse_dataset(data: dict[str, Any], where: str, base: Path | None) -> str | FileDataset:
    """``dataset = "digits"`` (a registered name) or a ``[dataset]`` table of files."""
    if isinstance(data.get("dataset"), dict):
        from .data.files import parse_file_dataset

        return parse_file_dataset(data["dataset"], base, where)
    return _require(data, "dataset", str, where)


def _parse_single(data: dict[str, Any], where: str, base: Path | None = None) -> GradingSpec:
    if _optional(data, "tests_only", bool, False, where):
        return _parse_tests_only(data, where)
    known = {
        "assignment", "notebook", "task", "dataset", "mode", "model_file", "model_grade_id",
        "seed", "reference_seed", "metrics", "budget", "train", "limits", "autograde", "tests_only",
        "feedback_on_submit", "notebooks", "preload", "evaluation", "cost",
    }
    unknown = set(data) - known
    if unknown:
        raise SpecError(f"{where}: unknown keys {sorted(unknown)}; known keys: {sorted(known)}")
    mode = _require(data, "mode", str, where)
    _check_mode(mode, where)
    raw_metrics = data.get("metrics")
    if not raw_metrics or not isinstance(raw_metrics, list):
        raise SpecError(f"{where}: at least one [[metrics]] table is required")
    from .metrics import get_metric, known_metric, known_metrics

    metrics = []
    for i, m in enumerate(raw_metrics):
        mw = f"{where}: metrics[{i}]"
        if not isinstance(m, dict):
            raise SpecError(f"{mw}: must be a [[metrics]] table")
        name = _require(m, "name", str, mw)
        if not known_metric(name):
            raise SpecError(f"{mw}: unknown metric {name!r}; known: {known_metrics()}")
        try:
            get_metric(name)  # a course plugin's metric must load, with a direction
        except ValueError as exc:
            raise SpecError(f"{mw}: {exc}") from None
        points = _require(m, "points", float, mw)
        if points < 0:
            raise SpecError(f"{mw}: points must be >= 0")
        metrics.append(
            MetricSpec(
                name=name,
                points=points,
                baseline=_require(m, "baseline", str, mw),
                extra_credit=_optional(m, "extra_credit", bool, False, mw),
            )
        )
    if len({m.name for m in metrics}) != len(metrics):
        raise SpecError(f"{where}: a metric is listed twice")
    budget_raw = _table(data, "budget", where)
    bw = f"{where}: [budget]"
    unknown = set(budget_raw) - {"epochs", "batch_size", "time_limit_s", "max_model_mb"}
    if unknown:
        raise SpecError(f"{bw}: unknown keys {sorted(unknown)}")
    defaults = Budget()
    budget = Budget(
        epochs=_optional(budget_raw, "epochs", int, defaults.epochs, bw),
        batch_size=_optional(budget_raw, "batch_size", int, defaults.batch_size, bw),
        time_limit_s=_optional(budget_raw, "time_limit_s", float, defaults.time_limit_s, bw),
        max_model_mb=_optional(budget_raw, "max_model_mb", float, defaults.max_model_mb, bw),
    )
    if min(budget.epochs, budget.batch_size, budget.time_limit_s, budget.max_model_mb) <= 0:
        raise SpecError(f"{bw}: epochs, batch_size, time_limit_s and max_model_mb must be positive")
    train_raw = _table(data, "train", where)
    tw = f"{where}: [train]"
    unknown = set(train_raw) - {"cells", "builder"}
    if unknown:
        raise SpecError(f"{tw}: unknown keys {sorted(unknown)}")
    cells = _optional(train_raw, "cells", list, [], tw)
    if not all(isinstance(c, str) for c in cells):
        raise SpecError(f"{tw}: cells must be a list of grade ids (strings)")
    train = TrainSpec(cells=tuple(cells),
                      builder=_optional(train_raw, "builder", str, "build_model", tw))
    if mode == "train" and not train.cells:
        raise SpecError(f"{where}: mode 'train' needs [train] cells = [...grade ids...]")
    limits = _parse_limits(data, where)
    seed = _require(data, "seed", int, where)
    if mode == "load" and not data.get("model_file"):
        raise SpecError(f"{where}: mode 'load' needs model_file, the file the notebook saves")
    autograde = _parse_autograde(_table(data, "autograde", where), data, f"{where}: [autograde]")
    return GradingSpec(
        assignment=_require(data, "assignment", str, where),
        notebook=_require(data, "notebook", str, where),
        task=_require(data, "task", str, where),
        dataset=_parse_dataset(data, where, base),
        mode=mode,
        model_file=_optional(data, "model_file", str, "", where),
        model_grade_id=_require(data, "model_grade_id", str, where),
        seed=seed,
        reference_seed=_optional(data, "reference_seed", int, seed, where),
        metrics=tuple(metrics),
        budget=budget,
        train=train,
        limits=limits,
        autograde=autograde,
        feedback_on_submit=_optional(data, "feedback_on_submit", bool, False, where),
        notebooks=_parse_notebooks(data, where),
        preload=_parse_preload(data, where),
        evaluation=_parse_evaluation(_table(data, "evaluation", where), f"{where}: [evaluation]"),
        cost=_parse_cost(data, where),
    )


def _parse_evaluation(raw: dict[str, Any], where: str) -> EvaluationSpec:
    unknown = set(raw) - {"sandbox", "cells"}
    if unknown:
        raise SpecError(f"{where}: unknown keys {sorted(unknown)}; known: ['cells', 'sandbox']")
    sandbox = _optional(raw, "sandbox", str, "auto", where)
    if sandbox not in SANDBOX_POLICIES:
        raise SpecError(f"{where}: sandbox must be one of {', '.join(SANDBOX_POLICIES)}; got {sandbox!r}")
    cells = _optional(raw, "cells", list, [], where)
    if not all(isinstance(c, str) and c for c in cells):
        raise SpecError(f"{where}: cells must be a list of grade ids (strings)")
    return EvaluationSpec(sandbox=sandbox, cells=tuple(cells))


def _parse_autograde(raw: dict[str, Any], data: dict[str, Any], where: str) -> AutogradeSpec:
    known = {"training_cell", "model_variable", "json_variables"}
    unknown = set(raw) - known
    if unknown:
        raise SpecError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    if not raw:
        return AutogradeSpec()
    cell = _require(raw, "training_cell", str, where)
    variable = _require(raw, "model_variable", str, where)
    if not variable.isidentifier():
        raise SpecError(f"{where}: model_variable {variable!r} must be a Python name")
    if not data.get("model_file"):
        raise SpecError(f"{where}: needs model_file, the file the training cell saves")
    extra = _optional(raw, "json_variables", dict, {}, where)
    for name, file in extra.items():
        if not name.isidentifier() or not isinstance(file, str) or not file.endswith(".json"):
            raise SpecError(f"{where}: json_variables maps Python names to .json files; "
                            f"got {name!r} = {file!r}")
    return AutogradeSpec(training_cell=cell, model_variable=variable,
                         json_variables=tuple(sorted(extra.items())))


def inferred_spec(assignment: str, notebooks: list[str] | tuple[str, ...]) -> GradingSpec:
    """The spec of a plain nbgrader assignment that has no spec.toml: every notebook's cells are
    graded as ``nbgrader autograde`` grades them, with the default sandbox limits."""
    return GradingSpec(
        assignment=assignment, notebook=notebooks[0] if notebooks else "", task="", dataset="",
        mode="load", model_file="", model_grade_id="", seed=0, metrics=(), tests_only=True,
        notebooks=tuple(notebooks), inferred=True,
    )


def load_spec(reference_dir: Path) -> GradingSpec:
    """Read ``spec.toml`` from an assignment's reference directory."""
    path = Path(reference_dir) / SPEC_FILE
    if not path.is_file():
        raise SpecError(
            f"no grading spec at {path}; create {SPEC_FILE} beside the reference model "
            "(see reference_models/digits/spec.toml for an example)"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from exc
    spec = parse_spec(data, where=str(path.name), base=Path(reference_dir).resolve().parent.parent)
    if spec.assignment != Path(reference_dir).name:
        raise SpecError(
            f"{path}: assignment {spec.assignment!r} does not match its folder "
            f"{Path(reference_dir).name!r}"
        )
    return spec


def load_reference_metrics(reference_dir: Path, spec: GradingSpec) -> ReferenceMetrics:
    """Read ``metrics.json``; every metric of the spec must have a reference and a baseline."""
    path = Path(reference_dir) / METRICS_FILE
    if not path.is_file():
        raise ReferenceMissingError(
            f"no reference metrics at {path}; run `autograder train-reference {spec.assignment}`"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        ref = ReferenceMetrics(
            reference=dict(data["reference"]),
            baseline={k: dict(v) for k, v in data["baseline"].items()},
            data_fingerprint=data["data_fingerprint"],
            version=data["version"],
            extra={k: v for k, v in data.items() if k not in {"reference", "baseline",
                                                              "data_fingerprint", "version"}},
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ReferenceMissingError(
            f"{path} is corrupt or incomplete ({type(exc).__name__}: {exc}); "
            f"run `autograder train-reference {spec.assignment}`"
        ) from exc
    for m in spec.metrics:
        if m.name not in ref.reference or m.baseline not in ref.baseline.get(m.name, {}):
            raise ReferenceMissingError(
                f"{path} has no reference/baseline ({m.baseline}) value for metric {m.name!r}; "
                f"run `autograder train-reference {spec.assignment}`"
            )
    return ref
