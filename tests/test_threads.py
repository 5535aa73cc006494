"""Measured accuracy is bit-identical whatever the BLAS thread settings say (issue 16)."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("sklearn")

# Trains the digits CNN briefly, prunes, quantizes and fine-tunes it, then prints the accuracy,
# a hash of every weight and the most threads numpy's BLAS had in any training step.
_SCRIPT = """
import hashlib, json, sys
from pathlib import Path
import numpy as np
from threadpoolctl import threadpool_info
from accelsim import MeasuredAccuracy, MeasurementSettings, network, numpy_model, parse_pipeline

seen = []
train = numpy_model.train
def watched(*args, **kwargs):
    seen.append(max(p["num_threads"] for p in threadpool_info() if "numpy" in p["filepath"]))
    return train(*args, **kwargs)
numpy_model.train = watched

provider = MeasuredAccuracy("digits-cnn", MeasurementSettings(train_epochs=2, finetune_epochs=1), cache_dir=Path(sys.argv[1]))
steps = parse_pipeline("prune(0.5) -> int8")
net = network("digits-cnn")
for step in steps:
    net = step(net)
estimate = provider.estimate(net, steps)
digest = hashlib.sha256()
for p in provider.model_for(steps).params:
    for array in (p.weight, p.bias, p.mask):
        if array is not None:
            digest.update(array.tobytes())
print(json.dumps({"accuracy": repr(estimate.value), "weights": digest.hexdigest(), "blas_threads": max(seen)}))
"""


def _measure(threads: int, cache) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    env.pop("MKL_NUM_THREADS", None)
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(cache)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_measured_accuracy_is_bit_identical_under_one_and_four_blas_threads(tmp_path):
    one, four = _measure(1, tmp_path / "one"), _measure(4, tmp_path / "four")  # separate caches: both train
    assert one == four
    assert four["blas_threads"] == 1  # training ran on one BLAS thread although the environment asked for 4
    assert float(one["accuracy"]) > 0.5


def test_single_blas_thread_limits_nested_blocks_and_restores_the_pools():
    from threadpoolctl import threadpool_info

    from accelsim import single_blas_thread

    def numpy_blas_threads():
        return [p["num_threads"] for p in threadpool_info() if "numpy" in p["filepath"]]

    before = numpy_blas_threads()
    with single_blas_thread():
        with single_blas_thread():
            assert numpy_blas_threads() == [1] * len(before)
        assert numpy_blas_threads() == [1] * len(before)  # the inner block leaves the outer limit
    assert numpy_blas_threads() == before
