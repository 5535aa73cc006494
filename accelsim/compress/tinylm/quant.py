"""Quantization of tinylm for real: weight-only (round-to-nearest, GPTQ), KV cache, W8A8.

Weight-only quantization covers the four linear layers of every block (`LINEARS`); the tied
embedding table (which is also the output head) stays in floating point, as GPTQ and AWQ leave
embeddings and head unquantized. Weights are grouped along the input (reduction) axis: each
output column's `group` consecutive input weights share one scale, rounded to FP16 (16-bit
scales), and with `sym=False` a zero point too:
- symmetric: q in [-(2^(b-1) - 1), 2^(b-1) - 1], scale = max|w| / (2^(b-1) - 1);
- asymmetric: q in [0, 2^b - 1], scale = (max - min) / (2^b - 1), zero = round(-min / scale).

GPTQ (E. Frantar et al., "GPTQ: Accurate Post-Training Quantization for Generative Pre-trained
Transformers", arXiv:2210.17323, 2022) quantizes one input row at a time and spreads its error over
the rows not yet quantized through the inverse Hessian H = 2 X^T X of the layer's calibration
inputs (1 % dampening, no act-order; a group's scale is chosen when the group's first row is
reached, on the updated weights, as the reference code does). Layers are quantized in order in
one pass over the calibration windows, each seeing inputs that went through the layers already
quantized (the reference's sequential mode).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.compress.tinylm import model as tm
from accelsim.errors import InputError

METHODS = ("rtn", "gptq")


@dataclass(frozen=True)
class WeightQuant:
    """`bits`-bit weights in groups of `group` inputs; `method` rtn or gptq."""

    bits: int = 4
    group: int = 128
    sym: bool = True
    method: str = "rtn"

    def __post_init__(self) -> None:
        if self.bits not in (2, 3, 4, 8):
            raise InputError(f"wq: bits must be 2, 3, 4 or 8 (got {self.bits!r})")
        if not isinstance(self.group, int) or self.group < 1:
            raise InputError(f"wq: group must be an integer >= 1 (got {self.group!r})")
        if self.method not in METHODS:
            raise InputError(f"wq: method must be one of {', '.join(METHODS)} (got {self.method!r})")


def _grid(block: np.ndarray, bits: int, sym: bool) -> tuple[np.ndarray, np.ndarray]:
    """Scale and zero point per output column of a block of rows [rows, N]; FP16 scales."""
    if sym:
        qmax = 2 ** (bits - 1) - 1
        peak = np.abs(block).max(axis=0)
        scale = np.where(peak > 0, peak / qmax, 1.0)
        return scale.astype(np.float16).astype(np.float64), np.zeros(block.shape[1])
    levels = 2**bits - 1
    lo, hi = np.minimum(block.min(axis=0), 0.0), np.maximum(block.max(axis=0), 0.0)
    scale = np.where(hi > lo, (hi - lo) / levels, 1.0).astype(np.float16).astype(np.float64)
    return scale, np.clip(np.round(-lo / scale), 0, levels)


def _round(w: np.ndarray, scale: np.ndarray, zero: np.ndarray, bits: int, sym: bool) -> np.ndarray:
    if sym:
        qmax = 2 ** (bits - 1) - 1
        return np.clip(np.round(w / scale), -qmax, qmax) * scale
    q = np.clip(np.round(w / scale) + zero, 0, 2**bits - 1)
    return (q - zero) * scale


def _check_group(name: str, rows: int, group: int) -> None:
    if rows % group:
        raise InputError(f"wq: group must divide the input width of {name} ({rows}); got {group}")


def rtn(w: np.ndarray, spec: WeightQuant, name: str = "weight") -> np.ndarray:
    """Round-to-nearest of a weight [in, out] on `spec`'s grid."""
    _check_group(name, w.shape[0], spec.group)
    out = np.empty(w.shape, np.float64)
    for start in range(0, w.shape[0], spec.group):
        block = w[start : start + spec.group].astype(np.float64)
        scale, zero = _grid(block, spec.bits, spec.sym)
        out[start : start + spec.group] = _round(block, scale, zero, spec.bits, spec.sym)
    return out.astype(w.dtype)


def gptq(w: np.ndarray, hessian: np.ndarray, spec: WeightQuant, name: str = "weight", damp: float = 0.01) -> np.ndarray:
    """GPTQ of a weight [in, out] given the Hessian [in, in] of its inputs."""
    _check_group(name, w.shape[0], spec.group)
    work = w.astype(np.float64).copy()
    h = hessian.astype(np.float64).copy()
    dead = np.diag(h) == 0
    h[dead, dead] = 1.0
    work[dead] = 0.0
    h[np.diag_indices_from(h)] += damp * np.mean(np.diag(h))
    # Upper Cholesky factor of H^-1: row k holds the error-propagation weights of row k.
    upper = np.linalg.cholesky(np.linalg.inv(h)).T
    out = np.empty_like(work)
    scale = zero = np.zeros(w.shape[1])
    for k in range(w.shape[0]):
        if k % spec.group == 0:
            scale, zero = _grid(work[k : k + spec.group], spec.bits, spec.sym)
        out[k] = _round(work[k], scale, zero, spec.bits, spec.sym)
        err = (work[k] - out[k]) / upper[k, k]
        work[k + 1 :] -= np.outer(upper[k, k + 1 :], err)
    return out.astype(w.dtype)


