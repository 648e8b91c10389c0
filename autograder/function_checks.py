"""Function checks: a test cell's points decided by calling the student's function from outside
their kernel (``[[checks]]`` in spec.toml).

Within its kernel a notebook can patch what its test cells call, swallow exceptions or empty
later cells. A function check does not ask the kernel: the grader draws inputs from a seed made
fresh for each grading run (never written where a sandbox can read it), calls the student's
function on them in a sandbox that runs only what the function needs from the submitted notebook
(:mod:`autograder.function_slice`, :mod:`autograder.runner.check_worker`), calls the instructor's
solution (the source notebook's) on the same inputs in a separate sandbox, and compares both in
its own process (:func:`compare`). Only plain data crosses: ``.npy`` arrays read without pickles,
strings, JSON.

This module is pure: the check's declaration, its input generators and the comparison (numpy
only). Running the sandboxes is :mod:`autograder.check_runs`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import SpecError

#: the kinds of argument a check can generate
ARG_KINDS = ("array", "float", "int", "text", "list", "spd", "linear_model")
DTYPES = ("float32", "float64", "int32", "int64", "bool")
DISTRIBUTIONS = ("uniform", "normal")
DTYPE_RULES = ("kind", "exact", "any")
DEFAULT_ALPHABET = string.ascii_letters + string.digits + string.punctuation + " \n"


@dataclass(frozen=True)
class ArgSpec:
    """How one argument of the checked function is generated.

    Attributes:
        kind: ``array`` (numbers of ``shape`` and ``dtype``), ``float`` / ``int`` (a Python
            scalar), ``text`` (a string of ``length`` characters of ``alphabet``), ``list``
            (``length`` values made by ``of``), ``spd`` (a symmetric positive definite
            ``size`` x ``size`` matrix) or ``linear_model`` (an object with ``predict(x)`` and
            ``__call__``, a softmax of ``x @ W + b`` with ``inputs`` features and ``outputs``
            classes, as a stand-in for a trained Keras classifier).
        name: passed as a keyword argument when set, else positionally.
        shape: sizes (ints) or names of the check's ``dims``.
        length, size, inputs, outputs: an int or a name of the check's ``dims``.
    """

    kind: str = "array"
    name: str = ""
    shape: tuple[int | str, ...] = ()
    dtype: str = "float32"
    distribution: str = "uniform"
    low: float = 0.0
    high: float = 1.0
    scale: float = 1.0
    length: int | str = 1
    alphabet: str = DEFAULT_ALPHABET
    size: int | str = 1
    inputs: int | str = 1
    outputs: int | str = 1
    of: ArgSpec | None = None


@dataclass(frozen=True)
class FunctionCheck:
    """One ``[[checks]]`` table: the student's ``function`` called on ``sets`` generated input
    sets, compared with the instructor's; it decides the points of test cell ``cell``.

    Several checks may name the same cell: the cell then needs all of them (or, with partial
    credit, gets the mean of their fractions).
    """

    cell: str
    function: str
    args: tuple[ArgSpec, ...]
    dims: tuple[tuple[str, int, int], ...] = ()
    sets: int = 3
    rtol: float = 1e-5
    atol: float = 1e-6
    equal_nan: bool = False
    dtype: str = "kind"
    partial_credit: bool = False
    notebook: str = ""


# ---------------------------------------------------------------------------------------------
# Parsing


def _size(value: Any, dims: dict[str, tuple[int, int]], where: str, key: str) -> int | str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SpecError(f"{where}: {key} must be an int or a name of the check's dims; got {value!r}")
    if isinstance(value, str) and value not in dims:
        raise SpecError(f"{where}: {key} names dimension {value!r}, which dims does not declare "
                        f"(declared: {sorted(dims)})")
    if isinstance(value, int) and value < 0:
        raise SpecError(f"{where}: {key} must be >= 0")
    return value


def _number(raw: dict, key: str, default: float, where: str) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{where}: {key} must be a number; got {value!r}")
    return float(value)


_ARG_KEYS = {"kind", "name", "shape", "dtype", "distribution", "low", "high", "scale", "length",
             "alphabet", "size", "inputs", "outputs", "of"}


def _parse_arg(raw: Any, dims: dict[str, tuple[int, int]], where: str) -> ArgSpec:
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: an argument must be a table such as "
                        "{ shape = [\"n\", 4], dtype = \"float32\" }")
    unknown = set(raw) - _ARG_KEYS
    if unknown:
        raise SpecError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(_ARG_KEYS)}")
    kind = raw.get("kind", "array")
    if kind not in ARG_KINDS:
        raise SpecError(f"{where}: kind must be one of {', '.join(ARG_KINDS)}; got {kind!r}")
    name = raw.get("name", "")
    if not isinstance(name, str) or (name and not name.isidentifier()):
        raise SpecError(f"{where}: name must be a Python argument name; got {name!r}")
    dtype = raw.get("dtype", "int64" if kind == "int" else "float32")
    if dtype not in DTYPES:
        raise SpecError(f"{where}: dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    distribution = raw.get("distribution", "uniform")
    if distribution not in DISTRIBUTIONS:
        raise SpecError(f"{where}: distribution must be uniform or normal; got {distribution!r}")
    shape = raw.get("shape", [])
    if not isinstance(shape, list):
        raise SpecError(f"{where}: shape must be a list of sizes or dimension names")
    low, high = _number(raw, "low", 0.0, where), _number(raw, "high", 1.0, where)
    if kind in ("array", "float", "int") and distribution == "uniform" and not low < high:
        raise SpecError(f"{where}: low must be below high; got low = {low:g}, high = {high:g}")
    alphabet = raw.get("alphabet", DEFAULT_ALPHABET)
    if not isinstance(alphabet, str) or not alphabet:
        raise SpecError(f"{where}: alphabet must be a non-empty string")
    of = None
    if kind == "list":
        if "of" not in raw:
            raise SpecError(f"{where}: a list argument needs of = {{ ... }}, how each item is made")
        of = _parse_arg(raw["of"], dims, f"{where}.of")
    return ArgSpec(
        kind=kind, name=name, shape=tuple(_size(s, dims, where, "shape") for s in shape),
        dtype=dtype, distribution=distribution, low=low, high=high,
        scale=_number(raw, "scale", 1.0, where),
        length=_size(raw.get("length", 1), dims, where, "length"), alphabet=alphabet,
        size=_size(raw.get("size", 1), dims, where, "size"),
        inputs=_size(raw.get("inputs", 1), dims, where, "inputs"),
        outputs=_size(raw.get("outputs", 1), dims, where, "outputs"), of=of,
    )


_CHECK_KEYS = {"cell", "function", "args", "dims", "sets", "rtol", "atol", "equal_nan", "dtype",
               "partial_credit", "notebook"}


def parse_checks(raw: Any, where: str, default_notebook: str = "") -> tuple[FunctionCheck, ...]:
    """The ``[[checks]]`` tables of a spec, validated (raises SpecError naming the fix)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise SpecError(f"{where}: 'checks' must be [[checks]] tables")
    checks = []
    for i, table in enumerate(raw):
        cw = f"{where}: checks[{i}]"
        unknown = set(table) - _CHECK_KEYS
        if unknown:
            raise SpecError(f"{cw}: unknown keys {sorted(unknown)}; known: {sorted(_CHECK_KEYS)}")
        for key in ("cell", "function"):
            if not isinstance(table.get(key), str) or not table[key]:
                raise SpecError(f"{cw}: missing required key {key!r} (a string)")
        if not table["function"].isidentifier():
            raise SpecError(f"{cw}: function must be a plain function name; got {table['function']!r}")
        dims_raw = table.get("dims", {})
        if not isinstance(dims_raw, dict):
            raise SpecError(f"{cw}: dims must be a table such as {{ n = [1, 32], d = 4 }}")
        dims: dict[str, tuple[int, int]] = {}
        for name, value in dims_raw.items():
            if isinstance(value, int) and not isinstance(value, bool):
                value = [value, value]
            if (not isinstance(value, list) or len(value) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                    or not 0 <= value[0] <= value[1]):
                raise SpecError(f"{cw}: dims.{name} must be a size or [lowest, highest] sizes; "
                                f"got {value!r}")
            dims[name] = (value[0], value[1])
        args = table.get("args", [])
        if not isinstance(args, list):
            raise SpecError(f"{cw}: args must be a list of argument tables")
        parsed = tuple(_parse_arg(a, dims, f"{cw}.args[{j}]") for j, a in enumerate(args))
        named = [a.name for a in parsed if a.name]
        if len(set(named)) != len(named):
            raise SpecError(f"{cw}: an argument name is used twice: {named}")
        first_named = next((j for j, a in enumerate(parsed) if a.name), len(parsed))
        if any(not a.name for a in parsed[first_named:]):
            raise SpecError(f"{cw}: positional arguments (no name) must come before named ones")
        sets = table.get("sets", 3)
        if isinstance(sets, bool) or not isinstance(sets, int) or not 1 <= sets <= 100:
            raise SpecError(f"{cw}: sets must be an int from 1 to 100; got {sets!r}")
        rtol, atol = _number(table, "rtol", 1e-5, cw), _number(table, "atol", 1e-6, cw)
        if rtol < 0 or atol < 0:
            raise SpecError(f"{cw}: rtol and atol must be >= 0")
        rule = table.get("dtype", "kind")
        if rule not in DTYPE_RULES:
            raise SpecError(f"{cw}: dtype must be one of {', '.join(DTYPE_RULES)}; got {rule!r}")
        for key in ("equal_nan", "partial_credit"):
            if not isinstance(table.get(key, False), bool):
                raise SpecError(f"{cw}: {key} must be true or false")
        notebook = table.get("notebook", default_notebook)
        if not isinstance(notebook, str):
            raise SpecError(f"{cw}: notebook must be a notebook name without .ipynb")
        checks.append(FunctionCheck(
            cell=table["cell"], function=table["function"], args=parsed,
            dims=tuple((n, lo, hi) for n, (lo, hi) in dims.items()), sets=sets, rtol=rtol,
            atol=atol, equal_nan=table.get("equal_nan", False), dtype=rule,
            partial_credit=table.get("partial_credit", False), notebook=notebook,
        ))
    by_cell: dict[tuple[str, str], bool] = {}
    for c in checks:
        if by_cell.setdefault((c.notebook, c.cell), c.partial_credit) != c.partial_credit:
            raise SpecError(f"{where}: the checks of cell {c.cell!r} disagree on partial_credit")
    return tuple(checks)


