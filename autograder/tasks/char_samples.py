"""Generated texts ("tweets") of a next-character model, sampled by the grader.

The saved model is a next-character model as in :mod:`.char_model`. The grader samples from it
itself, in its own process, with a fixed seed (no student code runs): each of the test split's
prompts (the newline that starts a tweet) is extended one character at a time, drawn from the
model's distribution at the last position of a window of the last :data:`SEQ_LENGTH` ids (padded
with newlines at the start, as the notebook does: one input shape, so the model is traced once),
until the model writes the newline that ends a tweet or the text passes the length limit.

Measured: ``valid_text_sample_score``, the fraction of samples that are not empty, at most 280
characters, use only the vocabulary (never the unknown id 0) and are not copies of the corpus
(the test split's ``y``: every quote the grader knows, not only the students' slice).

Baseline (0 points): ``majority_class``, a model that always writes the most frequent training
character, so its texts never end.
"""

from __future__ import annotations

import numpy as np

from ..data import Split
from ..data.text_rnn import (
    END,
    MAX_TWEET_CHARS,
    N_TWEET_SAMPLES,
    SEQ_LENGTH,
    UNKNOWN_ID,
    VOCAB_SIZE,
    VOCABULARY,
    decode,
)
from ..errors import ModelShapeError, NonFiniteOutputError, SpecError
from ..metrics import get_metric
from .char_model import check_probabilities

SAMPLE_SEED = 2021
METRIC = "valid_text_sample_score"
END_ID = VOCABULARY.index(END)
#: what a tweet may contain: the vocabulary less the unknown mark and the newline that ends it
ALPHABET = "".join(ch for i, ch in enumerate(VOCABULARY) if i not in (UNKNOWN_ID, END_ID))


def _next_probabilities(step, window: np.ndarray) -> np.ndarray:
    try:
        out = np.asarray(step(window))
    except Exception as exc:  # any failure to run means the model cannot be sampled
        msg = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ModelShapeError(
            f"the model could not run on ids of shape {window.shape} (batch, {SEQ_LENGTH}): {msg}"
        ) from exc
    if out.shape != (*window.shape, VOCAB_SIZE):
        raise ModelShapeError(
            f"on ids of shape {window.shape} the model returns shape {out.shape}; expected "
            f"{(*window.shape, VOCAB_SIZE)} (one probability per character of the vocabulary)"
        )
    if not np.all(np.isfinite(out)):
        raise NonFiniteOutputError("the model's output contains NaN or infinite values")
    check_probabilities(out)
    return out[:, -1, :].astype(np.float64)


def sample_texts(step, prompts: np.ndarray, seed: int = SAMPLE_SEED,
                 max_chars: int = MAX_TWEET_CHARS) -> list[str]:
    """Extend every prompt until ``step`` draws the end id, or ``max_chars + 1`` characters.

    ``step(ids) -> probabilities`` is a next-character model; texts that never end come back
    ``max_chars + 1`` characters long (too long to be valid).
    """
    rng = np.random.default_rng(seed)
    prompts = np.asarray(prompts, dtype=np.int32)
    ids = np.concatenate([np.full((len(prompts), SEQ_LENGTH), END_ID, np.int32), prompts], axis=1)
    n_prompt = ids.shape[1]
    done = np.zeros(len(ids), dtype=bool)
    for _ in range(max_chars + 1):
        probs = _next_probabilities(step, ids[:, -SEQ_LENGTH:])
        probs /= probs.sum(axis=1, keepdims=True)
        draws = (probs.cumsum(axis=1) < rng.random((len(ids), 1))).sum(axis=1)
        nxt = np.where(done, END_ID, np.minimum(draws, VOCAB_SIZE - 1)).astype(np.int32)
        done |= nxt == END_ID
        ids = np.concatenate([ids, nxt[:, None]], axis=1)
        if done.all():
            break
    return [decode(row[n_prompt:]).split(END)[0] for row in ids]


def compiled_step(model):
    """The model as one traced function of int32 ids (fast repeated calls of one shape)."""
    import tensorflow as tf

    fn = tf.function(lambda x: model(x, training=False))
    return lambda window: fn(tf.constant(window, dtype=tf.int32))


class CharSamplesTask:
    name = "char_samples"

    def expected_output_shape(self, test: Split) -> tuple[int, ...]:
        return (len(test),)

    def run_model(self, model, test: Split) -> list[str]:
        # At most N_TWEET_SAMPLES texts, whatever split is given (e.g. training sequences as prompts).
        return sample_texts(compiled_step(model), test.x[:N_TWEET_SAMPLES])

    def measure(self, metric: str, outputs: list[str], test: Split) -> float:
        if metric != METRIC:
            raise SpecError(f"the char_samples task does not measure {metric!r}; it measures {METRIC}")
        return get_metric(metric).func(list(outputs), ALPHABET, decode(test.y),
                                       max_length=MAX_TWEET_CHARS)

    def baseline_outputs(self, kind: str, train: Split, test: Split) -> list[str]:
        if kind != "majority_class":
            raise SpecError(f"unknown char_samples baseline {kind!r}; use majority_class")
        top = int(np.argmax(np.bincount(train.y.ravel(), minlength=VOCAB_SIZE)))
        probs = np.zeros(VOCAB_SIZE, dtype=np.float32)
        probs[top] = 1.0

        def step(window: np.ndarray) -> np.ndarray:
            return np.broadcast_to(probs, (*window.shape, VOCAB_SIZE))

        return sample_texts(step, test.x)


TASK = CharSamplesTask()
