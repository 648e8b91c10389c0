"""Loading and running Keras models without executing student code.

TensorFlow is imported here (lazily), never in modules that only handle numbers or reports.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from .errors import ModelLoadError, ModelMissingError, ModelShapeError, NonFiniteOutputError


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


def load_model_safely(path: Path, *, max_mb: float, label: str = "model file"):
    """Load a ``.keras`` file with Keras safe mode (no Lambda bytecode, no pickles).

    Raises:
        ModelMissingError: the file does not exist.
        ModelLoadError: the file is too large, not a Keras archive, or Keras refuses it.
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
    quiet_tensorflow()
    import keras

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types; every one means "cannot grade this file"
        lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
        # Keras' first line is often generic; a later one names the custom class or Lambda.
        telling = [ln for ln in lines if "Could not locate" in ln or "Lambda" in ln]
        msg = (telling or lines or [type(exc).__name__])[0]
        raise ModelLoadError(f"Keras could not load '{path.name}' in safe mode: {msg[:300]}") from exc
    return model


def run_batches(model, x: np.ndarray, batch_size: int = 256):
    """What ``model.predict(x)`` returns, computed by eager calls on batches.

    ``predict`` traces a graph function for every model it meets (0.5 to 1 s on CPU), and the
    grader loads each submitted model once and runs it once: tracing would cost more than the
    whole evaluation of a small model. Outputs keep the model's structure (one array, or a
    list/dict of arrays), batches concatenated.
    """
    import keras

    if len(x) == 0:  # (predict itself fails on no rows)
        return keras.tree.map_structure(keras.ops.convert_to_numpy, model(x, training=False))
    batches = [
        keras.tree.map_structure(keras.ops.convert_to_numpy, model(x[i:i + batch_size], training=False))
        for i in range(0, len(x), batch_size)
    ]
    if len(batches) == 1:
        return batches[0]
    return keras.tree.map_structure(lambda *parts: np.concatenate(parts, axis=0), *batches)


def predict(model, x: np.ndarray, *, expected_shape: tuple[int, ...], batch_size: int = 256):
    """Run ``model`` on ``x`` and check its output is finite and of ``expected_shape``."""
    try:
        out = run_batches(model, x, batch_size)
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
