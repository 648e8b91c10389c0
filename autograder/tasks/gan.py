"""GANs: the graded file is the generator (latent code -> 28x28 digit), with its loss history beside it.

The grader never runs the student's discriminator or training code. It loads the saved generator
(Keras safe mode), feeds it :data:`N_SAMPLES` codes drawn from N(0, I) with its own seed, and shows
the samples to a **judge**: the ``digits`` assignment's reference classifier of the same course
(``reference_models/digits/reference.keras``). It measures:

* ``inception_score``: the judge's inception score of the samples (confident *and* varied digits;
  :func:`autograder.metrics.inception_score`);
* ``gan_dynamics_score``: the fraction of :func:`autograder.metrics.gan_dynamics_checks` that the
  per-epoch losses saved beside the generator pass (finite, discriminator not collapsed, losses
  move). The history file (:mod:`autograder.histories`) is read strictly; a missing or malformed
  one scores 0 on this metric, with the reason, while the samples are still graded.

Baseline (0 points for every metric): ``random_noise``, a "generator" of uniform noise images with
no training history. The history is the student's own record: it shows how training went, it does
not prove it (the samples do).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import Split
from ..errors import AutograderError, ModelShapeError, SpecError
from ..histories import HistoryError, LossHistory, history_path, read_loss_history
from ..metrics import gan_dynamics_checks, get_metric
from ._submodels import check_finite, run_submodel

N_SAMPLES = 512
SAMPLE_SEED = 2021
NOISE_SEED = 7
IMAGE_SHAPE = (28, 28)
MAX_LATENT = 512
PIXEL_TOLERANCE = 1e-3
HISTORY_KEYS = ("d_loss", "g_loss")
JUDGE = ("digits", "reference.keras")  # reference_models/<assignment>/<file> of the same course
METRICS = ("inception_score", "gan_dynamics_score")


@dataclass(frozen=True)
class GANOutputs:
    """What the grader gets from a generator."""

    samples: np.ndarray  # (N_SAMPLES, 28, 28), pixels in [0, 1]
    probabilities: np.ndarray  # the judge's class probabilities of the samples, (N_SAMPLES, 10)
    history: LossHistory | None  # None: no valid history (see notes)
    notes: tuple[str, ...] = ()


def latent_dim(generator) -> int:
    """The width of the generator's input codes: it must take flat vectors ``(batch, k)``."""
    shape = getattr(generator, "input_shape", None)
    if not (isinstance(shape, tuple) and len(shape) == 2 and isinstance(shape[1], int)):
        raise ModelShapeError(f"the generator's input has shape {shape}; it should take flat latent codes "
                              "of shape (batch, LATENT_DIM)")
    if not 1 <= shape[1] <= MAX_LATENT:
        raise ModelShapeError(f"the generator takes codes of {shape[1]} values; use at most {MAX_LATENT}")
    return shape[1]


def generate(generator, n: int = N_SAMPLES, seed: int = SAMPLE_SEED) -> np.ndarray:
    """``n`` images from codes z ~ N(0, I) (the grader's seed), checked: (n, 28, 28) in [0, 1]."""
    z = np.random.default_rng(seed).standard_normal((n, latent_dim(generator))).astype(np.float32)
    outs = run_submodel(generator, z, "generator")
    if len(outs) != 1:
        raise ModelShapeError(f"the generator returns {len(outs)} outputs; it should return the images only")
    images = outs[0]
    if int(np.prod(images.shape[1:])) != int(np.prod(IMAGE_SHAPE)):
        raise ModelShapeError(f"the generator returns samples of shape {images.shape[1:]}; each should hold "
                              f"{int(np.prod(IMAGE_SHAPE))} pixels (28x28, flat or not)")
    check_finite(images, "the generator's output")
    low, high = float(images.min()), float(images.max())
    if low < -PIXEL_TOLERANCE or high > 1 + PIXEL_TOLERANCE:
        raise ModelShapeError(f"the generator's pixels lie in [{low:.3g}, {high:.3g}]; they should lie in "
                              "[0, 1] like the training images (a sigmoid output layer)")
    return np.clip(images.reshape(n, *IMAGE_SHAPE), 0.0, 1.0).astype(np.float32)


