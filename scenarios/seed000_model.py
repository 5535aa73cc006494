"""The analytical model of seed study 000, re-derived from its public source, for comparison.

Source: github.com/anthonyzhang2731/AI-Accelerator- (config.py, workload.py, kd.py,
compute_array.py, memory_system.py, main.py), read in November 2026. Nothing here is accelsim's
model; it exists so the study can show, number by number, where accelsim and the seed differ.

What the seed computes, per GEMM (M, K, N) of its five, summed over the five:
- bytes = ceil(M K b) + ceil(K N b) + ceil(M N b) at b bytes per element (FP16 2, INT8 1,
  INT4 0.5; it has no FP32), plus a pruning bitmap of ceil(K / 8) x N bits that is added even
  when nothing is pruned; pruning never reaches the byte count (the workload's prune field is
  always 0);
- MACs = floor(0.9 M K N (1 - prune)): a 0.9 "pruning efficiency" applied to every run;
- compute cycles = ceil(MACs / (64 x density x min(1, M K N / 1e6))), density = 1, 2, 4 for
  FP16, INT8, INT4 (the min() makes a small GEMM take as long as a 10^6-MAC one);
- memory cycles = ceil(bytes / 0.2) (200 MB/s at 1 GHz); the 100 ns latency is never used;
- cycles = max(compute, memory) per GEMM (perfect overlap, no latency, no queue);
- energy = MACs x {1, 0.25, 0.0625} (FP16, INT8, INT4) + 10 x bytes, in normalized units;
- distillation at scale s multiplies M, K and N by s (truncating) once for the bytes and a
  second time for the MACs and compute cycles;
- accuracy = 1, times max(0.1, 1 - p^2.2) when pruned by p, times s when distilled at s;
  quantization costs no accuracy;
- score = accuracy / energy x 1e7.
Its five configurations run in one process, and the distillation scale, a global, is never
reset: "Prune 50% FP16", run after "KD 50% + INT4", is simulated on the half-size GEMMs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SEED_GEMMS = ((16, 128, 16), (32, 128, 32), (64, 128, 64), (128, 128, 128), (256, 256, 256))
_BITS = {"FP16": 16, "INT8": 8, "INT4": 4}
_MAC_ENERGY = {"FP16": 1.0, "INT8": 0.25, "INT4": 0.0625}
_DENSITY = {"FP16": 1.0, "INT8": 2.0, "INT4": 4.0}

#: The seed's configurations, in the order its main.py runs them: (name, precision, prune, kd scale).
SEED_CONFIGURATIONS = (
    ("Default FP16", "FP16", 0.0, None),
    ("Quant INT8", "INT8", 0.0, None),
    ("Quant INT4", "INT4", 0.0, None),
    ("KD 50% + INT4", "INT4", 0.0, 0.5),
    ("Prune 50% FP16", "FP16", 0.5, None),
)


@dataclass(frozen=True)
class SeedResult:
    name: str
    cycles: int
    macs: int
    bytes: int
    energy: float  # normalized units
    accuracy: float
    score: float


def _bytes(elements: float, bits: int) -> int:
    return (int(elements) * bits + 7) // 8


def _scaled(m: int, k: int, n: int, s: float) -> tuple[int, int, int]:
    return max(1, int(m * s)), max(1, int(k * s)), max(1, int(n * s))


def seed_model(
    name: str, precision: str, prune: float, kd_scale: float | None, leaked_kd_scale: float = 1.0
) -> SeedResult:
    """One configuration as the seed's main.py computes it; `leaked_kd_scale` is the distillation
    scale left behind by an earlier run in the same process (1.0 when run alone)."""
    workload_scale = kd_scale if kd_scale is not None else leaked_kd_scale
    bits = _BITS[precision]
    cycles = macs_total = bytes_total = 0
    for gemm in SEED_GEMMS:
        m, k, n = _scaled(*gemm, workload_scale)
        nbytes = _bytes(m * k, bits) + _bytes(k * n, bits) + _bytes(m * n, bits) + (math.ceil(k / 8) * n + 7) // 8
        if kd_scale is not None:
            m, k, n = _scaled(m, k, n, kd_scale)
        macs = int(m * k * n * (1 - prune) * 0.9)
        rate = 64 * _DENSITY[precision] * min(1.0, m * k * n / 1e6)
        compute = max(1, math.ceil(macs / rate))
        memory = max(1, math.ceil(nbytes / 0.2))
        cycles += max(compute, memory)
        macs_total += macs
        bytes_total += nbytes
    energy = macs_total * _MAC_ENERGY[precision] + 10.0 * bytes_total
    accuracy = 1.0
    if prune > 0:
        accuracy = max(0.1, 1.0 - prune**2.2)
    if kd_scale is not None:
        accuracy *= kd_scale
    return SeedResult(name, cycles, macs_total, bytes_total, energy, accuracy, accuracy / energy * 1e7)


def seed_table(leak: bool = True) -> list[SeedResult]:
    """The seed's five configurations run in its order; with `leak`, as its own script does."""
    out, scale = [], 1.0
    for name, precision, prune, kd in SEED_CONFIGURATIONS:
        out.append(seed_model(name, precision, prune, kd, leaked_kd_scale=scale if leak else 1.0))
        if kd is not None:
            scale = kd
    return out
