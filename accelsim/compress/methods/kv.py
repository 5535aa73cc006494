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

from accelsim.compress.decoder_graph import Attention, attention_blocks, query_columns
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
        blocks = attention_blocks(network)
        if not blocks:
            raise InputError(f"kv: {network.name} has no attention products reading a K or V projection")
        layers = list(network.layers)
        index = {layer.name: i for i, layer in enumerate(layers)}
        for block in blocks:
            for product, values in ((block.scores, False), (block.context, True)):
                matmul = layers[product]
                assert isinstance(matmul, MatMul) and matmul.inputs is not None
                if matmul.b_storage is not None:
                    raise InputError(f"kv: layer {matmul.name} already reads a quantized cache")
                head = matmul.n if values else matmul.k  # K^T is head x keys, V keys x head
                layers[product] = dataclasses.replace(matmul, b_storage=self._storage("n" if values else "k", head))
                # The cache is what the product reads: the projection, or the rotary layer after it.
                writer = index[matmul.inputs[1]]
                layers[writer] = self._writer(layers[writer], head, _first_column(network, block))
        return dataclasses.replace(network, layers=tuple(layers))

    def _storage(self, axis: str, head: int) -> GroupQuantized:
        precision = integer_bits("kv", self.bits)
        return GroupQuantized(precision, head, axis if self.scales == "token" else "block")

    def _writer(self, layer: Layer, head: int, first: int) -> Layer:
        """The layer appending K or V to the cache, writing its cache columns quantized (a fused
        Q/K/V projection writes its query columns at the activation precision)."""
        if layer.out_storage is not None:
            return layer
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


def _first_column(network: Network, block: Attention) -> int:
    try:
        return query_columns(network, block)
    except ValueError as exc:
        raise InputError(f"kv: {exc}") from None
