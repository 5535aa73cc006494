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

`plan_banked` builds both as tile plans (the held operand one tile a fill, fetched once; the
streamed one in tiles through its banks) and keeps the one moving fewer DRAM bytes, then fewer
steps. A layer neither fits (its smallest window and one kernel group exceed the banks), or a
grouped layer, is left to the fixed-split planner.

Simplifications, stated: a held fill is one tile step, so the output tile of a step is a whole
fill times the streamed tile, written back when the step ends (NVDLA's accumulator streams it out
in stripes as it goes; the output buffer is not the constraint here); and the next fill of the
held operand is prefetched beside the current one, as the estimator assumes the load overlaps.
"""

from __future__ import annotations

from collections.abc import Callable

from accelsim.hardware import Accelerator
from accelsim.precision import storage_bytes
from accelsim.sim.tiling import TilePlan, _m_tiling
from accelsim.workload.layers import Layer


def _banks(nbytes: int, bank_bytes: int) -> int:
    return -(-nbytes // bank_bytes)


def row_width(layer: Layer) -> int:
    """Output elements of one output row: feature-data tiles are whole rows (1 for a GEMM)."""
    m = layer.gemm_mkn[0]
    width = getattr(layer, "out_width", None)
    return width if width and width < m else 1 if not width else m


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


def _kernels(layer: Layer, hw: Accelerator, room: int, slots: int) -> int:
    """The most kernels (whole atomic-K groups, or all n) whose weights, `slots` deep, fit `room`."""
    n = layer.gemm_mkn[2]
    group = min(hw.mac_array.atomic_k, n)
    if slots * weight_tile_bytes(layer, n) <= room:
        return n
    return group * _largest(n // group, lambda g: slots * weight_tile_bytes(layer, g * group) <= room)


def _rows(layer: Layer, room: int, slots: int) -> int:
    """The most output elements (whole output rows) whose input tile, `slots` deep, fits `room`."""
    m = layer.gemm_mkn[0]
    width = row_width(layer)
    if slots * input_tile_bytes(layer, m) <= room:
        return m
    return width * _largest(m // width, lambda r: slots * input_tile_bytes(layer, r * width) <= room)


def weights_held(layer: Layer, hw: Accelerator, on_chip: bool) -> TilePlan | None:
    """Weights in fills of whole kernel groups, feature data streamed once per fill (gnmk)."""
    buffers, (m, k, _) = hw.buffers, layer.gemm_mkn
    bank, slots = buffers.bank_bytes, buffers.slots
    stream_banks = _banks(slots * input_tile_bytes(layer, row_width(layer)), bank)
    tn = _kernels(layer, hw, (buffers.shared_banks - stream_banks) * bank, 1)
    if tn == 0 or "gnmk" not in layer.tile_orders:
        return None
    free = (buffers.shared_banks - _banks(weight_tile_bytes(layer, tn), bank)) * bank
    tm = _rows(layer, free, slots)
    return TilePlan(layer, 1, tm, k, tn, "gnmk", buffers.accumulator_bits, on_chip) if tm else None


def activations_held(layer: Layer, hw: Accelerator, on_chip: bool) -> TilePlan | None:
    """Feature data in fills of whole output rows, weights streamed once per fill (gmnk)."""
    buffers, (_, k, n) = hw.buffers, layer.gemm_mkn
    bank, slots = buffers.bank_bytes, buffers.slots
    group = min(hw.mac_array.atomic_k, n)
    stream_banks = _banks(slots * weight_tile_bytes(layer, group), bank)
    tm = _rows(layer, (buffers.shared_banks - stream_banks) * bank, 1)
    if tm == 0 or "gmnk" not in layer.tile_orders:
        return None
    free = (buffers.shared_banks - _banks(input_tile_bytes(layer, tm), bank)) * bank
    tn = _kernels(layer, hw, free, slots)
    return TilePlan(layer, 1, tm, k, tn, "gmnk", buffers.accumulator_bits, on_chip) if tn else None


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
    """The cheaper of NVDLA's two allocations for `layer` (module docstring), or None where
    neither applies (a grouped layer, or one whose smallest tiles exceed the banks)."""
    if layer.groups > 1 or layer.unit != "mac":
        return None
    plans = [p for p in (weights_held(layer, hw, on_chip), activations_held(layer, hw, on_chip)) if p is not None]
    return min(plans, key=lambda p: (allocation_bytes(p), p.step_count), default=None)
