"""Simulated students of `text_rnn`: what each one writes into the solution cells.

Ids name the outcome: a correct solution; a weak one (a GRU of 8 units trained one epoch, on both
texts); and a broken one, whose tweet model ends with logits instead of a softmax (as in many
tutorials: the loss takes ``from_logits=True``), which the grader cannot sample from, and whose
sampling function is left unwritten.
"""

from __future__ import annotations

from . import SimulatedStudent

_TEXT_IDS = '''
char_to_id = {ch: i for i, ch in enumerate(vocabulary) if i > 0}


def text_to_ids(text):
    return np.array([char_to_id.get(ch, 0) for ch in text], dtype="int32")


def ids_to_text(ids):
    return "".join(vocabulary[int(i)] for i in ids)
'''

_PAIRS = '''
def make_pairs(ids, seq_length):
    n = len(ids) // (seq_length + 1)
    chunks = np.asarray(ids[: n * (seq_length + 1)]).reshape(n, seq_length + 1)
    return chunks[:, :-1], chunks[:, 1:]
'''


def _build_model(units: int) -> str:
    return f'''
def build_model():
    model = keras.Sequential([
        keras.Input(shape=(None,)),
        layers.Embedding(VOCAB_SIZE, 16),
        layers.GRU({units}, return_sequences=True),
        layers.Dense(VOCAB_SIZE, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy")
    return model
'''


def _train(name: str, ids: str, epochs: int, seed: int, builder: str = "build_model()") -> str:
    return f'''
keras.utils.set_random_seed({seed})
x_{name}, y_{name} = make_pairs({ids}, SEQ_LENGTH)
{name}_model = {builder}
{name}_model.fit(x_{name}, y_{name}, epochs={epochs}, batch_size=64, verbose=2)
{name}_model.save("{name}_model.keras")
'''


_SAMPLING = '''
def sample_next(probs, rng, temperature=1.0):
    logits = np.log(np.asarray(probs, dtype="float64") + 1e-12) / temperature
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return np.array([rng.choice(p.shape[1], p=row) for row in p])


def generate(model, start_ids, n_chars, rng, temperature=1.0):
    ids = np.asarray(start_ids, dtype="int32")
    padding = np.full((len(ids), SEQ_LENGTH), text_to_ids("\\n")[0], dtype="int32")
    for _ in range(n_chars):
        window = np.concatenate([padding, ids], axis=1)[:, -SEQ_LENGTH:]
        probs = np.asarray(model.predict_on_batch(window))[:, -1, :]
        ids = np.concatenate([ids, sample_next(probs, rng, temperature)[:, None].astype("int32")], axis=1)
    return ids
'''

_UNWRITTEN_SAMPLING = _SAMPLING.replace(
    '''    logits = np.log(np.asarray(probs, dtype="float64") + 1e-12) / temperature''',
    '''    raise NotImplementedError()''',
)

_TWEETS = '''
def generate_tweets(model, n, rng, temperature=1.0):
    newline = text_to_ids("\\n")[0]
    ids = np.full((n, 1), newline, dtype="int32")
    for _ in range(MAX_TWEET + 1):
        ids = generate(model, ids, 1, rng, temperature)
        if np.all(np.any(ids[:, 1:] == newline, axis=1)):
            break
    return [ids_to_text(row[1:]).split("\\n")[0] for row in ids]
'''

_LOGITS_MODEL = '''keras.Sequential([
    keras.Input(shape=(None,)),
    layers.Embedding(VOCAB_SIZE, 16),
    layers.GRU(64, return_sequences=True),
    layers.Dense(VOCAB_SIZE),  # logits: the loss applies the softmax
])
tweet_model.compile(optimizer="adam",
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))'''


def _answers(units: int, prose: str, tweets: str, sampling: str = _SAMPLING) -> dict[str, str]:
    return {"text_ids": _TEXT_IDS, "pairs": _PAIRS, "build_model": _build_model(units),
            "train_prose": prose, "sampling": sampling, "train_tweets": tweets, "tweets": _TWEETS}


STUDENTS: tuple[SimulatedStudent, ...] = (
    SimulatedStudent(
        "correct",
        "a correct solution: the notebook's GRU, trained 6 epochs on the prose and 5 on the tweets",
        _answers(64, _train("prose", "prose_train_ids", 6, 3), _train("tweet", "tweet_ids", 5, 4)),
    ),
    SimulatedStudent(
        "weak_model",
        "a weak model: a GRU of 8 units trained one epoch on each text",
        _answers(8, _train("prose", "prose_train_ids", 1, 3), _train("tweet", "tweet_ids", 1, 4)),
    ),
    SimulatedStudent(
        "broken",
        "a tweet model that outputs logits (no softmax) and an unwritten sampling function",
        _answers(
            64,
            _train("prose", "prose_train_ids", 3, 3),
            _train("tweet", "tweet_ids", 1, 4, builder=_LOGITS_MODEL),
            sampling=_UNWRITTEN_SAMPLING,
        ),
    ),
)
