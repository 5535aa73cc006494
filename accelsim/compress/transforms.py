"""Compression as pure transformations of a workload: `Network -> Network`.

Each transform returns a new network whose layers have the compressed shapes and precisions,
and appends one typed step to its provenance (`accelsim.workload.provenance.ProvenanceStep`),
so the order of a pipeline is visible in every report and trace. The simulator never sees the
transforms, only the networks they produce.

The methods live one per module in `accelsim.compress.methods` (each with its pipeline name,
parameters, validation and accuracy hooks); the dataflow rules they share (which widths may
change around residual connections) in `accelsim.compress.graph`. This module composes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from accelsim.compress.methods import Transform
from accelsim.workload.layers import Network


@dataclass(frozen=True)
class Pipeline(Transform):
    """Transforms applied in order; each records its own provenance step."""

    steps: tuple[Callable[[Network], Network], ...]

    def __call__(self, network: Network) -> Network:
        for step in self.steps:
            network = step(network)
        return network

    def describe(self) -> str:
        return " -> ".join(step.describe() for step in self.steps if isinstance(step, Transform))


def pipeline(*steps: Transform | Sequence[Transform]) -> Pipeline:
    """`pipeline(StructuredPrune(0.5), Quantize("int8"), Distill(0.5))`: the order is kept."""
    flat: list[Transform] = []
    for step in steps:
        flat.extend(step if isinstance(step, Sequence) else [step])
    return Pipeline(tuple(flat))
