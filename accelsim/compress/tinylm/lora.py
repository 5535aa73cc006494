"""Low-rank adapters for tinylm (E. Hu et al., "LoRA: Low-Rank Adaptation of Large Language
Models", ICLR 2022): W x becomes W x + (alpha / r) B A x with A [in, r] and B [r, out] trained
and W frozen. Unmerged, the adapters run beside the frozen weights (extra low-rank products per
token); merged, W + (alpha / r) A B replaces W at no extra cost. Both give the same logits.

Training the adapters reuses the full backward pass: the gradient of the merged weight dW gives
dA = s dW B^T and dB = s A^T dW exactly, since the merged layer computes x (W + s A B).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accelsim.compress.threads import single_blas_thread
from accelsim.compress.tinylm import model as tm
from accelsim.compress.tinylm.train import Adam, windows
from accelsim.errors import InputError

Adapters = dict[str, tuple[np.ndarray, np.ndarray, float]]


@dataclass(frozen=True)
class LoRA:
    """Adapters of rank `rank` on the layers named by `targets` (suffixes of layer names: qkv is
    `attn.c_attn`, up `mlp.c_fc`, ...), trained `steps` Adam steps at `learning_rate`."""

    rank: int = 8
    targets: tuple[str, ...] = ("attn.c_attn", "attn.o_proj", "mlp.c_fc", "mlp.c_proj")
    alpha: float = 16.0
    steps: int = 100
    batch: int = 16
    learning_rate: float = 2e-3
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.rank, int) or self.rank < 1:
            raise InputError(f"lora: rank must be an integer >= 1 (got {self.rank!r})")
        unknown = [t for t in self.targets if t not in tm.LINEARS]
        if unknown or not self.targets:
            raise InputError(
                f"lora: targets must be among {', '.join(tm.LINEARS)} (got {', '.join(unknown) or 'none'})"
            )

    @property
    def scale(self) -> float:
        return self.alpha / self.rank


def init_adapters(params: tm.Params, spec: LoRA, rng: np.random.Generator) -> Adapters:
    """A uniform in +-1/sqrt(in) (Kaiming, as the reference), B zero: the adapted model starts
    equal to the base model."""
    adapters: Adapters = {}
    for i in range(tm.layer_count(params)):
        for target in spec.targets:
            name = f"layers.{i}.{target}"
            w = params[name + ".weight"]
            bound = 1.0 / math.sqrt(w.shape[0])
            a = rng.uniform(-bound, bound, (w.shape[0], spec.rank)).astype(w.dtype)
            adapters[name] = (a, np.zeros((spec.rank, w.shape[1]), w.dtype), spec.scale)
    return adapters


def merge(params: tm.Params, adapters: Adapters) -> tm.Params:
    """The base weights with every adapter folded in."""
    out = dict(params)
    for name, (a, b, scale) in adapters.items():
        out[name + ".weight"] = (params[name + ".weight"] + scale * (a @ b)).astype(params[name + ".weight"].dtype)
    return out


def adapter_parameters(adapters: Adapters) -> int:
    return sum(a.size + b.size for a, b, _ in adapters.values())


@single_blas_thread()
def finetune(params: tm.Params, data: np.ndarray, spec: LoRA, head_dim: int) -> Adapters:
    """Adapters trained on byte array `data` with the base weights frozen."""
    context = params["wpe"].shape[0]
    rng = np.random.default_rng([spec.seed, 2])
    adapters = init_adapters(params, spec, np.random.default_rng([spec.seed, 3]))
    flat = {f"{n}.A": a for n, (a, _, _) in adapters.items()} | {f"{n}.B": b for n, (_, b, _) in adapters.items()}
    adam = Adam(flat)
    for _ in range(spec.steps):
        current = {n: (flat[f"{n}.A"], flat[f"{n}.B"], spec.scale) for n in adapters}
        _, grads = tm.loss_and_grads(merge(params, current), windows(data, context + 1, spec.batch, rng), head_dim)
        g: tm.Params = {}
        for n, (a, b, s) in current.items():
            dw = grads[n + ".weight"]
            g[f"{n}.A"], g[f"{n}.B"] = s * (dw @ b.T), s * (a.T @ dw)
        adam.update(flat, g, spec.learning_rate, 1.0)
    return {n: (flat[f"{n}.A"], flat[f"{n}.B"], spec.scale) for n in adapters}
