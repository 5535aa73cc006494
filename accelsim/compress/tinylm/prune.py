"""Pruning tinylm for real: N:M sparsity, whole attention heads, MLP channels.

- N:M (2:4 as Ampere's sparse tensor cores run it): in every block's linear layers, each output
  column keeps the N largest-magnitude weights of every M consecutive inputs (the reduction
  axis, as the simulator counts N:M). Optionally a short fine-tune follows with the masks held.
- Heads: in every block the same number of heads go, those whose value and output projections
  carry the least weight (product of the Frobenius norms of the head's V columns and O rows);
  their Q, K and V columns and O rows are removed, so the model is smaller and dense.
- MLP channels: in every block the same number of intermediate channels go, those with the
  smallest product of their up-projection column norm and down-projection row norm.

Uniform pruning keeps the model a decoder the simulator can run: `decoder_of` gives its shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.compress.tinylm import model as tm
from accelsim.compress.tinylm.quant import linear_names
from accelsim.errors import InputError
from accelsim.workload.decoder import DecoderConfig


@dataclass(frozen=True)
class NMSparsity:
    """Keep `n` of every `m` weights along the inputs; `finetune_steps` of masked fine-tuning."""

    n: int = 2
    m: int = 4
    finetune_steps: int = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.m, int) and isinstance(self.n, int) and 1 <= self.n < self.m <= 16):
            raise InputError(f"nm: need integers 1 <= n < m <= 16 (got n={self.n!r}, m={self.m!r})")
        if self.finetune_steps < 0:
            raise InputError(f"nm: finetune_steps must be >= 0 (got {self.finetune_steps!r})")


def nm_mask(w: np.ndarray, n: int, m: int) -> np.ndarray:
    """0/1 mask of w [in, out] keeping the n largest |w| of every m consecutive inputs per column."""
    if w.shape[0] % m:
        raise InputError(f"nm: m must divide the input width ({w.shape[0]}); got {m}")
    blocks = np.abs(w).reshape(w.shape[0] // m, m, w.shape[1])
    order = np.argsort(-blocks, axis=1, kind="stable")[:, :n, :]
    mask = np.zeros_like(blocks)
    np.put_along_axis(mask, order, 1.0, axis=1)
    return mask.reshape(w.shape).astype(w.dtype)


def nm_masks(params: tm.Params, spec: NMSparsity) -> dict[str, np.ndarray]:
    """The masks of every block's linear weights, keyed by parameter name."""
    return {name + ".weight": nm_mask(params[name + ".weight"], spec.n, spec.m) for name in linear_names(params)}


def apply_masks(params: tm.Params, masks: dict[str, np.ndarray]) -> tm.Params:
    out = dict(params)
    for key, mask in masks.items():
        out[key] = params[key] * mask
    return out


@dataclass(frozen=True)
class HeadPrune:
    """Remove `heads` attention heads from every block; `finetune_steps` of fine-tuning after."""

    heads: int = 1
    finetune_steps: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.heads, int) or self.heads < 1:
            raise InputError(f"head pruning: heads must be an integer >= 1 (got {self.heads!r})")
        if self.finetune_steps < 0:
            raise InputError(f"head pruning: finetune_steps must be >= 0 (got {self.finetune_steps!r})")


@dataclass(frozen=True)
class ChannelPrune:
    """Remove `fraction` of the MLP's intermediate channels from every block; then fine-tuning."""

    fraction: float = 0.25
    finetune_steps: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.fraction < 1.0:
            raise InputError(f"channel pruning: fraction must be in (0, 1) (got {self.fraction!r})")
        if self.finetune_steps < 0:
            raise InputError(f"channel pruning: finetune_steps must be >= 0 (got {self.finetune_steps!r})")


def prune_heads(params: tm.Params, spec: HeadPrune, head_dim: int) -> tm.Params:
    """A copy with the `spec.heads` weakest heads of every block removed."""
    out = dict(params)
    for i in range(tm.layer_count(params)):
        p = f"layers.{i}."
        w_qkv, b_qkv = params[p + "attn.c_attn.weight"], params[p + "attn.c_attn.bias"]
        w_o = params[p + "attn.o_proj.weight"]
        heads = w_qkv.shape[1] // (3 * head_dim)
        if spec.heads >= heads:
            raise InputError(f"head pruning: heads must be below the {heads} heads of block {i} (got {spec.heads})")
        width = heads * head_dim
        score = [
            np.linalg.norm(w_qkv[:, 2 * width + h * head_dim : 2 * width + (h + 1) * head_dim])
            * np.linalg.norm(w_o[h * head_dim : (h + 1) * head_dim])
            for h in range(heads)
        ]
        kept = np.sort(np.argsort(score, kind="stable")[spec.heads :])
        dims = (kept[:, None] * head_dim + np.arange(head_dim)[None, :]).reshape(-1)
        columns = np.concatenate([j * width + dims for j in range(3)])
        out[p + "attn.c_attn.weight"], out[p + "attn.c_attn.bias"] = w_qkv[:, columns], b_qkv[columns]
        out[p + "attn.o_proj.weight"] = w_o[dims]
    return out


def prune_channels(params: tm.Params, spec: ChannelPrune) -> tm.Params:
    """A copy with `spec.fraction` of every block's MLP channels removed (round(width x (1 - fraction)) kept)."""
    out = dict(params)
    for i in range(tm.layer_count(params)):
        p = f"layers.{i}."
        up, down = params[p + "mlp.c_fc.weight"], params[p + "mlp.c_proj.weight"]
        drop = up.shape[1] - round(up.shape[1] * (1 - spec.fraction))  # as the simulated `mlp(ratio)` keeps
        score = np.linalg.norm(up, axis=0) * np.linalg.norm(down, axis=1)
        kept = np.sort(np.argsort(score, kind="stable")[drop:])
        out[p + "mlp.c_fc.weight"], out[p + "mlp.c_fc.bias"] = up[:, kept], params[p + "mlp.c_fc.bias"][kept]
        out[p + "mlp.c_proj.weight"] = down[kept]
    return out


def decoder_of(params: tm.Params, head_dim: int, name: str = "tinylm-pruned") -> DecoderConfig:
    """The decoder shape of a uniformly pruned tinylm (every block alike)."""
    heads = {params[f"layers.{i}.attn.c_attn.weight"].shape[1] // (3 * head_dim) for i in range(tm.layer_count(params))}
    widths = {params[f"layers.{i}.mlp.c_fc.weight"].shape[1] for i in range(tm.layer_count(params))}
    if len(heads) != 1 or len(widths) != 1:
        raise InputError("tinylm: blocks pruned unevenly have no single decoder shape")
    count = heads.pop()
    return DecoderConfig(
        name,
        tm.VOCAB,
        params["wte"].shape[1],
        tm.layer_count(params),
        count,
        count,
        widths.pop(),
        params["wpe"].shape[0],
        "gelu",
        "layernorm",
        "learned",
        tied_embeddings=True,
        bias=True,
        head_dim=head_dim,
    )
