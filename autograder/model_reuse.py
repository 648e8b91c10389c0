"""Loading a class's saved models: build each architecture once, then read only each file's weights.

A class's saved models often share their architecture byte for byte: the notebook prescribes it,
and "Restart & Run All" names the layers alike. Keras' ``load_model`` rebuilds the model from its
``config.json`` for every file (deserialising every layer, creating and randomly initialising its
variables: about 70 of the 105 ms it takes for a six-layer autoencoder on CPU) before it reads the
weights. :class:`ArchitectureCache` keeps the last few models it built, keyed by the SHA-256 of
their ``config.json``; a file with the same config gets that model with its own weights read in
by Keras' own loader (``saving_lib._load_state``, what ``load_model`` runs after building).

Why that is the same model ``load_model`` would give:

- Same config bytes, same architecture: Keras builds a model from its config alone.
- Every variable is overwritten: the load is strict (no ``skip_mismatch``), so a layer whose
  variables the file lacks, or holds with other shapes, fails it (Keras checks the count of each
  layer's variables and each shape); so does any warning of Keras' loader (it only warns when it
  skips a nested container of layers the file lacks, which then keep the weights they had). Then
  the file is loaded from scratch by
  :func:`~autograder.models.load_model_safely`, which reports what Keras reports, and the model
  is forgotten. So no weight of an earlier file can survive into a later one.
- Only plain archives are reused: ``config.json``, ``metadata.json`` and ``model.weights.h5``
  and nothing else (no assets, such as a text layer's vocabulary), and no stateful layer (an RNN
  with ``stateful=True`` carries state from one call to the next, outside its variables).
- The file passes every check of :func:`~autograder.models.check_model_archive` (link, size, zip
  bomb) first, as for a full load.

The model handed back is the cached object itself: it holds the weights of the latest file loaded
and is valid until the next :meth:`ArchitectureCache.load`. Use one cache per thread (Keras'
loading state is per thread) and never keep a returned model past the next load.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import threading
import warnings
import zipfile
from collections import OrderedDict
from pathlib import Path

from .models import cache_keras_skipsets, check_model_archive, load_model_safely

#: the members of a plain ``.keras`` archive; anything else (assets) means a full load
PLAIN_MEMBERS = frozenset({"config.json", "metadata.json", "model.weights.h5"})
#: how many architectures a cache keeps built (a class rarely has more than a few in common)
DEFAULT_SIZE = 4


def _stateful(node) -> bool:
    """Whether a layer of this (parsed) config has ``"stateful": true``."""
    if isinstance(node, dict):
        return node.get("stateful") is True or any(_stateful(v) for v in node.values())
    if isinstance(node, list):
        return any(_stateful(v) for v in node)
    return False


def _plain_archive(path: Path) -> tuple[bytes, bytes] | None:
    """``(config bytes, weights bytes)`` of a plain archive without stateful layers, else None."""
    with zipfile.ZipFile(path) as zf:
        if set(zf.namelist()) != PLAIN_MEMBERS:
            return None
        config = zf.read("config.json")
        try:
            if _stateful(json.loads(config)):
                return None
        except (ValueError, RecursionError):
            return None  # (Keras will say what is wrong with it)
        return config, zf.read("model.weights.h5")


def _plain_path(path: str) -> bool:
    return not (path.startswith("/") or path.endswith("/") or "//" in path
                or any(part in (".", "..") for part in path.split("/")))


@functools.cache
def _listed_store_class():
    """Keras' read-only H5 weight store, finding groups from the file's names,
    listed once. Keras asks the store about every object of the model (some 200 questions for six
    Dense layers), and its H5 store answers each with a link-checked walk of h5py calls, ~0.17 ms
    per step: most of the weight loading. When every link in the file is a hard link (the names
    h5py visits are all the links there are: no soft or external links, Keras' own check), a
    plain path not among the names is not there and one that is can be opened directly. Any other
    file or question, and every dataset read (Keras' checks of each dataset), goes to Keras."""
    import h5py
    from keras.src.saving import saving_lib

    class ListedH5Store(saving_lib.H5IOStore):
        def __init__(self, data: bytes):
            super().__init__(io.BytesIO(data), mode="r")
            objects: list[str] = []
            links: list[str] = []
            self.h5_file.visit(objects.append)
            self.h5_file.visit_links(links.append)
            self.names = frozenset(objects)
            self.listed = (self.names == frozenset(links)
                           and "_layer_checkpoint_dependencies" not in self.names)

        def _knows(self, path: str) -> bool:
            return self.listed and bool(path) and _plain_path(path)

        def has_path(self, path):
            return path in self.names if self._knows(path) else super().has_path(path)

        def get(self, path):
            if not self._knows(path):
                return super().get(path)
            group = {}
            if path in self.names:
                if not isinstance(self.h5_file[path], h5py.Group):
                    return super().get(path)  # (which raises as Keras does)
                if f"{path}/vars" in self.names:
                    group = self.h5_file[f"{path}/vars"]
                    if not isinstance(group, h5py.Group):
                        return super().get(path)
            # what H5IOStore.get sets: the path's "vars" group, or nothing found
            self._h5_entry_path, self._h5_entry_group = path, group
            self._h5_entry_initialized = True
            return self

    return ListedH5Store


def _listed_store(weights: bytes):
    """A :func:`_listed_store_class` store over ``weights``."""
    return _listed_store_class()(weights)


def _read_weights(model, weights: bytes) -> None:
    """Keras' strict weight loading of ``load_model``, into an already built ``model``."""
    from keras.src.saving import saving_lib

    store = _listed_store(weights)
    failed, messages = set(), {}
    try:
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            saving_lib._load_state(model, weights_store=store, assets_store=None, inner_path="",
                                   visited_saveables=set(), failed_saveables=failed,
                                   error_msgs=messages)
    finally:
        store.close()
    if failed:
        raise ValueError(f"{len(failed)} layers could not take the file's weights")
    if warned:  # e.g. "Skipping nested container ...": some layers kept the weights they had
        raise ValueError(f"Keras warned while loading the weights: {warned[0].message}")


class ArchitectureCache:
    """``load(path, max_mb=...)``: what :func:`load_model_safely` gives, faster for a repeated
    architecture. See the module's documentation for when a built model is reused."""

    def __init__(self, size: int = DEFAULT_SIZE):
        self.size = size
        self._models: OrderedDict[str, object] = OrderedDict()
        #: loads served from a built model, and loads Keras built from scratch
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._models)

    def load(self, path: Path, *, max_mb: float, label: str = "model file"):
        path = Path(path)
        check_model_archive(path, max_mb=max_mb, label=label)
        try:
            plain = _plain_archive(path)
        except (zipfile.BadZipFile, OSError, KeyError):
            plain = None
        key = hashlib.sha256(plain[0]).hexdigest() if plain else None
        model = self._models.get(key) if key else None
        if model is not None:
            cache_keras_skipsets()
            try:
                _read_weights(model, plain[1])
            except Exception:  # noqa: BLE001 - any failure: forget the model, load from scratch
                del self._models[key]
            else:
                self._models.move_to_end(key)
                self.hits += 1
                return model
        self.misses += 1
        model = load_model_safely(path, max_mb=max_mb, label=label)
        if key is not None and self.size > 0:
            self._models[key] = model
            while len(self._models) > self.size:
                self._models.popitem(last=False)
        return model


_PER_THREAD = threading.local()


def thread_cache() -> ArchitectureCache:
    """This thread's cache, for a grading worker that loads one class's models one after another."""
    cache = getattr(_PER_THREAD, "cache", None)
    if cache is None:
        cache = _PER_THREAD.cache = ArchitectureCache()
    return cache
