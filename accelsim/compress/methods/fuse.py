"""Operator fusion, as compilers for accelerators do it: `fuse(attention)`, `fuse(elementwise)`.

Fusion changes no weight and no value: it changes what goes through DRAM.

- `fuse(attention)`: each attention block (a scores product, its softmax, the context product,
  found by dataflow as `accelsim.compress.decoder_graph` finds them) becomes one
  `FusedAttention` layer (`accelsim.workload.fused`): QK^T, online softmax and PV on chip tile
  by tile, so the score matrix is never written nor read back. Same MACs and softmax operations.
- `fuse(elementwise)`: a bias-like, activation, residual add, gating multiply or (de)quantization
  vector layer that is the only reader of a MAC-array layer's output is applied to that layer's
  output tiles on chip as its epilogue (`Layer.epilogue`): the vector layer leaves the layer list,
  the MAC layer writes the post-op tensor, the vector unit performs the same operations in the
  array's shadow, and a two-input op reads its other input (the residual stream) tile by tile.
  A chain (GELU; batch-norm, add, ReLU) fuses whole. A batch-norm after a convolution is folded
  into it (its scale into the weights, its shift into the convolution's bias), as inference
  compilers fold it: its operations disappear and its 2 values per channel become 1 bias.

Apply fusion last: the LLM methods find attention products and MLPs by their layers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accelsim.compress.decoder_graph import Attention, attention_blocks
from accelsim.compress.graph import consumers
from accelsim.compress.methods.base import Followup, Parameter, Transform
from accelsim.compress.methods.registry import register
from accelsim.errors import InputError
from accelsim.workload.fused import FusedAttention
from accelsim.workload.layers import Conv2d, Layer, MatMul, Network
from accelsim.workload.vector import Activation, BatchNorm, Elementwise, Quantize, Softmax

if TYPE_CHECKING:
    from accelsim.compress.accuracy import ParametricAccuracy
    from accelsim.compress.measured import MeasurementSettings

TARGETS = ("attention", "elementwise")
#: Vector layers an output tile can take on chip: one operation sequence per element.
EPILOGUE_KINDS = (Activation, Elementwise, Quantize)


@register
@dataclass(frozen=True)
class Fuse(Transform):
    """Fuse `target`: attention blocks, or elementwise vector layers into GEMM epilogues."""

    target: str = "attention"

    method = "fuse"
    parameters = (Parameter("target", str),)

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise InputError(f"fuse: target must be one of {', '.join(TARGETS)} (got {self.target!r})")

    def apply(self, network: Network) -> Network:
        layers = fuse_attention(network) if self.target == "attention" else fuse_elementwise(network)
        return dataclasses.replace(network, layers=layers)

    def describe(self) -> str:
        return f"fuse({self.target})"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """Fusion reorders no arithmetic that changes results (online softmax is exact)."""
        return 1.0

    def followup(self, settings: MeasurementSettings) -> Followup:
        return Followup(0, settings.finetune_learning_rate)


# --- rewiring ------------------------------------------------------------------------------------


def _rebuild(network: Network, replaced: dict[int, Layer], removed: dict[int, int]) -> tuple[Layer, ...]:
    """The layers with `replaced` ones swapped in and `removed` ones gone: a reader of a removed
    layer reads the layer it maps to, named explicitly wherever `inputs=None` (the previous
    layer) would now mean another one."""
    layers, producers = network.layers, network.producers()
    index = {layer.name: i for i, layer in enumerate(layers)}

    def final(name: str) -> str:
        j = _root(removed, index[name])
        return replaced[j].name if j in replaced else layers[j].name

    out: list[Layer] = []
    for i, layer in enumerate(layers):
        if i in removed:
            continue
        new = replaced.get(i, layer)
        if new.inputs is not None:
            new = dataclasses.replace(new, inputs=tuple(final(name) for name in new.inputs))
        elif producers[i] and not new.independent:
            source = final(layers[producers[i][0]].name)
            if not out or out[-1].name != source:
                new = dataclasses.replace(new, inputs=(source,))
        out.append(new)
    return tuple(out)


# --- attention ------------------------------------------------------------------------------------


def fuse_attention(network: Network) -> tuple[Layer, ...]:
    readers = consumers(network)
    replaced: dict[int, Layer] = {}
    removed: dict[int, int] = {}
    for block in attention_blocks(network):
        fused = _fused(network, block, readers)
        if fused is None:
            continue
        replaced[block.context] = fused
        removed[block.scores] = block.context
        removed.update(dict.fromkeys(block.probs_chain, block.context))
    if not replaced:
        raise InputError(f"fuse: {network.name} has no attention block (scores product, softmax, context product)")
    return _rebuild(network, replaced, removed)


def _fused(network: Network, block: Attention, readers: list[list[int]]) -> FusedAttention | None:
    """The fused layer of one block, or None where the block is not plain attention (a score
    matrix read by anything else, or something besides one softmax between the products)."""
    layers = network.layers
    scores, context = layers[block.scores], layers[block.context]
    assert isinstance(scores, MatMul) and isinstance(context, MatMul)
    chain = block.probs_chain
    if len(chain) != 1 or not isinstance(layers[chain[0]], Softmax):
        return None
    if readers[block.scores] != [chain[0]] or readers[chain[0]] != [block.context]:
        return None
    if (scores.batch, scores.m, scores.n, scores.k) != (context.batch, context.m, context.k, context.n):
        return None
    if scores.b_storage is not None or context.b_storage is not None:
        raise InputError(f"fuse: layer {scores.name} reads a quantized KV cache; apply fuse(attention) before kv(...)")
    assert scores.inputs is not None and context.inputs is not None
    base = context.name.rsplit(".", 1)[0]
    return FusedAttention(
        f"{base}.fused" if base != context.name else f"{context.name}.fused",
        weight_precision=context.weight_precision,
        activation_precision=context.activation_precision,
        inputs=(*scores.inputs, context.inputs[1]),
        batch=scores.batch,
        m=scores.m,
        d=scores.k,
        keys=scores.n,
    )


# --- elementwise ----------------------------------------------------------------------------------


def fuse_elementwise(network: Network) -> tuple[Layer, ...]:
    layers, producers, readers = network.layers, network.producers(), consumers(network)
    replaced: dict[int, Layer] = {}
    removed: dict[int, int] = {}
    for g, layer in enumerate(layers):
        if layer.unit != "mac" or isinstance(layer, FusedAttention):
            continue
        new, tail, extra = layer, g, [_root(removed, p) for p in producers[g]]
        while len(readers[tail]) == 1:
            v = readers[tail][0]
            op = layers[v]
            other = [r for r in (_root(removed, p) for p in producers[v]) if r != g]
            if not _fusable(new, op, g, other, layer):
                break
            if isinstance(op, BatchNorm):
                new = dataclasses.replace(new, batch_norm=True)
            else:
                new = dataclasses.replace(new, epilogue=(*new.epilogue, op))
                extra += other
            removed[v], tail = g, v
        if new is not layer:
            if len(extra) > len(producers[g]):  # the epilogue's second input is read from DRAM
                names = tuple(layers[p].name for p in extra)
                new = dataclasses.replace(new, inputs=names, epilogue_inputs=len(extra) - len(producers[g]))
            replaced[g] = new
    if not replaced:
        raise InputError(f"fuse: {network.name} has no elementwise vector layer reading a GEMM's output alone")
    return _rebuild(network, replaced, removed)


def _root(removed: dict[int, int], j: int) -> int:
    while j in removed:
        j = removed[j]
    return j


def _fusable(gemm: Layer, op: Layer, g: int, other: list[int], original: Layer) -> bool:
    """Whether `op` can run on `gemm`'s output tiles: elementwise over exactly that tensor at its
    precision, a second input computed before the GEMM starts, a batch-norm right after a
    convolution not yet folded and before any epilogue."""
    if op.input_tensor_elements != gemm.output_elements or op.activation_precision != gemm.activation_precision:
        return False
    if gemm.output_precision != gemm.activation_precision:  # after a fused quantization
        return False
    if isinstance(op, BatchNorm):
        return isinstance(gemm, Conv2d) and not gemm.batch_norm and not gemm.epilogue and not other
    if not isinstance(op, EPILOGUE_KINDS):
        return False
    if other and (original.independent or g == 0 or any(p >= g for p in other) or len(other) > 1):
        return False
    two_inputs = [o for o in (*gemm.epilogue, op) if getattr(o, "input_count", 1) > 1]
    if len(two_inputs) > 1:  # one input tile per output tile: the accumulator's C operand
        return False
    return op.vector_ops % gemm.output_elements == 0
