"""Tiling plans: how a layer's GEMM is cut into tiles that fit the on-chip buffers.

A plan fixes tile sizes (Tg groups, Tm, Tk, Tn) and a loop order, outer to inner: `gmnk`
(outputs row-block by row-block) or `gnmk` (column-block by column-block). The reduction loop
`k` is innermost, so an output tile accumulates in the output buffer until it is complete and is
written back once. A tile already on chip is reused when consecutive steps need the same one.
Every buffer holds `slots` tiles (the one in use plus those prefetched), so a tile may use at
most 1/slots of its buffer.

The planner picks the plan with the fewest DRAM bytes, then the fewest steps. Its estimate is
exact up to per-tile byte rounding; the plan's exact bytes come from its own step list.

On a systolic array with `mac_array.schedule = "scalesim-folds"` the compute schedule is
SCALE-Sim's, whatever the buffers: the layer's GEMM runs as ceil(rows / R) x ceil(columns / C)
folds, each streaming its whole streamed axis once and paying its stationary load, fill and
drain once. The buffers (SCALE-Sim's SRAMs are stream buffers) only cut a fold's stream into
tiles, which sets the DRAM traffic: tiles along the rows and columns the array holds are whole
folds (multiples of R and C, or the whole axis), and a tile that continues a fold's stream
takes only its streamed cycles (`Step.stream`). Such plans all take the same array cycles, so
the planner ranks them by bytes, then steps.

Sparse weights are fetched in their storage format, tile by tile; on an array that skips zero
weights (`skips_zero_weights`) a step performs only the MACs of its tile's nonzero weights.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from accelsim.hardware import Accelerator, ConfigError
from accelsim.precision import storage_bytes
from accelsim.sim.atomic_padding import padded_macs
from accelsim.workload.layers import Layer

ORDERS = ("gmnk", "gnmk")
Axis = TypeVar("Axis")
_Frozen = TypeVar("_Frozen")
_M_CONTENDERS = 4


@dataclass(frozen=True, slots=True)
class Step:
    """One tile step: the array multiplies one A tile by one B tile into one output tile."""

    index: int
    macs: int
    w_bytes: int  # bytes to fetch for the B tile, 0 when the previous tile is reused
    a_bytes: int  # bytes to fetch for the A tile, 0 when reused
    w_resident_bytes: int  # size of the B tile in the buffer (fetched or reused)
    a_resident_bytes: int
    w_release: bool  # the B tile is not needed after this step
    a_release: bool
    out_first: bool  # first reduction step of its output tile
    out_last: bool  # last reduction step: the tile is written back
    out_bytes: int  # bytes written back when out_last
    acc_bytes: int  # partial-sum bytes the output tile occupies while accumulating
    shape: tuple[int, int, int, int] = (1, 1, 1, 1)  # (groups, m, k, n) of this step's product
    origin: tuple[int, int, int, int] = (0, 0, 0, 0)  # (group, m, k, n) where this step's product starts
    extent: tuple[int, int, int, int] = (1, 1, 1, 1)  # (groups, m, k, n) of the whole layer
    vector_ops: int = 0  # operations of the vector unit (a vector layer's step; a fused epilogue's)
    e_bytes: int = 0  # bytes a fused epilogue reads into this output tile (a residual), at its first step
    b_on_chip_bytes: int = 0  # bytes of the B tile read from the KV cache held on chip (never fetched)
    padded_macs: int = 0  # MAC slots the step occupies on an array of atomic operations; 0: macs


@dataclass(frozen=True)
class TilePlan:
    """Tile sizes and loop order for one layer on one accelerator."""

    layer: Layer
    tg: int
    tm: int
    tk: int
    tn: int
    order: str
    accumulator_bits: int
    #: The whole input tensor is already in the activation buffer: A tiles are read from it.
    input_on_chip: bool = False
    #: The array skips zero weights: a step's MACs are those of its nonzero weights.
    skip_zeros: bool = False
    #: The array's atomic operation (mac_array.atomic_c, atomic_k): steps carry padded MAC slots.
    atomic_c: int = 1
    atomic_k: int = 1

    @property
    def counts(self) -> tuple[int, int, int, int]:
        m, k, n = self.layer.gemm_mkn
        return (
            -(-self.layer.groups // self.tg),
            -(-m // self.tm),
            -(-k // self.tk),
            -(-n // self.tn),
        )

    @property
    def step_count(self) -> int:
        ng, nm, nk, nn = self.counts
        return ng * nm * nk * nn

    def describe(self) -> str:
        ng, nm, nk, nn = self.counts
        g = f"Tg={self.tg} " if self.layer.groups > 1 else ""
        on_chip = " input-on-chip" if self.input_on_chip else ""
        skip = " skip-zeros" if self.skip_zeros else ""
        return f"{g}Tm={self.tm} Tk={self.tk} Tn={self.tn} order={self.order} tiles={ng}x{nm}x{nk}x{nn}{on_chip}{skip}"

    def _ranges(self, size: int, tile: int) -> list[tuple[int, int]]:
        return [(lo, min(lo + tile, size)) for lo in range(0, size, tile)]

    def steps(self) -> Iterator[Step]:
        """The plan's tile steps in execution order, with reuse and release decided."""
        layer = self.layer
        m, k, n = layer.gemm_mkn
        groups = self._ranges(layer.groups, self.tg)
        ms, ks, ns = self._ranges(m, self.tm), self._ranges(k, self.tk), self._ranges(n, self.tn)
        bias = layer.bias_elements()
        a_prec = layer.activation_precision
        sparsity = layer.b_sparsity
        acc_bytes_per = self.accumulator_bits // 8
        epilogue = bool(layer.epilogue) or layer.epilogue_ops > 0
        atomic = self.atomic_c * self.atomic_k > 1
        outer = [(g, mi, ni) for g in groups for mi in ms for ni in ns]
        if self.order == "gnmk":
            outer = [(g, mi, ni) for g in groups for ni in ns for mi in ms]
        raw = []
        for g, (m0, m1), (n0, n1) in outer:
            tg = g[1] - g[0]
            for ki, (k0, k1) in enumerate(ks):
                bias_cols = (n1 - n0) if bias and k0 == 0 else 0
                a_elems = tg * layer.a_tile_elements(m0, m1, k0, k1)
                weights = sparsity.nonzeros(k1 - k0, n1 - n0) if self.skip_zeros else (k1 - k0) * (n1 - n0)
                raw.append(
                    (
                        (g, k0, n0),
                        (g, m0, k0),
                        tg * (m1 - m0) * weights,
                        layer.weight_block_bytes(tg, k1 - k0, n1 - n0, bias_cols),
                        storage_bytes(a_elems, a_prec),
                        ki == 0,
                        ki == len(ks) - 1,
                        layer.output_block_bytes(tg, m1 - m0, n0, n1),
                        tg * (m1 - m0) * (n1 - n0) * acc_bytes_per,
                        (tg, m1 - m0, k1 - k0, n1 - n0),
                        (g[0], m0, k0, n0),
                    )
                )
        extent = (layer.groups, m, k, n)
        resident = bool(layer.b_on_chip_bytes)
        for i, (w_key, a_key, macs, wb, ab, first, last, ob, accb, shape, origin) in enumerate(raw):
            w_new = i == 0 or raw[i - 1][0] != w_key
            a_new = (i == 0 or raw[i - 1][1] != a_key) and not self.input_on_chip
            nxt = raw[i + 1] if i + 1 < len(raw) else None
            # A B tile of a KV cache held on chip: only its keys beyond the resident ones are
            # fetched into the weight buffer; the rest is read where it is held.
            on_chip = _b_on_chip(layer, shape, origin) if resident else 0
            wb -= on_chip
            yield Step(
                index=i,
                macs=macs,
                w_bytes=wb if w_new else 0,
                a_bytes=ab if a_new else 0,
                w_resident_bytes=wb,
                a_resident_bytes=ab,
                # A tile of no bytes (a window wholly in padding) is never fetched: no slot to free.
                w_release=(nxt is None or nxt[0] != w_key) and wb > 0,
                a_release=(nxt is None or nxt[1] != a_key) and not self.input_on_chip and ab > 0,
                out_first=first,
                out_last=last,
                out_bytes=ob,
                acc_bytes=accb,
                shape=shape,
                origin=origin,
                extent=extent,
                **(_epilogue(layer, shape, origin, first, last) if epilogue else {}),
                **({"b_on_chip_bytes": on_chip} if on_chip else {}),
                **({"padded_macs": padded_macs(layer, shape, origin, self.atomic_c, self.atomic_k)} if atomic else {}),
            )


