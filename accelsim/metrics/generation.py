"""Figures of a generation run (prefill, then decode steps) from its trace alone.

The trace of a generation carries the `step` signal (0 during the prefill, k during decode step
k) and, in `meta["generation"]`, its prompt, generated tokens, batch and the class of each layer:
`vector` (the vector unit's work), `attention` (a product whose B operand is an activation: the
scores and the KV cache) or `gemm` (a product with weights). Definitions:

- time to first token: the prefill's span (its logits give the first token);
- time per output token: the decode steps' mean span;
- tokens per second: `batch` / time per output token (every step emits one token per sequence);
- energy per token: decode energy / (steps x batch), the energy of one generated token;
- KV-cache bytes: the K and V the last phase's attention reads (every cached position);
- a phase's roofline bound: its layers' compute cycles (`traced_layer_bound`, as a run's
  summary counts them: the array or a fused epilogue, whichever is longer, plus vector layers)
  and their compulsory bytes, each added up over the phase.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from accelsim.hardware import Accelerator
from accelsim.metrics.counts import ActivityCounts, hardware_of
from accelsim.metrics.efficiency import Bound, memory_cycles, traced_layer_bound
from accelsim.metrics.energy import EnergyBreakdown, energy_breakdown
from accelsim.precision import Precision
from accelsim.trace import signals
from accelsim.trace.trace import Trace, layer_spans
from accelsim.workload.layers import Layer

#: Layer classes of a generation, in report order.
CLASSES = ("gemm", "attention", "vector")


def layer_class(layer: Layer) -> str:
    """`vector` for the vector unit's layers, `attention` for a product of two activations, else `gemm`."""
    if getattr(layer, "unit", "mac") == "vector":
        return "vector"
    return "gemm" if layer.b_is_weight else "attention"


def step_spans(trace: Trace) -> list[tuple[int, int, int]]:
    """(step, first cycle, end cycle) of each phase of a generation trace, in order."""
    if signals.STEP.name not in trace.starts:
        raise ValueError("not a generation trace: it has no step signal")
    starts = trace.starts[signals.STEP.name].tolist()
    values = trace.values[signals.STEP.name].tolist()
    ends = [*starts[1:], trace.end_cycle]
    return list(zip(values, starts, ends))


@dataclass(frozen=True)
class PhaseFigures:
    """One phase (the prefill, one decode step, or all decode steps together)."""

    name: str
    start_cycle: int
    end_cycle: int
    macs: int
    dram_read_bytes: int
    dram_write_bytes: int
    energy: EnergyBreakdown
    bound: Bound
    class_cycles: dict[str, int]
    clock_hz: float

    @property
    def cycles(self) -> int:
        return self.end_cycle - self.start_cycle

    @property
    def time_s(self) -> float:
        return self.cycles / self.clock_hz

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": self.name,
            "cycles": self.cycles,
            "time_s": self.time_s,
            "energy_j": self.energy.total_j,
            "energy_split_j": {
                "mac": self.energy.mac_j,
                "sram": self.energy.sram_j,
                "dram": self.energy.dram_j,
                "static": self.energy.static_j,
            },
            "macs": self.macs,
            "dram_read_bytes": self.dram_read_bytes,
            "dram_write_bytes": self.dram_write_bytes,
            "time_split_s": {name: self.class_cycles.get(name, 0) / self.clock_hz for name in CLASSES},
            "bound": {
                "compute_cycles": self.bound.compute_cycles,
                "memory_cycles": self.bound.memory_cycles,
                "cycles": self.bound.cycles,
                "time_s": self.bound.cycles / self.clock_hz,
                "limiter": self.bound.limiter,
                "compulsory_bytes": self.bound.compulsory_bytes,
                "simulated_over_bound": self.cycles / self.bound.cycles if self.bound.cycles else None,
            },
        }


@dataclass(frozen=True)
class LayerFigures:
    """What a phase adds up of one layer."""

    phase: int
    cls: str
    cycles: int
    macs: int
    read_bytes: int
    write_bytes: int
    energy: EnergyBreakdown
    compute_cycles: int  # the layer's compute bound (`layer_bound`: array, fused epilogue, vector unit)
    compulsory_bytes: int
    kv_bytes: int  # bytes of the B operand of an attention product (the K or V cache)


def layer_figures(trace: Trace, hw: Accelerator, phase_of: Sequence[int], classes: Sequence[str]) -> list[LayerFigures]:
    """Per layer of a generation trace: its phase, class, cycles, bytes and energy."""
    out = []
    for i, (meta, (start, stop)) in enumerate(zip(trace.meta["layers"], layer_spans(trace))):
        precision = Precision.parse(meta["mac_precision"])
        counters = trace.meta["counters"][i]
        counts = ActivityCounts.from_counters(counters, precision, stop - start)
        out.append(
            LayerFigures(
                phase=phase_of[i],
                cls=classes[i],
                cycles=stop - start,
                macs=counters["macs"],
                read_bytes=counters["dram_read_bytes"],
                write_bytes=counters["dram_write_bytes"],
                energy=energy_breakdown(counts, hw),
                compute_cycles=traced_layer_bound(meta, hw).compute_cycles,
                compulsory_bytes=meta["compulsory_bytes"],
                kv_bytes=meta["weight_bytes"] if classes[i] == "attention" else 0,
            )
        )
    return out


