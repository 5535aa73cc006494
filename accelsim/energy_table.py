"""Default energy figures: the one place they live, with their source.

Source: M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014,
45 nm, in pJ: int8 add 0.03, int8 mult 0.2, int32 add 0.1, int32 mult 3.1, fp16 add 0.4,
fp16 mult 1.1, fp32 add 0.9, fp32 mult 3.7; SRAM 64-bit read 10 (8 KB), 20 (32 KB), 100 (1 MB);
DRAM 1.3-2.6 nJ per 64 bits.

Derived values (not in the paper; the rule is stated so it can be challenged):
- A MAC is one multiply plus one accumulate. Floats accumulate at their own width; integers
  accumulate in a register four times the operand width (INT8 -> int32 add, INT4 -> int16 add).
- INT4 multiply: an array multiplier's energy grows with the square of the operand width, so
  0.2 pJ x (4/8)^2 = 0.05 pJ. int16 add: adders grow linearly, 0.1 pJ x 16/32 = 0.05 pJ.
- BF16 multiply: the mantissa multiplier dominates; BF16 has 8 mantissa bits against FP16's 11,
  so 1.1 pJ x (8/11)^2 = 0.58 pJ. Its add costs as FP16's (same width, same alignment logic).
- SRAM energy per byte interpolates the three published sizes linearly in log2(capacity) and is
  clamped outside 8 KB..1 MB; a 64-bit read is 8 bytes.
- DRAM: the midpoint of 1.3-2.6 nJ per 64 bits, 1.95 nJ / 8 B = 243.75 pJ per byte.
- A vector-unit operation (one add, compare, multiply or step of a transcendental on one element,
  see `accelsim.workload.vector`) passes once through a lane's fused multiply-add datapath at the
  operand precision, so it costs what a MAC at that precision costs: Horowitz's multiply plus add
  (as above). An add or compare alone costs less, so this is an upper bound; keeping one figure
  per precision keeps the energy of a layer a function of its operation count alone.
"""

from __future__ import annotations

import math

from accelsim.precision import Precision

_MULT_PJ = {
    Precision.FP32: 3.7,
    Precision.FP16: 1.1,
    Precision.BF16: 1.1 * (8 / 11) ** 2,
    Precision.INT8: 0.2,
    Precision.INT4: 0.2 * (4 / 8) ** 2,
}
_ACCUMULATE_PJ = {
    Precision.FP32: 0.9,
    Precision.FP16: 0.4,
    Precision.BF16: 0.4,
    Precision.INT8: 0.1,
    Precision.INT4: 0.1 * 16 / 32,
}

#: Energy of one multiply-accumulate at each operand precision, pJ.
MAC_ENERGY_PJ: dict[Precision, float] = {p: _MULT_PJ[p] + _ACCUMULATE_PJ[p] for p in Precision}

#: Energy of one vector-unit operation at each operand precision, pJ (a pass through a lane's
#: multiply-add datapath: the MAC figure; see the module docstring).
VECTOR_OP_ENERGY_PJ: dict[Precision, float] = dict(MAC_ENERGY_PJ)

#: (capacity in bytes, energy of a 64-bit read in pJ) from Horowitz 2014.
_SRAM_POINTS = ((8 * 1024, 10.0), (32 * 1024, 20.0), (1024 * 1024, 100.0))

#: DRAM access energy, pJ per byte (midpoint of 1.3-2.6 nJ per 64 bits).
DRAM_ENERGY_PJ_PER_BYTE = 1950.0 / 8


def sram_energy_pj_per_byte(capacity_bytes: int) -> float:
    """SRAM access energy per byte for a buffer of this capacity (log-linear interpolation)."""
    x = math.log2(max(capacity_bytes, 1))
    points = [(math.log2(c), pj / 8) for c, pj in _SRAM_POINTS]
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]
