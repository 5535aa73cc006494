"""Shared-bank buffer allocation (NVDLA's convolution buffer): one operand held, the other streamed.

NVDLA's convolution buffer (CBUF) is one SRAM of equal banks holding both a layer's weights and
its feature data, allocated to each in whole banks per hardware layer (hwarch, "Convolution
Buffer": the bank count "defines the granularity of CBUF storage allocation between weights and
activations"). NVIDIA's performance estimator (nvdla/hw perf/NVDLA_OpenSource_Performance.xlsx)
charges a layer one of two allocations:

- weights held: the streamed feature data keeps the banks its smallest window needs (one output
  row's input, `slots` deep), the weights get the rest; weights that do not fit are split into
  fills of whole kernel groups (atomic-K kernels), and the feature data is streamed once per
  fill: DRAM bytes = weights + fills x input + output.
- feature data held: the streamed weights keep the banks of one kernel group (`slots` deep), the
  feature data gets the rest in fills of whole output rows, and the weights are streamed once
  per fill: DRAM bytes = fills x weights + input + output.

`plan_banked` builds both as tile plans (the held operand one tile a fill, fetched once and
reused by consecutive steps; the streamed one in tiles through its banks) over their tile sizes
(fills of the held operand, streamed tiles of powers of two rows or kernel groups up to what fits)
and keeps the plan of the fewest estimated cycles (`estimated_cycles`: the larger of padded MAC and
DRAM cycles, plus the pipeline's fill and drain), then DRAM bytes, then steps. A layer where
neither fits (its smallest window and one kernel group exceed the banks), or a grouped layer, is
left to the fixed-split planner.

Simplifications, stated: a step's output tile is a streamed tile times a held fill, written back
when the step ends (NVDLA's accumulator streams it out in stripes as it goes; the output buffer is
not the constraint here); the next fill of the held operand, or the next layer's first tiles, are
prefetched beside the current ones (the estimator too assumes loads overlap), so the trace's
occupancy may exceed the banks between fills; and the full reduction is one tile (no K split).
"""

from __future__ import annotations

from collections.abc import Callable

from accelsim.hardware import Accelerator
from accelsim.precision import storage_bytes
from accelsim.sim.atomic_padding import padded_macs
from accelsim.sim.tiling import TilePlan, _m_tiling
from accelsim.workload.layers import Layer


