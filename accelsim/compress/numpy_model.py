"""A numpy model of an accelsim network: the weights, forward and backward passes, training.

The measured-accuracy provider (`accelsim.compress.measured`) trains one of these and applies
compression to its weights for real. The model *is* an accelsim `Network` plus arrays, so the
shapes, precisions and sparsity whose accuracy is measured are exactly those the simulator runs.

Supported networks: a chain of `Conv2d` (groups = 1) and `Linear` (one token) layers, each
reading the previous one. Between layers: ReLU, except after the first factor of a low-rank
pair (`<name>.u`, which feeds `<name>.v` linearly) and after the last layer; a `Linear` after a
convolution reads the feature map flattened channel-major (C, H, W).

Low precision is simulated by fake quantization: values are rounded to what the datapath would
carry and held in float32. Weights: symmetric per output channel for integers (scale = max|w| /
(2^(b-1) - 1)), rounding to the format for FP16 and BF16. Activations, at each layer's input:
for integers, a static range per layer from calibration (`calibrate`): unsigned over [0, max]
when the calibration data never goes negative (after a ReLU), else symmetric; rounding for
FP16 and BF16. Training through quantization (QAT) passes gradients straight through the
rounding. A sparse layer carries a 0/1 mask; masked weights stay zero through training.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from accelsim.errors import InputError
from accelsim.precision import Precision
from accelsim.workload.layers import Conv2d, Layer, Linear, Network

FLOAT = np.float32


@dataclass
class Params:
    """One layer's arrays: conv weight [N, C, kh, kw], linear weight [K, N]; mask like weight."""

    weight: np.ndarray
    bias: np.ndarray | None
    mask: np.ndarray | None = None

    def copy(self) -> Params:
        return Params(
            self.weight.copy(),
            None if self.bias is None else self.bias.copy(),
            None if self.mask is None else self.mask.copy(),
        )


@dataclass
class Model:
    """A network and its weights; `act_ranges[i]` is layer i's calibrated input range (lo, hi)."""

    network: Network
    params: list[Params]
    act_ranges: list[tuple[float, float]] | None = None

    def copy(self) -> Model:
        ranges = None if self.act_ranges is None else list(self.act_ranges)
        return Model(self.network, [p.copy() for p in self.params], ranges)


# --- structure ------------------------------------------------------------------------------------


def check_supported(network: Network) -> None:
    """One-line error unless the network is a chain of Conv2d (groups 1) and one-token Linear."""
    for i, (layer, producers) in enumerate(zip(network.layers, network.producers())):
        where = f"measured accuracy: layer {layer.name}"
        if not isinstance(layer, (Conv2d, Linear)):
            raise InputError(f"{where}: a {layer.kind} is not supported; supported: conv2d, linear")
        if isinstance(layer, Conv2d) and layer.groups != 1:
            raise InputError(f"{where}: grouped convolutions are not supported")
        if isinstance(layer, Linear) and layer.tokens != 1:
            raise InputError(f"{where}: tokens must be 1 (got {layer.tokens})")
        if i and producers != (i - 1,):
            raise InputError(f"{where}: reads {producers}; only chains of layers are supported")
        if i and isinstance(layer, Conv2d) and not isinstance(network.layers[i - 1], Conv2d):
            raise InputError(f"{where}: a convolution after a linear layer is not supported")


_FACTOR_NEXT = ((".u", ".v"), (".a", ".b"), (".b", ".c"))


def _relu_after(network: Network, i: int) -> bool:
    layers = network.layers
    if i == len(layers) - 1:
        return False
    # No ReLU inside a factored layer: between `.u` and `.v` (low rank), `.a`, `.b` and `.c` (Tucker-2).
    name, following = layers[i].name, layers[i + 1].name
    return not any(name.endswith(a) and following == name[: -len(a)] + b for a, b in _FACTOR_NEXT)


def _fan_in(layer: Layer) -> int:
    return layer.gemm_mkn[1]


