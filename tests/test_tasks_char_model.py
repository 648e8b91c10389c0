"""The next-character tasks: the prose model on hidden sequences, and tweets sampled by the grader.

Models are tiny and untrained (or hand-set) and go through the same save -> safe load -> evaluate
path as students' models.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from autograder.data import Split
from autograder.data.text_rnn import END, VOCAB_SIZE, decode, encode
from autograder.errors import SpecError
from autograder.evaluate import measure_model_file
from autograder.spec import parse_spec
from autograder.tasks import get_task
from autograder.tasks.char_samples import ALPHABET, END_ID, sample_texts

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RNG = np.random.default_rng(0)
IDS = RNG.integers(2, VOCAB_SIZE, size=(12, 41)).astype(np.int32)
PROSE = Split(x=IDS[:, :-1], y=IDS[:, 1:])
TWEETS = Split(x=np.full((6, 1), END_ID, np.int32), y=encode("a quote that exists.\nanother one.\n"))


@pytest.fixture(scope="module")
def keras():
    import keras as keras_module

    return keras_module


def _spec(part: str, metrics: list[dict]):
    return parse_spec({"assignment": "t", "notebook": "t", "task": part, "dataset": "d", "mode": "load",
                       "model_file": "m.keras", "model_grade_id": "q", "seed": 0, "metrics": metrics})


def _save(keras, tmp_path, *, units=VOCAB_SIZE, activation="softmax", fixed=None, name="m.keras",
          end_bias=0.0):
    from keras import layers

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(fixed,)), layers.Embedding(VOCAB_SIZE, 4),
                              layers.GRU(4, return_sequences=True),
                              layers.Dense(units, activation=activation)])
    if end_bias:  # texts end after a few characters: fast sampling
        kernel, bias = model.layers[-1].get_weights()
        bias[END_ID] = end_bias
        model.layers[-1].set_weights([kernel, bias])
    path = tmp_path / name
    model.save(path)
    return path


def test_char_model_measures_an_untrained_model_near_uniform(keras, tmp_path):
    task = get_task("char_model")
    spec = _spec("char_model", [{"name": "log_loss", "points": 4, "baseline": "unigram"},
                                {"name": "perplexity", "points": 1, "baseline": "uniform"},
                                {"name": "accuracy", "points": 2, "baseline": "unigram"}])
    m = measure_model_file(_save(keras, tmp_path), spec, task, PROSE)
    assert m.error is None
    assert m.values["log_loss"] == pytest.approx(np.log(VOCAB_SIZE), abs=0.1)
    assert m.values["perplexity"] == pytest.approx(np.exp(m.values["log_loss"]))
    assert 0 <= m.values["accuracy"] <= 0.2


def test_char_model_baselines(keras):
    task = get_task("char_model")
    uniform = task.baseline_outputs("uniform", PROSE, PROSE)
    assert uniform.shape == (12, 40, VOCAB_SIZE)
    assert task.measure("log_loss", uniform, PROSE) == pytest.approx(np.log(VOCAB_SIZE))
    unigram = task.baseline_outputs("unigram", PROSE, PROSE)
    assert np.allclose(unigram.sum(axis=-1), 1.0) and unigram.min() > 0  # smoothed: nothing impossible
    assert task.measure("log_loss", unigram, PROSE) < np.log(VOCAB_SIZE)  # it fits its own counts
    top = np.bincount(PROSE.y.ravel()).argmax()
    assert task.measure("accuracy", unigram, PROSE) == pytest.approx(np.mean(PROSE.y == top))
    with pytest.raises(SpecError, match="baseline"):
        task.baseline_outputs("bigram", PROSE, PROSE)
    with pytest.raises(SpecError, match="does not measure"):
        task.measure("mean_squared_error", uniform, PROSE)


@pytest.mark.parametrize("kwargs, match", [
    ({"activation": None}, "not probabilities"),
    ({"units": VOCAB_SIZE - 1}, "expected"),
])
def test_char_model_refuses_logits_and_wrong_vocabulary(keras, tmp_path, kwargs, match):
    spec = _spec("char_model", [{"name": "log_loss", "points": 4, "baseline": "unigram"}])
    m = measure_model_file(_save(keras, tmp_path, **kwargs), spec, get_task("char_model"), PROSE)
    assert m.error is not None and match in m.error.reason, m.error


def _constant_step(probs):
    return lambda window: np.broadcast_to(np.asarray(probs, np.float32), (*window.shape, VOCAB_SIZE))


def test_sampling_is_seeded_and_stops_at_the_newline():
    probs = np.zeros(VOCAB_SIZE)
    probs[encode("ab")] = 0.45
    probs[END_ID] = 0.1
    texts = sample_texts(_constant_step(probs), TWEETS.x, seed=3)
    assert texts == sample_texts(_constant_step(probs), TWEETS.x, seed=3)
    assert texts != sample_texts(_constant_step(probs), TWEETS.x, seed=4)
    assert all(set(t) <= {"a", "b"} and len(t) <= 281 for t in texts)
    never_ends = np.zeros(VOCAB_SIZE)
    never_ends[encode("a")] = 1.0
    assert sample_texts(_constant_step(never_ends), TWEETS.x) == ["a" * 281] * 6


def test_sampling_windows_are_the_last_seq_length_ids_padded_with_newlines():
    seen = []

    def step(window):
        seen.append(window.copy())
        out = np.zeros((*window.shape, VOCAB_SIZE), np.float32)
        out[..., encode("x")[0] if len(seen) < 45 else END_ID] = 1.0
        return out

    assert sample_texts(step, TWEETS.x, max_chars=60) == ["x" * 44] * 6
    assert all(w.shape == (6, 40) for w in seen)
    assert np.all(seen[0] == END_ID)
    assert decode(seen[3][0]) == "\n" * 37 + "xxx" and decode(seen[44][0]) == "x" * 40


def test_char_samples_scores_a_saved_model_and_the_baseline(keras, tmp_path):
    task = get_task("char_samples")
    spec = _spec("char_samples", [{"name": "valid_text_sample_score", "points": 3,
                                   "baseline": "majority_class"}])
    m = measure_model_file(_save(keras, tmp_path, end_bias=6.0), spec, task, TWEETS)
    assert m.error is None and 0 < m.values["valid_text_sample_score"] < 1  # some empty tweets
    again = measure_model_file(_save(keras, tmp_path, name="again.keras", end_bias=6.0), spec, task, TWEETS)
    assert again.values == m.values  # the grader's seed: same model, same samples
    many = Split(x=np.full((200, 40), END_ID, np.int32), y=TWEETS.y)
    model = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert len(task.run_model(model, many)) == 64  # never more samples than grading draws
    baseline = task.baseline_outputs("majority_class", PROSE, TWEETS)
    assert all(len(t) == 281 for t in baseline)
    assert task.measure("valid_text_sample_score", baseline, TWEETS) == 0.0
    assert task.measure("valid_text_sample_score", ["fresh words."] * 6, TWEETS) == 1.0
    assert task.measure("valid_text_sample_score", ["a quote that exists."] * 6, TWEETS) == 0.0
    assert "\n" not in ALPHABET and "\ufffd" not in ALPHABET and END == "\n"
    with pytest.raises(SpecError, match="baseline"):
        task.baseline_outputs("unigram", PROSE, TWEETS)


@pytest.mark.parametrize("kwargs, match", [
    ({"activation": None}, "not probabilities"),
    ({"units": VOCAB_SIZE + 3}, "expected"),
])
def test_char_samples_refuses_models_it_cannot_sample(keras, tmp_path, kwargs, match):
    spec = _spec("char_samples", [{"name": "valid_text_sample_score", "points": 3,
                                   "baseline": "majority_class"}])
    m = measure_model_file(_save(keras, tmp_path, **kwargs), spec, get_task("char_samples"), TWEETS)
    assert m.error is not None and match in m.error.reason, m.error