def _b_on_chip(layer: Layer, shape: tuple[int, int, int, int], origin: tuple[int, int, int, int]) -> int:
    """Bytes of a step's B tile held on chip (`Layer.b_on_chip_block_bytes`)."""
    tg, _, tk, tn = shape
    _, _, k0, n0 = origin
    return layer.b_on_chip_block_bytes(tg, k0, k0 + tk, n0, n0 + tn)


def _epilogue(
    layer: Layer, shape: tuple[int, int, int, int], origin: tuple[int, int, int, int], first: bool, last: bool
) -> dict[str, int]:
    """An output tile's epilogue: the input it reads, fetched from its first reduction step on,
    and the vector unit's operations on the finished tile, at its last."""
    tg, rows, _, cols = shape
    n0 = origin[3]
    out = {"e_bytes": layer.epilogue_tile_read_bytes(tg, rows, n0, n0 + cols)} if first else {}
    if last:
        out["vector_ops"] = layer.epilogue_tile_ops(tg, rows, n0, n0 + cols)
    return out


def _candidates(size: int, granule: int = 1) -> list[int]:
    """Tile sizes to try along one axis: powers of two and even splits into 2..8 tiles (all in
    multiples of the granule), and the whole axis."""
    out = {size}
    t = granule
    while t < size:
        out.add(t)
        t *= 2
    for parts in range(2, 9):
        even = -(-size // parts)
        out.add(min(size, -(-even // granule) * granule))
    return sorted(out)


def _fold_candidates(size: int, fold: int) -> list[int]:
    """Tile sizes along an axis the array holds, under SCALE-Sim's schedule: whole folds of
    `fold` (the array's rows or columns), or the whole axis."""
    return sorted({min(size, fold * c) for c in _candidates(-(-size // fold))})


def scalesim_folds(hw: Accelerator) -> bool:
    """Whether `hw` runs SCALE-Sim's compute schedule (module docstring)."""
    return hw.mac_array.systolic and hw.mac_array.schedule == "scalesim-folds"


def _axis_candidates(hw: Accelerator, axis: str, size: int, default: list[int]) -> list[int]:
    """`default` tile sizes for axis m, k or n, or whole folds where SCALE-Sim's schedule puts
    the axis on the array's rows or columns."""
    if not scalesim_folds(hw):
        return default
    array = hw.mac_array
    rows, cols, _ = systolic_mapping(array.dataflow, "m", "k", "n")
    if axis == rows:
        return _fold_candidates(size, array.rows)
    if axis == cols:
        return _fold_candidates(size, array.cols)
    return default


def _m_candidates(layer: Layer, m: int) -> list[int]:
    width = getattr(layer, "out_width", None)
    if not width or width >= m:
        return _candidates(m)
    # Convolutions tile by whole output rows (a halo is shared inside a tile), or parts of one row.
    rows = [r * width for r in _candidates(m // width)]
    return sorted(set(_candidates(width)) | set(rows) | {m})


def systolic_mapping(dataflow: str, m: Axis, k: Axis, n: Axis) -> tuple[Axis, Axis, Axis]:
    """What of an M x K x N product spreads over a systolic array's rows, over its columns, and
    streams through it (cycles per fold), as SCALE-Sim maps it (see `accelsim.sim.mac_array`);
    works on sizes or on any per-axis description."""
    return {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[dataflow]


def fold_overhead_cycles(hw: Accelerator) -> int:
    """Cycles a systolic fold takes beyond its streamed ones: the stationary operand's load (ws,
    is: one cycle per row) and the wavefront's fill and drain (rows + cols - 2)."""
    array = hw.mac_array
    return (0 if array.dataflow == "os" else array.rows) + array.rows + array.cols - 2


def systolic_cycles(layer: Layer, hw: Accelerator, tm: int, tk: int, tn: int) -> int:
    """Array cycles of a whole layer tiled (tm, tk, tn) on a systolic array: every tile's folds,
    each overhead + streamed cycles. The per-tile cost is a product over the three axes, so the
    sum over tiles is the product of per-axis sums."""
    array = hw.mac_array
    m, k, n = layer.gemm_mkn
    rows, cols, streamed = systolic_mapping(array.dataflow, (m, tm), (k, tk), (n, tn))

    def total(axis: tuple[int, int], cost: Callable[[int], int]) -> int:
        """Sum of cost(t) over the axis's tiles: size // tile full ones and the remainder."""
        size, tile = axis
        full, rest = divmod(size, tile)
        return full * cost(tile) + (cost(rest) if rest else 0)

    overhead = fold_overhead_cycles(hw)
    row_folds = total(rows, lambda t: -(-t // array.rows))
    col_folds = total(cols, lambda t: -(-t // array.cols))
    if scalesim_folds(hw):  # a fold pays its overhead once, however its stream is cut
        return layer.groups * row_folds * col_folds * (streamed[0] + overhead)
    per_fold = total(streamed, lambda t: t + overhead)
    return layer.groups * row_folds * col_folds * per_fold


def _cost(layer: Layer, hw: Accelerator, tg: int, tm: int, tk: int, tn: int, order: str, on_chip: bool) -> tuple:
    """What the planner minimizes: DRAM bytes, then steps. On a systolic array, whose tiling
    sets its compute time too: the larger of memory and array cycles (the time if they overlap
    perfectly), then their sum (of plans as fast, the one doing less), then bytes and steps."""
    nbytes, steps = _estimate(layer, tg, tm, tk, tn, order, on_chip)
    if not hw.mac_array.systolic or scalesim_folds(hw):  # the tiling does not change compute time
        return nbytes, steps
    memory, array = nbytes / float(hw.dram_bytes_per_cycle), systolic_cycles(layer, hw, tm, tk, tn)
    return max(memory, array), memory + array, nbytes, steps


def _estimate(layer: Layer, tg: int, tm: int, tk: int, tn: int, order: str, input_on_chip: bool) -> tuple[float, int]:
    """(DRAM bytes, steps) of a plan, computed in closed form."""
    m, k, n = layer.gemm_mkn
    ng, nm, nk, nn = -(-layer.groups // tg), -(-m // tm), -(-k // tk), -(-n // tn)
    a_bits = layer.activation_precision.bits
    w_all = layer.weight_bytes
    a_all = 0 if input_on_chip else _m_tiling(layer, tm)[0] * a_bits / 8
    if order == "gmnk":
        w = w_all if nk * nn == 1 else w_all * nm
        a = a_all if nk == 1 else a_all * nn
    else:
        w = w_all if nk == 1 else w_all * nm
        a = a_all if nk * nm == 1 else a_all * nn
    return w + a + layer.output_bytes + layer.epilogue_read_bytes, ng * nm * nk * nn


@functools.lru_cache(maxsize=65536)
def _m_tiling(layer: Layer, tm: int) -> tuple[int, int]:
    """(activation elements of one full pass over the input in m tiles of `tm`, halos included,
    start of the m tile that reads the most input). Convolution tiles differ: edge tiles lose
    their halo to padding."""
    m, k, _ = layer.gemm_mkn
    g = min(layer.k_granule, k)
    total, worst, worst_m0 = 0, -1, 0
    for lo in range(0, m, tm):
        total += layer.a_tile_elements(lo, min(lo + tm, m), 0, k)
        size = layer.a_tile_elements(lo, min(lo + tm, m), 0, g)
        if size > worst:
            worst, worst_m0 = size, lo
    return layer.groups * total, worst_m0


def _w_fits(layer: Layer, hw: Accelerator, tg: int, tk: int, tn: int) -> bool:
    w = layer.weight_block_bytes(tg, tk, tn, tn if layer.bias_elements() else 0)
    return w * hw.buffers.slots <= hw.buffers.weight_bytes


def _a_fits(layer: Layer, hw: Accelerator, tg: int, tm: int, tk: int, input_on_chip: bool = False) -> bool:
    if input_on_chip:
        return True  # tiles are windows of the tensor already resident, not copies in slots
    m, k, _ = layer.gemm_mkn
    m0 = _m_tiling(layer, tm)[1]
    elements = tg * layer.a_tile_elements(m0, min(m0 + tm, m), 0, min(tk, k))
    return storage_bytes(elements, layer.activation_precision) * hw.buffers.slots <= hw.buffers.activation_bytes


def _o_fits(hw: Accelerator, tg: int, tm: int, tn: int) -> bool:
    acc = tg * tm * tn * hw.buffers.accumulator_bits // 8
    return acc * hw.buffers.slots <= hw.buffers.output_bytes


def _e_fits(layer: Layer, hw: Accelerator, tm: int, tn: int) -> bool:
    """A fused epilogue's input (a residual tile) is read into the tile's accumulator slot."""
    return layer.epilogue_tile_read_bytes(1, tm, 0, tn) <= tm * tn * hw.buffers.accumulator_bits // 8


def _fits(layer: Layer, hw: Accelerator, tg: int, tm: int, tk: int, tn: int, on_chip: bool) -> bool:
    return _w_fits(layer, hw, tg, tk, tn) and _a_fits(layer, hw, tg, tm, tk, on_chip) and _o_fits(hw, tg, tm, tn)


def _largest_k(layer: Layer, hw: Accelerator, tm: int, tn: int, on_chip: bool) -> int | None:
    """Largest reduction tile that fits beside (tm, tn); more K per tile never moves more bytes."""
    _, k, _ = layer.gemm_mkn
    for tk in reversed(_axis_candidates(hw, "k", k, _candidates(k, layer.k_granule))):
        if _w_fits(layer, hw, 1, tk, tn) and _a_fits(layer, hw, 1, tm, tk, on_chip):
            return tk
    return None


#: More tile steps than this in one layer is days of simulation: refused up front, not started.
MAX_TILE_STEPS = 10**9


def minimum_tile_steps(layer: Layer, hw: Accelerator) -> int:
    """A lower bound on any plan's steps: every output tile's partial sums fit one output slot."""
    m, _, n = layer.gemm_mkn
    slot = max(hw.buffers.output_bytes // hw.buffers.slots, 1)
    return -(-layer.groups * m * n * hw.buffers.accumulator_bits // 8 // slot)


def plan_layer(layer: Layer, hw: Accelerator, input_on_chip: bool = False) -> TilePlan:
    """The cheapest plan for `layer` on `hw`; ConfigError if even the smallest tile cannot fit, or
    if the layer needs more than MAX_TILE_STEPS tiles (checked before the search, which would take
    as long). A vector layer is planned by `accelsim.sim.vector_tiling`."""
    if layer.unit == "vector":
        from accelsim.sim.vector_tiling import plan_vector  # it builds on this module

        return plan_vector(layer, hw, input_on_chip)  # type: ignore[arg-type]
    if hw.mac_array.dataflow == "rs":  # row stationary: passes, not tiles (it builds on this module)
        from accelsim.sim.row_stationary import plan_row_stationary

        return plan_row_stationary(layer, hw, input_on_chip)
    steps = minimum_tile_steps(layer, hw)
    if steps > MAX_TILE_STEPS:
        raise ConfigError(
            f"layer {layer.name}: needs at least {steps:,} tile steps on this hardware (more than "
            f"{MAX_TILE_STEPS:,}: days of simulation); use larger buffers or a smaller layer"
        )
    # Plans depend on shape and precision only: identical blocks of a network share one search.
    plan = _plan_shape(_shape_of(layer), hw, input_on_chip)
    if hw.buffers.shared:  # NVDLA's per-layer bank allocation; the fixed split where it cannot plan
        from accelsim.sim.nvdla_mapping import plan_banked  # it builds on this module

        plan = plan_banked(_shape_of(layer), hw, input_on_chip) or plan
    if plan is None:
        raise ConfigError(_too_small(layer, hw))
    atomics = hw.mac_array.atomic_c, hw.mac_array.atomic_k
    if atomics != (1, 1):
        plan = replaced(plan, atomic_c=atomics[0], atomic_k=atomics[1])
    return replaced(plan, layer=layer, skip_zeros=skips_zero_weights(layer, hw))


def replaced(obj: _Frozen, **changes: object) -> _Frozen:
    """dataclasses.replace for a frozen dataclass whose __post_init__ only validates fields the
    changes leave valid (a layer's name and inputs, a plan's layer): a copy with the fields set,
    without running __init__ again (a tenth of a long generation's planning). An instance with a
    __dict__ is copied as copy.copy would (a new object, the dict's entries), without its
    reduce protocol."""
    state = getattr(obj, "__dict__", None)
    if state is None:
        new = copy.copy(obj)
    else:
        cls = type(obj)
        new = cls.__new__(cls)
        new.__dict__.update(state)
    for name, value in changes.items():
        object.__setattr__(new, name, value)
    return new


def _shape_of(layer: Layer) -> Layer:
    """The layer without what no plan depends on (its name and where its input comes from)."""
    return replaced(layer, name="", independent=False, inputs=None)


#: Plans of at most this many steps keep their step list for the next layer of their shape.
_SHARED_STEPS_MAX = 1 << 14


def plan_steps(plan: TilePlan) -> tuple[Step, ...]:
    """The plan's steps as a tuple; small plans share one tuple per shape, so the decode steps of a
    generation, which repeat every projection, build each list once."""
    if plan.step_count > _SHARED_STEPS_MAX:
        return tuple(plan.steps())
    return _shared_steps(replaced(plan, layer=_shape_of(plan.layer)))


@functools.lru_cache(maxsize=4096)
def _shared_steps(plan: TilePlan) -> tuple[Step, ...]:
    return tuple(plan.steps())


def clear_plan_cache() -> None:
    """Forget every plan and fold profile (benchmarks time planning as a fresh process would;
    these bounded caches are all a run leaves behind in the process)."""
    from accelsim.sim.mac_array import fold_profile_cache_clear

    _plan_shape.cache_clear()
    _shared_steps.cache_clear()
    _m_tiling.cache_clear()
    fold_profile_cache_clear()


@functools.lru_cache(maxsize=4096)
def _plan_shape(layer: Layer, hw: Accelerator, on_chip: bool) -> TilePlan | None:
    m, k, n = layer.gemm_mkn
    best: tuple[tuple, TilePlan] | None = None
    for tn in _axis_candidates(hw, "n", n, _candidates(n)):
        # Smaller m tiles only add reloads, halos and steps unless they admit a larger K tile,
        # so the few largest that fit are the contenders; on a systolic array a smaller tile
        # can also fill the array better, so every one that fits is.
        contenders = None if hw.mac_array.systolic and not scalesim_folds(hw) else _M_CONTENDERS
        fitting: list[tuple[int, int]] = []
        for tm in reversed(_axis_candidates(hw, "m", m, _m_candidates(layer, m))):
            if len(fitting) == contenders:
                break
            if _o_fits(hw, 1, tm, tn) and (not layer.epilogue or _e_fits(layer, hw, tm, tn)):
                tk = _largest_k(layer, hw, tm, tn, on_chip)
                if tk is not None:
                    fitting.append((tm, tk))
        for tm, tk in fitting:
            tgs = [1]
            if tk == k and tn == n and tm == m and layer.groups > 1:
                tgs = [g for g in _candidates(layer.groups) if _fits(layer, hw, g, tm, tk, tn, on_chip)]
            for tg in tgs:
                for order in layer.tile_orders:
                    cost = _cost(layer, hw, tg, tm, tk, tn, order, on_chip)
                    if best is None or cost < best[0]:
                        plan = TilePlan(layer, tg, tm, tk, tn, order, hw.buffers.accumulator_bits, on_chip)
                        best = (cost, plan)
    return None if best is None else best[1]


def _too_small(layer: Layer, hw: Accelerator) -> str:
    """Name the buffer that cannot hold the smallest tile, with the size it needs."""
    granule = min(layer.k_granule, layer.gemm_mkn[1])
    slots = hw.buffers.slots
    need = {
        "weight_bytes": layer.weight_block_bytes(1, granule, 1, 1 if layer.bias_elements() else 0) * slots,
        "activation_bytes": storage_bytes(layer.a_tile_elements(0, 1, 0, granule), layer.activation_precision) * slots,
        "output_bytes": hw.buffers.accumulator_bits // 8 * slots,
    }
    for name, needed in need.items():
        if getattr(hw.buffers, name) < needed:
            return f"buffers.{name}: too small for layer {layer.name}; must be >= {needed} bytes"
    return f"buffers: no tile of layer {layer.name} fits the buffers"


def compulsory_bytes(layer: Layer, input_on_chip: bool = False, output_on_chip: bool = False) -> int:
    """DRAM bytes any schedule must move: weights and inputs read once, outputs written once,
    less an input already in the activation buffer or an output kept there, and the part of a
    KV cache held on chip."""
    return (
        layer.weight_bytes
        - layer.b_on_chip_bytes
        + (0 if input_on_chip else layer.input_bytes)
        + (0 if output_on_chip else layer.output_bytes)
    )


def skips_zero_weights(layer: Layer, hw: Accelerator) -> bool:
    """Whether `hw` skips this layer's zero weights: any sparsity with zero-skipping, or an N:M
    pattern the array executes natively."""
    sparsity = layer.b_sparsity
    if sparsity.is_dense:
        return False
    return hw.mac_array.zero_skipping or (bool(sparsity.pattern) and sparsity.pattern == hw.mac_array.sparse_pattern)


def performed_macs(layer: Layer, hw: Accelerator) -> int:
    """MACs the array performs for `layer` counted whole: the roofline's compute work (tiles
    may perform more, never fewer, since each rounds its nonzeros up)."""
    return layer.macs_skipping_zeros if skips_zero_weights(layer, hw) else layer.macs
