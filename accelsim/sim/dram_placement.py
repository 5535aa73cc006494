"""Where each tensor lies in the DRAM address space, and which bytes each tile transfer touches.

The engine owns the layout (the layers do not): every tensor is one contiguous region, regions in
order (the weights of every layer, then the network's inputs, then every layer's output), each
starting on a 4 KiB boundary. An attention product's B operand is a KV cache (K for the scores, V
for the context): one region per cache, where the weights of the first product reading it go, as
large as the largest read, shared by every phase of a generation (each reads its context's first
bytes; the new tokens' K and V are written to their projections' output regions). A layer's input is its operand producers' output regions, one after
the other (a layer without them reads its own input region); a fused epilogue's input (a residual
add's stream, the last `epilogue_inputs` producers) is those producers' output regions, read in
output-tile order. Within a tensor (`dram.layout`):

- `tiled`: each tile is contiguous and tiles lie in the order the scheduler first streams them, so a
  layer's fetches walk its tensors sequentially (a tile fetched again reads the same bytes). An
  activation tile of a convolution covers its im2col window, which can exceed its share of the
  input; reads then wrap around the input region.
- `row-major`: the tensor is stored row by row in its GEMM view (weights K x N per group, activations
  M x K, outputs M x N); a tile is one run per tile row, at the row's place in the tensor (the view's
  element size is the region's bytes over its elements, so an im2col view maps onto its input).

`segments(kind, layer, step, nbytes, epilogue)` gives the (address, bytes) runs of a transfer; their
bytes add up to the transfer's payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from accelsim.errors import InputError
from accelsim.sim.scheduler import LayerWork
from accelsim.sim.tiling import Step
from accelsim.trace.trace import TRANSFER_KINDS, WRITE_KIND
from accelsim.workload.generation import phase_prefix, step_of
from accelsim.workload.layers import Layer

ALIGN_BYTES = 4096
_WEIGHT, _ACTIVATION = TRANSFER_KINDS.index("weight"), TRANSFER_KINDS.index("activation")

Segments = tuple[tuple[int, int], ...]


def _align(n: int) -> int:
    return -(-n // ALIGN_BYTES) * ALIGN_BYTES


class _Region:
    """A tensor's bytes: one or more (base, size) pieces seen as one virtual range."""

    __slots__ = ("pieces", "size")

    def __init__(self, pieces: Sequence[tuple[int, int]]) -> None:
        self.pieces = tuple((b, s) for b, s in pieces if s > 0) or ((pieces[0][0], 1),)
        self.size = sum(s for _, s in self.pieces)

    def ranges(self, offset: int, nbytes: int) -> list[tuple[int, int]]:
        """Address runs of [offset, offset + nbytes) in the virtual range, wrapping at its end."""
        out: list[tuple[int, int]] = []
        offset %= self.size
        while nbytes > 0:
            skip = offset
            for base, size in self.pieces:
                if skip < size:
                    take = min(size - skip, nbytes)
                    if out and out[-1][0] + out[-1][1] == base + skip:
                        out[-1] = (out[-1][0], out[-1][1] + take)
                    else:
                        out.append((base + skip, take))
                    nbytes -= take
                    skip = 0
                    if nbytes == 0:
                        break
                else:
                    skip -= size
            offset = 0
        return out


def _split(nbytes: int, parts: int) -> list[int]:
    """nbytes in `parts` near-equal pieces, the larger first."""
    q, r = divmod(nbytes, parts)
    return [q + 1] * r + [q] * (parts - r)


