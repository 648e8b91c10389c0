"""Loading many saved models of one architecture (autograder.model_reuse) and the load speed-ups
of autograder.models: each must give exactly what Keras' own ``load_model`` gives."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autograder.errors import ModelLoadError, ModelMissingError
from autograder.model_reuse import ArchitectureCache, thread_cache
from autograder.models import batch_rows, load_model_safely, run_batches

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

X = np.random.default_rng(0).normal(size=(50, 6)).astype("float32")


@pytest.fixture(scope="module")
def keras():
    import keras as keras_module

    return keras_module


def build(keras, seed: int, units: int = 5, *, stateful: bool = False):
    """One architecture for every seed (layer names fixed, so the configs are byte-identical)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(6,), batch_size=len(X) if stateful else None, name="x")
    hidden = keras.layers.Dense(units, activation="relu", name="hidden")(inputs)
    if stateful:
        seq = keras.layers.Reshape((1, units), name="seq")(hidden)
        hidden = keras.layers.SimpleRNN(3, stateful=True, name="rnn")(seq)
    outputs = keras.layers.Dense(2, name="out")(hidden)
    return keras.Model(inputs, outputs, name="student")


def saved(keras, tmp_path: Path, name: str, seed: int, **kw) -> Path:
    path = tmp_path / f"{name}.keras"
    build(keras, seed, **kw).save(path)
    return path


def outputs(model) -> np.ndarray:
    return np.asarray(model(X, training=False))


def fresh(path: Path) -> np.ndarray:
    return outputs(load_model_safely(path, max_mb=5))


def config_of(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read("config.json")


def test_same_architecture_reuses_the_model_with_each_files_weights(keras, tmp_path: Path) -> None:
    paths = [saved(keras, tmp_path, f"s{i}", seed=i) for i in range(3)]
    assert len({config_of(p) for p in paths}) == 1  # the premise: byte-identical configs
    cache = ArchitectureCache()
    first = cache.load(paths[0], max_mb=5)
    np.testing.assert_array_equal(outputs(first), fresh(paths[0]))
    for path in paths[1:]:
        model = cache.load(path, max_mb=5)
        assert model is first  # the built model, reused
        np.testing.assert_array_equal(outputs(model), fresh(path))
    assert (cache.hits, cache.misses) == (2, 1)
    # and back: nothing of the later files stays
    np.testing.assert_array_equal(outputs(cache.load(paths[0], max_mb=5)), fresh(paths[0]))


def test_another_architecture_is_built_by_keras(keras, tmp_path: Path) -> None:
    small, wide = saved(keras, tmp_path, "small", 0), saved(keras, tmp_path, "wide", 1, units=9)
    cache = ArchitectureCache()
    a, b = cache.load(small, max_mb=5), cache.load(wide, max_mb=5)
    assert a is not b and (cache.hits, cache.misses) == (0, 2)
    np.testing.assert_array_equal(outputs(b), fresh(wide))
    np.testing.assert_array_equal(outputs(cache.load(small, max_mb=5)), fresh(small))
    assert cache.hits == 1


def test_the_cache_keeps_only_the_latest_architectures(keras, tmp_path: Path) -> None:
    paths = [saved(keras, tmp_path, f"u{units}", 0, units=units) for units in (3, 4, 5)]
    cache = ArchitectureCache(size=2)
    for path in paths:
        cache.load(path, max_mb=5)
    assert len(cache) == 2
    cache.load(paths[0], max_mb=5)  # the oldest was let go: built again
    assert (cache.hits, cache.misses) == (0, 4)
    cache.load(paths[2], max_mb=5)
    assert cache.hits == 1


def _with_weights(src: Path, dst: Path, edit) -> Path:
    """A copy of ``src`` whose weights file ``edit(h5)`` changed (same config.json)."""
    import h5py

    with zipfile.ZipFile(src) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    buf = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buf, "r+") as h5:
        edit(h5)
    members["model.weights.h5"] = buf.getvalue()
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return dst


def _without_layer_weights(src: Path, dst: Path, layer: str) -> Path:
    """A copy of ``src`` whose weights file lacks ``layer``'s group (same config.json)."""
    return _with_weights(src, dst, lambda h5: h5.__delitem__(f"layers/{layer}"))


def refused_alike(seed: Path, crafted: Path) -> ArchitectureCache:
    """Load ``seed`` into a new cache, then check ``crafted`` (same config) is refused by it with
    the reason a fresh load gives; the cache, for more checks."""
    with pytest.raises(ModelLoadError) as plain:
        load_model_safely(crafted, max_mb=5)
    cache = ArchitectureCache()
    cache.load(seed, max_mb=5)
    with pytest.raises(ModelLoadError) as cached:
        cache.load(crafted, max_mb=5)
    assert cached.value.reason == plain.value.reason
    return cache


