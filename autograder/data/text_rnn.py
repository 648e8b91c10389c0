"""Character-level text for the ``text_rnn`` assignment: prose and short quotes ("tweets").

Every text is mapped to integer ids with one fixed vocabulary (:data:`VOCABULARY`), shipped to
students in ``text_rnn_train.npz``, so that id ``i`` means the same character to the student's
model and to the grader. Id 0 is the *unknown* mark (no training text contains it), id 1 is the
newline, ids 2-96 the printable ASCII characters. Typographic quotes, dashes and accents are
folded to ASCII first (:func:`normalise`).

* ``text_rnn.prose``: the English prose of the standard library's ``pydoc_data.topics`` (the text
  of ``help('if')`` and its siblings, ~465,000 characters in 79 passages). Passages are split
  whole, by a hash of their name: about one in five is hidden (grader only), the rest are the
  students' training text, of which the first :data:`PROSE_TRAIN_CHARS` characters are shipped.
  ``x`` and ``y`` are sequences of :data:`SEQ_LENGTH` ids, ``y`` being ``x`` shifted by one
  character (consecutive non-overlapping chunks of ``SEQ_LENGTH + 1`` ids).
  Online (``source="online"``): the Shakespeare text of TensorFlow's text-generation tutorial,
  split by passages the same way.
* ``text_rnn.tweets``: short quotes (at most 280 characters, whitespace folded to single spaces)
  from Debian's ``fortunes`` package when it is installed, else sentences of the training prose
  (a clean fallback, so the assignment works anywhere). Quotes are joined with newlines, the
  end-of-tweet mark. The ``train`` split is pairs as above from the first
  :data:`TWEET_TRAIN_CHARS` characters of quotes; the ``test`` split is what the grader needs to
  grade *samples*: ``x`` holds :data:`N_TWEET_SAMPLES` one-id prompts (the newline that starts a
  tweet) and ``y`` the ids of every quote of the corpus, to check that samples are not copies.

The texts are public (the Python standard library, a Debian package): a determined student can
read the hidden passages. The README's caveat about public data applies.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from pathlib import Path

import numpy as np

from ..errors import AutograderError
from . import Split, register, write_npz

SEQ_LENGTH = 40
UNKNOWN_ID = 0
END = "\n"
#: id -> character; id 0 (unknown) has no character of its own and decodes to U+FFFD
VOCABULARY = "\ufffd" + END + "".join(chr(c) for c in range(32, 127))
VOCAB_SIZE = len(VOCABULARY)
PROSE_TRAIN_CHARS = 80_000
PROSE_TEST_SEQUENCES = 400
TWEET_TRAIN_CHARS = 60_000
N_TWEET_SAMPLES = 64
MAX_TWEET_CHARS = 280
HIDDEN_EVERY = 5  # one passage in five is hidden
FORTUNES_DIR = Path("/usr/share/games/fortunes")
FORTUNE_FILES = ("fortunes", "wisdom", "literature", "people", "love", "art", "education", "food",
                 "science", "work", "humorists")
STUDENT_FILE = "text_rnn_train.npz"
SHAKESPEARE_URL = "https://storage.googleapis.com/download.tensorflow.org/data/shakespeare.txt"
_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2026": "...",
                       "\u2013": "-", "\u2014": "-", "\t": "    "})
_CHAR_TO_ID = {ch: i for i, ch in enumerate(VOCABULARY) if i != UNKNOWN_ID}


def normalise(text: str) -> str:
    """Fold typographic punctuation and accents to ASCII; drop what has no ASCII form."""
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in text if ch in _CHAR_TO_ID)


def encode(text: str) -> np.ndarray:
    """Characters -> ids (int32); characters outside the vocabulary become :data:`UNKNOWN_ID`."""
    return np.array([_CHAR_TO_ID.get(ch, UNKNOWN_ID) for ch in text], dtype=np.int32)


def decode(ids) -> str:
    """Ids -> characters; ids outside ``[0, VOCAB_SIZE)`` decode to the unknown mark too."""
    return "".join(VOCABULARY[i] if 0 <= i < VOCAB_SIZE else VOCABULARY[UNKNOWN_ID]
                   for i in np.asarray(ids).ravel().tolist())


def make_pairs(ids: np.ndarray, seq_length: int = SEQ_LENGTH) -> Split:
    """Consecutive chunks of ``seq_length + 1`` ids -> (chunk[:-1], chunk[1:]) pairs."""
    n = len(ids) // (seq_length + 1)
    chunks = np.asarray(ids[: n * (seq_length + 1)], dtype=np.int32).reshape(n, seq_length + 1)
    return Split(x=chunks[:, :-1].copy(), y=chunks[:, 1:].copy())


def _is_hidden(name: str) -> bool:
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % HIDDEN_EVERY == 0


def _in_hash_order(names) -> list[str]:
    return sorted(names, key=lambda n: hashlib.sha256(n.encode()).hexdigest())


def topics_path() -> Path:
    import pydoc_data

    return Path(pydoc_data.__file__).parent / "topics.py"


def hidden_files() -> list[Path]:
    """The standard library's topics file (and its bytecode): masked inside sandboxes."""
    path = topics_path()
    cached = list((path.parent / "__pycache__").glob("topics.*.pyc"))
    return [path, *cached]


