"""Structured pruning of transformer blocks: `heads(r)` removes a share r of every attention
layer's heads, `mlp(r)` a share r of every MLP's hidden channels, keeping every shape consistent.

`heads(r)`: with grouped-query attention (g query heads per KV head) whole groups go, each KV head
with its g query heads, so the group size is kept (E. Michel et al., "Are sixteen heads really
better than one?", NeurIPS 2019, prune heads; for GQA models Minitron prunes whole groups:
S. Muralidharan et al., "Compact language models via pruning and knowledge distillation",
2024). Each block keeps round(kv_heads x (1 - r)) KV heads, at least one: the Q, K and V
projections (or GPT-2's fused one) lose the columns of the removed heads, the attention products
their batch entries, the output projection the matching inputs.

`mlp(r)`: each MLP keeps round(F x (1 - r)) of its F hidden channels: the up projections (GPT-2's
c_fc; Llama's gate and up) lose outputs, the down projection the matching inputs. An MLP is found
by its dataflow: a Linear whose inputs are Linears that only it reads, widening the
stream it narrows back.

Apply them before `lora` and `kv`, which attach to the projections' widths.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accelsim.compress.decoder_graph import Attention, attention_blocks, mlp_blocks, query_columns
from accelsim.compress.methods.base import Parameter, Transform, ratio
from accelsim.compress.methods.registry import register
from accelsim.errors import InputError
from accelsim.workload.layers import Layer, MatMul, Network

if TYPE_CHECKING:
    from accelsim.compress.accuracy import ParametricAccuracy


def _kept(method: str, count: int, r: float, what: str) -> int:
    keep = round(count * (1 - r))
    if keep < 1:
        raise InputError(f"{method}: ratio {r:g} removes every {what} ({count})")
    return keep


@register
@dataclass(frozen=True)
class HeadPrune(Transform):
    """Remove `ratio` (in [0, 1)) of each attention layer's heads (whole KV groups)."""

    ratio: float

    method = "heads"
    parameters = (Parameter("ratio", float),)

    def __post_init__(self) -> None:
        ratio("heads", "ratio", self.ratio)

    def apply(self, network: Network) -> Network:
        blocks = attention_blocks(network)
        if not blocks:
            raise InputError(f"heads: {network.name} has no attention products of projections")
        if any(".lora_" in layer.name for layer in network.layers):
            raise InputError("heads: apply it before lora (adapters attach to the projections' widths)")
        layers = list(network.layers)
        for block in blocks:
            self._prune_block(network, layers, block)
        return dataclasses.replace(network, layers=tuple(layers))

    def _prune_block(self, network: Network, layers: list[Layer], block: Attention) -> None:
        scores = layers[block.scores]
        assert isinstance(scores, MatMul)
        hd = scores.k
        q_cols = query_columns(network, block) if block.fused else layers[block.q].out_channels
        kv_cols = (layers[block.q].out_channels - q_cols) // 2 if block.fused else layers[block.k].out_channels
        heads, kv_heads = q_cols // hd, kv_cols // hd
        group, sequences = heads // kv_heads, scores.batch // kv_heads
        keep = _kept("heads", kv_heads, self.ratio, f"KV head of {scores.name}")
        new_q, new_kv = keep * group * hd, keep * hd
        if block.fused:
            layers[block.q] = _resized_writer(layers[block.q], new_q + 2 * new_kv, new_q)
        else:
            layers[block.q] = layers[block.q].with_outputs(new_q)
            for i in {block.k, block.v}:
                layers[i] = _resized_writer(layers[i], new_kv, 0)
        for chain, width in ((block.q_chain, new_q), (block.k_chain, new_kv)):
            for i in chain:  # rotary embeddings of the kept heads
                layers[i] = _resized_writer(layers[i], width, 0)
        for i in (block.scores, block.context):
            layers[i] = dataclasses.replace(layers[i], batch=sequences * keep)
        for i in block.probs_chain:  # a softmax over the kept heads' score rows
            rows = layers[i].rows  # type: ignore[attr-defined]  # a vector layer
            layers[i] = dataclasses.replace(layers[i], rows=rows // kv_heads * keep)
        for o in block.outputs:  # the output projection reads the heads' concatenated contexts
            if layers[o].has_channels:
                layers[o] = layers[o].with_inputs(q_cols, new_q)

    def describe(self) -> str:
        return f"prune(heads, ratio={self.ratio:g})"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """As structured pruning, 1 - prune_scale x r^2 (Michel et al. 2019: a few heads go with
        little loss, most with a steep one)."""
        return 1 - curves.prune_scale * self.ratio**2


def _resized_writer(layer: Layer, outputs: int, first_quantized: int) -> Layer:
    """A K/V (or fused Q/K/V) projection with `outputs` columns; a quantized cache part follows."""
    layer = layer.with_outputs(outputs)
    if layer.out_storage is not None:
        layer = dataclasses.replace(
            layer, out_storage=dataclasses.replace(layer.out_storage, first_column=first_quantized)
        )
    return layer


@register
@dataclass(frozen=True)
class MLPPrune(Transform):
    """Remove `ratio` (in [0, 1)) of each MLP's hidden channels."""

    ratio: float

    method = "mlp"
    parameters = (Parameter("ratio", float),)

    def __post_init__(self) -> None:
        ratio("mlp", "ratio", self.ratio)

    def apply(self, network: Network) -> Network:
        blocks = mlp_blocks(network)
        if not blocks:
            raise InputError(f"mlp: {network.name} has no MLP (a Linear reading Linears only it reads)")
        layers = list(network.layers)
        for block in blocks:
            hidden = layers[block.down].in_channels
            keep = _kept("mlp", hidden, self.ratio, f"hidden channel of {layers[block.down].name}")
            for i in block.ups + block.between:  # an activation or gating multiply follows its inputs
                layers[i] = layers[i].with_outputs(keep)
            layers[block.down] = layers[block.down].with_inputs(hidden, keep)
        return dataclasses.replace(network, layers=tuple(layers))

    def describe(self) -> str:
        return f"prune(mlp channels, ratio={self.ratio:g})"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """As structured pruning of channels: 1 - prune_scale x r^2."""
        return 1 - curves.prune_scale * self.ratio**2
