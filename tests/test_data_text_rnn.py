"""The text_rnn datasets: the fixed vocabulary, prose split by whole passages, tweets and their fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autograder.data import load_dataset, text_rnn
from autograder.data.text_rnn import END, UNKNOWN_ID, VOCAB_SIZE, VOCABULARY, decode, encode

REPO = Path(__file__).resolve().parents[1]
STUDENT_FILE = REPO / "source" / "text_rnn" / "data" / text_rnn.STUDENT_FILE


def test_vocabulary_is_fixed():
    assert VOCAB_SIZE == len(VOCABULARY) == 97
    assert VOCABULARY[UNKNOWN_ID] == "\ufffd" and VOCABULARY[1] == END == "\n"
    assert VOCABULARY[2:] == "".join(chr(c) for c in range(32, 127))


def test_encode_decode_and_normalise():
    text = "Hello, world!\n(x ~ y)"
    assert decode(encode(text)) == text
    assert encode("\u00e9")[0] == UNKNOWN_ID and decode([UNKNOWN_ID, 500, -1]) == "\ufffd" * 3
    assert text_rnn.normalise("\u201cCaf\u00e9\u201d \u2014 it\u2019s\u2026") == '"Cafe" - it\'s...'
    assert encode(text).dtype == np.int32


def test_pairs_are_chunks_shifted_by_one():
    pairs = text_rnn.make_pairs(np.arange(100), 9)
    assert pairs.x.shape == pairs.y.shape == (10, 9)
    assert np.array_equal(pairs.x[1], np.arange(10, 19)) and np.array_equal(pairs.y[1], np.arange(11, 20))


def test_prose_splits_hold_whole_disjoint_passages():
    train, hidden = text_rnn.prose_passages("train"), text_rnn.prose_passages("test")
    assert len(hidden) >= 8 and len(train) >= 4 * len(hidden) // 2
    assert not set(train) & set(hidden)
    assert text_rnn.prose_text("train") == text_rnn.prose_text("train")
    assert len(text_rnn.prose_text("train")) == text_rnn.PROSE_TRAIN_CHARS
    assert text_rnn.hidden_files()[0] == text_rnn.topics_path()


def test_prose_dataset_shapes_and_determinism():
    train = load_dataset("text_rnn.prose", "train")
    test = load_dataset("text_rnn.prose", "test")
    assert test.x.shape == (text_rnn.PROSE_TEST_SEQUENCES, text_rnn.SEQ_LENGTH)
    for split in (train, test):
        assert split.x.shape == split.y.shape and split.x.dtype == np.int32
        assert np.array_equal(split.x[:, 1:], split.y[:, :-1])
        assert split.x.min() > UNKNOWN_ID and split.x.max() < VOCAB_SIZE
    assert test.fingerprint == load_dataset("text_rnn.prose", "test").fingerprint


def test_fortune_quotes_are_parsed_and_short(tmp_path):
    long_quote = "word " * 80
    (tmp_path / "wisdom").write_text(f"A short\n   quote.\n%\n{long_quote}\n%\nAnother \u2014 one.\n%\n")
    assert text_rnn.fortune_quotes(tmp_path) == ["A short quote.", "Another - one."]
    assert text_rnn.fortune_quotes(tmp_path / "missing") == []


def test_tweets_fall_back_to_prose_sentences_without_fortunes(monkeypatch, tmp_path):
    monkeypatch.setattr(text_rnn, "FORTUNES_DIR", tmp_path)
    monkeypatch.setattr(text_rnn, "fortune_quotes", lambda folder=tmp_path: [])
    text_rnn.tweet_corpus.cache_clear()
    try:
        corpus = text_rnn.tweet_corpus()
        assert len(corpus) > 100 and all(20 <= len(q) <= 280 for q in corpus)
        assert set(corpus) <= set(text_rnn.prose_sentences())
        train = load_dataset("text_rnn.tweets", "train")
        assert train.x.shape[1] == text_rnn.SEQ_LENGTH and len(train) > 100
    finally:
        text_rnn.tweet_corpus.cache_clear()


def test_tweets_test_split_holds_prompts_and_the_whole_corpus():
    test = load_dataset("text_rnn.tweets", "test")
    assert test.x.shape == (text_rnn.N_TWEET_SAMPLES, 1) and np.all(test.x == encode(END)[0])
    corpus = decode(test.y)
    assert corpus.split(END)[:-1] == list(text_rnn.tweet_corpus())
    assert text_rnn.tweet_text().startswith(END) and text_rnn.tweet_text()[1:] in corpus
    with pytest.raises(Exception, match="offline only"):
        load_dataset("text_rnn.tweets", "test", source="online")


def test_student_file_matches_the_loaders():
    with np.load(STUDENT_FILE) as data:
        assert "".join(map(chr, data["vocabulary"])) == VOCABULARY
        assert np.array_equal(data["prose"], encode(text_rnn.prose_text("train")))
        tweets = decode(data["tweets"])
    assert tweets.startswith(END) and tweets.endswith(END)
    if text_rnn.fortune_quotes():  # committed from the fortunes package; elsewhere the fallback differs
        assert tweets == text_rnn.tweet_text()