@functools.lru_cache(maxsize=1)
def _topics() -> dict[str, str]:
    from pydoc_data.topics import topics

    return {name: normalise(text) for name, text in topics.items()}


def prose_passages(split: str) -> list[str]:
    """The training (``train``) or hidden (``test``) passages, in a fixed order."""
    topics = _topics()
    names = [n for n in _in_hash_order(topics) if _is_hidden(n) == (split == "test")]
    return [topics[n] for n in names]


def prose_text(split: str) -> str:
    text = END.join(prose_passages(split))
    return text[:PROSE_TRAIN_CHARS] if split == "train" else text


def _shakespeare(split: str) -> str:
    import keras

    path = keras.utils.get_file("shakespeare.txt", SHAKESPEARE_URL)
    passages = normalise(Path(path).read_text(encoding="utf-8")).split("\n\n")
    chosen = [p for i, p in enumerate(passages) if _is_hidden(f"{i}") == (split == "test")]
    return "\n\n".join(chosen)


@register("text_rnn.prose", student_files=lambda dest: write_student_files(dest))
def load_prose(split: str, source: str) -> Split:
    if source == "online":
        pairs = make_pairs(encode(_shakespeare(split)))
    else:
        pairs = make_pairs(encode(prose_text(split)))
    if split == "test":
        return Split(x=pairs.x[:PROSE_TEST_SEQUENCES], y=pairs.y[:PROSE_TEST_SEQUENCES])
    return pairs


def fortune_quotes(folder: Path = FORTUNES_DIR) -> list[str]:
    """Short quotes of the ``fortunes`` package, whitespace folded; empty when it is not installed."""
    quotes: list[str] = []
    for name in FORTUNE_FILES:
        path = Path(folder) / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for raw in re.split(r"^%$", text, flags=re.MULTILINE):
            quote = " ".join(normalise(raw).split())
            if 0 < len(quote) <= MAX_TWEET_CHARS:
                quotes.append(quote)
    return quotes


def prose_sentences() -> list[str]:
    """The fallback "tweets": sentences of the training prose, 20 to 280 characters long."""
    text = " ".join(prose_text("train").split())
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if 20 <= len(s) <= MAX_TWEET_CHARS]


@functools.lru_cache(maxsize=1)
def tweet_corpus() -> tuple[str, ...]:
    """Every short quote, in a fixed order: fortunes when installed, else prose sentences."""
    quotes = fortune_quotes() or prose_sentences()
    return tuple(dict.fromkeys(sorted(quotes, key=lambda q: hashlib.sha256(q.encode()).hexdigest())))


def tweet_text() -> str:
    """The students' tweets: whole quotes, each after a newline (its start) and ended by one, up to
    :data:`TWEET_TRAIN_CHARS` characters."""
    out, size = [END], 1
    for quote in tweet_corpus():
        if size + len(quote) + 1 > TWEET_TRAIN_CHARS:
            break
        out.append(quote + END)
        size += len(quote) + 1
    return "".join(out)


@register("text_rnn.tweets", student_files=lambda dest: write_student_files(dest))
def load_tweets(split: str, source: str) -> Split:
    if source == "online":
        raise AutograderError("the tweets of text_rnn exist offline only (Debian's fortunes package)")
    if split == "train":
        return make_pairs(encode(tweet_text()))
    prompts = np.full((N_TWEET_SAMPLES, 1), encode(END)[0], dtype=np.int32)
    return Split(x=prompts, y=encode(END.join(tweet_corpus()) + END))


def write_student_files(dest: Path) -> list[Path]:
    """One file for both parts: the vocabulary, the training prose and the training tweets."""
    path = Path(dest) / STUDENT_FILE
    write_npz(path, vocabulary=np.array([ord(c) for c in VOCABULARY], dtype=np.int32),
              prose=encode(prose_text("train")), tweets=encode(tweet_text()))
    return [path]
