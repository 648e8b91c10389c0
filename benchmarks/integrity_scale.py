"""Cost of the integrity checks' pairwise passes for a class of N (issue "Academic integrity").

    .venv/bin/python benchmarks/integrity_scale.py            # N = 300
    .venv/bin/python benchmarks/integrity_scale.py --n 600

Synthesizes N students' code (random programs of 60 to 120 lines in a notebook's style: functions,
loops, Keras layers with random names and numbers; five pairs copied with renamed names and
reordered functions) and N small weight sets (dense nets of three architectures, 784-64-10 and
alike; five copied, five fine-tuned), then times the two passes over every pair:

* **code**: copydetect fingerprints of every document, then every pair compared
  (:func:`autograder.integrity.code.similar_code`);
* **models**: the weight summaries, then every pair of the same architecture compared in two
  streamed passes (:func:`autograder.integrity.weights.shared_models`).

Prints one JSON line: per pass, seconds, the peak of resident memory it added (sampled every
5 ms), pairs compared and pairs flagged. Loading the models from files
(what :mod:`autograder.integrity.models` adds, about as long as grading loads them) is not
included. Not a test: nothing here fails on a slow machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.integrity.code import CodeDocument, similar_code  # noqa: E402
from autograder.integrity.weights import shared_models, summarize  # noqa: E402

WORDS = ("data", "feat", "val", "score", "layer", "net", "acc", "loss", "batch", "step", "img", "label",
         "pred", "mask", "grad", "unit", "rate", "tmp", "out", "inp", "hist", "best", "mean", "norm", "epoch",
         "weight", "bias", "kernel", "noise", "sample", "token", "seq", "frame", "pixel", "logit", "prob")
LAYERS = ("Dense", "Dropout", "BatchNormalization", "Conv2D", "MaxPooling2D", "Flatten", "LayerNormalization")
OPERATORS = ("+", "-", "*", "/", "//", "%", "**", "@")
ACTIVATIONS = ("relu", "tanh", "elu", "sigmoid", "gelu", "selu")


def _name(rng: np.random.Generator) -> str:
    return "_".join(rng.choice(WORDS, size=int(rng.integers(1, 3)))) + str(int(rng.integers(0, 99)))


def _statement(rng: np.random.Generator, names: list[str], indent: str) -> list[str]:
    kind = int(rng.integers(0, 9))
    a, b = rng.choice(names, 2)
    new = _name(rng)
    names.append(new)
    if kind == 0:
        ops = rng.choice(OPERATORS, 3)
        return [f"{indent}{new} = {a} {ops[0]} {float(rng.normal()):.3f} {ops[1]} {b} {ops[2]} "
                f"{int(rng.integers(1, 99))}"]
    if kind == 1:
        layer = rng.choice(LAYERS)
        return [f"{indent}{new} = keras.layers.{layer}({int(rng.integers(2, 512))}, "
                f"activation={rng.choice(ACTIVATIONS)!r})({a})"]
    if kind == 2:
        return [f"{indent}for {new} in range({int(rng.integers(2, 50))}):",
                f"{indent}    {a} = np.clip({a} - {float(rng.random()):.4f} * {b}, "
                f"{-float(rng.random()):.2f}, None)"]
    if kind == 3:
        compare = rng.choice((">", "<", ">=", "<=", "!="))
        return [f"{indent}if {a}.mean() {compare} {float(rng.random()):.3f}:",
                f"{indent}    {new} = {b}.std(axis={int(rng.integers(0, 3))}) * {float(rng.random()):.2f}",
                f"{indent}else:", f"{indent}    {new} = {a}.max() - {float(rng.random()):.3f}"]
    if kind == 4:
        return [f"{indent}print('{new}', {a}.shape[{int(rng.integers(0, 4))}], "
                f"{b}[:{int(rng.integers(1, 999))}])"]
    if kind == 5:
        return [f"{indent}{new} = np.concatenate([{a}[{int(rng.integers(0, 99))}:], {b}]) "
                f"* {float(rng.random()):.3f}"]
    if kind == 6:
        return [f"{indent}{new} = {{k: v * {float(rng.random()):.2f} for k, v in zip({a}, {b}) "
                f"if v != {int(rng.integers(0, 9))}}}"]
    if kind == 7:
        return [f"{indent}try:", f"{indent}    {new} = {a}.reshape(-1, {int(rng.integers(1, 64))})",
                f"{indent}except ValueError as err:",
                f"{indent}    print('{_name(rng)}', err, {int(rng.integers(0, 999))})",
                f"{indent}    {new} = {b}"]
    return [f"{indent}{new} = sorted({a}, key=lambda item: -item[{int(rng.integers(0, 99))}])"
            f"[:{int(rng.integers(1, 999))}]"]


def _function(rng: np.random.Generator) -> str:
    args = [_name(rng) for _ in range(int(rng.integers(1, 4)))]
    names = list(args)
    body = [line for _ in range(int(rng.integers(5, 12))) for line in _statement(rng, names, "    ")]
    result = f"{names[-1]} {rng.choice(OPERATORS)} {float(rng.random()):.3f}"
    return f"def {_name(rng)}({', '.join(args)}):\n" + "\n".join(body) + f"\n    return {result}\n"


def program(rng: np.random.Generator) -> list[str]:
    """A random student's code: a few functions (a list, so a copier can reorder them)."""
    return [_function(rng) for _ in range(int(rng.integers(5, 9)))]


