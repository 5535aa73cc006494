"""Quantization: `int8` (any precision name), `quantize(w, a)`, `quantize(w=int4, a=int8)` or
`quant(w=4, a=8)` (bit counts: 4 and 8 are the integers, 16 and 32 the floats)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accelsim.compress.methods.base import Followup, Parameter, Transform, layer_names, mac_share, selected
from accelsim.compress.methods.registry import register
from accelsim.errors import InputError
from accelsim.precision import Precision
from accelsim.workload.layers import Network
from accelsim.workload.provenance import Value

if TYPE_CHECKING:
    from accelsim.compress.accuracy import ParametricAccuracy
    from accelsim.compress.measured import MeasurementSettings


#: A bare bit count in a pipeline text stands for this precision.
PRECISION_BY_BITS = {"4": Precision.INT4, "8": Precision.INT8, "16": Precision.FP16, "32": Precision.FP32}


def precision_name(text: str) -> str:
    """A precision name or bit count (`int4` or `4`) as the precision's name."""
    if text in PRECISION_BY_BITS:
        return PRECISION_BY_BITS[text].value
    try:
        return Precision.parse(text).value
    except InputError:
        names = ", ".join(p.value for p in Precision)
        raise InputError(f"unknown precision {text!r}; allowed: {names}, or bits 4, 8, 16, 32") from None


@register
@dataclass(frozen=True)
class Quantize(Transform):
    """Weights and activations to the given precisions (activations default to the weights'),
    uniformly or for the named layers; changes bytes, MAC packing and MAC energy through the
    hardware description."""

    weights: Precision | str
    activations: Precision | str | None = None
    layers: tuple[str, ...] | None = None

    method = "quantize"
    aliases = ("quant",)
    parameters = (
        Parameter("weights", precision_name, alias="w"),
        Parameter("activations", precision_name, alias="a"),
        Parameter("layers", layer_names, structured=True, keyword=True),
    )
    shorthands = tuple(p.value for p in Precision)

    def __post_init__(self) -> None:
        Precision.parse(self.weights)
        if self.activations is not None:
            Precision.parse(self.activations)

    @classmethod
    def from_shorthand(cls, name: str) -> Quantize:
        return cls(name)

    @property
    def precisions(self) -> tuple[Precision, Precision]:
        """(weights, activations) as precisions."""
        w = Precision.parse(self.weights)
        return w, Precision.parse(self.activations) if self.activations is not None else w

    def apply(self, network: Network) -> Network:
        w, a = self.precisions
        chosen = selected(network, self.layers, "quantize")
        layers = tuple(layer.with_precision(w, a) if layer.name in chosen else layer for layer in network.layers)
        return dataclasses.replace(network, layers=layers)

    def describe(self) -> str:
        w, a = self.precisions
        scope = f" on {', '.join(self.layers)}" if self.layers is not None else ""
        return f"quantize(weights={w.value}, activations={a.value}{scope})"

    def provenance_params(self) -> tuple[tuple[str, Value], ...]:
        w, a = self.precisions
        return (("weights", w.value), ("activations", a.value), ("layers", self.layers))

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """`curves.quantization` of the narrower of weights and activations, or
        `curves.weight_only` of the weights when the activations keep 16 bits or more (floating
        point); a step on named layers loses that share of the loss, weighted by their share of
        the MACs (sources: `accelsim.compress.accuracy.QUANTIZATION_RETENTION`)."""
        w, a = self.precisions
        if a.bits >= 16 and not a.is_integer:
            kept = curves.weight_only[w]
        else:
            kept = curves.quantization[min((w, a), key=lambda p: p.bits)]
        return 1 - (1 - kept) * mac_share(network, self.layers)

    def followup(self, settings: MeasurementSettings) -> Followup:
        """Post-training quantization (calibration only), or `qat_epochs` of quantization-aware
        fine-tuning."""
        return Followup(settings.qat_epochs, settings.finetune_learning_rate)
