"""Hostile custom layers: code a sandboxed evaluation runs (slow: each sandbox imports TensorFlow).

A model built from the student's own classes is evaluated in fresh sandboxes that run the
notebook's class definitions (``autograder/sandboxed_eval.py``). Each attack here is a custom
layer that behaves in the student's notebook (the test saves the model with an honest class of the
same name and config) and attacks when the grader's sandbox runs the notebook's version: it reads
a file outside, writes one outside, opens a socket, sleeps past the limit, hands the hidden images
around an autoencoder's bottleneck, or keeps the hidden inputs it was given. Every attack must be
contained, with a reason where it costs points, and a control student graded before and after the
attacks must get the same values.

The containment of files, sockets and kept inputs rests on bubblewrap's namespaces: those tests
are skipped under ``isolation: none`` (limits only), where the wall-time limit still holds.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.data import Split
from autograder.evaluate import measure_model_file
from autograder.runner.sandbox import isolation_mode
from autograder.sandboxed_eval import EvaluationSource
from autograder.spec import parse_spec
from autograder.tasks import get_task

pytestmark = pytest.mark.slow
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
needs_bwrap = pytest.mark.skipif(isolation_mode() != "bwrap",
                                 reason="containment of files and network needs bubblewrap")

TOKEN = secrets.token_hex(6)
IMPORTS = "import numpy as np\nimport keras\nfrom keras import layers\n"

# The classifier: Flatten -> Probe (a custom layer) -> Dense softmax. The honest Probe passes its
# input through; each attack replaces its body.
CLASSIFIER = '''
class Probe(layers.Layer):
    def call(self, x):
{body}
        return x


def build_model():
    images = keras.Input(shape=(8, 8))
    x = Probe()(layers.Flatten()(images))
    return keras.Model(images, layers.Dense(10, activation="softmax")(x))
'''
HONEST = "        pass"

# The autoencoder: encoder 64 -> Stash -> Dense(4); decoder 4 -> Dense(64) -> Stash. The attack's
# Stash keeps the images the encoder sees and returns them from the decoder (identity, no
# bottleneck), if anything it wrote survived from the encoder's sandbox to the decoder's.
AUTOENCODER = '''
class Stash(layers.Layer):
    def call(self, x):
{body}
        return x


def build_model():
    images = keras.Input(shape=(64,))
    encoder = keras.Model(images, layers.Dense(4)(Stash()(images)), name="encoder")
    z = keras.Input(shape=(4,))
    decoder = keras.Model(z, Stash()(layers.Dense(64, activation="sigmoid")(z)), name="decoder")
    return keras.Model(images, decoder(encoder(images)), name="autoencoder")
'''
STASH_PLACES = ("/tmp", "/dev/shm", "/var/tmp", "{home}", "{scratch_root}", ".")
STASH = '''
        import os
        if isinstance(x, keras.KerasTensor):
            return x
        places = [p.format(home=os.path.expanduser("~")) for p in {places!r}]
        name = "stash-{token}.npy"
        if not hasattr(self, "kept"):
            self.kept = False
        if x.shape[-1] == 64 and self.name == "stash":  # the encoder's layer: keep the images
            for place in places:
                try:
                    np.save(os.path.join(place, name), keras.ops.convert_to_numpy(x))
                except Exception:
                    pass
        else:  # the decoder's: give back the images if any copy survived
            for place in places:
                try:
                    images = np.load(os.path.join(place, name))
                except Exception:
                    continue
                if images.shape == tuple(x.shape):
                    return keras.ops.convert_to_tensor(images)
'''


def write_notebook(path: Path, code: str) -> None:
    nb = nbformat.v4.new_notebook()
    for gid, src in (("imports", IMPORTS), ("build_model", code)):
        cell = nbformat.v4.new_code_cell(src)
        cell.metadata["nbgrader"] = {"grade_id": gid, "solution": True, "grade": False,
                                     "locked": False, "schema_version": 3}
        nb.cells.append(cell)
    nbformat.write(nb, path)


def spec_for(task: str, wall_s: float = 90):
    metric = {"classifier": ("accuracy", "majority_class"),
              "autoencoder": ("mean_squared_error", "mean_image")}[task]
    return parse_spec({
        "assignment": "a", "notebook": "nb", "task": task, "dataset": "digits", "mode": "load",
        "model_file": "model.keras", "model_grade_id": "model_quality", "seed": 1,
        "metrics": [{"name": metric[0], "points": 6, "baseline": metric[1]}],
        "limits": {"wall_s": wall_s, "memory_mb": 3000},
    })


def save_honest_model(folder: Path, template: str) -> None:
    """The model as the student's notebook saved it (its custom layer behaves there)."""
    import keras

    namespace: dict = {"__name__": "__main__"}
    exec(IMPORTS + template.format(body=HONEST), namespace)
    keras.utils.set_random_seed(0)
    namespace["build_model"]().save(folder / "model.keras")


def grade(folder: Path, template: str, body: str, task: str, test: Split, wall_s: float = 90):
    """Grade the saved honest model with the notebook's hostile class, as the grader does."""
    folder.mkdir(parents=True, exist_ok=True)
    save_honest_model(folder, template)
    write_notebook(folder / "nb.ipynb", template.format(body=body))
    spec = spec_for(task, wall_s)
    source = EvaluationSource(folder / "nb.ipynb", spec, folder / "scratch")
    measured = measure_model_file(folder / "model.keras", spec, get_task(task), test, source=source)
    assert measured.evaluation == "sandbox"
    scratch = folder / "scratch"
    assert not scratch.exists() or not any(scratch.iterdir()), "a sandbox's folder was left behind"
    return measured


