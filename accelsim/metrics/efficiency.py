"""How close a run comes to what the hardware allows: the roofline bound of a layer, and the
whole run's efficiency (inferences per joule, TOPS/W, energy-delay product, accuracy per joule)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from accelsim.hardware import Accelerator
from accelsim.precision import Precision


@dataclass(frozen=True)
class Bound:
    """Analytical roofline bound: the array and the bus each work flat out, fully overlapped."""

    compute_cycles: int
    memory_cycles: int
    compulsory_bytes: int

    @property
    def cycles(self) -> int:
        return max(self.compute_cycles, self.memory_cycles)

    @property
    def limiter(self) -> str:
        return "compute" if self.compute_cycles >= self.memory_cycles else "memory"


def layer_bound(
    macs: int,
    compulsory_bytes: int,
    precision: Precision,
    hw: Accelerator,
    vector_ops: int = 0,
    epilogue_ops: int = 0,
) -> Bound:
    """Compute cycles: the larger of ceil(MACs / (lanes x pack)) and a fused epilogue's
    ceil(epilogue operations / (vector lanes x ops per lane)), as each step runs its epilogue in
    the array's shadow and takes the longer of the two (the sums over the steps are each at
    least their whole-layer quotient); plus, for a vector layer, ceil(operations / vector ops per
    cycle). Memory cycles: ceil(bytes / bytes_per_cycle)."""
    per_cycle = hw.vector_unit.ops_per_cycle(precision)
    array = math.ceil(macs / hw.mac_array.macs_per_cycle(precision))
    return Bound(
        compute_cycles=max(array, -(-epilogue_ops // per_cycle)) + -(-vector_ops // per_cycle),
        memory_cycles=memory_cycles(compulsory_bytes, hw),
        compulsory_bytes=compulsory_bytes,
    )


def traced_layer_bound(meta: dict[str, Any], hw: Accelerator) -> Bound:
    """`layer_bound` of a layer from its trace metadata (`trace.meta["layers"][i]`): the one
    bound a run's summary and a generation's phases add up. Traces written before sparsity
    perform every MAC; before fusion, a layer has no epilogue."""
    return layer_bound(
        meta.get("performed_macs", meta["macs"]),
        meta["compulsory_bytes"],
        Precision.parse(meta["mac_precision"]),
        hw,
        meta.get("vector_ops", 0),
        meta.get("epilogue_ops", 0),
    )


def memory_cycles(compulsory_bytes: int, hw: Accelerator) -> int:
    """Cycles the bus needs to move `compulsory_bytes` flat out (exact: bytes per cycle may be
    a fraction)."""
    return math.ceil(Fraction(compulsory_bytes) / hw.dram_bytes_per_cycle)


@dataclass(frozen=True)
class Efficiency:
    """Whole-run efficiency; accuracy is a fraction in [0, 1] when given."""

    energy_j: float
    latency_s: float
    macs: int
    accuracy: float | None = None

    @property
    def inferences_per_j(self) -> float:
        return 1.0 / self.energy_j

    @property
    def tops_per_w(self) -> float:
        # One MAC is two operations; TOPS/W = operations per joule / 1e12.
        return 2 * self.macs / self.energy_j / 1e12

    @property
    def edp_j_s(self) -> float:
        return self.energy_j * self.latency_s

    @property
    def accuracy_per_j(self) -> float | None:
        return None if self.accuracy is None else self.accuracy / self.energy_j

    def as_dict(self) -> dict[str, Any]:
        return {
            "inferences_per_j": self.inferences_per_j,
            "tops_per_w": self.tops_per_w,
            "edp_j_s": self.edp_j_s,
            "accuracy": self.accuracy,
            "accuracy_per_j": self.accuracy_per_j,
        }