class TensorPlacement:
    """The address runs of every transfer of a run, decided before it starts."""

    def __init__(self, layers: Sequence[Layer], works: Sequence[LayerWork], layout: str = "tiled") -> None:
        self.layout = layout
        self.layers = tuple(layers)
        self.works = tuple(works)
        cursor = 0
        self.weights: list[_Region] = []
        sizes = [self._distinct_bytes(work.steps, weights=True) for work in works]
        # an attention product's B operand is a KV cache: one region per cache, as large as its
        # largest read, shared by every phase of a generation (placed where the first reads it)
        keys = [_cache_key(layer) for layer in layers]
        cache_bytes: dict[str, int] = {}
        for key, size in zip(keys, sizes):
            if key is not None:
                cache_bytes[key] = max(cache_bytes.get(key, 0), size)
        self.caches: dict[str, _Region] = {}
        for key, size in zip(keys, sizes):
            if key is not None and key in self.caches:
                self.weights.append(self.caches[key])
                continue
            size = size if key is None else cache_bytes[key]
            self.weights.append(_Region([(cursor, size)]))
            if key is not None:
                self.caches[key] = self.weights[-1]
            cursor = _align(cursor + max(size, 1))
        # the producers of each layer's A operand, and of its fused epilogue's input (the last ones)
        operands = [w.producers[: len(w.producers) - layer.epilogue_inputs] for layer, w in zip(layers, works)]
        residuals = [w.producers[len(operand) :] for operand, w in zip(operands, works)]
        own_inputs: dict[int, _Region] = {}
        for i, (layer, work) in enumerate(zip(layers, works)):
            if not operands[i]:
                size = max(layer.input_bytes, self._distinct_bytes(work.steps, weights=False))
                own_inputs[i] = _Region([(cursor, size)])
                cursor = _align(cursor + max(size, 1))
        self.outputs: list[_Region] = []
        for work in works:
            size = sum(s.out_bytes for s in work.steps if s.out_last)
            self.outputs.append(_Region([(cursor, size)]))
            cursor = _align(cursor + max(size, 1))
        self.inputs = [
            own_inputs.get(i) or _Region([p for j in operands[i] for p in self.outputs[j].pieces])
            for i in range(len(works))
        ]
        self.residuals = [
            _Region([p for j in producers for p in self.outputs[j].pieces]) if producers else None
            for producers in residuals
        ]
        self.span_bytes = cursor
        self._tables: dict[tuple[int, int], dict[int, int]] = {}

    @staticmethod
    def _distinct_bytes(steps: Sequence[Step], weights: bool) -> int:
        seen: set[tuple[int, int, int]] = set()
        total = 0
        for s in steps:
            nbytes = s.w_bytes if weights else s.a_bytes
            key = _w_key(s) if weights else _a_key(s)
            if nbytes and key not in seen:
                seen.add(key)
                total += nbytes
        return total

    def _offsets(self, kind: int, li: int) -> dict[int, int]:
        """Step index -> offset of its transfer in its tensor (tiled layout), built once per layer."""
        table = self._tables.get((kind, li))
        if table is None:
            table = self._tables[(kind, li)] = {}
            first: dict[tuple[int, int, int], int] = {}
            cursor = 0
            for s in self.works[li].steps:
                if kind == WRITE_KIND:
                    if s.out_last:
                        table[s.index] = cursor
                        cursor += s.out_bytes
                    continue
                nbytes = s.w_bytes if kind == _WEIGHT else s.a_bytes
                if not nbytes:
                    continue
                key = _w_key(s) if kind == _WEIGHT else _a_key(s)
                if key not in first:
                    first[key] = cursor
                    cursor += nbytes
                table[s.index] = first[key]
        return table

    def region(self, kind: int, li: int) -> _Region:
        if kind == _WEIGHT:
            return self.weights[li]
        return self.inputs[li] if kind == _ACTIVATION else self.outputs[li]

    def _epilogue_offsets(self, li: int) -> dict[int, int]:
        """Step index -> offset of its epilogue input in the residual tensor: output tiles in the
        order their first steps stream (a residual has the output's shape)."""
        table = self._tables.get((-1, li))
        if table is None:
            table = self._tables[(-1, li)] = {}
            cursor = 0
            for s in self.works[li].steps:
                if s.e_bytes:
                    table[s.index] = cursor
                    cursor += s.e_bytes
        return table

    def segments(
        self, kind: int, li: int, step_index: int, nbytes: int, epilogue: bool = False
    ) -> list[tuple[int, int]]:
        """(address, bytes) runs of the transfer of `kind` for step `step_index` of layer `li`
        (`epilogue`: the read of a fused epilogue's input, from the residual producers' outputs)."""
        residual = self.residuals[li] if epilogue else None
        if residual is not None:
            return residual.ranges(self._epilogue_offsets(li).get(step_index, 0), nbytes)
        region = self.region(kind, li)
        # A vector layer's tiles are blocks of whole rows: contiguous in either layout.
        if self.layout == "tiled" or self.works[li].unit == "vector":
            # A fused epilogue's input tile (no activation step of its own) reads from the start.
            return region.ranges(self._offsets(kind, li).get(step_index, 0), nbytes)
        return self._row_major(kind, li, self.works[li].steps[step_index], nbytes, region)

    def _row_major(self, kind: int, li: int, s: Step, nbytes: int, region: _Region) -> list[tuple[int, int]]:
        g0, m0, k0, n0 = s.origin
        tg, tm, tk, tn = s.shape
        groups, m, k, n = s.extent
        if kind == _WEIGHT:
            rows, cols, r0, c0, tr = k, n, k0, n0, tk
        elif kind == _ACTIVATION:
            rows, cols, r0, c0, tr = m, k, m0, k0, tm
        else:
            rows, cols, r0, c0, tr = m, n, m0, n0, tm
        element = Fraction(region.size, max(groups * rows * cols, 1))
        parts = _split(nbytes, tg * tr)
        out: list[tuple[int, int]] = []
        i = 0
        for g in range(g0, g0 + tg):
            for r in range(r0, r0 + tr):
                size = parts[i]
                i += 1
                if size:
                    start = int(((g * rows + r) * cols + c0) * element)
                    for run in region.ranges(start, size):
                        if out and out[-1][0] + out[-1][1] == run[0]:
                            out[-1] = (out[-1][0], out[-1][1] + run[1])
                        else:
                            out.append(run)
        return out


def _cache_key(layer: Layer) -> str | None:
    """The KV cache an attention product reads as its B operand (K for the scores, V for the
    context): its name without a generation's phase (`prefill/`, `step<k>/`); None for other layers."""
    if not getattr(layer, "keys_axis", ""):
        return None
    try:
        return layer.name[len(phase_prefix(step_of(layer.name))) :]
    except InputError:  # not a generation: one phase
        return layer.name


def _w_key(s: Step) -> tuple[int, int, int]:
    return (s.origin[0], s.origin[2], s.origin[3])


def _a_key(s: Step) -> tuple[int, int, int]:
    return (s.origin[0], s.origin[1], s.origin[2])
