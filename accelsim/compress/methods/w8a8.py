"""SmoothQuant-style INT8 weights and activations: `w8a8(alpha)`, alpha in [0, 1].

SmoothQuant (G. Xiao et al., ICML 2023) migrates activation outliers into the weights with a
per-channel factor s_j = max|X_j|^alpha / max|W_j|^(1 - alpha) folded into the preceding
operator, then runs INT8 x INT8 GEMMs. The factor is folded offline, so the cost is exactly that
of `int8` (same bytes, MACs and energy); `alpha` (default 0.5, the paper's choice for most
models) changes only the accuracy and is recorded in the provenance.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accelsim.compress.methods.base import Followup, Parameter, Transform, layer_names, mac_share, selected
from accelsim.compress.methods.registry import register
from accelsim.errors import InputError
from accelsim.precision import Precision
from accelsim.workload.layers import Network

if TYPE_CHECKING:
    from accelsim.compress.accuracy import ParametricAccuracy
    from accelsim.compress.measured import MeasurementSettings


@register
@dataclass(frozen=True)
class SmoothQuant(Transform):
    """INT8 weights and activations after smoothing with migration strength `alpha`."""

    alpha: float = 0.5
    layers: tuple[str, ...] | None = None

    method = "w8a8"
    parameters = (Parameter("alpha", float), Parameter("layers", layer_names, structured=True, keyword=True))

    def __post_init__(self) -> None:
        ok = isinstance(self.alpha, (int, float)) and not isinstance(self.alpha, bool) and 0 <= self.alpha <= 1
        if not ok:
            raise InputError(f"w8a8: alpha must be in [0, 1] (got {self.alpha!r})")

    def apply(self, network: Network) -> Network:
        chosen = selected(network, self.layers, "w8a8")
        layers = tuple(
            layer.with_precision(Precision.INT8, Precision.INT8) if layer.name in chosen else layer
            for layer in network.layers
        )
        return dataclasses.replace(network, layers=layers)

    def describe(self) -> str:
        scope = f" on {', '.join(self.layers)}" if self.layers is not None else ""
        return f"w8a8(smoothquant, alpha={self.alpha:g}{scope})"

    def perplexity_setting(self) -> str:
        """The row of `accelsim.compress.llm_perplexity.PUBLISHED` this step reads."""
        return "w8a8(smoothquant)"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """`curves.quantization[int8]`: smoothing exists to bring W8A8 to the INT8 curve."""
        return 1 - (1 - curves.quantization[Precision.INT8]) * mac_share(network, self.layers)

    def followup(self, settings: MeasurementSettings) -> Followup:
        """Post-training: calibration of the activation ranges only."""
        return Followup(0, settings.finetune_learning_rate)
