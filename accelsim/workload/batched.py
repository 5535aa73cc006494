"""A batch of inputs through one network: every layer's M axis covers the whole batch.

accelsim's networks are batch 1. A batch of N shares each layer's weights across N inputs, so
a schedule can fetch a weight tile once and use it for every input, as Eyeriss (batch 4) and
NVDLA's batching mode do. `with_batch` makes that network: a convolution becomes a
`BatchedConv2d` (M = N x output pixels; a tile of output rows that crosses from one input to the
next reads each input's own window), a linear layer runs N times as many rows, and a GEMM
N times as many rows, and an activation-by-activation product N times as many independent
products.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from accelsim.workload.layers import Conv2d, Gemm, Layer, LayerError, Linear, MatMul, Network


@dataclass(frozen=True)
class BatchedConv2d(Conv2d):
    """A convolution over `batch` feature maps with shared weights; M = batch x out pixels."""

    batch: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.batch, int) or isinstance(self.batch, bool) or self.batch < 1:
            raise LayerError(f"layer {self.name}: batch must be an integer >= 1 (got {self.batch!r})")

    @property
    def pixels(self) -> int:
        """Output pixels of one input."""
        return self.out_height * self.out_width

    @property
    def gemm_mkn(self) -> tuple[int, int, int]:
        m, k, n = super().gemm_mkn
        return self.batch * m, k, n

    @property
    def input_tensor_elements(self) -> int:
        return self.batch * super().input_tensor_elements

    def a_tile_elements(self, m0: int, m1: int, k0: int, k1: int) -> int:
        """Input elements that outputs [m0, m1) read: each input's own window, summed."""
        p = self.pixels
        first, last = m0 // p, (m1 - 1) // p
        if first == last:
            return super().a_tile_elements(m0 - first * p, m1 - first * p, k0, k1)
        head = super().a_tile_elements(m0 - first * p, p, k0, k1)
        tail = super().a_tile_elements(0, m1 - last * p, k0, k1)
        middle = (last - first - 1) * super().a_tile_elements(0, p, k0, k1)
        return head + middle + tail

    def describe(self) -> str:
        return f"{super().describe()} x{self.batch} batch"


def _batched(layer: Layer, batch: int) -> Layer:
    if isinstance(layer, Conv2d):
        fields = {f.name: getattr(layer, f.name) for f in dataclasses.fields(Conv2d)}
        if isinstance(layer, BatchedConv2d):
            batch *= layer.batch
        return BatchedConv2d(**fields, batch=batch)
    if isinstance(layer, Linear):
        return dataclasses.replace(layer, tokens=layer.tokens * batch)
    if isinstance(layer, Gemm):
        return dataclasses.replace(layer, m=layer.m * batch)
    if isinstance(layer, MatMul):
        return dataclasses.replace(layer, batch=layer.batch * batch)
    raise LayerError(f"layer {layer.name}: batching a {layer.kind} layer is not supported")


def with_batch(network: Network, batch: int) -> Network:
    """`network` run on `batch` inputs at once (weights shared; LayerError if batch < 1)."""
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise LayerError(f"batch: must be an integer >= 1 (got {batch!r})")
    if batch == 1:
        return network
    layers = tuple(_batched(layer, batch) for layer in network.layers)
    return dataclasses.replace(network, layers=layers, description=f"{network.description}; batch {batch}")
