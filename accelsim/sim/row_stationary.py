"""The row-stationary dataflow (Eyeriss; Chen et al., ISCA 2016 and JSSC 2017): mapping and passes.

A PE runs a 1-D row convolution from its scratchpads: one filter row (S weights) slides over one
input row and accumulates one row of F partial sums. A *PE set* of R x e PEs (filter rows x
output rows) computes e output rows of a 2-D convolution: filter row i stays in PE row i
(horizontal reuse), input rows move diagonally, and partial sums move up each column to the top
row. A set wider than the array is folded into strips stacked in rows (AlexNet CONV2's 5 x 27
set as 10 x 14); smaller sets are replicated side by side and on top of each other (CONV3-5's
3 x 13 set four times). A PE keeps p filters and q channels: its filter scratchpad holds p q S
weights, its input scratchpad q S values and its psum scratchpad p sums; of the replicated sets,
r take different channels and t different filters. A *processing pass* thus covers n images,
p t filters, q r channels and e output rows; it takes n x p x q x S x F cycles (each PE's MACs)
plus R - 1 to move the last sums up the set.

The global buffer (GLB: the activation and output buffers together, which Eyeriss allocates per
layer) holds the partial sums of m filters (a multiple of p t) for the n images and e rows while
the channel loop accumulates them, and either that block's whole input (all channels, `held`:
read from DRAM once per image-and-row block) or the q r channels of the current pass
(`streamed`: read again for every block of m filters). Weights go from DRAM straight into the
filter scratchpads, once per pass, so each weight is read once per image-and-row block. Loop
order, outer to inner: images (n), output rows (e), filters (m), channels (q r), filters (p t).

The mapper searches every (e, r, t, p, q, n, m, input mode) the scratchpads, the array and the
GLB admit (with `buffers.slots` copies of whatever is fetched ahead; splits of the replicated sets
that leave at most half of them idle) and keeps the smallest energy-delay product: MAC and DRAM
energy from the hardware's own table (feature maps at their coded size when
`dram.activation_compression` codes them) times the larger of array and DRAM cycles; then fewer
bytes, cycles and passes. Bytes alone would pick sets that leave most PEs idle, cycles alone
would re-read weights for a PE or two more. Nothing of the published mappings is an input.
A GEMM layer is a 1 x 1 convolution: K channels, N filters, M output rows of width 1.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

from accelsim.hardware import Accelerator, ConfigError
from accelsim.precision import Precision, storage_bytes
from accelsim.sim import rlc
from accelsim.sim.tiling import Step, TilePlan
from accelsim.workload.layers import Conv2d, Layer


@dataclass(frozen=True)
class ConvShape:
    """One group of a layer as a convolution: N images, C channels, M filters of R x S, E x F
    outputs from an H x W input at stride U with padding P."""

    n: int
    c: int
    m: int
    r: int
    s: int
    e: int
    f: int
    h: int
    w: int
    u: int
    pad: int
    groups: int


def conv_shape(layer: Layer) -> ConvShape:
    if isinstance(layer, Conv2d):
        g = layer.groups
        return ConvShape(
            n=getattr(layer, "batch", 1),
            c=layer.in_channels // g,
            m=layer.out_channels // g,
            r=layer.kernel[0],
            s=layer.kernel[1],
            e=layer.out_height,
            f=layer.out_width,
            h=layer.in_height,
            w=layer.in_width,
            u=layer.stride,
            pad=layer.padding,
            groups=g,
        )
    m, k, n = layer.gemm_mkn
    return ConvShape(n=1, c=k, m=n, r=1, s=1, e=m, f=1, h=m, w=1, u=1, pad=0, groups=layer.groups)


def input_span(e0: int, e1: int, kernel: int, stride: int, pad: int, size: int) -> int:
    """Input positions (padding excluded) that outputs [e0, e1) read along one axis."""
    read = set()
    for o in range(e0, e1):
        lo = o * stride - pad
        read.update(range(max(lo, 0), min(lo + kernel, size)))
    return len(read)


@dataclass(frozen=True)
class Mapping:
    """Pass parameters (the paper's names): e output rows per set, r channel sets, t filter sets,
    p filters and q channels per PE, n images, m filters whose psums the GLB holds; `held`:
    the GLB holds a row block's whole input (else it streams q r channels per pass)."""

    e: int
    r: int
    t: int
    p: int
    q: int
    n: int
    m: int
    held: bool
    rows_per_set: int  # filter rows in a set (R, or the array's rows when R is larger)
    active_pes: int  # PEs working in a full pass

    def describe(self) -> str:
        mode = "held" if self.held else "streamed"
        return (
            f"rs e={self.e} p={self.p} q={self.q} r={self.r} t={self.t} n={self.n} m={self.m} "
            f"ifmap={mode} pes={self.active_pes}"
        )


def _blocks(size: int, block: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + block, size)) for lo in range(0, size, block)]


