"""KV-cache quantization: `kv(bits, scales=head|token)`, e.g. `kv(8)`.

The keys and values an attention layer caches are stored at `bits` (8 or 4) with 16-bit scales,
one per cached token per head (`token`, the default: each token's head vector has its own range,
as KIVI's and vLLM's per-token schemes) or one static scale per head (`head`, calibrated once, as
FP8/INT8 KV caches with per-head scales). What changes:

- the attention products' B operands, which read the cache: the scores product reads K^T (head
  size x keys, a token per column: groups along k), the context product reads V (keys x head size,
  a token per row: groups along n);
- the K and V projections' outputs, which append to the cache: written at `bits` plus, per token,
  their scales (a static per-head scale is not rewritten). GPT-2's fused Q/K/V projection writes
  its query columns at the activation precision and its key and value columns quantized.

Queries, scores and every other activation keep their precision; the MACs run at the activation
precision after dequantization.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accelsim.compress.methods.base import Followup, Parameter, Transform
from accelsim.compress.methods.registry import register
from accelsim.compress.methods.wq import integer_bits
from accelsim.errors import InputError
from accelsim.workload.layers import Layer, MatMul, Network
from accelsim.workload.quantized import GroupQuantized, QuantizedOutput

if TYPE_CHECKING:
    from accelsim.compress.accuracy import ParametricAccuracy
    from accelsim.compress.measured import MeasurementSettings

SCALES = ("token", "head")


@register
@dataclass(frozen=True)
class KVQuantize(Transform):
    """The KV cache at `bits` with per-token or per-head 16-bit scales."""

    bits: int = 8
    scales: str = "token"

    method = "kv"
    parameters = (Parameter("bits", int), Parameter("scales", str))

    def __post_init__(self) -> None:
        integer_bits("kv", self.bits)
        if self.scales not in SCALES:
            raise InputError(f"kv: scales must be one of {', '.join(SCALES)} (got {self.scales!r})")

    def apply(self, network: Network) -> Network:
        layers = list(network.layers)
        index = {layer.name: i for i, layer in enumerate(layers)}
        attention = [i for i, layer in enumerate(layers) if _reads_cache(layer, layers, index)]
        if not attention:
            raise InputError(f"kv: {network.name} has no attention products reading a K or V projection")
        for i in attention:
            matmul = layers[i]
            assert isinstance(matmul, MatMul) and matmul.inputs is not None
            if matmul.b_storage is not None:
                raise InputError(f"kv: layer {matmul.name} already reads a quantized cache")
            values = isinstance(layers[index[matmul.inputs[0]]], MatMul)  # context: A is the scores
            head = matmul.n if values else matmul.k
            layers[i] = dataclasses.replace(matmul, b_storage=self._storage("n" if values else "k", head))
            writer = index[matmul.inputs[1]]
            layers[writer] = self._writer(layers[writer], head, layers)
        return dataclasses.replace(network, layers=tuple(layers))

    def _storage(self, axis: str, head: int) -> GroupQuantized:
        precision = integer_bits("kv", self.bits)
        return GroupQuantized(precision, head, axis if self.scales == "token" else "block")

    def _writer(self, layer: Layer, head: int, layers: list[Layer]) -> Layer:
        """The K or V projection, writing its cache columns quantized (a fused Q/K/V projection
        writes the last two of its query, key and value parts)."""
        if layer.out_storage is not None:
            return layer
        first = _query_columns(layer, layers) if _fused(layer, layers) else 0
        return dataclasses.replace(layer, out_storage=QuantizedOutput(self._storage("n", head), first))

    def describe(self) -> str:
        return f"kv(int{self.bits}, per-{self.scales} scales)"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """INT8 caches keep the model's accuracy (`curves.weight_only[int8]`: the cache is an
        operand stored narrow and computed on wide, as weight-only quantization); INT4 caches with
        per-token scales lose about as much as INT4 weights (`curves.weight_only[int4]`)."""
        return curves.weight_only[integer_bits("kv", self.bits)]

    def followup(self, settings: MeasurementSettings) -> Followup:
        return Followup(0, settings.finetune_learning_rate)


def _reads_cache(layer: Layer, layers: list[Layer], index: dict[str, int]) -> bool:
    """An attention product whose B operand is a projection's output (the K or V cache)."""
    if not isinstance(layer, MatMul) or not layer.inputs or len(layer.inputs) != 2:
        return False
    return layers[index[layer.inputs[1]]].b_is_weight


def _fused(layer: Layer, layers: list[Layer]) -> bool:
    """A projection that the scores product reads as both operands (GPT-2's c_attn)."""
    return any(
        isinstance(other, MatMul) and other.inputs is not None and other.inputs == (layer.name, layer.name)
        for other in layers
    )


def _query_columns(layer: Layer, layers: list[Layer]) -> int:
    """Query columns of a fused Q/K/V projection: its scores product multiplies b x m query rows
    of head size d (b sequences x KV heads, m = queries x query heads per KV head), which is
    rows x query columns of the projection."""
    scores = next(o for o in layers if isinstance(o, MatMul) and o.inputs == (layer.name, layer.name))
    rows, _, n = layer.gemm_mkn
    queries, rest = divmod(scores.batch * scores.m * scores.k, rows)
    if rest or not 0 < queries < n or (n - queries) % 2:
        raise InputError(f"kv: cannot find the key and value columns of fused projection {layer.name}")
    return queries
