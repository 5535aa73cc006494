"""Atomic operations: MAC slots a tile occupies on an array that multiplies whole channel blocks.

NVDLA's convolution core works in atomic operations: each cycle its MAC cells multiply one
1 x 1 x atomic-C block of input channels by atomic-K kernels (hwarch, "Convolution Core";
nvdla/hw spec/defs: MAC_ATOMIC_C_SIZE x MAC_ATOMIC_K_SIZE = the number of multipliers). A tile
whose channels are not whole blocks still takes whole atomic operations: its input channels
are padded to a multiple of atomic-C and its output channels (kernels) to one of atomic-K. The
stride is folded into the channels first (NVIDIA's estimator, nvdla/hw
perf/NVDLA_OpenSource_Performance.xlsx, pads input channels x stride^2; the hardware's channel
extension for image input does the same), so a 3-channel stride-2 first layer fills 12 of a
block's channels, not 3.

The padding costs cycles, never MACs: the array performs the tile's MACs exactly and spends
the padded slots with idle lanes (`accelsim.sim.mac_array`).
"""

from __future__ import annotations

from accelsim.workload.layers import Layer


def _round_up(value: int, granule: int) -> int:
    return -(-value // granule) * granule


def padded_macs(
    layer: Layer, shape: tuple[int, int, int, int], origin: tuple[int, int, int, int], atomic_c: int, atomic_k: int
) -> int:
    """MAC slots a tile step of `layer` occupies: (groups, m, k, n) = `shape` with its reduction
    padded to whole atomic-C blocks of input channels x stride^2 and its n output channels to
    whole atomic-K kernel groups. A convolution's reduction is channel-major (k = channel x
    taps), so a tile of k reduction elements spans ceil(k / taps) channels."""
    groups, m, k, n = shape
    taps = layer.k_granule if hasattr(layer, "kernel") else 1
    stride = getattr(layer, "stride", 1) if hasattr(layer, "kernel") else 1
    first = origin[2] // taps
    channels = -(-(origin[2] + k) // taps) - first
    folded = channels * stride * stride
    # k x (padded folded channels / folded channels), rounded up to whole MAC slots.
    k_padded = -(-k * _round_up(folded, atomic_c) // folded)
    return groups * m * k_padded * _round_up(n, atomic_k)


def spread(macs: int, cycles: int) -> tuple[tuple[int, int], ...]:
    """`macs` MACs over `cycles` cycles as evenly as whole MACs allow: (cycles, MACs per cycle)
    runs, the larger first, summing to `macs` exactly."""
    per, extra = divmod(macs, cycles)
    runs = ((extra, per + 1), (cycles - extra, per))
    return tuple(run for run in runs if run[0])