@pytest.fixture(scope="module")
def digits() -> Split:
    rng = np.random.default_rng(0)
    return Split(rng.random((60, 8, 8), dtype=np.float32), rng.integers(0, 10, 60))


@pytest.fixture(scope="module")
def control(tmp_path_factory, digits):
    """The control student's values, graded before any attack."""
    measured = grade(tmp_path_factory.mktemp("control"), CLASSIFIER, HONEST, "classifier", digits)
    assert measured.error is None, measured.error.reason
    return measured


def check_control_unchanged(tmp_path, control, digits) -> None:
    again = grade(tmp_path / "control_again", CLASSIFIER, HONEST, "classifier", digits)
    assert again.error is None and again.values == control.values


@needs_bwrap
def test_a_layer_that_reads_a_file_outside_its_sandbox(tmp_path, control, digits):
    canary = tmp_path / "instructor_secret.txt"
    canary.write_text(f"SECRET-{TOKEN}")
    body = f"        open({str(canary)!r}).read()"
    measured = grade(tmp_path / "student", CLASSIFIER, body, "classifier", digits)
    assert measured.error is not None and not measured.values
    assert "FileNotFoundError" in measured.error.reason
    assert TOKEN not in measured.error.reason
    check_control_unchanged(tmp_path, control, digits)


@needs_bwrap
def test_a_layer_that_writes_a_file_outside_its_sandbox(tmp_path, control, digits):
    target = tmp_path / f"escaped-{TOKEN}.txt"
    body = (f"        try:\n            open({str(target)!r}, 'w').write('out')\n"
            "        except OSError:\n            pass")
    measured = grade(tmp_path / "student", CLASSIFIER, body, "classifier", digits)
    assert measured.error is None and measured.values == control.values  # graded as it deserves
    assert not target.exists()
    check_control_unchanged(tmp_path, control, digits)


@needs_bwrap
def test_a_layer_that_opens_a_socket(tmp_path, control, digits):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    arrived: list = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                arrived.append(listener.accept())
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    body = f"        import socket\n        socket.create_connection(('127.0.0.1', {port}), timeout=3)"
    try:
        measured = grade(tmp_path / "student", CLASSIFIER, body, "classifier", digits)
    finally:
        done.set()
        thread.join(timeout=5)
        listener.close()
    assert not arrived, "a connection from the sandbox reached the grader's machine"
    assert measured.error is not None and "ConnectionRefusedError" in measured.error.reason
    check_control_unchanged(tmp_path, control, digits)


def test_a_layer_that_sleeps_past_the_limit(tmp_path, control, digits):
    body = "        import time\n        time.sleep(3600)"
    measured = grade(tmp_path / "student", CLASSIFIER, body, "classifier", digits, wall_s=45)
    assert measured.error is not None and measured.error.code == "timeout"
    assert "time limit of 45 s" in measured.error.reason or "limit of 45 s" in measured.error.reason
    check_control_unchanged(tmp_path, control, digits)


@needs_bwrap
def test_an_autoencoder_cannot_hand_its_images_around_the_bottleneck(tmp_path, control):
    rng = np.random.default_rng(1)
    images = rng.random((40, 64), dtype=np.float32)
    test = Split(images, images)
    scratch_root = tmp_path / "student" / "scratch"
    body = STASH.format(places=tuple(p.replace("{scratch_root}", str(scratch_root))
                                     for p in STASH_PLACES), token=TOKEN)
    honest = grade(tmp_path / "honest", AUTOENCODER, HONEST, "autoencoder", test)
    measured = grade(tmp_path / "student", AUTOENCODER, body, "autoencoder", test)
    assert honest.error is None and measured.error is None, (honest.error, measured.error)
    # no identity: the decoder saw only the codes, and earns what they are worth
    assert measured.values["mean_squared_error"] == pytest.approx(honest.values["mean_squared_error"])
    assert measured.values["mean_squared_error"] > 0.01
    kept = [p for place in ("/tmp", "/dev/shm", "/var/tmp", str(tmp_path))
            for p in Path(place).rglob(f"stash-{TOKEN}*")] if Path("/var/tmp").exists() else []
    assert not kept, f"the hidden images were kept outside the sandbox: {kept}"


@needs_bwrap
def test_a_layer_that_keeps_the_hidden_inputs(tmp_path, control, digits):
    from autograder.runner.train import PACKAGE_DIR

    places = ("/tmp", "/dev/shm", os.path.expanduser("~"), ".", str(PACKAGE_DIR), str(tmp_path))
    body = f'''
        import os
        if not isinstance(x, keras.KerasTensor):
            for place in {places!r}:
                try:
                    np.save(os.path.join(place, "kept-{TOKEN}.npy"), keras.ops.convert_to_numpy(x))
                except Exception:
                    pass'''
    measured = grade(tmp_path / "student", CLASSIFIER, body, "classifier", digits)
    assert measured.error is None and measured.values == control.values
    kept = [p for place in ("/tmp", "/dev/shm", str(PACKAGE_DIR), str(tmp_path))
            for p in Path(place).rglob(f"kept-{TOKEN}*")]
    assert not kept, f"the hidden inputs were kept outside the sandbox: {kept}"
    check_control_unchanged(tmp_path, control, digits)