def init_model(network: Network, rng: np.random.Generator) -> Model:
    """He-initialized weights, zero biases."""
    check_supported(network)
    params = []
    for layer in network.layers:
        std = np.sqrt(2.0 / _fan_in(layer))
        if isinstance(layer, Conv2d):
            shape: tuple[int, ...] = (layer.out_channels, layer.in_channels, *layer.kernel)
            bias = layer.bias or layer.batch_norm
        else:
            shape = (layer.in_features, layer.out_features)  # type: ignore[union-attr]
            bias = layer.bias  # type: ignore[union-attr]
        weight = (rng.standard_normal(shape) * std).astype(FLOAT)
        params.append(
            Params(weight, np.zeros(shape[0] if isinstance(layer, Conv2d) else shape[1], FLOAT) if bias else None)
        )
    return Model(network, params)


# --- quantization -----------------------------------------------------------------------------------


def round_to_format(x: np.ndarray, precision: Precision) -> np.ndarray:
    """x rounded to a float format (FP32: unchanged)."""
    if precision is Precision.FP16:
        return x.astype(np.float16).astype(FLOAT)
    if precision is Precision.BF16:
        bits = np.ascontiguousarray(x, dtype=FLOAT).view(np.uint32)
        rounded = (bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))) & np.uint32(0xFFFF0000)
        return rounded.view(FLOAT)
    return x


def quantize_weight(w: np.ndarray, precision: Precision, channel_axis: int) -> np.ndarray:
    """Fake-quantized weights: per-output-channel symmetric integers, or float rounding."""
    if not precision.is_integer:
        return round_to_format(w, precision)
    qmax = 2 ** (precision.bits - 1) - 1
    axes = tuple(a for a in range(w.ndim) if a != channel_axis)
    peak = np.max(np.abs(w), axis=axes, keepdims=True)
    scale = np.where(peak > 0, peak / qmax, 1.0).astype(FLOAT)
    return (np.clip(np.round(w / scale), -qmax, qmax) * scale).astype(FLOAT)


def quantize_activation(x: np.ndarray, precision: Precision, lo: float, hi: float) -> np.ndarray:
    """Fake-quantized activations over a calibrated range [lo, hi]."""
    if not precision.is_integer:
        return round_to_format(x, precision)
    if lo >= 0:  # after a ReLU: all levels on [0, hi]
        levels = 2**precision.bits - 1
        scale = hi / levels if hi > 0 else 1.0
        return (np.clip(np.round(x / scale), 0, levels) * scale).astype(FLOAT)
    qmax = 2 ** (precision.bits - 1) - 1
    peak = max(abs(lo), abs(hi))
    scale = peak / qmax if peak > 0 else 1.0
    return (np.clip(np.round(x / scale), -qmax, qmax) * scale).astype(FLOAT)


def _effective_weight(layer: Layer, p: Params) -> np.ndarray:
    w = p.weight if p.mask is None else p.weight * p.mask
    return quantize_weight(w, layer.weight_precision, 0 if isinstance(layer, Conv2d) else 1)


# --- forward and backward -------------------------------------------------------------------------


def _im2col(x: np.ndarray, layer: Conv2d) -> np.ndarray:
    """[B, C, H, W] -> [B, C*kh*kw, Ho*Wo], reduction index ordered (C, kh, kw)."""
    kh, kw = layer.kernel
    s, p = layer.stride, layer.padding
    ho, wo = layer.out_height, layer.out_width
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    cols = np.empty((x.shape[0], x.shape[1], kh, kw, ho, wo), FLOAT)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i : i + s * ho : s, j : j + s * wo : s]
    return cols.reshape(x.shape[0], -1, ho * wo)


def _col2im(cols: np.ndarray, layer: Conv2d, batch: int) -> np.ndarray:
    kh, kw = layer.kernel
    s, p = layer.stride, layer.padding
    ho, wo = layer.out_height, layer.out_width
    c = layer.in_channels
    cols = cols.reshape(batch, c, kh, kw, ho, wo)
    xp = np.zeros((batch, c, layer.in_height + 2 * p, layer.in_width + 2 * p), FLOAT)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i : i + s * ho : s, j : j + s * wo : s] += cols[:, :, i, j]
    return xp[:, :, p : p + layer.in_height, p : p + layer.in_width]


