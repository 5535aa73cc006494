"""Per-layer bit-width policies: a JSON map from layer name to weight bits, as seed 001 writes them.

    {"conv1": 8, "layer1.0.conv1": 8, ..., "linear": 8}
    {"final_config": {...}, ...}          (seed 001's greedy_search_results.json, read as it is)

Layers not named keep their precision. Bits are 32, 16, 8 or 4 (FP32, FP16, INT8, INT4), or a
precision name (`"bf16"`). By default the policy sets weights only, as seed 001 quantizes them
(activations stay as they are); `activations=True` sets both operands of each named layer.
`linear` names the network's classifier (its last Linear layer) when no layer is called that, as in
seed 001's ResNet-20, whose classifier module is `linear` where ours is `fc`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accelsim.compress.methods.base import Followup, Transform
from accelsim.compress.methods.quantize import Quantize
from accelsim.errors import InputError
from accelsim.precision import Precision
from accelsim.workload.layers import Linear, Network

if TYPE_CHECKING:
    from accelsim.compress.accuracy import ParametricAccuracy
    from accelsim.compress.measured import MeasurementSettings

_BY_BITS = {32: Precision.FP32, 16: Precision.FP16, 8: Precision.INT8, 4: Precision.INT4}
CLASSIFIER_ALIAS = "linear"


def _precision(layer: str, value: Any) -> Precision:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InputError(
            f"weight policy: {layer}: bits must be one of 32, 16, 8, 4 or a precision name (got {value!r})"
        )
    if isinstance(value, int):
        if value not in _BY_BITS:
            raise InputError(f"weight policy: {layer}: bits must be one of 32, 16, 8, 4 (got {value})")
        return _BY_BITS[value]
    return Precision.parse(value)


@dataclass(frozen=True)
class WeightPolicy(Transform):
    """Each named layer's weights (and with `activations`, its activations) at its own precision."""

    bits: tuple[tuple[str, Precision], ...]
    activations: bool = False

    method = "policy"  # made from a file, not from pipeline text: not registered with the parser

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], activations: bool = False) -> WeightPolicy:
        if not mapping:
            raise InputError("weight policy: names no layer")
        return cls(tuple((str(name), _precision(name, v)) for name, v in mapping.items()), activations)

    def _resolve(self, network: Network) -> dict[str, Precision]:
        known = {layer.name for layer in network.layers}
        linears = [layer.name for layer in network.layers if isinstance(layer, Linear)]
        resolved = {}
        for name, precision in self.bits:
            if name == CLASSIFIER_ALIAS and name not in known and linears:
                name = linears[-1]
            if name not in known:
                valid = ", ".join(layer.name for layer in network.layers)
                raise InputError(f"weight policy: {name!r} is not a layer of {network.name}; valid: {valid}")
            resolved[name] = precision
        return resolved

    def apply(self, network: Network) -> Network:
        chosen = self._resolve(network)
        layers = tuple(
            layer.with_precision(
                chosen[layer.name], chosen[layer.name] if self.activations else layer.activation_precision
            )
            if layer.name in chosen
            else layer
            for layer in network.layers
        )
        return dataclasses.replace(network, layers=layers)

    def _steps(self, network: Network | None) -> list[Quantize]:
        """The policy as one Quantize step per precision, on the layers it names (classifier
        alias resolved), each keeping FP32 activations unless the policy sets both."""
        names = self._resolve(network) if network is not None else dict(self.bits)
        groups: dict[Precision, list[str]] = {}
        for name, precision in names.items():
            groups.setdefault(precision, []).append(name)
        return [Quantize(p, p if self.activations else Precision.FP32, tuple(layers)) for p, layers in groups.items()]

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """The product of its per-precision quantization steps' retentions (the parametric model
        of `Quantize` on named layers: each loses its share of the loss by its share of the MACs)."""
        kept = 1.0
        for step in self._steps(network):
            kept *= step.retention(curves, network)
        return kept

    def followup(self, settings: MeasurementSettings) -> Followup:
        """Quantization: calibration, or quantization-aware fine-tuning, as `Quantize`."""
        return Followup(settings.qat_epochs, settings.finetune_learning_rate)

    def describe(self) -> str:
        groups: dict[str, list[str]] = {}
        for name, precision in self.bits:
            groups.setdefault(precision.value, []).append(name)
        scope = "weights and activations" if self.activations else "weights"
        parts = "; ".join(f"{p} on {', '.join(names)}" for p, names in groups.items())
        return f"policy({scope}: {parts})"


def load_weight_policy(path: str | Path, activations: bool = False) -> WeightPolicy:
    """A policy file: a JSON map from layer name to bits, or seed 001's results with `final_config`."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"--weight-policy: {path} is not JSON ({exc.msg}, line {exc.lineno})") from None
    if isinstance(data, dict) and isinstance(data.get("final_config"), dict):
        data = data["final_config"]
    if not isinstance(data, dict):
        raise InputError(f"--weight-policy: {path}: expected a JSON object mapping layer names to bits")
    return WeightPolicy.from_mapping(data, activations)