def as_probabilities(scores: np.ndarray) -> np.ndarray:
    """The judge's outputs as probabilities (a softmax over logits when they are not already)."""
    scores = np.asarray(scores, dtype=np.float64)
    if np.all(scores >= 0) and np.allclose(scores.sum(axis=1), 1.0, atol=1e-3):
        return scores
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@functools.lru_cache(maxsize=4)
def _load_judge(path: str):
    from ..errors import SubmissionError
    from ..models import load_model_safely

    if not Path(path).is_file():
        raise AutograderError(f"the GAN's judge {path} is missing: the course needs the reference of the "
                              f"`{JUDGE[0]}` assignment (run `autograder train-reference {JUDGE[0]}`)")
    try:
        return load_model_safely(Path(path), max_mb=50, label="judge classifier")
    except SubmissionError as exc:
        raise AutograderError(f"the GAN's judge cannot be loaded: {exc.reason}; run "
                              f"`autograder train-reference {JUDGE[0]}` first") from exc


def noise_images(n: int = N_SAMPLES, seed: int = NOISE_SEED) -> np.ndarray:
    """The baseline's samples: uniform noise in [0, 1]."""
    return np.random.default_rng(seed).random((n, *IMAGE_SHAPE)).astype(np.float32)


def history_notes(history: LossHistory) -> tuple[str, ...]:
    """What the student should know about failed dynamics checks."""
    why = {
        "finite": "a loss in the training history is NaN or infinite",
        "discriminator_not_collapsed": "at the last epoch the discriminator wins outright (its loss near 0, "
                                       "or the generator's loss exploding)",
        "losses_move": "a loss in the training history never changes (is a network trained?)",
    }
    checks = gan_dynamics_checks(history["d_loss"], history["g_loss"])
    return tuple(why[name] for name, ok in checks.items() if not ok)


@dataclass(frozen=True)
class GANTask:
    name: str = "gan"
    #: other assignments' reference folders the task reads (the judge's), copied into demo courses
    uses_references: tuple[str, ...] = (JUDGE[0],)
    #: how the reference (and train mode) trains it: the notebook's fit_gan() (autograder/runner/train.py)
    train_job: str = "fit"
    #: the course's reference_models folder, where the judge lives (set by :func:`with_references`)
    references: Path | None = None

    def with_references(self, references: Path) -> GANTask:
        return dataclasses.replace(self, references=Path(references))

    def judge_path(self) -> Path:
        if self.references is None:
            raise AutograderError("the gan task needs the course's reference_models folder for its judge")
        return self.references.joinpath(*JUDGE)

    def judge(self, images: np.ndarray) -> np.ndarray:
        """The judge's class probabilities of ``images`` (n, 28, 28)."""
        scores = _load_judge(str(self.judge_path())).predict(images, batch_size=256, verbose=0)
        return as_probabilities(scores)

    def expected_output_shape(self, test: Split) -> tuple[int, ...]:
        return (N_SAMPLES, *IMAGE_SHAPE)

    def run_saved_model(self, model, path: Path, test: Split) -> GANOutputs:
        samples = generate(model)
        try:
            history = read_loss_history(history_path(path), HISTORY_KEYS)
            notes = history_notes(history)
        except HistoryError as exc:
            history, notes = None, (exc.reason,)
        return GANOutputs(samples, self.judge(samples), history, notes)

    def measure(self, metric: str, outputs: GANOutputs, test: Split) -> float:
        if metric == "inception_score":
            return get_metric(metric).func(outputs.probabilities)
        if metric == "gan_dynamics_score":
            if outputs.history is None:
                return 0.0
            return get_metric(metric).func(outputs.history["d_loss"], outputs.history["g_loss"])
        raise SpecError(f"the gan task does not measure {metric!r}; it measures {METRICS}")

    def baseline_outputs(self, kind: str, train: Split, test: Split) -> GANOutputs:
        if kind != "random_noise":
            raise SpecError(f"unknown gan baseline {kind!r}; use random_noise")
        samples = noise_images()
        return GANOutputs(samples, self.judge(samples), None, ("no training history",))


TASK = GANTask()
