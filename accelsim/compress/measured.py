"""Measured accuracy: a real model trained on real data, compressed for real, then tested.

`MeasuredAccuracy("digits-cnn")` trains the built-in network `digits-cnn` (or `digits-mlp`) with
numpy on scikit-learn's digits (1,797 8x8 images, 10 classes; the optional extra
`accelsim[accuracy]`), caches the trained weights on disk, and for each configuration replays
its compression steps on the weights, each followed by the training it calls for (the method's
`followup` hook, in `accelsim.compress.methods`):

- `Quantize`: post-training quantization: weights per output channel, activation ranges
  calibrated on the calibration split; with `qat_epochs` > 0, quantization-aware fine-tuning;
- `StructuredPrune`: the output channels with the smallest L1 norm go (with the matching inputs
  of the next layer), then `finetune_epochs` of fine-tuning;
- `UnstructuredPrune`, `NMPrune`: magnitude masks with exactly the nonzeros the simulator
  counts (N:M along the reduction axis), then fine-tuning with the masks held;
- `LowRank`: the SVD of each factored layer, truncated to the simulated rank, then fine-tuning;
- `Tucker`: the higher-order SVD of each decomposed kernel along its channel modes, truncated to
  the simulated ranks, then fine-tuning;
- `Distill`: a student with the simulated widths, initialized from the current model's
  strongest channels (as Minitron prunes then distills) or from scratch, trained for
  `distill_epochs` against the uncompressed teacher's temperature-softened outputs.

The network the steps produce must be the network simulated: `estimate` checks the shapes,
precisions and sparsity agree. The split: 360 test images, 180 calibration images, 1,257
training images, drawn once with a fixed seed. Every estimate says "measured" and the test size.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accelsim.compress import numpy_model as nm
from accelsim.compress.accuracy import AccuracyEstimate, AccuracyProvider
from accelsim.compress.methods import Transform
from accelsim.compress.threads import single_blas_thread
from accelsim.errors import InputError
from accelsim.workload.layers import Conv2d, Layer, Linear, Network
from accelsim.workload.networks import network as builtin

TEST_IMAGES, CALIBRATION_IMAGES = 360, 180
_SPLIT_SEED = 20260101
#: Bump when training or the model code changes, so cached weights are not reused.
_CODE_VERSION = 1


@dataclass(frozen=True)
class Digits:
    """scikit-learn's digits as [N, 1, 8, 8] float32 in [0, 1], split once."""

    train_x: np.ndarray
    train_y: np.ndarray
    calibration_x: np.ndarray
    calibration_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


