"""Tiling of vector layers: blocks of whole rows, or parts of one row, that fit the buffers.

A vector layer (`accelsim.workload.vector`) is cut into tiles of `tm` rows. Each tile reads its
rows of every input tensor into an activation slot, its constant operand (per-row values, and
the shared values every row uses, fetched once and kept while consecutive tiles use them) into
a weight slot, and writes its output rows from an output slot, all with the same slots and
double buffering as GEMM tiles. The largest row block that fits is taken: every block size moves
the same DRAM bytes, and the fewest steps simulate fastest. A single row too long for a slot is
split into `parts` equal parts (its shared operand with it), the fewest that fit.

The vector unit's work per tile is the tile's share of the rows' operations; split rows share
a row's operations in proportion, by exact integer boundaries, so the tiles add up to the
layer's `vector_ops`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from accelsim.hardware import Accelerator, ConfigError
from accelsim.precision import storage_bytes
from accelsim.sim.tiling import MAX_TILE_STEPS, Step, TilePlan
from accelsim.workload.vector import VectorOp


def _part(total: int, parts: int, j: int) -> tuple[int, int]:
    """Bounds of part j of `total` split into `parts` near-equal integer parts."""
    return total * j // parts, total * (j + 1) // parts


def _candidates(size: int) -> list[int]:
    """Row-block sizes to try: powers of two, even splits into 2..8 blocks, the whole."""
    out = {size}
    t = 1
    while t < size:
        out.add(t)
        t *= 2
    out.update(-(-size // parts) for parts in range(2, 9))
    return sorted(out)


@dataclass(frozen=True)
class VectorPlan(TilePlan):
    """`tm` rows per tile (Tg = 1, Tk = the part of a row, Tn = 1), each row in `parts` parts."""

    parts: int = 1

    @property
    def counts(self) -> tuple[int, int, int, int]:
        layer = self.layer
        assert isinstance(layer, VectorOp)
        return 1, -(-layer.rows // self.tm), self.parts, 1

    def describe(self) -> str:
        _, nm, parts, _ = self.counts
        split = f" parts={parts}" if parts > 1 else ""
        on_chip = " input-on-chip" if self.input_on_chip else ""
        return f"vector rows={self.tm}{split} tiles={nm * parts}{on_chip}"

    def steps(self) -> Iterator[Step]:
        layer = self.layer
        assert isinstance(layer, VectorOp)
        raw = [
            _tile(layer, r0, min(r0 + self.tm, layer.rows), p, self.parts)
            for r0 in range(0, layer.rows, self.tm)
            for p in range(self.parts)
        ]
        for i, (w_key, ops, wb, ab, ob) in enumerate(raw):
            w_new = wb > 0 and (i == 0 or raw[i - 1][0] != w_key)
            nxt = raw[i + 1] if i + 1 < len(raw) else None
            yield Step(
                index=i,
                macs=0,
                w_bytes=wb if w_new else 0,
                a_bytes=0 if self.input_on_chip else ab,
                w_resident_bytes=wb,
                a_resident_bytes=ab,
                w_release=wb > 0 and (nxt is None or nxt[0] != w_key),
                a_release=not self.input_on_chip and ab > 0,
                out_first=True,
                out_last=True,
                out_bytes=ob,
                acc_bytes=ob,  # the vector unit writes finished values, no partial sums
                shape=(1, 0, 0, 0),
                origin=(0, 0, 0, 0),
                extent=(1, 0, 0, 0),
                vector_ops=ops,
            )


def _tile(layer: VectorOp, r0: int, r1: int, part: int, parts: int) -> tuple[tuple[int, int], int, int, int, int]:
    """(weight key, operations, weight, input and output bytes) of rows [r0, r1), part `part`."""
    n = r1 - r0
    i0, i1 = _part(layer.row_length, parts, part)
    o0, o1 = _part(layer.out_length, parts, part)
    q0, q1 = _part(layer.row_ops, parts, part)
    s0, s1 = _part(layer.shared_parameters, parts, part)
    own = n * layer.row_parameters if part == 0 else 0
    w_key = (r0 if own else -1, part if s1 > s0 else -1)
    wb = storage_bytes(own + s1 - s0, layer.weight_precision)
    ab = storage_bytes(layer.input_count * n * (i1 - i0), layer.activation_precision)
    ob = layer.output_block_bytes(1, n, o0, o1)
    return w_key, n * (q1 - q0), wb, ab, ob


def _fits(layer: VectorOp, hw: Accelerator, rows: int, parts: int, input_on_chip: bool, budget: int) -> bool:
    """Whether every tile of `rows` rows in `parts` parts fits its buffer slots (bounded by the
    largest part, ceil(total / parts), of each quantity), input slots within `budget` bytes."""
    slots = hw.buffers.slots
    wb = storage_bytes(rows * layer.row_parameters + -(-layer.shared_parameters // parts), layer.weight_precision)
    ab = storage_bytes(layer.input_count * rows * -(-layer.row_length // parts), layer.activation_precision)
    ob = storage_bytes(rows * -(-layer.out_length // parts), layer.output_precision)
    return (
        wb * slots <= hw.buffers.weight_bytes
        and (input_on_chip or ab * slots <= budget)
        and ob * slots <= hw.buffers.output_bytes
    )


def plan_vector(
    layer: VectorOp, hw: Accelerator, input_on_chip: bool = False, activation_budget_bytes: int | None = None
) -> VectorPlan:
    """The plan of a vector layer: the largest row block that fits, else the fewest row parts.
    `activation_budget_bytes`: the input slots may use only this much of the activation buffer
    (the engine leaves the rest to the layer's output, kept there for the next layer)."""
    bits = hw.buffers.accumulator_bits
    budget = hw.buffers.activation_bytes if activation_budget_bytes is None else activation_budget_bytes
    for tm in reversed(_candidates(layer.rows)):
        if _fits(layer, hw, tm, 1, input_on_chip, budget):
            return VectorPlan(layer, 1, tm, layer.row_length, 1, "rows", bits, input_on_chip, parts=1)
    longest = max(layer.row_length, layer.out_length, layer.shared_parameters, 1)
    parts = 2
    while parts <= longest:
        if _fits(layer, hw, 1, parts, input_on_chip, budget):
            if layer.rows * parts > MAX_TILE_STEPS:
                break
            return VectorPlan(layer, 1, 1, -(-layer.row_length // parts), 1, "rows", bits, input_on_chip, parts=parts)
        parts *= 2
    raise ConfigError(f"buffers: no tile of vector layer {layer.name} fits the buffers")
