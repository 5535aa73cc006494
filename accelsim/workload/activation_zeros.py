"""Measured activation zero shares attached to a network's layers.

A feature map after a ReLU is partly zeros; a DRAM-side activation code (Eyeriss's run-length
code, `dram.activation_compression = "rlc"`) stores it in fewer bytes. How many zeros is
measured data, not a property of the shape: a study attaches it here, layer by layer, and the
simulator only sees the shares.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from accelsim.workload.layers import LayerError, Network


def check_zero_share(name: str, value: float) -> None:
    """LayerError unless `value` is a number in [0, 1)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not 0.0 <= value < 1.0:
        raise LayerError(f"{name}: must be a number in [0, 1) (got {value!r})")


def with_activation_zero_shares(
    network: Network, input_shares: Sequence[float], output_shares: Sequence[float]
) -> Network:
    """`network` with each layer's input and output zero shares (one of each per layer)."""
    layers = network.layers
    for label, shares in (("input_zero_share", input_shares), ("output_zero_share", output_shares)):
        if len(shares) != len(layers):
            raise LayerError(f"{label}: {len(shares)} values for {len(layers)} layers")
        for layer, share in zip(layers, shares):
            check_zero_share(f"layer {layer.name}: {label}", share)
    out = tuple(
        dataclasses.replace(layer, input_zero_share=float(zi), output_zero_share=float(zo))
        for layer, zi, zo in zip(layers, input_shares, output_shares)
    )
    return dataclasses.replace(network, layers=out)