def load_digits() -> Digits:
    """The digits, split deterministically; a clear error when scikit-learn is missing."""
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise InputError("measured accuracy needs the optional extra: pip install 'accelsim[accuracy]'") from None
    data = sklearn_digits()
    x = (data.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(_SPLIT_SEED).permutation(len(x))
    test, calibration, train = np.split(order, [TEST_IMAGES, TEST_IMAGES + CALIBRATION_IMAGES])
    return Digits(x[train], y[train], x[calibration], y[calibration], x[test], y[test])


@dataclass(frozen=True)
class MeasurementSettings:
    """How the baseline is trained and how each compression step is followed up."""

    seed: int = 0
    train_epochs: int = 30
    finetune_epochs: int = 5
    qat_epochs: int = 0  # 0: post-training quantization, calibration only
    distill_epochs: int = 20
    learning_rate: float = 3e-3
    finetune_learning_rate: float = 1e-3
    temperature: float = 4.0
    hard_weight: float = 0.5  # weight of the true labels in the distillation loss
    use_teacher: bool = True  # False: the student learns from the labels alone (for comparison)
    student_init: str = "teacher"  # "teacher": strongest channels of the current model; "scratch"
    calibration_images: int = CALIBRATION_IMAGES

    def __post_init__(self) -> None:
        if self.student_init not in ("teacher", "scratch"):
            raise InputError(f"measured accuracy: student_init must be teacher or scratch (got {self.student_init!r})")
        if not 1 <= self.calibration_images <= CALIBRATION_IMAGES:
            raise InputError(f"measured accuracy: calibration_images must be in [1, {CALIBRATION_IMAGES}]")


def default_cache_dir() -> Path:
    return Path(os.environ.get("ACCELSIM_CACHE", Path.home() / ".cache" / "accelsim"))


@dataclass(frozen=True)
class MeasuredAccuracy(AccuracyProvider):
    """Accuracy of a built-in digits network, measured after applying the steps for real."""

    baseline: str = "digits-cnn"
    settings: MeasurementSettings = MeasurementSettings()
    cache_dir: Path | None = None
    _memo: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        nm.check_supported(builtin(self.baseline))

    @property
    def data(self) -> Digits:
        if "data" not in self._memo:
            self._memo["data"] = load_digits()
        return self._memo["data"]

    @single_blas_thread()
    def trained(self) -> nm.Model:
        """The uncompressed model, trained once and cached on disk."""
        if "baseline" not in self._memo:
            self._memo["baseline"] = self._load_or_train()
        return self._memo["baseline"]

    @single_blas_thread()
    def model_for(self, steps: Sequence[Transform]) -> nm.Model:
        """The trained model with `steps` applied for real, each followed by its training."""
        key = tuple(repr(step) for step in steps)  # repr names every parameter, describe may not
        if key not in self._memo:
            model = self.trained() if not steps else self.model_for(steps[:-1])
            self._memo[key] = self._apply(model, steps[-1], len(steps)) if steps else model
        return self._memo[key]

    @single_blas_thread()
    def test_accuracy(self, model: nm.Model) -> float:
        return nm.accuracy(model, self.data.test_x, self.data.test_y)

    @single_blas_thread()
    def estimate(self, network: Network, steps: Sequence[Transform] = (), configuration: str = "") -> AccuracyEstimate:
        model = self.model_for(tuple(steps))
        _check_same(model.network, network)
        detail = f"scikit-learn digits, {TEST_IMAGES} test images"
        return AccuracyEstimate(self.test_accuracy(model), "measured", detail)

    # --- internals ---------------------------------------------------------------------------

    def _training(self, epochs: int, learning_rate: float) -> nm.TrainingSettings:
        s = self.settings
        return nm.TrainingSettings(epochs, 32, learning_rate, s.temperature, s.hard_weight)

    def _calibration(self) -> np.ndarray:
        return self.data.calibration_x[: self.settings.calibration_images]

    def _load_or_train(self) -> nm.Model:
        net = builtin(self.baseline)
        s = self.settings
        key = json.dumps(
            [
                self.baseline,
                [layer.describe() for layer in net.layers],
                s.seed,
                s.train_epochs,
                s.learning_rate,
                _CODE_VERSION,
            ]
        )
        path = (
            self.cache_dir or default_cache_dir()
        ) / f"{self.baseline}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
        if path.exists():
            return _load(net, path)
        rng = np.random.default_rng(s.seed)
        model = nm.train(
            nm.init_model(net, rng),
            self.data.train_x,
            self.data.train_y,
            self._training(s.train_epochs, s.learning_rate),
            rng,
        )
        _save(model, path)
        return model

    def _apply(self, model: nm.Model, step: Transform, index: int) -> nm.Model:
        """The step applied to the weights, then the training the step asks for (`followup`)."""
        s = self.settings
        rng = np.random.default_rng([s.seed, index, int(hashlib.sha256(repr(step).encode()).hexdigest()[:8], 16)])
        network = step(model.network)
        plan = step.followup(s)
        student = nm.init_model(network, rng) if plan.from_scratch else adapt(model, network)
        calibration = self._calibration() if _has_integer_activations(network) else None
        if not plan.epochs:
            return nm.calibrate(student, calibration) if calibration is not None else student
        teacher = self.trained() if plan.teacher else None
        settings = self._training(plan.epochs, plan.learning_rate)
        return nm.train(student, self.data.train_x, self.data.train_y, settings, rng, teacher, calibration)


def _has_integer_activations(network: Network) -> bool:
    return any(layer.activation_precision.is_integer for layer in network.layers)


def _check_same(measured: Network, simulated: Network) -> None:
    """The measured model must be the simulated network (shapes, precisions, sparsity)."""

    def signature(net: Network) -> list[tuple]:
        return [
            (layer.name, layer.describe(), layer.weight_precision, layer.activation_precision, layer.sparsity)
            for layer in net.layers
        ]

    if signature(measured) != signature(simulated):
        raise InputError(
            f"measured accuracy: network {simulated.name} is not what these steps produce from {measured.name}; "
            "pass the compressed network and the steps that made it"
        )


# --- moving weights across a transform ---------------------------------------------------------


def adapt(model: nm.Model, network: Network) -> nm.Model:
    """Weights for `network` taken from `model`: layers kept by name (output channels with the
    largest L1 norm when the new layer has fewer, inputs following the layer before), low-rank
    factors `<name>.u` / `<name>.v` from the SVD of `<name>`, and masks for the new sparsity."""
    nm.check_supported(network)
    old = {layer.name: i for i, layer in enumerate(model.network.layers)}
    params: list[nm.Params] = []
    kept: np.ndarray | None = None  # old output channels the previous new layer kept (None: all)
    second: nm.Params | None = None  # the `.v` factor, made with its `.u`
    pending: list[nm.Params] = []  # the Tucker-2 core `.b` and last `.c`, made with the `.a`
    for i, layer in enumerate(network.layers):
        previous = network.layers[i - 1] if i else None
        if layer.name in old:
            p, kept = _resized(model.params[old[layer.name]], layer, previous, kept)
        elif layer.name.endswith(".u") and layer.name[:-2] in old:
            p, second = _factor(model.params[old[layer.name[:-2]]], layer, previous, kept)
            kept = None
        elif layer.name.endswith(".v") and second is not None:
            p, second = second, None
        elif layer.name.endswith(".a") and layer.name[:-2] in old:
            core, last = network.layers[i + 1], network.layers[i + 2]
            p, *pending = _tucker(model.params[old[layer.name[:-2]]], (layer, core, last), previous, kept)
            kept = None
        elif layer.name.endswith((".b", ".c")) and pending:
            p = pending.pop(0)
        else:
            raise InputError(f"measured accuracy: no weights for layer {layer.name} in {model.network.name}")
        params.append(p)
    params = [_with_mask(p, layer) for p, layer in zip(params, network.layers)]
    return nm.Model(network, params)


def _input_indices(layer: Layer, previous: Layer | None, kept: np.ndarray | None) -> np.ndarray | None:
    """Input positions of `layer` that survive when the previous layer kept channels `kept`."""
    if kept is None:
        return None
    if isinstance(layer, Linear) and isinstance(previous, Conv2d):
        per_channel = previous.out_height * previous.out_width
        return (kept[:, None] * per_channel + np.arange(per_channel)[None, :]).reshape(-1)
    return kept


def _resized(
    p: nm.Params, layer: Layer, previous: Layer | None, kept: np.ndarray | None
) -> tuple[nm.Params, np.ndarray | None]:
    conv = isinstance(layer, Conv2d)
    in_axis, out_axis = (1, 0) if conv else (0, 1)
    w, mask, bias = p.weight, p.mask, p.bias
    rows = _input_indices(layer, previous, kept)
    if rows is not None:
        w = np.take(w, rows, axis=in_axis)
        mask = None if mask is None else np.take(mask, rows, axis=in_axis)
    outputs = layer.out_channels
    if outputs > w.shape[out_axis]:
        raise InputError(f"measured accuracy: layer {layer.name} grew; only smaller layers can reuse weights")
    keep = None
    if outputs < w.shape[out_axis]:
        strength = np.abs(w).sum(axis=tuple(a for a in range(w.ndim) if a != out_axis))
        keep = np.sort(np.argsort(-strength, kind="stable")[:outputs])
        w = np.take(w, keep, axis=out_axis)
        mask = None if mask is None else np.take(mask, keep, axis=out_axis)
        bias = None if bias is None else bias[keep]
    return nm.Params(w.copy(), None if bias is None else bias.copy(), None if mask is None else mask.copy()), keep


def _factor(p: nm.Params, u: Layer, previous: Layer | None, kept: np.ndarray | None) -> tuple[nm.Params, nm.Params]:
    """Truncated SVD of a layer into the simulated factors: W = (U sqrt(S)) (sqrt(S) V^T)."""
    conv = isinstance(u, Conv2d)
    w = p.weight if p.mask is None else p.weight * p.mask
    rows = _input_indices(u, previous, kept)
    if rows is not None:
        w = np.take(w, rows, axis=1 if conv else 0)
    matrix = w.reshape(w.shape[0], -1) if conv else w  # conv [N, K], linear [K, N]
    left, sigma, right = np.linalg.svd(matrix.astype(np.float64), full_matrices=False)
    r = u.out_channels
    root = np.sqrt(sigma[:r])
    a, b = left[:, :r] * root, root[:, None] * right[:r]
    if conv:  # u: k x k conv to r channels (from b), v: 1 x 1 conv to N (from a)
        wu = b.reshape(r, *w.shape[1:])
        wv = a.reshape(w.shape[0], r, 1, 1)
    else:  # u: [K, r], v: [r, N]
        wu, wv = a, b
    bias = p.bias.copy() if p.bias is not None else None
    return nm.Params(wu.astype(nm.FLOAT), None), nm.Params(wv.astype(nm.FLOAT), bias)


def _tucker(
    p: nm.Params, parts: tuple[Layer, Layer, Layer], previous: Layer | None, kept: np.ndarray | None
) -> tuple[nm.Params, nm.Params, nm.Params]:
    """Tucker-2 of a kernel W [N, C, kh, kw] by the higher-order SVD of its channel modes:
    U_in (C x r_in) and U_out (N x r_out) the leading left singular vectors of W unfolded
    along C and along N, the core G = W x_C U_in^T x_N U_out^T; the parts are U_in^T (1 x 1),
    G (kh x kw) and U_out (1 x 1)."""
    first, core, _ = parts
    w = p.weight if p.mask is None else p.weight * p.mask
    rows = _input_indices(first, previous, kept)
    if rows is not None:
        w = np.take(w, rows, axis=1)
    w64 = w.astype(np.float64)
    n, c = w64.shape[:2]
    r_in, r_out = first.out_channels, core.out_channels
    u_out = np.linalg.svd(w64.reshape(n, -1), full_matrices=False)[0][:, :r_out]
    u_in = np.linalg.svd(w64.transpose(1, 0, 2, 3).reshape(c, -1), full_matrices=False)[0][:, :r_in]
    g = np.einsum("nchw,no,ci->oihw", w64, u_out, u_in)
    bias = p.bias.copy() if p.bias is not None else None
    return (
        nm.Params(u_in.T.reshape(r_in, c, 1, 1).astype(nm.FLOAT), None),
        nm.Params(g.astype(nm.FLOAT), None),
        nm.Params(u_out.reshape(n, r_out, 1, 1).astype(nm.FLOAT), bias),
    )


def _with_mask(p: nm.Params, layer: Layer) -> nm.Params:
    """The layer's sparsity as a mask with exactly `layer.nonzero_weights` ones: the mask
    carried over when it already has that many, else a new magnitude mask."""
    if layer.sparsity.is_dense:
        return nm.Params(p.weight, p.bias, None)
    target = layer.nonzero_weights
    if p.mask is not None and int(p.mask.sum()) == target:
        return p
    w = np.abs(p.weight if p.mask is None else p.weight * p.mask)
    if layer.sparsity.format == "nm":
        mask = _nm_mask(w, isinstance(layer, Conv2d), layer.sparsity.n, layer.sparsity.m)
    else:
        mask = np.zeros(w.size, nm.FLOAT)
        mask[np.argsort(-w.reshape(-1), kind="stable")[:target]] = 1
        mask = mask.reshape(w.shape)
    if int(mask.sum()) != target:
        raise InputError(
            f"measured accuracy: layer {layer.name}: mask has {int(mask.sum())} nonzeros, simulated {target}"
        )
    return nm.Params(p.weight * mask, p.bias, mask)


def _nm_mask(w: np.ndarray, conv: bool, n: int, m: int) -> np.ndarray:
    """Keep the n largest of every m consecutive weights along the reduction axis."""
    by_output = w.reshape(w.shape[0], -1) if conv else w.T  # [N, K]
    mask = np.zeros_like(by_output)
    for start in range(0, by_output.shape[1], m):
        block = by_output[:, start : start + m]
        keep = np.argsort(-block, axis=1, kind="stable")[:, : min(n, block.shape[1])]
        np.put_along_axis(mask[:, start : start + m], keep, 1, axis=1)
    return mask.reshape(w.shape) if conv else mask.T


# --- cache ------------------------------------------------------------------------------------


def _save(model: nm.Model, path: Path) -> None:
    arrays = {}
    for i, p in enumerate(model.params):
        arrays[f"w{i}"] = p.weight
        if p.bias is not None:
            arrays[f"b{i}"] = p.bias
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp.npz")
    np.savez(temporary, **arrays)
    temporary.replace(path)


def _load(network: Network, path: Path) -> nm.Model:
    with np.load(path) as data:
        params = [
            nm.Params(data[f"w{i}"], data[f"b{i}"] if f"b{i}" in data else None) for i in range(len(network.layers))
        ]
    return nm.Model(network, params)
