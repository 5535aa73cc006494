"""Low-rank factorization: `lowrank(p)`, rank ratio p in (0, 1]."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accelsim.compress.methods.base import Parameter, Transform, ratio
from accelsim.compress.methods.registry import register
from accelsim.workload.layers import Layer, Network

if TYPE_CHECKING:
    from accelsim.compress.accuracy import ParametricAccuracy


@register
@dataclass(frozen=True)
class LowRank(Transform):
    """Factor each layer with a weight matrix K x N (`Layer.low_rank_shape`: a Linear, or a
    convolution as a k x k convolution to r channels then a 1 x 1 convolution to N) into K x r
    then r x N, with r = round(rank_ratio x min(K, N)), wherever that has fewer weights than the
    original. The factors are dense (SVD factors of a pruned matrix are not sparse)."""

    rank_ratio: float

    method = "lowrank"
    parameters = (Parameter("rank_ratio", float),)

    def __post_init__(self) -> None:
        ratio("low-rank", "rank_ratio", self.rank_ratio, upper_open=False)

    def apply(self, network: Network) -> Network:
        renamed: dict[str, str] = {}
        layers: list[Layer] = []
        for layer in network.layers:
            pair = self._factor(layer)
            if pair is None:
                layers.append(layer)
                continue
            layers += pair
            renamed[layer.name] = pair[1].name
        # Whoever read a factored layer now reads its second half.
        fixed = [
            dataclasses.replace(layer, inputs=tuple(renamed.get(n, n) for n in layer.inputs)) if layer.inputs else layer
            for layer in layers
        ]
        return dataclasses.replace(network, layers=tuple(fixed))

    def _factor(self, layer: Layer) -> tuple[Layer, Layer] | None:
        shape = layer.low_rank_shape
        if shape is None:
            return None
        k, n = shape
        r = max(1, round(self.rank_ratio * min(k, n)))
        return layer.factored(r) if r * (k + n) < k * n else None

    def describe(self) -> str:
        return f"low-rank(rank_ratio={self.rank_ratio:g})"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """1 - lowrank_scale x (1 - p)^2 (M. Jaderberg et al., "Speeding up convolutional neural
        networks with low rank expansions", BMVC 2014). The measured provider truncates each
        factored layer's SVD to the simulated rank, then fine-tunes."""
        return 1 - curves.lowrank_scale * (1 - self.rank_ratio) ** 2