def linear_names(params: tm.Params) -> list[str]:
    return [f"layers.{i}.{n}" for i in range(tm.layer_count(params)) for n in tm.LINEARS]


def quantize_weights(params: tm.Params, spec: WeightQuant, calibration: np.ndarray, head_dim: int) -> tm.Params:
    """A copy of `params` with every block's linear weights quantized (GPTQ reads `calibration`
    windows [B, T] through the model, quantizing each layer as its inputs arrive)."""
    out = dict(params)
    if spec.method == "rtn":
        for name in linear_names(params):
            out[name + ".weight"] = rtn(params[name + ".weight"], spec, name)
        return out

    def hook(name: str, x: np.ndarray, p: tm.Params) -> np.ndarray:
        x64 = x.astype(np.float64)
        hessian = 2.0 * (x64.T @ x64) / len(x64)
        p[name + ".weight"] = gptq(p[name + ".weight"], hessian, spec, name)
        return x

    tm.forward(out, calibration, head_dim, tm.Hooks(linear=hook))
    return out


# --- KV cache ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KVQuant:
    """Keys and values cached at `bits` bits, symmetric: `token` scales (one per token and head,
    over the head's channels, computed as each token is cached) or `head` scales (one static scale
    per layer and head for K and one for V, calibrated)."""

    bits: int = 8
    granularity: str = "token"

    def __post_init__(self) -> None:
        if self.bits not in (2, 4, 8):
            raise InputError(f"kv: bits must be 2, 4 or 8 (got {self.bits!r})")
        if self.granularity not in ("token", "head"):
            raise InputError(f"kv: granularity must be token or head (got {self.granularity!r})")


def _symmetric(x: np.ndarray, peak: np.ndarray, bits: int) -> np.ndarray:
    qmax = 2 ** (bits - 1) - 1
    scale = np.where(peak > 0, peak / qmax, 1.0).astype(np.float16).astype(x.dtype)
    return np.clip(np.round(x / scale), -qmax, qmax) * scale


def kv_hooks(params: tm.Params, spec: KVQuant, calibration: np.ndarray, head_dim: int) -> tm.Hooks:
    """Hooks that quantize the KV cache as `spec` says (head scales calibrated on `calibration`)."""
    if spec.granularity == "token":

        def per_token(layer: int, k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            peak = lambda x: np.abs(x).max(axis=-1, keepdims=True)  # noqa: E731
            return _symmetric(k, peak(k), spec.bits), _symmetric(v, peak(v), spec.bits)

        return tm.Hooks(kv=per_token)
    peaks: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def record(layer: int, k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        peaks[layer] = tuple(np.abs(x).max(axis=(0, 2, 3))[None, :, None, None] for x in (k, v))  # type: ignore[assignment]
        return k, v

    tm.forward(params, calibration, head_dim, tm.Hooks(kv=record))

    def per_head(layer: int, k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pk, pv = peaks[layer]
        return _symmetric(k, pk, spec.bits), _symmetric(v, pv, spec.bits)

    return tm.Hooks(kv=per_head)


# --- SmoothQuant W8A8 -------------------------------------------------------------------------------


@dataclass(frozen=True)
class W8A8:
    """SmoothQuant (G. Xiao et al., "SmoothQuant: Accurate and Efficient Post-Training
    Quantization for Large Language Models", ICML 2023): INT8 weights per output channel, INT8
    activations per token (dynamic), with the activation outliers of the layers that read a
    LayerNorm (QKV and MLP up projection, where the smoothing folds into the norm) migrated to
    the weights by s_j = max|X_j|^alpha / max|W_j|^(1 - alpha); `alpha` 0 is plain W8A8."""

    alpha: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise InputError(f"w8a8: alpha must be in [0, 1] (got {self.alpha!r})")


_SMOOTHED = ("attn.c_attn", "mlp.c_fc")


def w8a8(params: tm.Params, spec: W8A8, calibration: np.ndarray, head_dim: int) -> tuple[tm.Params, tm.Hooks]:
    """Smoothed, INT8-quantized weights and the hooks that quantize activations per token."""
    peaks: dict[str, np.ndarray] = {}

    def record(name: str, x: np.ndarray, p: tm.Params) -> np.ndarray:
        peaks[name] = np.abs(x).max(axis=0)
        return x

    tm.forward(params, calibration, head_dim, tm.Hooks(linear=record))
    out, smooth = dict(params), {}
    for name in linear_names(params):
        w = params[name + ".weight"]
        s = np.ones(w.shape[0], w.dtype)
        if name.endswith(_SMOOTHED) and spec.alpha > 0:
            s = (
                np.maximum(peaks[name], 1e-5) ** spec.alpha
                / np.maximum(np.abs(w).max(axis=1), 1e-5) ** (1 - spec.alpha)
            ).astype(w.dtype)
        smooth[name] = s
        ws = w * s[:, None]
        out[name + ".weight"] = _symmetric(ws, np.abs(ws).max(axis=0, keepdims=True), 8).astype(w.dtype)

    def activations(name: str, x: np.ndarray, p: tm.Params) -> np.ndarray:
        xs = x / smooth[name]
        return _symmetric(xs, np.abs(xs).max(axis=1, keepdims=True), 8)

    return out, tm.Hooks(linear=activations)
