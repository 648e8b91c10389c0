"""Loss histories that a notebook saves beside its model (e.g. a GAN's two losses per epoch).

A history is untrusted student output, so it is read strictly: a small JSON object of named lists
of numbers, all of the same length; anything else is refused with a reason the student can read.
Its file sits beside the model file: ``<model stem>_history.json`` (``gan_generator.keras`` ->
``gan_generator_history.json``), in a submission as in a train-mode scratch folder.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from .errors import SubmissionError

HISTORY_SUFFIX = "_history.json"
MAX_BYTES = 64 * 1024
MAX_ENTRIES = 1000
MIN_ENTRIES = 2


class HistoryError(SubmissionError):
    """The loss history file is missing or not in the expected form."""


@dataclass(frozen=True)
class LossHistory:
    """Named loss series, one value per epoch (NaN and infinities are kept: they are measured)."""

    series: dict[str, tuple[float, ...]]

    def __getitem__(self, key: str) -> tuple[float, ...]:
        return self.series[key]


def history_path(model_path: Path) -> Path:
    """Where the history of the model saved at ``model_path`` lies."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + HISTORY_SUFFIX)


def parse_loss_history(data: object, keys: tuple[str, ...], name: str = "the history") -> LossHistory:
    """Validate a decoded JSON value: an object with exactly ``keys``, each a list of numbers.

    Raises:
        HistoryError: anything else, with what was expected.
    """
    expected = ", ".join(f'"{k}"' for k in keys)
    example = "{" + ", ".join(f'"{k}": [0.69, 0.61, ...]' for k in keys) + "}"
    if not isinstance(data, dict) or set(data) != set(keys):
        got = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise HistoryError(f"{name} should be a JSON object with the keys {expected} (e.g. {example}); "
                           f"got {got}")
    series = {}
    for key in keys:
        values = data[key]
        if not isinstance(values, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
        ):
            raise HistoryError(f'{name}: "{key}" should be a list of numbers, one per epoch')
        if not MIN_ENTRIES <= len(values) <= MAX_ENTRIES:
            raise HistoryError(f'{name}: "{key}" has {len(values)} values; record one loss per epoch, '
                               f"between {MIN_ENTRIES} and {MAX_ENTRIES} of them")
        series[key] = tuple(float(v) for v in values)
    lengths = {len(v) for v in series.values()}
    if len(lengths) != 1:
        raise HistoryError(f"{name}: the lists {expected} should have the same length (one value "
                           f"per epoch each); got lengths {sorted(lengths)}")
    return LossHistory(series)


def read_loss_history(path: Path, keys: tuple[str, ...]) -> LossHistory:
    """Read and validate the history file at ``path`` (see :func:`parse_loss_history`).

    Raises:
        HistoryError: the file is missing, a link, too large, not JSON or not of the expected form.
    """
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise HistoryError(f"'{path.name}' is not a regular file; save the history itself with json.dump")
    if not path.is_file():
        raise HistoryError(f"no training history '{path.name}' in the submission: save the losses of "
                           "each epoch with json.dump beside the model and submit again")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise HistoryError(f"'{path.name}' is {size} bytes, over the limit of {MAX_BYTES}: record one "
                           "value per epoch, not per step")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_non_finite)
    except (UnicodeDecodeError, ValueError) as exc:
        raise HistoryError(f"'{path.name}' is not valid JSON ({type(exc).__name__}: "
                           f"{str(exc)[:120]}); write it with json.dump") from exc
    return parse_loss_history(data, keys, f"'{path.name}'")


def _non_finite(token: str) -> float:
    # json.dump writes NaN and Infinity for non-finite floats: keep them, the checks judge them.
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[token]
