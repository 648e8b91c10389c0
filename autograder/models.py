"""Loading and running Keras models without executing student code.

TensorFlow is imported here (lazily), never in modules that only handle numbers or reports.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from .errors import (
    ModelLoadError,
    ModelMissingError,
    ModelShapeError,
    NonFiniteOutputError,
    SubmissionError,
)


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ log lines before it is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def current_device() -> str:
    """The device model work runs on: ``GPU:0 (<name>)`` when TensorFlow sees a GPU, else ``CPU``."""
    quiet_tensorflow()
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "unknown")
        return f"GPU:0 ({name})"
    return "CPU"


def check_model_archive(path: Path, *, max_mb: float, label: str = "model file") -> None:
    """The checks :func:`load_model_safely` makes before Keras reads ``path``.

    Raises:
        ModelMissingError: the file does not exist.
        ModelLoadError: the file is a link, too large, or not a zip archive (or a damaged one).
    """
    path = Path(path)
    if path.is_symlink():
        raise ModelLoadError(
            f"'{path.name}' is a symbolic link; submit the model file itself (model.save(...))"
        )
    if not path.is_file():
        raise ModelMissingError(
            f"no {label} '{path.name}' in the submission: save your trained model with "
            f"model.save('{path.name}') and submit again"
        )
    size_mb = path.stat().st_size / 2**20
    if size_mb > max_mb:
        raise ModelLoadError(
            f"'{path.name}' is {size_mb:.3g} MB, over the limit of {max_mb:g} MB: use a smaller model"
        )
    if not zipfile.is_zipfile(path):
        raise ModelLoadError(
            f"'{path.name}' is not a Keras .keras archive (save it with model.save('{path.name}'))"
        )
    try:
        with zipfile.ZipFile(path) as zf:
            expanded_mb = sum(info.file_size for info in zf.infolist()) / 2**20
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelLoadError(f"'{path.name}' is a damaged archive: {exc}") from exc
    if expanded_mb > max_mb:
        raise ModelLoadError(
            f"'{path.name}' expands to {expanded_mb:.3g} MB, over the limit of {max_mb:g} MB "
            "(is it a zip bomb?): use a smaller model"
        )


def load_model_safely(path: Path, *, max_mb: float, label: str = "model file"):
    """Load a ``.keras`` file with Keras safe mode (no Lambda bytecode, no pickles).

    Raises:
        ModelMissingError: the file does not exist.
        ModelLoadError: the file is too large, not a Keras archive, or Keras refuses it.
    """
    path = Path(path)
    check_model_archive(path, max_mb=max_mb, label=label)
    quiet_tensorflow()
    import keras

    cache_keras_skipsets()
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types; every one means "cannot grade this file"
        lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
        # Keras' first line is often generic; a later one names the custom class or Lambda.
        telling = [ln for ln in lines if "Could not locate" in ln or "Lambda" in ln]
        msg = (telling or lines or [type(exc).__name__])[0]
        raise ModelLoadError(f"Keras could not load '{path.name}' in safe mode: {msg[:300]}") from exc
    return model


#: the object kinds of a model's layers, whose skip sets :func:`cache_keras_skipsets` stores
_SKIPSET_KINDS = ("Operation", "Layer", "Functional", "Sequential")


def cache_keras_skipsets() -> None:
    """Store Keras' per-kind attribute skip sets under the key its loader reads them from.

    Keras 3's ``saving_lib.get_attr_skipset`` reads its cache under ``saving_attr_skiplist_<kind>``
    but writes it under ``saving_attr_skipset_<kind>``, so the cache never hits: for every layer
    of every model loaded it builds a throwaway ``Layer()`` and lists its attributes (about 20 ms
    of a 130 ms load of a six-layer autoencoder). The sets are what that function computes; Keras'
    global state is per thread and ``clear_session()`` empties it, hence the check on every load.
    """
    from keras.src.backend.common import global_state
    from keras.src.saving import saving_lib

    for kind in _SKIPSET_KINDS:
        key = f"saving_attr_skiplist_{kind}"
        if global_state.get_global_attribute(key) is None:
            global_state.set_global_attribute(key, saving_lib.get_attr_skipset(kind))


#: input bytes per batch when running a model: whole test sets of small inputs (e.g. 1,000 MNIST
#: images, 3 MB) in one call, as Keras' per-call overhead (~6 ms for a small functional model)
#: outweighs the arithmetic; bounded so a convolution's activations stay well inside a worker's memory
BATCH_BYTES = 4 * 2**20
#: and at most this many rows (small inputs can have large outputs: a sequence's per-step logits)
BATCH_ROWS = 1024


def batch_rows(x: np.ndarray, max_bytes: int = BATCH_BYTES, max_rows: int = BATCH_ROWS) -> int:
    """Rows per batch for running a model on ``x``: at most ``max_bytes`` of input and
    ``max_rows`` rows, at least one row, and batches of even size (1,000 rows that need two
    batches run as 500 + 500)."""
    n = len(x)
    if n == 0:
        return 1
    row_bytes = max(1, x[:1].nbytes)
    most = max(1, min(max_rows, max_bytes // row_bytes))
    n_batches = -(-n // most)
    return -(-n // n_batches)


def run_batches(model, x: np.ndarray, batch_size: int | None = None):
    """What ``model.predict(x)`` returns, computed by eager calls on batches.

    ``predict`` traces a graph function for every model it meets (0.5 to 1 s on CPU), and the
    grader loads each submitted model once and runs it once: tracing would cost more than the
    whole evaluation of a small model. Outputs keep the model's structure (one array, or a
    list/dict of arrays), batches concatenated. ``batch_size`` defaults to :func:`batch_rows`.
    """
    isolated = getattr(model, "run_isolated", None)
    if isolated is not None:  # a model that runs in a sandbox (autograder.sandboxed_eval)
        return isolated(x)
    import keras

    batch_size = batch_size or batch_rows(x)
    if len(x) == 0:  # (predict itself fails on no rows)
        return keras.tree.map_structure(keras.ops.convert_to_numpy, model(x, training=False))
    batches = [
        keras.tree.map_structure(keras.ops.convert_to_numpy, model(x[i:i + batch_size], training=False))
        for i in range(0, len(x), batch_size)
    ]
    if len(batches) == 1:
        return batches[0]
    return keras.tree.map_structure(lambda *parts: np.concatenate(parts, axis=0), *batches)


def predict(model, x: np.ndarray, *, expected_shape: tuple[int, ...], batch_size: int | None = None):
    """Run ``model`` on ``x`` and check its output is finite and of ``expected_shape``."""
    try:
        out = run_batches(model, x, batch_size)
    except SubmissionError:  # (a sandboxed model's reason, already for the student)
        raise
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        expects = getattr(model, "input_shape", None)
        hint = f" (the model expects inputs of shape {expects})" if expects else ""
        raise ModelShapeError(
            f"the model could not run on inputs of shape (batch, "
            f"{', '.join(map(str, x.shape[1:]))}){hint}: {msg[:300]}"
        ) from exc
    if isinstance(out, (list, tuple, dict)):
        raise ModelShapeError(
            f"the model returns {len(out)} outputs; it should return one array of shape "
            f"{_fmt(expected_shape)}"
        )
    out = np.asarray(out)
    if out.shape != expected_shape:
        raise ModelShapeError(
            f"the model's output has shape {_fmt(out.shape)}; expected {_fmt(expected_shape)}"
        )
    if not np.all(np.isfinite(out)):
        n_bad = int(np.size(out) - np.count_nonzero(np.isfinite(out)))
        raise NonFiniteOutputError(f"the model's output contains {n_bad} NaN or infinite values")
    return out


def _fmt(shape: tuple[int, ...]) -> str:
    return "(batch, " + ", ".join(str(s) for s in shape[1:]) + ")"