# ---------------------------------------------------------------------------------------------
# Inputs


@dataclass
class _Dims:
    """Dimension sizes drawn once per input set and list item (``item`` 0 outside lists)."""

    check: FunctionCheck
    rng: np.random.Generator
    drawn: dict[tuple[int, str], int] = field(default_factory=dict)

    def size(self, value: int | str, item: int) -> int:
        if isinstance(value, int):
            return value
        key = (item, value)
        if key not in self.drawn:
            lo, hi = next((lo, hi) for n, lo, hi in self.check.dims if n == value)
            self.drawn[key] = int(self.rng.integers(lo, hi + 1))
        return self.drawn[key]


def _draw(arg: ArgSpec, dims: _Dims, rng: np.random.Generator, item: int = 0):
    """One generated value: plain data (arrays, numbers, strings, lists; a linear model is a
    ``{"linear_model": [W, b]}`` table that the worker turns into an object)."""
    if arg.kind == "list":
        n = dims.size(arg.length, item)
        return [_draw(arg.of, dims, rng, item=k + 1) for k in range(n)]
    if arg.kind == "text":
        n = dims.size(arg.length, item)
        letters = np.array(list(arg.alphabet))
        return "".join(letters[rng.integers(0, len(letters), size=n)]) if n else ""
    if arg.kind == "spd":
        d = dims.size(arg.size, item)
        a = rng.normal(size=(d, d))
        return (a @ a.T + d * np.eye(d)).astype(arg.dtype)
    if arg.kind == "linear_model":
        d, k = dims.size(arg.inputs, item), dims.size(arg.outputs, item)
        return {"linear_model": [rng.normal(size=(d, k)).astype("float32"),
                                 rng.normal(size=(k,)).astype("float32")]}
    shape = tuple(dims.size(s, item) for s in arg.shape) if arg.kind == "array" else ()
    if arg.dtype == "bool":
        value = rng.random(shape) < 0.5
    elif arg.dtype.startswith("int") or arg.kind == "int":
        value = rng.integers(int(arg.low), max(int(arg.high), int(arg.low) + 1), size=shape)
    elif arg.distribution == "normal":
        value = rng.normal(0.0, arg.scale, size=shape)
    else:
        value = rng.uniform(arg.low, arg.high, size=shape)
    value = np.asarray(value).astype(arg.dtype)
    if arg.kind == "float":
        return float(value)
    if arg.kind == "int":
        return int(value)
    return value


