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

from accelsim.compress.graph import consumers
from accelsim.compress.methods.base import Parameter, Transform, ratio
from accelsim.compress.methods.kv import _query_columns
from accelsim.compress.methods.registry import register
from accelsim.errors import InputError
from accelsim.workload.layers import Layer, Linear, MatMul, Network

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
        layers = list(network.layers)
        index = {layer.name: i for i, layer in enumerate(layers)}
        readers = consumers(network)
        found = False
        for s, scores in enumerate(network.layers):
            if not (isinstance(scores, MatMul) and scores.inputs and len(scores.inputs) == 2):
                continue
            q, k = (index[name] for name in scores.inputs)
            context = next((j for j in readers[s] if isinstance(layers[j], MatMul)), None)
            if context is None or not isinstance(layers[q], Linear) or not isinstance(layers[k], Linear):
                continue
            if any(".lora_" in layer.name for layer in layers):
                raise InputError("heads: apply it before lora (adapters attach to the projections' widths)")
            found = True
            self._prune_block(layers, index, readers, q, k, s, context)
        if not found:
            raise InputError(f"heads: {network.name} has no attention products of projections")
        return dataclasses.replace(network, layers=tuple(layers))

    def _prune_block(
        self, layers: list[Layer], index: dict[str, int], readers: list[list[int]], q: int, k: int, s: int, c: int
    ) -> None:
        scores, context = layers[s], layers[c]
        assert isinstance(scores, MatMul) and isinstance(context, MatMul) and context.inputs is not None
        hd = scores.k
        v = index[context.inputs[1]]
        fused = q == k
        q_cols = _query_columns(layers[q], layers) if fused else layers[q].out_channels
        kv_cols = (layers[q].out_channels - q_cols) // 2 if fused else layers[k].out_channels
        heads, kv_heads = q_cols // hd, kv_cols // hd
        group, sequences = heads // kv_heads, scores.batch // kv_heads
        keep = _kept("heads", kv_heads, self.ratio, f"KV head of {scores.name}")
        new_q, new_kv = keep * group * hd, keep * hd
        if fused:
            layers[q] = _resized_writer(layers[q], new_q + 2 * new_kv, new_q)
        else:
            layers[q] = layers[q].with_outputs(new_q)
            for i in {k, v}:
                layers[i] = _resized_writer(layers[i], new_kv, 0)
        for i in (s, c):
            layers[i] = dataclasses.replace(layers[i], batch=sequences * keep)
        for o in readers[c]:  # the output projection reads the heads' concatenated contexts
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
        layers = list(network.layers)
        readers, producers = consumers(network), network.producers()
        found = False
        for d, down in enumerate(network.layers):
            ups = producers[d]
            if not isinstance(down, Linear) or not ups or down.independent:
                continue
            if not all(isinstance(layers[u], Linear) and readers[u] == [d] for u in ups):
                continue
            widths = {layers[u].out_channels for u in ups}
            # Up projections widen the stream and the down projection narrows it back.
            if len(widths) != 1 or down.in_features != widths.pop():
                continue
            if any(layers[u].in_channels != down.out_features for u in ups):
                continue
            found = True
            hidden = down.in_features
            keep = _kept("mlp", hidden, self.ratio, f"hidden channel of {down.name}")
            for u in ups:
                layers[u] = layers[u].with_outputs(keep)
            layers[d] = layers[d].with_inputs(hidden, keep)
        if not found:
            raise InputError(f"mlp: {network.name} has no MLP (a Linear reading Linears only it reads)")
        return dataclasses.replace(network, layers=tuple(layers))

    def describe(self) -> str:
        return f"prune(mlp channels, ratio={self.ratio:g})"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """As structured pruning of channels: 1 - prune_scale x r^2."""
        return 1 - curves.prune_scale * self.ratio**2
