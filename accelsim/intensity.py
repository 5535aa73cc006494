"""Arithmetic intensity (FLOPs per byte) of a network, under two conventions side by side.

- **Seed 001's** (analytical, from the workload alone): FLOPs = 2 x MACs; bytes of a layer = its
  weights as stored (at their precision and sparse format) + its input activations + its output
  activations, each tensor counted once at the layer's activation precision (FP32 when only the
  weights are quantized); summed over every layer with a GEMM view (convolutions, linear layers,
  the 1x1 projection shortcuts; an activation-by-activation MatMul counts both operands as
  inputs). Input activations are the feature map as its producer wrote it, not an im2col copy.
  Vector layers (batch-norm, activations, pooling, residual adds, norms, softmax) are left out,
  as seed 001 leaves them out: its ResNet-20 figure counts convolution and linear layers only.
- **accelsim's** (simulated): the same FLOPs over the DRAM bytes the simulated schedule actually
  moved for the layer (reads and writes): tiles fetched twice count twice, and activations kept on
  chip for the next layer count not at all (over the same MAC layers).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from accelsim.precision import storage_bytes
from accelsim.trace.trace import Trace
from accelsim.workload.layers import Layer, Network


@dataclass(frozen=True)
class Intensity:
    """FLOPs and bytes of one layer (or a whole network) under seed 001's convention, and the
    DRAM bytes a simulation moved for it (None when not simulated)."""

    name: str
    flops: int
    weight_bytes: int
    input_bytes: int
    output_bytes: int
    simulated_bytes: int | None = None

    @property
    def bytes(self) -> int:
        return self.weight_bytes + self.input_bytes + self.output_bytes

    @property
    def flops_per_byte(self) -> float:
        return self.flops / self.bytes if self.bytes else float("inf")

    @property
    def simulated_flops_per_byte(self) -> float | None:
        if self.simulated_bytes is None:
            return None
        return self.flops / self.simulated_bytes if self.simulated_bytes else float("inf")


def layer_intensity(layer: Layer) -> Intensity:
    """One layer under seed 001's convention."""
    act = layer.activation_precision
    inputs = storage_bytes(layer.input_tensor_elements, act)
    weights = layer.weight_bytes if layer.b_is_weight else 0
    if not layer.b_is_weight:  # the second operand is an activation too (a KV cache, maybe quantized)
        inputs += layer.weight_bytes
    return Intensity(layer.name, 2 * layer.macs, weights, inputs, layer.output_bytes)


def total(name: str, parts: Sequence[Intensity]) -> Intensity:
    simulated = [p.simulated_bytes for p in parts]
    return Intensity(
        name,
        sum(p.flops for p in parts),
        sum(p.weight_bytes for p in parts),
        sum(p.input_bytes for p in parts),
        sum(p.output_bytes for p in parts),
        None if any(s is None for s in simulated) else sum(simulated),  # type: ignore[misc]
    )


def network_intensity(network: Network, trace: Trace | None = None) -> tuple[list[Intensity], Intensity]:
    """Per layer and for the network; with the network's `trace`, also the simulated bytes."""
    # Seed 001's convention counts convolution and linear layers (the MAC layers) only.
    mac = [i for i, layer in enumerate(network.layers) if layer.unit == "mac"]
    layers = [layer_intensity(network.layers[i]) for i in mac]
    if trace is not None:
        t = trace.transfers
        moved = np.bincount(t["layer"].astype(np.int64), weights=t["payload_bytes"], minlength=len(network.layers))
        layers = [dataclasses.replace(x, simulated_bytes=int(moved[i])) for x, i in zip(layers, mac)]
    return layers, total(network.name, layers)