def _banks(nbytes: int, bank_bytes: int) -> int:
    return -(-nbytes // bank_bytes)


def row_width(layer: Layer) -> int:
    """Output elements of one output row: feature-data tiles are whole rows (1 for a GEMM)."""
    m = layer.gemm_mkn[0]
    width = getattr(layer, "out_width", None)
    if not width:
        return 1
    return min(width, m)


def input_tile_bytes(layer: Layer, tm: int) -> int:
    """Bytes of the largest feature-data tile of `tm` output elements (halo included)."""
    m, k, _ = layer.gemm_mkn
    m0 = _m_tiling(layer, tm)[1]
    return storage_bytes(layer.a_tile_elements(m0, min(m0 + tm, m), 0, k), layer.activation_precision)


def weight_tile_bytes(layer: Layer, tn: int) -> int:
    """Bytes of the weights (and biases) of `tn` kernels, the whole reduction."""
    _, k, _ = layer.gemm_mkn
    return layer.weight_block_bytes(1, k, tn, tn if layer.bias_elements() else 0)


def _largest(count: int, fits: Callable[[int], bool]) -> int:
    """The largest c in [1, count] with fits(c) (fits is monotone, true to false); 0 if none."""
    lo, hi = 0, count
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _fitting(count: int, unit: int, whole: int, fits: Callable[[int], bool]) -> list[int]:
    """Tile sizes in whole units (rows, kernel groups) that fit: powers of two of units up to
    the largest fitting, that largest, or `whole` alone when the whole axis fits."""
    if fits(whole):
        top = whole
    else:
        top = unit * _largest(count, lambda c: fits(c * unit))
    if top == 0:
        return []
    sizes, size = {top}, unit
    while size < top:
        sizes.add(size)
        size *= 2
    return sorted(sizes)


def kernel_tiles(layer: Layer, hw: Accelerator, room: int, slots: int) -> list[int]:
    """Kernel counts (whole atomic-K groups, or all n) whose weights, `slots` deep, fit `room`."""
    n = layer.gemm_mkn[2]
    group = min(hw.mac_array.atomic_k, n)
    return _fitting(n // group, group, n, lambda tn: slots * weight_tile_bytes(layer, tn) <= room)


def row_tiles(layer: Layer, room: int, slots: int) -> list[int]:
    """Output elements (whole output rows) whose input tile, `slots` deep, fits `room`."""
    m = layer.gemm_mkn[0]
    width = row_width(layer)
    return _fitting(m // width, width, m, lambda tm: slots * input_tile_bytes(layer, tm) <= room)


def weights_held(layer: Layer, hw: Accelerator, on_chip: bool) -> list[TilePlan]:
    """Weights in fills of whole kernel groups (as many as fit beside the feature data's
    smallest window), the feature data streamed once per fill in tiles of whole rows (gnmk)."""
    buffers, (_, k, _) = hw.buffers, layer.gemm_mkn
    bank, slots = buffers.bank_bytes, buffers.slots
    stream_banks = _banks(slots * input_tile_bytes(layer, row_width(layer)), bank)
    fills = kernel_tiles(layer, hw, (buffers.shared_banks - stream_banks) * bank, 1)
    if not fills or "gnmk" not in layer.tile_orders:
        return []
    tn = fills[-1]
    free = (buffers.shared_banks - _banks(weight_tile_bytes(layer, tn), bank)) * bank
    acc = buffers.accumulator_bits
    return [TilePlan(layer, 1, tm, k, tn, "gnmk", acc, on_chip) for tm in row_tiles(layer, free, slots)]


def activations_held(layer: Layer, hw: Accelerator, on_chip: bool) -> list[TilePlan]:
    """Feature data in fills of whole output rows (as many as fit beside one kernel group's
    weights), the weights streamed once per fill in tiles of whole kernel groups (gmnk)."""
    buffers, (_, k, n) = hw.buffers, layer.gemm_mkn
    bank, slots = buffers.bank_bytes, buffers.slots
    stream_banks = _banks(slots * weight_tile_bytes(layer, min(hw.mac_array.atomic_k, n)), bank)
    if "gmnk" not in layer.tile_orders:
        return []
    plans = []
    for tm in row_tiles(layer, (buffers.shared_banks - stream_banks) * bank, 1):
        free = (buffers.shared_banks - _banks(input_tile_bytes(layer, tm), bank)) * bank
        acc = buffers.accumulator_bits
        plans += [TilePlan(layer, 1, tm, k, tn, "gmnk", acc, on_chip) for tn in kernel_tiles(layer, hw, free, slots)]
    return plans


def estimated_cycles(plan: TilePlan, hw: Accelerator) -> float:
    """What the planner ranks a banked plan by: the layer's padded MAC cycles or its DRAM
    cycles, whichever is larger (the two overlap while tiles stream), plus the pipeline's fill
    and drain, which nothing overlaps: the first step's tiles arriving, the last output tile
    leaving."""
    layer = plan.layer
    m, k, n = layer.gemm_mkn
    array = hw.mac_array
    per_cycle = array.macs_per_cycle(layer.activation_precision)
    whole, rest = divmod(n, plan.tn)
    slots = whole * padded_macs(layer, (1, m, k, plan.tn), (0, 0, 0, 0), array.atomic_c, array.atomic_k)
    slots += padded_macs(layer, (1, m, k, rest), (0, 0, 0, 0), array.atomic_c, array.atomic_k) if rest else 0
    bytes_per_cycle = float(hw.dram_bytes_per_cycle)
    first = input_tile_bytes(layer, plan.tm) + weight_tile_bytes(layer, plan.tn)
    last = layer.output_block_bytes(1, min(plan.tm, m), 0, min(plan.tn, n))
    return max(slots / per_cycle, allocation_bytes(plan) / bytes_per_cycle) + (first + last) / bytes_per_cycle


def allocation_bytes(plan: TilePlan) -> int:
    """DRAM bytes of a banked plan in closed form: the held operand once, the streamed one once
    per fill of the held one, the output once, a fused epilogue's input once."""
    layer = plan.layer
    _, nm, _, nn = plan.counts
    weights, output = layer.weight_bytes, layer.output_bytes + layer.epilogue_read_bytes
    feature = 0 if plan.input_on_chip else _m_tiling(layer, plan.tm)[0] * layer.activation_precision.bits // 8
    if plan.order == "gnmk":  # weights held in nn fills
        return weights + feature * (nn if nm > 1 else 1) + output
    return weights * (nm if nn > 1 else 1) + feature + output


def plan_banked(layer: Layer, hw: Accelerator, on_chip: bool) -> TilePlan | None:
    """NVDLA's allocation for `layer` (module docstring): of both allocations and their tile
    sizes, the plan of the fewest estimated cycles, then DRAM bytes, then steps; None where
    neither applies (a grouped layer, or one whose smallest tiles exceed the banks)."""
    if layer.groups > 1 or layer.unit != "mac":
        return None
    plans = weights_held(layer, hw, on_chip) + activations_held(layer, hw, on_chip)
    return min(plans, key=lambda p: (estimated_cycles(p, hw), allocation_bytes(p), p.step_count), default=None)
