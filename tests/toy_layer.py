"""A layer kind added in one file: a 1-D convolution (valid padding, stride 1), as a plug-in
would add one. The simulator needs only its GEMM view; the width-changing transforms need only
its channel methods (`out_channels`, `with_outputs`, `with_inputs`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from accelsim.workload.layers import Layer, LayerError


@dataclass(frozen=True)
class Conv1d(Layer):
    """C_in x L -> C_out x (L - kernel + 1)."""

    in_channels: int = 1
    out_channels: int = 1
    length: int = 1
    kernel: int = 3

    kind = "conv1d"

    def __post_init__(self) -> None:
        if min(self.in_channels, self.out_channels, self.length, self.kernel) < 1 or self.kernel > self.length:
            raise LayerError(f"layer {self.name}: conv1d needs positive sizes and kernel <= length")

    @property
    def out_length(self) -> int:
        return self.length - self.kernel + 1

    @property
    def gemm_mkn(self) -> tuple[int, int, int]:
        return self.out_length, self.in_channels * self.kernel, self.out_channels

    @property
    def k_granule(self) -> int:
        return self.kernel

    def a_tile_elements(self, m0: int, m1: int, k0: int, k1: int) -> int:
        # Outputs [m0, m1) read positions [m0, m1 - 1 + kernel) of every channel in the K range.
        channels = (k1 - 1) // self.kernel - k0 // self.kernel + 1
        return channels * (m1 - m0 + self.kernel - 1)

    @property
    def input_tensor_elements(self) -> int:
        return self.in_channels * self.length

    def with_outputs(self, outputs: int) -> Layer:
        return dataclasses.replace(self, out_channels=outputs)

    def with_inputs(self, old: int, new: int) -> Layer:
        return dataclasses.replace(self, in_channels=self.in_channels * new // old)