def draw_inputs(check: FunctionCheck, seed: int) -> list[tuple[list, dict]]:
    """The ``(args, kwargs)`` of each input set of ``check``, drawn from ``seed``."""
    sets = []
    for i in range(check.sets):
        rng = np.random.default_rng([seed, i])
        dims = _Dims(check, rng)
        args, kwargs = [], {}
        for arg in check.args:
            value = _draw(arg, dims, rng)
            if arg.name:
                kwargs[arg.name] = value
            else:
                args.append(value)
        sets.append((args, kwargs))
    return sets


def describe_inputs(args: list, kwargs: dict) -> str:
    """``(array (5, 3) float32, 'text' of 12 characters, alpha=0.31)`` for a student's reason."""

    def one(value) -> str:
        if isinstance(value, np.ndarray):
            return f"array {value.shape} {value.dtype}"
        if isinstance(value, str):
            return f"a string of {len(value)} characters"
        if isinstance(value, list):
            return "[" + ", ".join(one(v) for v in value) + "]"
        if isinstance(value, dict):
            w = value["linear_model"][0]
            return f"a model with predict() ({w.shape[0]} inputs, {w.shape[1]} classes)"
        return f"{value:.4g}" if isinstance(value, float) else repr(value)

    parts = [one(a) for a in args] + [f"{k}={one(v)}" for k, v in kwargs.items()]
    return "(" + ", ".join(parts) + ")"


