"""One point of a study: a network compressed by a configuration, simulated on an accelerator,
with its accuracy from a provider. The unit every comparison and sweep is made of."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from accelsim.compress.accuracy import AccuracyEstimate, AccuracyProvider
from accelsim.compress.methods import Transform
from accelsim.compress.spec import parse_pipeline
from accelsim.compress.transforms import pipeline
from accelsim.hardware import Accelerator
from accelsim.metrics import Summary, summarize
from accelsim.sim.engine import simulate
from accelsim.trace.trace import Trace
from accelsim.workload.layers import Network


@dataclass(frozen=True)
class Configuration:
    """A named compression pipeline; no steps is the uncompressed baseline."""

    name: str
    steps: tuple[Transform, ...] = ()

    @classmethod
    def parse(cls, name: str, text: str) -> Configuration:
        """`Configuration.parse("KD 50% + INT4", "distill(0.5) -> int4")` (see `accelsim.compress.spec`)."""
        return cls(name, parse_pipeline(text))

    def apply(self, network: Network) -> Network:
        return pipeline(*self.steps)(network) if self.steps else network

    @property
    def pipeline_text(self) -> str:
        return " -> ".join(step.describe() for step in self.steps) or "none"


@dataclass(frozen=True)
class Result:
    """Every figure of one evaluated point, flat, in SI units (seconds, joules, bytes)."""

    configuration: str
    network: str
    hardware: str
    pipeline: str
    cycles: int
    latency_s: float
    clock_hz: float
    macs: int  # MACs the array performed (fewer than the network's when zeros are skipped)
    network_macs: int  # MACs of the (compressed) network counted dense
    mac_precision: str  # the precision most MACs ran at
    parameters: int
    nonzero_weights: int
    weight_bytes: int  # model size as stored (precision and sparse format)
    dram_read_bytes: int
    dram_write_bytes: int
    dram_busy_cycles: int  # cycles the DRAM bus was moving data
    mac_utilization: float
    bound_cycles: int
    compute_bound_cycles: int
    memory_bound_cycles: int
    limiter: str
    energy_j: float
    mac_energy_j: float
    sram_energy_j: float
    dram_energy_j: float
    static_energy_j: float
    accuracy: float | None
    accuracy_kind: str  # measured, table, modelled, given; "" without a provider
    accuracy_detail: str
    state_cycles: dict[str, int] = field(default_factory=dict)
    #: Energy of the vector unit's operations (0 for a network of GEMM layers only).
    vector_energy_j: float = 0.0

    @property
    def dram_bytes(self) -> int:
        return self.dram_read_bytes + self.dram_write_bytes

    @property
    def inferences_per_s(self) -> float:
        return 1.0 / self.latency_s

    @property
    def ops_per_s(self) -> float:
        """Attained throughput in operations per second (one MAC is two operations)."""
        return 2 * self.macs / self.latency_s

    @property
    def intensity_ops_per_byte(self) -> float:
        """Operational intensity of the simulated schedule: operations per DRAM byte moved."""
        return 2 * self.macs / self.dram_bytes if self.dram_bytes else float("inf")

    @property
    def inferences_per_j(self) -> float:
        return 1.0 / self.energy_j

    @property
    def accuracy_per_j(self) -> float | None:
        """The seed's efficiency: accuracy (a fraction) per joule of one inference."""
        return None if self.accuracy is None else self.accuracy / self.energy_j

    @property
    def edp_j_s(self) -> float:
        return self.energy_j * self.latency_s

    @property
    def stall_cycles(self) -> int:
        return sum(n for state, n in self.state_cycles.items() if state.startswith("STALL"))

    def as_dict(self) -> dict[str, Any]:
        """Fields and derived figures, JSON-ready."""
        derived = {
            name: getattr(self, name)
            for name in (
                "dram_bytes",
                "inferences_per_s",
                "ops_per_s",
                "intensity_ops_per_byte",
                "inferences_per_j",
                "accuracy_per_j",
                "edp_j_s",
                "stall_cycles",
            )
        }
        return {**dataclasses.asdict(self), **derived}

    @classmethod
    def from_summary(
        cls, summary: Summary, trace: Trace, configuration: Configuration, estimate: AccuracyEstimate | None
    ) -> Result:
        total, energy = summary.total, summary.total.energy
        layers = trace.meta["layers"]
        macs_by_precision: dict[str, int] = {}
        for layer in layers:
            key = layer["mac_precision"]
            macs_by_precision[key] = macs_by_precision.get(key, 0) + layer["macs"]
        return cls(
            configuration=configuration.name,
            network=summary.network,
            hardware=summary.hardware,
            pipeline=configuration.pipeline_text,
            cycles=total.cycles,
            latency_s=total.latency_s,
            clock_hz=total.clock_hz,
            macs=total.macs,
            network_macs=sum(layer["macs"] for layer in layers),
            mac_precision=max(macs_by_precision, key=lambda p: macs_by_precision[p]),
            parameters=sum(layer["parameters"] for layer in layers),
            nonzero_weights=sum(layer["nonzero_weights"] for layer in layers),
            weight_bytes=sum(layer["weight_bytes"] for layer in layers if layer["kind"] != "matmul"),
            dram_read_bytes=total.dram_read_bytes,
            dram_write_bytes=total.dram_write_bytes,
            dram_busy_cycles=total.bus_busy_cycles,
            mac_utilization=total.mac_utilization,
            bound_cycles=total.bound.cycles,
            compute_bound_cycles=total.bound.compute_cycles,
            memory_bound_cycles=total.bound.memory_cycles,
            limiter=total.bound.limiter,
            energy_j=energy.total_j,
            mac_energy_j=energy.mac_j,
            sram_energy_j=energy.sram_j,
            dram_energy_j=energy.dram_j,
            static_energy_j=energy.static_j,
            vector_energy_j=energy.vector_j,
            accuracy=None if estimate is None else estimate.value,
            accuracy_kind="" if estimate is None else estimate.kind,
            accuracy_detail="" if estimate is None else estimate.detail,
            state_cycles=dict(total.state_cycles),
        )


@dataclass(frozen=True)
class Evaluation:
    """A result, the compressed network that produced it, and its trace when kept."""

    result: Result
    network: Network
    trace: Trace | None = None


@functools.lru_cache(maxsize=4096)
def simulated_summary(network: Network, hw: Accelerator) -> Summary:
    """The summary of `network` on `hw`, simulated once per process (both are frozen)."""
    return summarize(simulate(network, hw))


def evaluate(
    network: Network,
    configuration: Configuration,
    hw: Accelerator,
    accuracy: AccuracyProvider | None = None,
    *,
    keep_trace: bool = False,
) -> Evaluation:
    """Compress `network`, simulate it on `hw`, and ask `accuracy` how accurate it is."""
    compressed = configuration.apply(network)
    trace = simulate(compressed, hw)
    estimate = None if accuracy is None else accuracy.estimate(compressed, configuration.steps, configuration.name)
    result = Result.from_summary(summarize(trace), trace, configuration, estimate)
    return Evaluation(result, compressed, trace if keep_trace else None)


def best(results: Sequence[Result]) -> Result:
    """The result with the most accuracy per joule (ties: the faster)."""
    scored = [r for r in results if r.accuracy_per_j is not None]
    if not scored:
        raise ValueError("best: no result has an accuracy")
    return max(scored, key=lambda r: (r.accuracy_per_j, -r.cycles))