def _phase(name: str, start: int, end: int, layers: Sequence[LayerFigures], hw: Accelerator) -> PhaseFigures:
    energy = EnergyBreakdown()
    class_cycles = dict.fromkeys(CLASSES, 0)
    for layer in layers:
        energy = energy + layer.energy
        class_cycles[layer.cls] += layer.cycles
    compulsory = sum(layer.compulsory_bytes for layer in layers)
    bound = Bound(sum(layer.compute_cycles for layer in layers), memory_cycles(compulsory, hw), compulsory)
    return PhaseFigures(
        name=name,
        start_cycle=start,
        end_cycle=end,
        macs=sum(layer.macs for layer in layers),
        dram_read_bytes=sum(layer.read_bytes for layer in layers),
        dram_write_bytes=sum(layer.write_bytes for layer in layers),
        energy=energy,
        bound=bound,
        class_cycles=class_cycles,
        clock_hz=hw.clock_hz,
    )


@dataclass(frozen=True)
class GenerationFigures:
    """Every figure of a generation run."""

    model: str
    hardware: str
    prompt: int
    generate: int
    batch: int
    prefill: PhaseFigures
    decode: PhaseFigures | None  # all decode steps together; None when nothing is generated
    steps: tuple[PhaseFigures, ...]
    kv_cache_bytes: int
    #: The KV cache held on chip while it fits (`accelsim.sim.kv_residency`): its region's
    #: `budget_bytes`, the `resident_tokens` it holds and `bytes_per_token`; None when the run
    #: read every key from DRAM.
    kv_on_chip: dict[str, int] | None = None

    @property
    def time_to_first_token_s(self) -> float:
        return self.prefill.time_s

    @property
    def time_per_output_token_s(self) -> float | None:
        return self.decode.time_s / self.generate if self.decode else None

    @property
    def tokens_per_s(self) -> float | None:
        per_token = self.time_per_output_token_s
        return self.batch / per_token if per_token else None

    @property
    def energy_per_token_j(self) -> float | None:
        return self.decode.energy.total_j / (self.generate * self.batch) if self.decode else None

    def as_dict(self) -> dict[str, Any]:
        """The JSON of `accelsim llm`: the headline scalars first, then the detail."""
        return {
            "time_to_first_token_s": self.time_to_first_token_s,
            "time_per_output_token_s": self.time_per_output_token_s,
            "tokens_per_s": self.tokens_per_s,
            "energy_per_token_j": self.energy_per_token_j,
            "prefill_energy_j": self.prefill.energy.total_j,
            "kv_cache_bytes": self.kv_cache_bytes,
            "model": self.model,
            "hardware": self.hardware,
            "prompt": self.prompt,
            "generate": self.generate,
            "batch": self.batch,
            "kv_on_chip": self.kv_on_chip,
            "phases": [phase.as_dict() for phase in (self.prefill, self.decode) if phase is not None],
            "steps": [
                {"step": k, "context": self.prompt + k, "start_cycle": s.start_cycle, **s.as_dict()}
                for k, s in enumerate(self.steps, start=1)
            ],
        }


def phase_name(info: dict[str, Any], k: int) -> str:
    """`prefill`, `step k`, or a speculative generation's `draft k` and `verify k`."""
    if k == 0:
        return "prefill"
    kinds = info.get("phase_kinds")
    return f"{kinds[k]} {k}" if kinds else f"step {k}"


def generation_figures(trace: Trace) -> GenerationFigures:
    """The figures of a generation, from its trace (module docstring)."""
    info = trace.meta["generation"]
    hw = hardware_of(trace)
    spans = step_spans(trace)
    phase_of = info["layer_steps"]
    layers = layer_figures(trace, hw, phase_of, info["layer_classes"])
    by_phase: list[list[LayerFigures]] = [[] for _ in range(max(phase_of) + 1)]
    for layer in layers:
        by_phase[layer.phase].append(layer)
    phases = [_phase(phase_name(info, k), s, e, by_phase[k], hw) for k, s, e in spans]
    decode = None
    if info["generate"]:
        decode = _phase("decode", phases[1].start_cycle, trace.end_cycle, [x for x in layers if x.phase > 0], hw)
    last = by_phase[-1]
    return GenerationFigures(
        model=info["model"],
        hardware=hw.name,
        prompt=info["prompt"],
        generate=info["generate"],
        batch=info["batch"],
        prefill=phases[0],
        decode=decode,
        steps=tuple(phases[1:]),
        kv_cache_bytes=sum(layer.kv_bytes for layer in last),
        kv_on_chip=trace.meta.get("kv_on_chip"),
    )
