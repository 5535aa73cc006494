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

from accelsim.compress.transforms import (
    Distill,
    LowRank,
    NMPrune,
    Quantize,
    StructuredPrune,
    Transform,
    UnstructuredPrune,
)
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

    - quantization: `QUANTIZATION_RETENTION` of the narrower of weights and activations, or
      `WEIGHT_ONLY_RETENTION` of the weights when the activations keep 16 bits or more; a step
      on named layers loses that share of the loss, weighted by their share of the MACs;
    - structured pruning at ratio r: 1 - prune_scale * r^2 (little loss at low ratios, growing
      fast past half: the shape of the magnitude-pruning curves in H. Li et al., "Pruning filters
      for efficient ConvNets", ICLR 2017, before fine-tuning recovers part of it);
    - distillation to width w: 1 - distill_scale * (1 - w)^1.5 (students of half width lose a few
      points: G. Hinton et al., "Distilling the knowledge in a neural network", 2015, and the
      width-multiplier study of A. Howard et al., "MobileNets", 2017); to depth d, times
      1 - depth_scale * (1 - d)^1.5 (shallower ResNets lose little: K. He et al., "Deep residual
      learning", CVPR 2016, CIFAR-10: ResNet-56 93.03%, ResNet-32 92.49%, ResNet-20 91.25%);
    - low rank at rank ratio p: 1 - lowrank_scale * (1 - p)^2 (M. Jaderberg et al., "Speeding up
      convolutional neural networks with low rank expansions", BMVC 2014);
    - unstructured magnitude pruning at sparsity s: 1 - unstructured_scale * s^8 (flat to about
      70%, then falling: T. Gale et al., "The state of sparsity in deep neural networks",
      arXiv:1902.09574, 2019, ResNet-50 with gradual pruning loses about 1.4 points at 80% and
      3.7 at 90%);
    - N:M sparsity: 1 - nm_scale * (1 - N/M)^2 (2:4 with retraining within half a point of
      dense: A. Mishra et al., "Accelerating sparse deep neural networks", arXiv:2104.08378, 2021).
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
        if isinstance(step, Quantize):
            w = Precision.parse(step.weights)
            a = Precision.parse(step.activations) if step.activations is not None else w
            if a.bits >= 16 and not a.is_integer:
                kept = self.weight_only[w]
            else:
                kept = self.quantization[min((w, a), key=lambda p: p.bits)]
            return 1 - (1 - kept) * _mac_share(network, step.layers)
        if isinstance(step, StructuredPrune):
            return 1 - self.prune_scale * step.ratio**2
        if isinstance(step, Distill):
            width = 1 - self.distill_scale * (1 - step.width) ** 1.5
            return width * (1 - self.depth_scale * (1 - step.depth) ** 1.5)
        if isinstance(step, LowRank):
            return 1 - self.lowrank_scale * (1 - step.rank_ratio) ** 2
        if isinstance(step, UnstructuredPrune):
            return 1 - self.unstructured_scale * step.sparsity**8
        if isinstance(step, NMPrune):
            return 1 - self.nm_scale * (1 - step.n / step.m) ** 2
        raise InputError(f"parametric accuracy: no curve for {type(step).__name__}")

    def estimate(self, network: Network, steps: Sequence[Transform] = (), configuration: str = "") -> AccuracyEstimate:
        value = self.baseline * math.prod(self.retention(step, network) for step in steps)
        return AccuracyEstimate(value, "modelled", "parametric curves (accelsim.compress.accuracy)")


def _mac_share(network: Network | None, layers: tuple[str, ...] | None) -> float:
    """Share of the network's MACs in the named layers (1 for a uniform step)."""
    if layers is None or network is None:
        return 1.0
    chosen = set(layers)
    part = sum(layer.macs for layer in network.layers if layer.name in chosen)
    return part / network.macs if network.macs else 1.0
