"""Input pipelines: the graded object is the ``tf.data`` pipeline a notebook function builds.

There is no model file: the grader runs the notebook's cells in the sandbox (train mode) and calls
the builder, ``make_pipeline(images, labels, batch_size, seed)``, on the hidden split's id-coded
images; :mod:`autograder.pipeline_checks` checks the batches and times them against a naive loop.

Metrics: ``pipeline_correctness`` (fraction of the checks passed) and ``throughput_log2_ratio`` (log2 of the
items per second over the naive loop's). Baselines (0 points): ``none`` (no check passed) and
``naive_loop`` (as fast as the naive loop: log2 of a ratio of 1, 0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import Split
from ..errors import SpecError, SubmissionError

METRICS = ("pipeline_correctness", "throughput_log2_ratio")
BASELINES = {("pipeline_correctness", "none"): 0.0, ("throughput_log2_ratio", "naive_loop"): 0.0}


class PipelineTask:
    name = "pipeline"

    def measure_notebook(self, notebook: Path, spec, workdir: Path, test: Split, seed: int | None = None):
        """Run the notebook's pipeline on ``test`` in the sandbox: a Measurement of both metrics."""
        from ..evaluate import Measurement
        from ..runner.train import run_notebook_job

        for m in spec.metrics:
            self._check_metric(m.name)
        try:
            job = run_notebook_job(notebook, spec, workdir, test.x, test.y, kind="pipeline", seed=seed)
        except SubmissionError as exc:
            return Measurement(values={}, error=exc)
        values = job["status"]["values"]
        problems = job["status"].get("problems") or []
        return Measurement(values={k: float(values[k]) for k in METRICS}, notes=tuple(problems))

    def baseline_value(self, metric: str, kind: str) -> float:
        try:
            return BASELINES[(metric, kind)]
        except KeyError:
            raise SpecError(f"unknown pipeline baseline {kind!r} for {metric}; known: "
                            f"{sorted(BASELINES)}") from None

    def _check_metric(self, metric: str) -> None:
        if metric not in METRICS:
            raise SpecError(f"the pipeline task measures {METRICS}, not {metric!r}")

    # A pipeline has no model outputs: the model-file path of the grader never applies.
    def expected_output_shape(self, test: Split) -> tuple[int, ...]:
        raise SpecError("the pipeline task grades a notebook function (mode = 'train'), not a model file")

    def measure(self, metric: str, outputs: np.ndarray, test: Split) -> float:
        raise SpecError("the pipeline task grades a notebook function (mode = 'train'), not a model file")

    def baseline_outputs(self, kind: str, train: Split, test: Split) -> np.ndarray:
        raise SpecError("pipeline baselines are fixed values: see baseline_value")


TASK = PipelineTask()
