"""Accuracy providers: where the accuracy of a compressed network comes from.

The simulator never sees accuracy. A provider answers `estimate(network, steps, configuration)`
with an `AccuracyEstimate` whose `kind` says how the number was obtained, and every report
shows that kind beside the number:
- `TableAccuracy`: the user's measured accuracies from a CSV, keyed by configuration name;
- `CallableAccuracy`: any Python function of the compressed network and its steps;
- `ParametricAccuracy`: documented curves, always labelled "modelled", never "measured".
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from accelsim.compress.methods import Transform
from accelsim.errors import InputError
from accelsim.precision import Precision
from accelsim.workload.layers import Network


@dataclass(frozen=True)
class AccuracyEstimate:
    """An accuracy as a fraction in [0, 1], and how it was obtained."""

    value: float
    kind: str  # "measured", "table" or "modelled"
    detail: str = ""

    def __post_init__(self) -> None:
        if not (isinstance(self.value, (int, float)) and 0.0 <= self.value <= 1.0):
            raise InputError(f"accuracy: must be a fraction in [0, 1] (got {self.value!r})")

    def label(self) -> str:
        return f"{self.value:.4f} ({self.kind}{', ' + self.detail if self.detail else ''})"


class AccuracyProvider:
    """Base class: the accuracy of `network`, produced from a baseline by `steps`."""

    def estimate(self, network: Network, steps: Sequence[Transform] = (), configuration: str = "") -> AccuracyEstimate:
        raise NotImplementedError


@dataclass(frozen=True)
class TableAccuracy(AccuracyProvider):
    """Measured accuracies from the user: configuration name -> fraction in [0, 1]."""

    accuracies: Mapping[str, float]
    source: str = "user table"

    @classmethod
    def from_csv(cls, path: str | Path) -> TableAccuracy:
        """A CSV with columns `configuration` and `accuracy` (a fraction, or a percentage > 1)."""
        try:
            with open(path, newline="") as fh:
                rows = list(csv.DictReader(fh))
        except OSError as exc:
            raise InputError(f"accuracy table {path}: {exc.strerror}") from None
        table: dict[str, float] = {}
        for line, row in enumerate(rows, start=2):
            try:
                name, value = row["configuration"].strip(), float(row["accuracy"])
            except (KeyError, TypeError, ValueError, AttributeError):
                raise InputError(
                    f"accuracy table {path}: line {line}: needs columns configuration,accuracy with a number"
                ) from None
            table[name] = value / 100 if value > 1 else value
        return cls(table, source=str(path))

    def estimate(self, network: Network, steps: Sequence[Transform] = (), configuration: str = "") -> AccuracyEstimate:
        if configuration not in self.accuracies:
            known = ", ".join(sorted(self.accuracies)) or "none"
            raise InputError(f"accuracy table: no row for configuration {configuration!r}; rows: {known}")
        return AccuracyEstimate(self.accuracies[configuration], "table", self.source)


@dataclass(frozen=True)
class CallableAccuracy(AccuracyProvider):
    """Any function `(network, steps) -> fraction`; `kind` says what it computes."""

    function: Callable[[Network, Sequence[Transform]], float]
    kind: str = "measured"
    detail: str = "user function"

    def estimate(self, network: Network, steps: Sequence[Transform] = (), configuration: str = "") -> AccuracyEstimate:
        return AccuracyEstimate(float(self.function(network, steps)), self.kind, self.detail)


#: Accuracy retained after post-training quantization, by the narrower operand precision.
#: Shape: 16-bit floats lose nothing measurable, per-channel INT8 well under a point, INT4
#: several points without retraining: the ranges reported by R. Krishnamoorthi, "Quantizing deep
#: convolutional networks for efficient inference: A whitepaper", arXiv:1806.08342 (2018), and
#: R. Banner et al., "Post training 4-bit quantization of convolutional networks for
#: rapid-deployment", NeurIPS 2019. Chosen within those ranges, not fitted to them.
QUANTIZATION_RETENTION: dict[Precision, float] = {
    Precision.FP32: 1.0,
    Precision.FP16: 1.0,
    Precision.BF16: 0.999,
    Precision.INT8: 0.995,
    Precision.INT4: 0.96,
}
#: Weight-only quantization (activations stay at 16 or 32 bits) loses less: per-channel INT8
#: weights are indistinguishable from FP32 and INT4 weights lose about a point after PTQ with
#: rounding optimization (M. Nagel et al., "A white paper on neural network quantization",
#: arXiv:2106.08295, 2021: W4A32 ResNets within about a point with AdaRound).
WEIGHT_ONLY_RETENTION: dict[Precision, float] = {
    Precision.FP32: 1.0,
    Precision.FP16: 1.0,
    Precision.BF16: 1.0,
    Precision.INT8: 0.999,
    Precision.INT4: 0.985,
}


@dataclass(frozen=True)
class ParametricAccuracy(AccuracyProvider):
    """Modelled accuracy: `baseline` times one retention factor per compression step.

    Each method documents its curve and its sources with its `retention` hook (in
    `accelsim.compress.methods`); the curves read their scales from here:
    - quantization: `quantization` (by the narrower operand) or `weight_only`;
    - structured pruning at ratio r: 1 - prune_scale * r^2;
    - distillation to width w and depth d: (1 - distill_scale * (1 - w)^1.5)
      * (1 - depth_scale * (1 - d)^1.5);
    - low rank at rank ratio p: 1 - lowrank_scale * (1 - p)^2;
    - unstructured pruning at sparsity s: 1 - unstructured_scale * s^8;
    - N:M sparsity: 1 - nm_scale * (1 - N/M)^2.
    The scales are defaults for CNN classifiers; every figure they produce is labelled modelled.
    """

    baseline: float
    prune_scale: float = 0.10
    distill_scale: float = 0.12
    depth_scale: float = 0.035
    lowrank_scale: float = 0.10
    unstructured_scale: float = 0.12
    nm_scale: float = 0.02
    quantization: Mapping[Precision, float] = field(default_factory=lambda: dict(QUANTIZATION_RETENTION))
    weight_only: Mapping[Precision, float] = field(default_factory=lambda: dict(WEIGHT_ONLY_RETENTION))

    def retention(self, step: Transform, network: Network | None = None) -> float:
        """The factor one step keeps; `network` (the compressed one) weighs a per-layer step."""
        hook = getattr(step, "retention", None)
        if hook is None:
            raise InputError(f"parametric accuracy: no curve for {type(step).__name__}")
        return hook(self, network)

    def estimate(self, network: Network, steps: Sequence[Transform] = (), configuration: str = "") -> AccuracyEstimate:
        value = self.baseline * math.prod(self.retention(step, network) for step in steps)
        return AccuracyEstimate(value, "modelled", "parametric curves (accelsim.compress.accuracy)")