@pytest.mark.filterwarnings("ignore:Skipping nested container")  # the load from scratch warns, as Keras does
def test_a_file_missing_weights_never_gets_an_earlier_files_weights(keras, tmp_path: Path) -> None:
    """Same config, but one layer's weights left out of the file: a fresh load refuses it, and so
    must the cache (not hand back the model still holding the previous student's weights)."""
    good = saved(keras, tmp_path, "good", 0)
    other = saved(keras, tmp_path, "other", 1)
    crafted = _without_layer_weights(other, tmp_path / "crafted.keras", "dense_1")
    assert config_of(crafted) == config_of(good)
    cache = refused_alike(good, crafted)
    assert len(cache) == 0  # the half-loaded model is forgotten
    np.testing.assert_array_equal(outputs(cache.load(good, max_mb=5)), fresh(good))


@pytest.mark.filterwarnings("ignore:Skipping nested container")  # the load from scratch warns, as Keras does
def test_a_file_with_other_shapes_is_loaded_from_scratch(keras, tmp_path: Path) -> None:
    """A hand-edited config.json naming the other architecture: Keras' shape checks refuse the
    weights, the cache forgets the model, and the file gets what a fresh load gives it."""
    small, wide = saved(keras, tmp_path, "small", 0), saved(keras, tmp_path, "wide", 1, units=9)
    mixed = tmp_path / "mixed.keras"
    with zipfile.ZipFile(wide) as src, zipfile.ZipFile(mixed, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, config_of(small) if name == "config.json" else src.read(name))
    refused_alike(small, mixed)


def test_the_archive_checks_come_first(keras, tmp_path: Path) -> None:
    path = saved(keras, tmp_path, "s0", 0)
    cache = ArchitectureCache()
    cache.load(path, max_mb=5)
    with pytest.raises(ModelLoadError, match="over the limit"):
        cache.load(path, max_mb=0.001)
    with pytest.raises(ModelMissingError):
        cache.load(tmp_path / "gone.keras", max_mb=5)
    link = tmp_path / "link.keras"
    link.symlink_to(path)
    with pytest.raises(ModelLoadError, match="symbolic link"):
        cache.load(link, max_mb=5)


def test_stateful_layers_and_assets_are_never_reused(keras, tmp_path: Path) -> None:
    a = saved(keras, tmp_path, "a", 0, stateful=True)
    b = saved(keras, tmp_path, "b", 1, stateful=True)
    cache = ArchitectureCache()
    assert cache.load(a, max_mb=5) is not cache.load(b, max_mb=5)
    assert cache.hits == 0 and len(cache) == 0
    # however the config is written (here without spaces, as no Keras writes it)
    import json

    compact = [tmp_path / "c1.keras", tmp_path / "c2.keras"]
    for src, dst in zip((a, b), compact, strict=True):
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
            for name in zin.namelist():
                data = zin.read(name)
                if name == "config.json":
                    data = json.dumps(json.loads(data), separators=(",", ":")).encode()
                    assert b'"stateful":true' in data
                zout.writestr(name, data)
    assert cache.load(compact[0], max_mb=5) is not cache.load(compact[1], max_mb=5)
    assert cache.hits == 0 and len(cache) == 0

    plain = saved(keras, tmp_path, "p", 0)
    with_asset = tmp_path / "asset.keras"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(with_asset, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
        dst.writestr("assets/vocabulary.txt", "a\nb\n")
    cache.load(with_asset, max_mb=5)
    cache.load(with_asset, max_mb=5)
    assert cache.hits == 0


def test_each_thread_has_its_own_cache() -> None:
    import threading

    here = thread_cache()
    assert thread_cache() is here
    there = []
    worker = threading.Thread(target=lambda: there.append(thread_cache()))
    worker.start()
    worker.join()
    assert there[0] is not here


def test_keras_skip_sets_are_stored_where_keras_reads_them(keras, tmp_path: Path) -> None:
    """Keras' loader reads its per-kind attribute skip sets under one key and stores them under
    another; loading through autograder stores them under the key it reads, with the same sets."""
    from keras.src.backend.common import global_state
    from keras.src.saving import saving_lib

    keras.backend.clear_session()
    assert global_state.get_global_attribute("saving_attr_skiplist_Layer") is None
    load_model_safely(saved(keras, tmp_path, "s", 0), max_mb=5)
    for kind in ("Layer", "Functional"):
        stored = global_state.get_global_attribute(f"saving_attr_skiplist_{kind}")
        assert stored is not None and stored == saving_lib.get_attr_skipset(kind)


# --- batches --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rows", "row_bytes", "budget", "want"), [
    (1000, 784 * 4, 4 * 2**20, 1000),      # a whole MNIST test set in one call
    (1000, 784 * 4, 2 * 2**20, 500),       # two even batches, not 668 + 332
    (5, 1, 1, 1),                          # at least one row
    (3, 10**9, 4 * 2**20, 1),              # a row larger than the budget: one at a time
    (5000, 4, 4 * 2**20, 1000),            # tiny rows: at most 1,024 a batch, evened out
])
def test_batch_rows(rows: int, row_bytes: int, budget: int, want: int) -> None:
    x = np.zeros((rows, row_bytes), dtype=np.uint8) if row_bytes < 10**6 else np.empty((rows, 0))
    if row_bytes >= 10**6:  # (not allocating gigabytes: a view whose rows claim that size)
        x = np.lib.stride_tricks.as_strided(np.zeros(1, dtype=np.uint8), (rows, row_bytes), (0, 0))
    assert batch_rows(x, budget) == want