@dataclass
class _Tape:
    """What the backward pass needs of one layer's forward pass."""

    input_shape: tuple[int, ...]
    operand: np.ndarray  # im2col columns or the flattened input, after activation quantization
    weight: np.ndarray  # the effective (masked, quantized) weight
    relu: np.ndarray | None  # where the output was positive, if a ReLU followed


def _layer_input(model: Model, i: int, x: np.ndarray) -> np.ndarray:
    layer = model.network.layers[i]
    if isinstance(layer, Linear):
        x = x.reshape(x.shape[0], -1)
    if layer.activation_precision is Precision.FP32:
        return x
    if layer.activation_precision.is_integer:
        if model.act_ranges is None:
            raise InputError(f"measured accuracy: layer {layer.name}: integer activations need calibration first")
        return quantize_activation(x, layer.activation_precision, *model.act_ranges[i])
    return round_to_format(x, layer.activation_precision)


def _layer_forward(model: Model, i: int, x: np.ndarray) -> tuple[np.ndarray, _Tape]:
    layer, p = model.network.layers[i], model.params[i]
    shape = x.shape
    x = _layer_input(model, i, x)
    w = _effective_weight(layer, p)
    if isinstance(layer, Conv2d):
        operand = _im2col(x, layer)
        out = np.einsum("nk,bkp->bnp", w.reshape(w.shape[0], -1), operand, optimize=True)
        if p.bias is not None:
            out += p.bias[None, :, None]
        out = out.reshape(x.shape[0], layer.out_channels, layer.out_height, layer.out_width)
    else:
        operand = x
        out = x @ w
        if p.bias is not None:
            out += p.bias
    relu = None
    if _relu_after(model.network, i):
        relu = out > 0
        out = out * relu
    return out.astype(FLOAT, copy=False), _Tape(shape, operand, w, relu)


def forward(model: Model, x: np.ndarray, tape: list[_Tape] | None = None) -> np.ndarray:
    """Logits for a batch x [B, C, H, W]; fills `tape` for `backward` when given."""
    for i in range(len(model.params)):
        x, record = _layer_forward(model, i, x)
        if tape is not None:
            tape.append(record)
    return x


def backward(model: Model, tape: list[_Tape], grad: np.ndarray) -> list[Params]:
    """Gradients of every layer's weight and bias, given d(loss)/d(logits). Quantizers pass
    gradients straight through; masked weights get none."""
    grads: list[Params] = [None] * len(tape)  # type: ignore[list-item]
    for i in range(len(tape) - 1, -1, -1):
        layer, p, t = model.network.layers[i], model.params[i], tape[i]
        if t.relu is not None:
            grad = grad * t.relu
        if isinstance(layer, Conv2d):
            g = grad.reshape(grad.shape[0], layer.out_channels, -1)
            dw = np.einsum("bnp,bkp->nk", g, t.operand, optimize=True).reshape(p.weight.shape)
            db = g.sum(axis=(0, 2)) if p.bias is not None else None
            dcols = np.einsum("nk,bnp->bkp", t.weight.reshape(t.weight.shape[0], -1), g, optimize=True)
            grad = _col2im(dcols, layer, g.shape[0])
        else:
            dw = t.operand.T @ grad
            db = grad.sum(axis=0) if p.bias is not None else None
            grad = (grad @ t.weight.T).reshape(t.input_shape)
        if p.mask is not None:
            dw = dw * p.mask
        grads[i] = Params(dw.astype(FLOAT), None if db is None else db.astype(FLOAT))
    return grads


