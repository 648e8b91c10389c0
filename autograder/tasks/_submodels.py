"""Running the named sub-models of a saved model (an autoencoder's encoder and decoder).

Autoencoder tasks do not call the saved model end to end: they call its encoder, check the latent
codes, then call its decoder on them, so a model cannot pass information around its bottleneck.
Every problem of the student's model becomes a :class:`~autograder.errors.SubmissionError` whose
reason says what to change.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelShapeError, NonFiniteOutputError, SubmissionError
from ..models import run_batches


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _shape(shape: tuple[int, ...]) -> str:
    return "(batch, " + ", ".join(str(s) for s in shape[1:]) + ")"


def get_submodel(model, name: str):
    """The nested Keras model called ``name`` inside ``model``.

    Raises:
        ModelShapeError: ``model`` holds no sub-model of that name.
    """
    isolated = getattr(model, "isolated_submodel", None)
    if isolated is not None:  # a model that runs in sandboxes: the sub-model gets its own
        return isolated(name)
    import keras

    try:
        layer = model.get_layer(name)
    except (ValueError, KeyError):
        layer = None
    if not isinstance(layer, keras.Model):
        names = ", ".join(f"'{layer.name}'" for layer in getattr(model, "layers", []))
        found = f" (it holds {names[:200]})" if names else ""
        raise ModelShapeError(
            f"the saved model has no sub-model named '{name}'{found}: build the {name} as its own "
            f'keras.Model(..., name="{name}") and call it inside the model you save'
        )
    return layer


def run_submodel(submodel, x: np.ndarray, name: str) -> list[np.ndarray]:
    """Run a sub-model on ``x``; its outputs as a list of arrays (one per output).

    Raises:
        ModelShapeError: the sub-model cannot run on ``x`` or returns other than one row per input.
    """
    try:
        out = run_batches(submodel, x)
    except SubmissionError:  # (a sandboxed sub-model's reason, already for the student)
        raise
    except Exception as exc:  # Keras raises many types; each means "cannot run on these inputs"
        expects = getattr(submodel, "input_shape", None)
        hint = f" (it expects inputs of shape {expects})" if expects else ""
        raise ModelShapeError(
            f"the {name} could not run on inputs of shape {_shape(x.shape)}{hint}: "
            f"{_first_line(exc)}"
        ) from exc
    if isinstance(out, dict):
        out = list(out.values())
    outs = [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]
    for o in outs:
        if o.ndim < 2 or o.shape[0] != len(x):
            raise ModelShapeError(
                f"the {name} returned an output of shape {o.shape} for {len(x)} inputs; it should "
                "return one row per input"
            )
    return outs


def check_finite(arr: np.ndarray, what: str) -> None:
    """Raise :class:`NonFiniteOutputError` if ``arr`` holds NaN or infinite values."""
    n_bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
    if n_bad:
        raise NonFiniteOutputError(f"{what} contains {n_bad} NaN or infinite values")


def check_shape(arr: np.ndarray, expected: tuple[int, ...], what: str) -> None:
    """Raise :class:`ModelShapeError` unless ``arr`` has shape ``expected``."""
    if arr.shape != tuple(expected):
        raise ModelShapeError(
            f"{what} has shape {_shape(arr.shape)}; expected {_shape(tuple(expected))}"
        )


def latent_width(codes: np.ndarray) -> int:
    """Values per input in a batch of latent codes (all axes but the first)."""
    return int(np.prod(codes.shape[1:]))