def _sets(hw: Accelerator, rows_per_set: int, e: int) -> int:
    """Sets of rows_per_set x e PEs the array holds: a set wider than the array is folded into
    strips stacked in rows."""
    rows, cols = hw.mac_array.rows, hw.mac_array.cols
    strips = -(-e // cols)
    height, width = rows_per_set * strips, min(e, cols)
    return (rows // height) * (cols // width) if height <= rows else 0


def _e_candidates(size: int) -> list[int]:
    """Output rows per set: every size giving a distinct number of row blocks, largest first."""
    return sorted({-(-size // k) for k in range(1, size + 1)}, reverse=True)


@dataclass(frozen=True)
class _Sizes:
    """Byte sizes the mapper compares, at the DRAM's coding."""

    act: Precision
    psum_bytes: int  # per partial sum in the GLB
    zero_in: float
    coded: bool

    @functools.lru_cache(maxsize=65536)  # noqa: B019 (a few mappers' worth of sizes)
    def ifmap(self, elements: int) -> tuple[int, int]:
        """(GLB bytes, DRAM bytes) of an input tile."""
        dense = storage_bytes(elements, self.act)
        return dense, rlc.coded_size(dense, self.zero_in, self.act) if self.coded else dense


@functools.lru_cache(maxsize=4096)
def _row_blocks(cs: ConvShape, e: int) -> list[tuple[int, int, int]]:
    """(first, end, input rows read) of each block of e output rows."""
    return [(e0, e1, input_span(e0, e1, cs.r, cs.u, cs.pad, cs.h)) for e0, e1 in _blocks(cs.e, e)]


def _split(size: int, block: int) -> tuple[tuple[int, int], ...]:
    """(block length, how many) of `size` cut into blocks of `block`: the full ones, the rest."""
    full, rest = divmod(size, block)
    return tuple(x for x in ((block, full), (rest, 1)) if x[0] and x[1])


def _dram_bytes(layer: Layer, cs: ConvShape, mp: Mapping, sizes: _Sizes, in_width: int, on_chip: bool) -> int:
    """DRAM bytes of a mapping (closed form of what `RowStationaryPlan.steps` fetches)."""
    n_blocks = -(-cs.n // mp.n)
    e_blocks = _row_blocks(cs, mp.e)
    weights = layer.weight_bytes * n_blocks * len(e_blocks)
    ins = 0
    chans = ((cs.c, 1),) if mp.held else _split(cs.c, mp.q * mp.r)
    reads = 1 if mp.held else -(-cs.m // mp.m)
    for images, n_count in _split(cs.n, mp.n):
        for _, _, rows in e_blocks:
            for c, c_count in chans:
                ins += sizes.ifmap(images * c * rows * in_width)[1] * n_count * c_count * reads
    return weights + (0 if on_chip else ins * cs.groups) + layer.output_bytes


@functools.lru_cache(maxsize=65536)
def _filter_work(cs: ConvShape, m: int, p: int, t: int) -> tuple[int, int]:
    """(filters the busiest PE of each pass takes, summed over a group's passes; filter
    blocks per group) for psum blocks of m filters cut into passes of p t."""
    blocks = [fb for b0, b1 in _blocks(cs.m, m) for fb in _blocks(b1 - b0, p * t)]
    return sum(-(-(f1 - f0) // t) for f0, f1 in blocks), len(blocks)


@functools.lru_cache(maxsize=65536)
def _channel_work(cs: ConvShape, q: int, r: int) -> tuple[int, int]:
    blocks = _blocks(cs.c, q * r)
    return sum(-(-(c1 - c0) // r) for c0, c1 in blocks), len(blocks)


def _cycles(cs: ConvShape, mp: Mapping) -> int:
    """Array cycles of a mapping: every pass's PE work plus its psum drain up the set."""
    filters, filter_blocks = _filter_work(cs, mp.m, mp.p, mp.t)
    chans, chan_blocks = _channel_work(cs, mp.q, mp.r)
    chunks = _blocks(cs.r, mp.rows_per_set)
    e_blocks, n_blocks = -(-cs.e // mp.e), -(-cs.n // mp.n)
    work = cs.n * e_blocks * filters * chans * len(chunks) * cs.s * cs.f
    drain = n_blocks * e_blocks * filter_blocks * chan_blocks * sum(r1 - r0 - 1 for r0, r1 in chunks)
    return cs.groups * (work + drain)


def _mappings(
    layer: Layer, hw: Accelerator, cs: ConvShape, sizes: _Sizes, in_width: int, on_chip: bool
) -> Iterator[Mapping]:
    """Every mapping the scratchpads, the array and the GLB admit, with the largest psum block
    (m) that fits for each of the others."""
    array, slots = hw.mac_array, hw.buffers.slots
    glb = hw.buffers.activation_bytes + hw.buffers.output_bytes
    rows_per_set = min(cs.r, array.rows)
    bias = layer.bias_elements() > 0
    for e in _e_candidates(cs.e):
        sets = _sets(hw, rows_per_set, e)
        if sets == 0:
            continue
        in_rows = max(rows for _, _, rows in _row_blocks(cs, e))
        # Splits of the sets into r channel sets x t filter sets, leaving at most half of them idle
        # (or as many as the layer's channels and filters can use).
        usable = min(sets, cs.c * cs.m)
        splits = [(ri, ti) for ri in range(1, min(sets, cs.c) + 1) for ti in range(1, min(sets // ri, cs.m) + 1)]
        for r, t in [(ri, ti) for ri, ti in splits if 2 * ri * ti >= usable]:
            active = rows_per_set * e * r * t
            for q in range(1, min(-(-cs.c // r), array.pe_ifmap_spad_entries // cs.s) + 1):
                for p in range(1, min(-(-cs.m // t), array.pe_psum_spad_entries) + 1):
                    pass_w = layer.weight_block_bytes(1, q * r * rows_per_set * cs.s, p * t, p * t if bias else 0)
                    if slots * p * q * cs.s > array.pe_filter_spad_entries or slots * pass_w > hw.buffers.weight_bytes:
                        break
                    for n in range(1, cs.n + 1):
                        for held in (True, False):
                            channels = cs.c if held else min(cs.c, q * r)
                            tile = 0 if on_chip else sizes.ifmap(n * channels * in_rows * in_width)[0]
                            most = (glb // slots - tile) // (n * e * cs.f * sizes.psum_bytes)
                            if most < 1:
                                continue
                            m = min(cs.m, most if most < p * t else most // (p * t) * (p * t))
                            yield Mapping(e, r, t, p, q, n, m, held, rows_per_set, active)


@functools.lru_cache(maxsize=1024)
def map_layer(layer: Layer, hw: Accelerator, input_on_chip: bool = False) -> Mapping:
    """The mapping of `layer` on `hw` (module docstring); ConfigError if none fits."""
    cs = conv_shape(layer)
    codes = rlc.codes_activations(hw)
    sizes = _Sizes(layer.activation_precision, hw.buffers.accumulator_bits // 8, layer.input_zero_share, codes)
    in_width = input_span(0, cs.f, cs.s, cs.u, cs.pad, cs.w)
    mac_pj = layer.macs * hw.mac_array.energy_per_mac_pj[layer.mac_precision]
    bytes_per_cycle = float(hw.dram_bytes_per_cycle)
    dram: dict[tuple, int] = {}  # DRAM bytes depend on (n, e, m, held, q r) only
    best: tuple[tuple, Mapping] | None = None
    for mp in _mappings(layer, hw, cs, sizes, in_width, input_on_chip):
        key = (mp.n, mp.e, mp.m, mp.held, mp.q * mp.r)
        if key not in dram:
            dram[key] = _dram_bytes(layer, cs, mp, sizes, in_width, input_on_chip)
        nbytes = dram[key]
        cycles = _cycles(cs, mp)
        delay = max(cycles, nbytes / bytes_per_cycle)
        edp = (mac_pj + nbytes * hw.dram.energy_pj_per_byte) * delay
        cost = (edp, nbytes, cycles, -mp.p * mp.q, mp.n, not mp.held)
        if best is None or cost < best[0]:
            best = (cost, mp)
    if best is None:
        raise ConfigError(f"layer {layer.name}: no row-stationary mapping fits the scratchpads, array and GLB")
    return best[1]


@dataclass(frozen=True, slots=True)
class RsStep(Step):
    """A processing pass: `pe_cycles` cycles of its busiest PE, `active_pes` PEs working, then
    `drain_cycles` while the last sums move up the set."""

    pe_cycles: int = 0
    active_pes: int = 0
    drain_cycles: int = 0


@dataclass(frozen=True)
class RowStationaryPlan(TilePlan):
    """A layer's row-stationary passes (TilePlan's tile sizes describe one pass)."""

    mapping: Mapping | None = None

    @property
    def counts(self) -> tuple[int, int, int, int]:
        return (1, 1, 1, self.step_count)

    @property
    def step_count(self) -> int:
        return sum(1 for _ in self._passes())

    def describe(self) -> str:
        on_chip = " input-on-chip" if self.input_on_chip else ""
        return f"{self.mapping.describe()} passes={self.step_count}{on_chip}"  # type: ignore[union-attr]

    def _passes(self) -> Iterator[tuple]:
        """(group, images, rows, filter block, channels, filter-row chunk, filters) of every
        pass, in execution order (module docstring)."""
        mp = self.mapping
        assert mp is not None
        cs = conv_shape(self.layer)
        for g in range(cs.groups):
            for nb in _blocks(cs.n, mp.n):
                for eb in _blocks(cs.e, mp.e):
                    for mb in _blocks(cs.m, mp.m):
                        for cb in _blocks(cs.c, mp.q * mp.r):
                            for rb in _blocks(cs.r, mp.rows_per_set):
                                for fb in _blocks(mb[1] - mb[0], mp.p * mp.t):
                                    yield g, nb, eb, mb, cb, rb, (mb[0] + fb[0], mb[0] + fb[1])

    def steps(self) -> Iterator[Step]:
        layer, mp = self.layer, self.mapping
        assert mp is not None
        cs = conv_shape(layer)
        act, acc_bytes = layer.activation_precision, self.accumulator_bits // 8
        in_width = input_span(0, cs.f, cs.s, cs.u, cs.pad, cs.w)
        bias = layer.bias_elements()
        passes = list(self._passes())
        extent = (cs.groups, cs.n * cs.e * cs.f, cs.c * cs.r * cs.s, cs.m)
        for i, (g, nb, eb, mb, cb, rb, fb) in enumerate(passes):
            nxt = passes[i + 1] if i + 1 < len(passes) else None
            prev = passes[i - 1] if i else None
            images, rows_out = nb[1] - nb[0], eb[1] - eb[0]
            chans, filters, frows = cb[1] - cb[0], fb[1] - fb[0], rb[1] - rb[0]
            in_rows = input_span(eb[0], eb[1], cs.r, cs.u, cs.pad, cs.h)
            # The input tile: a row block's whole input (held) or this pass's channels (streamed).
            a_key = (g, nb, eb) if mp.held else (g, nb, eb, mb, cb)
            a_elems = images * (cs.c if mp.held else chans) * in_rows * in_width
            a_bytes = 0 if self.input_on_chip else storage_bytes(a_elems, act)

            def key(p: tuple | None) -> tuple | None:
                return None if p is None else ((p[0], p[1], p[2]) if mp.held else p[:5])

            out_key = (g, nb, eb, mb)
            first_out = prev is None or (prev[0], prev[1], prev[2], prev[3]) != out_key
            last_out = nxt is None or (nxt[0], nxt[1], nxt[2], nxt[3]) != out_key
            pixels = images * rows_out * cs.f
            bias_cols = filters if bias and cb[0] == 0 and rb[0] == 0 else 0
            w_bytes = layer.weight_block_bytes(1, chans * frows * cs.s, filters, bias_cols)
            per_pe_filters = -(-filters // mp.t)
            per_pe_chans = -(-chans // mp.r)
            sets = -(-filters // per_pe_filters) * -(-chans // per_pe_chans)
            yield RsStep(
                index=i,
                macs=images * filters * chans * rows_out * cs.f * frows * cs.s,
                w_bytes=w_bytes,
                a_bytes=a_bytes if key(prev) != a_key else 0,
                w_resident_bytes=w_bytes,
                a_resident_bytes=a_bytes,
                w_release=w_bytes > 0,
                a_release=a_bytes > 0 and key(nxt) != a_key,
                out_first=first_out,
                out_last=last_out,
                out_bytes=layer.output_block_bytes(1, pixels, mb[0], mb[1]) if last_out else 0,
                acc_bytes=pixels * (mb[1] - mb[0]) * acc_bytes,
                shape=(1, pixels, chans * frows * cs.s, filters),
                origin=(g, 0, cb[0] * cs.r * cs.s, fb[0]),
                extent=extent,
                pe_cycles=images * per_pe_filters * per_pe_chans * cs.s * cs.f,
                active_pes=frows * rows_out * sets,
                drain_cycles=frows - 1,
            )


def plan_row_stationary(layer: Layer, hw: Accelerator, input_on_chip: bool = False) -> RowStationaryPlan:
    """The row-stationary plan of a MAC layer on `hw` (`mac_array.dataflow = "rs"`)."""
    if layer.epilogue or layer.epilogue_ops:
        raise ConfigError(f"layer {layer.name}: the row-stationary dataflow does not run fused epilogues")
    mp = map_layer(layer, hw, input_on_chip)
    cs = conv_shape(layer)
    return RowStationaryPlan(
        layer=layer,
        tg=1,
        tm=mp.n * mp.e * cs.f,
        tk=mp.q * mp.r * mp.rows_per_set * cs.s,
        tn=mp.p * mp.t,
        order="rs",
        accumulator_bits=hw.buffers.accumulator_bits,
        input_on_chip=input_on_chip,
        mapping=mp,
    )


__all__ = [
    "ConvShape",
    "Mapping",
    "RowStationaryPlan",
    "RsStep",
    "conv_shape",
    "input_span",
    "map_layer",
    "plan_row_stationary",
]