# --- losses, training, evaluation ------------------------------------------------------------------


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def loss_and_grad(
    logits: np.ndarray,
    labels: np.ndarray,
    teacher: np.ndarray | None = None,
    temperature: float = 4.0,
    hard_weight: float = 0.5,
) -> tuple[float, np.ndarray]:
    """Cross-entropy, or with a teacher: hard_weight x CE + (1 - hard_weight) x T^2 x
    KL(softmax(teacher / T) || softmax(student / T)) (Hinton et al. 2015); mean over the batch."""
    batch = logits.shape[0]
    probs = _softmax(logits)
    onehot = np.eye(logits.shape[1], dtype=FLOAT)[labels]
    ce = float(-np.mean(np.log(probs[np.arange(batch), labels] + 1e-12)))
    grad = (probs - onehot) / batch
    if teacher is None:
        return ce, grad.astype(FLOAT)
    t = temperature
    soft_t, soft_s = _softmax(teacher / t), _softmax(logits / t)
    kl = float(np.mean(np.sum(soft_t * (np.log(soft_t + 1e-12) - np.log(soft_s + 1e-12)), axis=1)))
    kd_grad = t * (soft_s - soft_t) / batch
    loss = hard_weight * ce + (1 - hard_weight) * t * t * kl
    return loss, (hard_weight * grad + (1 - hard_weight) * kd_grad).astype(FLOAT)


@dataclass
class TrainingSettings:
    """Adam on mini-batches; the defaults train the digits models in seconds."""

    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 3e-3
    temperature: float = 4.0
    hard_weight: float = 0.5  # weight of the true labels when a teacher is given


def _batches(count: int, size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    order = rng.permutation(count)
    for start in range(0, count, size):
        yield order[start : start + size]


def train(
    model: Model,
    x: np.ndarray,
    y: np.ndarray,
    settings: TrainingSettings,
    rng: np.random.Generator,
    teacher: Model | None = None,
    calibration: np.ndarray | None = None,
) -> Model:
    """A trained copy of `model` (Adam). With `teacher`, distillation; with `calibration`, the
    activation ranges are recalibrated before every epoch (quantization-aware training)."""
    model = model.copy()
    teacher_logits = None if teacher is None else predict(teacher, x)
    state = [(np.zeros_like(p.weight), np.zeros_like(p.weight)) for p in model.params]
    bias_state = [(np.zeros_like(p.bias), np.zeros_like(p.bias)) if p.bias is not None else None for p in model.params]
    step = 0
    for _ in range(settings.epochs):
        if calibration is not None:
            model = calibrate(model, calibration)
        for idx in _batches(len(x), settings.batch_size, rng):
            tape: list[_Tape] = []
            logits = forward(model, x[idx], tape)
            target = None if teacher_logits is None else teacher_logits[idx]
            _, grad = loss_and_grad(logits, y[idx], target, settings.temperature, settings.hard_weight)
            grads = backward(model, tape, grad)
            step += 1
            for p, g, s, bs in zip(model.params, grads, state, bias_state):
                p.weight = _adam(p.weight, g.weight, s, step, settings.learning_rate)
                if p.mask is not None:
                    p.weight *= p.mask
                if p.bias is not None and bs is not None:
                    p.bias = _adam(p.bias, g.bias, bs, step, settings.learning_rate)  # type: ignore[arg-type]
    return calibrate(model, calibration) if calibration is not None else model


def _adam(
    value: np.ndarray, grad: np.ndarray, state: tuple[np.ndarray, np.ndarray], step: int, lr: float
) -> np.ndarray:
    m, v = state
    m *= 0.9
    m += 0.1 * grad
    v *= 0.999
    v += 0.001 * grad * grad
    m_hat, v_hat = m / (1 - 0.9**step), v / (1 - 0.999**step)
    return (value - lr * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(FLOAT)


def predict(model: Model, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    return np.concatenate([forward(model, x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def accuracy(model: Model, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of `x` classified as `y`."""
    return float(np.mean(np.argmax(predict(model, x), axis=1) == y))


def calibrate(model: Model, x: np.ndarray) -> Model:
    """Static activation ranges: each layer's input minimum and maximum over `x`, measured layer
    by layer through the (quantized) layers before it."""
    model = model.copy()
    model.act_ranges = [(0.0, 0.0)] * len(model.params)
    h = x
    for i, layer in enumerate(model.network.layers):
        flat = h.reshape(h.shape[0], -1) if isinstance(layer, Linear) else h
        model.act_ranges[i] = (float(flat.min()), float(flat.max()))
        h = _layer_forward(model, i, h)[0]
    return model
