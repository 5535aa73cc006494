"""N:M structured sparsity: `nm(n, m)` (default 2:4)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accelsim.compress.methods.base import Parameter, Transform, layer_names, mac_share, selected
from accelsim.compress.methods.registry import register
from accelsim.errors import InputError
from accelsim.workload.layers import Layer, Network
from accelsim.workload.sparsity import WeightSparsity

if TYPE_CHECKING:
    from accelsim.compress.accuracy import ParametricAccuracy


@register
@dataclass(frozen=True)
class NMPrune(Transform):
    """N:M structured sparsity (default 2:4, N < M): of every M consecutive weights along the
    reduction axis, N are kept, stored with their positions; for dense layers with weights."""

    n: int = 2
    m: int = 4
    layers: tuple[str, ...] | None = None

    method = "nm"
    parameters = (
        Parameter("n", int),
        Parameter("m", int),
        Parameter("layers", layer_names, structured=True, keyword=True),
    )

    def __post_init__(self) -> None:
        WeightSparsity.n_of_m(self.n, self.m)

    def apply(self, network: Network) -> Network:
        pattern = WeightSparsity.n_of_m(self.n, self.m)
        chosen = selected(network, self.layers, "nm-prune")

        def prune(layer: Layer) -> Layer:
            if layer.name not in chosen or not layer.b_is_weight:
                return layer
            if not layer.sparsity.is_dense:
                raise InputError(f"nm-prune: layer {layer.name} is already sparse ({layer.sparsity.describe()})")
            return dataclasses.replace(layer, sparsity=pattern)

        return dataclasses.replace(network, layers=tuple(prune(layer) for layer in network.layers))

    def describe(self) -> str:
        return f"prune(n:m, {self.n}:{self.m})"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """1 - nm_scale x (1 - N/M)^2: 2:4 with retraining within half a point of dense
        (A. Mishra et al., "Accelerating sparse deep neural networks", arXiv:2104.08378, 2021).
        The measured provider keeps the N largest of every M weights, then fine-tunes. On named
        layers the loss is scaled by their share of the MACs."""
        return 1 - curves.nm_scale * (1 - self.n / self.m) ** 2 * mac_share(network, self.layers)