def renamed(functions: list[str], rng: np.random.Generator) -> str:
    """The same code, names replaced and functions reordered."""
    text = "\n".join(functions[i] for i in rng.permutation(len(functions)))
    for word in WORDS:
        text = text.replace(word, word[::-1] + "x")
    return text


def class_code(n: int, rng: np.random.Generator, copies: int = 5) -> list[CodeDocument]:
    docs = []
    for i in range(n):
        functions = program(rng)
        if i >= n - copies:  # copies the code of a student at the start of the class
            functions = [renamed(docs[i - (n - copies)][1], rng)]
        docs.append((f"s{i:03d}", functions))
    return [CodeDocument(s, "nb", "\n".join(f)) for s, f in docs]


ARCHITECTURES = ((784, 64, 10), (784, 128, 10), (784, 32, 32, 10))


def class_weights(n: int, rng: np.random.Generator, copies: int = 5):
    """N weight sets (kernels and biases of dense nets); the last ``2 * copies`` shared."""
    sets = []
    for i in range(n):
        if i >= n - 2 * copies:
            source = sets[i - (n - 2 * copies)]
            noise = 0.0 if i < n - copies else 0.05
            sets.append([w + noise * float(np.std(w)) * rng.standard_normal(w.shape).astype("float32")
                         for w in source])
            continue
        sizes = ARCHITECTURES[i % len(ARCHITECTURES)]
        arrays = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            arrays.append(rng.normal(0, np.sqrt(2 / fan_in), (fan_in, fan_out)).astype("float32"))
            arrays.append(rng.normal(0, 0.05, fan_out).astype("float32"))
        sets.append(arrays)
    return sets


def _rss() -> int:
    """This process's resident memory in bytes (Linux), else its peak so far."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measured(fn):
    """``fn()``, its seconds, and its peak resident memory above the memory before it (MiB),
    sampled every 5 ms by a thread (no tracing overhead on the timed work)."""
    gc.collect()
    before = _rss()
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], _rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    peak[0] = max(peak[0], _rss())
    return out, round(seconds, 2), round((peak[0] - before) / 2**20, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="students (default: 300)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n = args.n

    docs = class_code(n, rng)
    code_pairs, code_s, code_mb = measured(lambda: similar_code(docs))
    sets = class_weights(n, rng)
    summaries, summary_s, summary_mb = measured(
        lambda: [summarize(f"s{i:03d}", "m", f"file{i}", w) for i, w in enumerate(sets)])
    sets.clear()  # only the summaries are kept, as autograder.integrity.models keeps them
    (model_pairs, _nearest), models_s, models_mb = measured(lambda: shared_models(summaries))
    same_arch = sum(k * (k - 1) // 2 for k in np.unique([len(s.shapes) * 1000 + s.shapes[0][1]
                                                          for s in summaries], return_counts=True)[1])
    print(json.dumps({
        "benchmark": "integrity_scale", "n": n, "cpus": os.cpu_count(), "machine": platform.machine(),
        "code": {"seconds": code_s, "peak_mb": code_mb, "pairs": n * (n - 1) // 2,
                 "flagged": len(code_pairs),
                 "lines_per_student": round(float(np.mean([d.code.count("\n") for d in docs])), 1)},
        "models": {"seconds": models_s, "peak_mb": models_mb, "pairs": int(same_arch),
                   "flagged": len(model_pairs), "summaries_seconds": summary_s,
                   "summaries_peak_mb": summary_mb,
                   "summaries_mb": round(sum(a.nbytes for s in summaries for a in s.samples) / 2**20, 1),
                   "parameters_per_model": int(np.mean([sum(int(np.prod(s)) for s in m.shapes)
                                                        for m in summaries]))},
    }))


if __name__ == "__main__":
    main()