# ---------------------------------------------------------------------------------------------
# Comparison (in the grader's process only)

_FAMILY = {"b": "bool", "i": "int", "u": "int", "f": "float", "U": "str"}


def compare(got: Any, want: Any, check: FunctionCheck, where: str = "the result") -> str:
    """Why ``got`` (the student's output) differs from ``want`` (the instructor's), or ``''``.

    Both are plain values read back from the sandboxes: arrays, strings, lists, dicts. Shapes
    must be equal (no broadcasting), dtypes by the check's rule, numbers within the check's
    tolerances, NaN equal to NaN only with ``equal_nan``.
    """
    if isinstance(want, list):
        if not isinstance(got, list):
            return f"{where} should be a sequence of {len(want)} values"
        if len(got) != len(want):
            return f"{where} has {len(got)} values; expected {len(want)}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            reason = compare(g, w, check, f"item {i} of {where}")
            if reason:
                return reason
        return ""
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            return f"{where} should be a dict with keys {sorted(want)}"
        for key in want:
            reason = compare(got[key], want[key], check, f"{where}[{key!r}]")
            if reason:
                return reason
        return ""
    if isinstance(want, str):
        if not isinstance(got, str):
            return f"{where} should be a string"
        return "" if got == want else f"{where} is not the expected string"
    if want is None:
        return "" if got is None else f"{where} should be None"
    if not isinstance(got, np.ndarray):
        return f"{where} should be an array or a number"
    want = np.asarray(want)
    if got.shape != want.shape:
        return f"{where} has shape {got.shape}; expected {want.shape}"
    if check.dtype == "exact" and got.dtype != want.dtype:
        return f"{where} has dtype {got.dtype}; expected {want.dtype}"
    if check.dtype == "kind" and _FAMILY.get(got.dtype.kind) != _FAMILY.get(want.dtype.kind):
        return (f"{where} holds {_FAMILY.get(got.dtype.kind, got.dtype.kind)} values; expected "
                f"{_FAMILY.get(want.dtype.kind, want.dtype.kind)} values")
    if want.dtype.kind == "U" or got.dtype.kind == "U":
        return "" if np.array_equal(got, want) else f"{where} differs from the expected values"
    g, w = got.astype("float64"), want.astype("float64")
    g_nan, w_nan = np.isnan(g), np.isnan(w)
    if not check.equal_nan and g_nan.any():
        return f"{where} has NaN values"
    if not np.array_equal(g_nan, w_nan):
        return (f"{where} has NaN where a number was expected" if (g_nan & ~w_nan).any()
                else f"{where} has a number where NaN was expected")
    close = np.isclose(g, w, rtol=check.rtol, atol=check.atol, equal_nan=check.equal_nan)
    if close.all():
        return ""
    diff = np.where(close, 0.0, np.abs(np.nan_to_num(g - w, nan=np.inf)))
    at = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    return (f"{where} differs from the expected values in {int((~close).sum())} of {close.size} "
            f"entries (largest difference {float(diff.max()):.3g}"
            f"{f' at index {tuple(int(i) for i in at)}' if at else ''})")