def test_run_batches_default_batches_give_the_same_outputs(keras) -> None:
    model = build(keras, 0)
    x = np.random.default_rng(1).normal(size=(300, 6)).astype("float32")
    np.testing.assert_allclose(run_batches(model, x), run_batches(model, x, batch_size=7),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:Skipping nested container")  # the load from scratch warns, as Keras does
def test_a_warning_of_the_weight_loader_means_a_load_from_scratch(keras, tmp_path: Path, monkeypatch) -> None:
    """Keras' loader only warns when it skips layers the file holds no group for (they keep the
    weights they had): the cache must not hand such a model on."""
    import warnings

    from keras.src.saving import saving_lib

    a, b = saved(keras, tmp_path, "a", 0), saved(keras, tmp_path, "b", 1)
    cache = ArchitectureCache()
    cache.load(a, max_mb=5)
    real = saving_lib._load_state

    def skipping(*args, **kwargs):
        real(*args, **kwargs)
        if not kwargs.get("inner_path"):
            warnings.warn("Skipping nested container at 'x': no matching group found", stacklevel=1)

    monkeypatch.setattr(saving_lib, "_load_state", skipping)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cache.load(b, max_mb=5)
    assert (cache.hits, cache.misses) == (0, 2)
    np.testing.assert_array_equal(outputs(model), fresh(b))


# --- the listed weight store ----------------------------------------------------------------------

def _weights_of(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read("model.weights.h5")


def test_the_listed_store_answers_as_keras_store(keras, tmp_path: Path) -> None:
    from keras.src.saving import saving_lib

    from autograder.model_reuse import _listed_store

    data = _weights_of(saved(keras, tmp_path, "s", 0))
    listed, plain = _listed_store(data), saving_lib.H5IOStore(io.BytesIO(data), mode="r")
    assert listed.listed
    paths = sorted(listed.names) + ["layers/nothing", "layers/dense/vars/9", "/layers/dense", "layers//dense",
                                    "layers/dense/", "layers/./dense", "", "vars"]

    def answer(store, path):  # the entry's keys and values, or what the store raised
        try:
            entry = store.get(path)
            return {key: entry[key].tolist() for key in sorted(entry.keys())}
        except Exception as exc:  # noqa: BLE001
            return (type(exc), str(exc))

    for path in paths:
        assert listed.has_path(path) == plain.has_path(path), path
        assert answer(listed, path) == answer(plain, path), path


def test_soft_links_in_the_weights_are_left_to_keras(keras, tmp_path: Path) -> None:
    """Keras refuses a weights file whose layer group is a soft link; through the cache too. A
    file with a soft link elsewhere is loaded by Keras' own store, with the same weights."""
    import h5py

    good = saved(keras, tmp_path, "good", 0)

    def link_layer(h5):
        del h5["layers/dense_1"]
        h5["layers/dense_1"] = h5py.SoftLink("/layers/dense")

    linked = _with_weights(saved(keras, tmp_path, "other", 1), tmp_path / "linked.keras", link_layer)
    cache = refused_alike(good, linked)

    def dangling(h5):
        h5["notes"] = h5py.SoftLink("/nowhere")

    odd = _with_weights(saved(keras, tmp_path, "third", 2), tmp_path / "odd.keras", dangling)
    from autograder.model_reuse import _listed_store

    assert not _listed_store(_weights_of(odd)).listed
    cache.load(good, max_mb=5)
    hits = cache.hits
    np.testing.assert_array_equal(outputs(cache.load(odd, max_mb=5)), fresh(odd))
    assert cache.hits == hits + 1
