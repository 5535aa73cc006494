"""Where each tensor lies in the DRAM address space, and which bytes each tile transfer touches.

The engine owns the layout (the layers do not): every tensor is one contiguous region, regions in
order (the weights of every layer, then the network's inputs, then every layer's output), each
starting on a 4 KiB boundary. An attention product's B operand is a KV cache (K for the scores, V
for the context): one region per cache, where the weights of the first product reading it go, as
large as the largest read, shared by every phase of a generation. A layer's input is its operand
producers' output regions, one after the other (a layer without them reads its own input region); a
fused epilogue's input (a residual add's stream, the last `epilogue_inputs` producers) is those
producers' output regions, read in output-tile order. Within a tensor (`dram.layout`):

- `tiled`: each tile is contiguous and tiles lie in the order the scheduler first streams them, so a
  layer's fetches walk its tensors sequentially (a tile fetched again reads the same bytes). An
  activation tile of a convolution covers its im2col window, which can exceed its share of the
  input; reads then wrap around the input region.
- `row-major`: the tensor is stored row by row in its GEMM view (weights K x N per group, activations
  M x K, outputs M x N); a tile is one run per tile row, at the row's place in the tensor (the view's
  element size is the region's bytes over its elements, so an im2col view maps onto its input).

A KV cache has a layout of its own, in either: (group, position, head_dim) as stored, a product's
group (sequence x KV head, sequence-major) outermost, so position t of group g lies (g x capacity +
t) x head_dim elements from the region's start (capacity: the largest context read; an element's
bytes: its readers' B bytes over elements, keys held on chip included). A product's B tile reads its
positions' head_dim columns from there. The layer producing a product's B operand (rotary.k, the
rotated K being what is cached, or v_proj; GPT-2's fused c_attn, whose output columns are Q, then K,
then V) writes its new tokens' K and V there: token row r is position keys - queries + r % queries
of sequence r // queries (the phase's context, then its own tokens); its K (V) columns go to the
cache head by head, the rest (Q) to its own output region at its tile's tiled offset. A layer not
fitting that shape (a fused attention) keeps its own regions.

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
        cache_bytes, self._capacity, self._element = _cache_shapes(layers, works, keys, sizes)
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
        self._cache_reads: dict[int, _Cache] = {}
        self._cache_writes: dict[int, list[_CacheSlice]] = {}
        if self.caches:
            self._plan_caches(keys)

    # ----- KV caches -----
    def _plan_caches(self, keys: Sequence[str | None]) -> None:
        """Each cache's layout, and which columns of which layer's output each phase writes into it."""
        index = {layer.name: i for i, layer in enumerate(self.layers)}
        writers: dict[int, list[int]] = {}  # writer layer -> the products whose B operand it produces
        for li, (layer, key) in enumerate(zip(self.layers, keys)):
            if key is None:
                continue
            cache = _Cache(self.caches[key], self._capacity[key], _head_dim_of(layer), self._element[key])
            self._cache_reads[li] = cache
            inputs = layer.inputs or ()
            if len(inputs) == 2 and inputs[1] in index:
                writers.setdefault(index[inputs[1]], []).append(li)
        for writer, readers in writers.items():
            slices = self._slices(writer, readers)
            if slices:
                self._cache_writes[writer] = slices

    def _slices(self, writer: int, readers: list[int]) -> list[_CacheSlice]:
        """The cache column ranges of `writer`'s output: all of it for one product (k_proj, v_proj,
        a rotary K), the K and V thirds after Q for two (a fused QKV projection: scores, then context)."""
        rows_cols = _rows_cols(self.layers[writer], self.works[writer])
        if rows_cols is None or len(readers) > 2:
            return []
        tokens, width = rows_cols
        first = self.layers[readers[0]]
        head_dim, groups, m = _head_dim_of(first), first.batch, first.m
        if len(readers) == 1:
            kv_width, q_width = width, 0
        else:
            # width = head_dim x (heads + 2 kv_heads), groups = batch x kv_heads, tokens = batch x
            # queries, m = queries x heads / kv_heads: solve for queries, then kv_heads
            num = (width // head_dim) * tokens - groups * m
            if width % head_dim or num <= 0 or num % (2 * groups):
                return []
            queries = num // (2 * groups)
            if tokens % queries or groups % (tokens // queries):
                return []
            kv_width = groups // (tokens // queries) * head_dim
            q_width = width - 2 * kv_width
        if kv_width <= 0 or kv_width % head_dim or q_width < 0:
            return []
        kv_heads = kv_width // head_dim
        if groups % kv_heads or tokens % (groups // kv_heads):
            return []
        queries = tokens // (groups // kv_heads)
        out = []
        for j, li in enumerate(readers):
            cache, reader = self._cache_reads[li], self.layers[li]
            context = _keys_of(reader) - queries
            if reader.batch != groups or _head_dim_of(reader) != head_dim or context < 0:
                return []
            lo = q_width + j * kv_width
            out.append(_CacheSlice(lo, lo + kv_width, cache, kv_heads, queries, context))
        return out

    def _cache_read(self, li: int, s: Step, nbytes: int) -> list[tuple[int, int]]:
        """A product's B tile from its cache: per group, its positions' head_dim columns."""
        c = self._cache_reads[li]
        g0, _, k0, n0 = s.origin
        tg, _, tk, tn = s.shape
        keys_axis, resident = self.layers[li].keys_axis, self.layers[li].resident_keys
        (p0, pn), (d0, dn) = ((n0, tn), (k0, tk)) if keys_axis == "n" else ((k0, tk), (n0, tn))
        if p0 < resident < p0 + pn:  # the positions held on chip are not fetched
            p0, pn = resident, p0 + pn - resident
        out: list[tuple[int, int]] = []
        if dn == c.head_dim:  # whole positions: one run per group
            for g, size in zip(range(g0, g0 + tg), _split(nbytes, tg)):
                _append(out, c.region.ranges(int((g * c.capacity + p0) * c.head_dim * c.element), size))
            return out
        parts = iter(_split(nbytes, tg * pn))
        for g in range(g0, g0 + tg):
            for p in range(p0, p0 + pn):
                size = next(parts)
                if size:
                    start = int(((g * c.capacity + p) * c.head_dim + d0) * c.element)
                    _append(out, c.region.ranges(start, size))
        return out

    def _cache_write(self, li: int, s: Step, nbytes: int) -> list[tuple[int, int]]:
        """An output tile of a layer writing new K and/or V: each row's cache columns to their cache
        (head by head, at the row's position), the other columns to its own output region."""
        tokens, width = _rows_cols(self.layers[li], self.works[li])  # type: ignore[misc]
        if self.works[li].unit == "vector":  # blocks of whole rows, in order
            offset = self._offsets(WRITE_KIND, li).get(s.index, 0)
            total = sum(st.out_bytes for st in self.works[li].steps if st.out_last)
            r0, rn, c0, cn = offset * tokens // max(total, 1), max(nbytes * tokens // max(total, 1), 1), 0, width
        else:
            _, r0, _, c0 = s.origin
            _, rn, _, cn = s.shape
        out: list[tuple[int, int]] = []
        rest = 0
        for r, row_bytes in zip(range(r0, r0 + rn), _split(nbytes, rn)):
            done = 0  # the row's bytes placed so far: columns [c0, c) hold row_bytes x (c - c0) / cn
            for sl in self._cache_writes[li]:
                c = sl.cache
                sequence, position = divmod(r, sl.queries)
                lo, hi = max(sl.lo, c0), min(sl.hi, c0 + cn)
                col = lo
                while col < hi:
                    head, d = divmod(col - sl.lo, c.head_dim)
                    end = min(hi, col - d + c.head_dim)
                    first, after = row_bytes * (col - c0) // cn, row_bytes * (end - c0) // cn
                    rest += first - done
                    if after > first:
                        g = sequence * sl.kv_heads + head
                        start = int(((g * c.capacity + sl.context + position) * c.head_dim + d) * c.element)
                        _append(out, c.region.ranges(start, after - first))
                    done, col = after, end
            rest += row_bytes - done
        if rest:
            region = self.outputs[li]
            _append(out, region.ranges(self._offsets(WRITE_KIND, li).get(s.index, 0), rest))
        return out

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
        if residual is None and kind == WRITE_KIND and li in self._cache_writes:
            return self._cache_write(li, self.works[li].steps[step_index], nbytes)
        if residual is None and kind == _WEIGHT and li in self._cache_reads:
            return self._cache_read(li, self.works[li].steps[step_index], nbytes)
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


class _Cache:
    """A KV cache's layout: (group, position, head_dim) elements of `element` bytes in `region`."""

    __slots__ = ("region", "capacity", "head_dim", "element")

    def __init__(self, region: _Region, capacity: int, head_dim: int, element: Fraction) -> None:
        self.region, self.capacity, self.head_dim, self.element = region, capacity, head_dim, element


def _cache_shapes(
    layers: Sequence[Layer], works: Sequence[LayerWork], keys: Sequence[str | None], sizes: Sequence[int]
) -> tuple[dict[str, int], dict[str, int], dict[str, Fraction]]:
    """Per cache: its bytes, its capacity (the largest context read) and its element's bytes (the
    largest of its readers' B tiles' bytes over elements, keys held on chip included). Its bytes are
    those of its largest read, unless keys held on chip make capacity x elements larger."""
    capacity: dict[str, int] = {}
    element: dict[str, Fraction] = {}
    for layer, work, key in zip(layers, works, keys):
        if key is None:
            continue
        capacity[key] = max(capacity.get(key, 0), _keys_of(layer))
        seen: set[tuple[int, int, int]] = set()
        nbytes = elements = 0
        for s in work.steps:
            if (s.w_bytes or s.b_on_chip_bytes) and _w_key(s) not in seen:
                seen.add(_w_key(s))
                nbytes += s.w_bytes + s.b_on_chip_bytes
                elements += s.shape[0] * s.shape[2] * s.shape[3]
        if elements:
            element[key] = max(element.get(key, Fraction(0)), Fraction(nbytes, elements))
    cache_bytes: dict[str, int] = {}
    for layer, key, size in zip(layers, keys, sizes):
        if key is not None:
            element.setdefault(key, Fraction(1))
            whole = -(-element[key] * layer.batch * capacity[key] * _head_dim_of(layer) // 1)
            cache_bytes[key] = max(cache_bytes.get(key, 0), size, int(whole))
    return cache_bytes, capacity, element


class _CacheSlice:
    """Output columns [lo, hi) of a layer are the new K (or V) of `cache`: kv_heads heads of
    head_dim; row r is position context + r % queries of sequence r // queries."""

    __slots__ = ("lo", "hi", "cache", "kv_heads", "queries", "context")

    def __init__(self, lo: int, hi: int, cache: _Cache, kv_heads: int, queries: int, context: int) -> None:
        self.lo, self.hi, self.cache = lo, hi, cache
        self.kv_heads, self.queries, self.context = kv_heads, queries, context


def _keys_of(layer: Layer) -> int:
    return layer.n if layer.keys_axis == "n" else layer.k


def _head_dim_of(layer: Layer) -> int:
    return layer.k if layer.keys_axis == "n" else layer.n


def _rows_cols(layer: Layer, work: LayerWork) -> tuple[int, int] | None:
    """(rows, columns) of a layer's output: a one-group GEMM's m x n, a vector layer's rows x row_length."""
    if work.unit == "vector":
        rows, cols = getattr(layer, "rows", 0), getattr(layer, "row_length", 0)
        return (rows, cols) if rows > 0 and cols > 0 else None
    if not work.steps or work.steps[0].extent[0] != 1:
        return None
    _, m, _, n = work.steps[0].extent
    return m, n


def _append(out: list[tuple[int, int]], runs: list[tuple[int, int]]) -> None:
    """Add runs to `out`, joining a run that continues the last one."""
    for run in runs:
        if out and out[-1][0] + out[-1][1] == run[0]:
            out[-1] = (out[-1][0], out[-1][1] + run[1])
        else:
            out.append(run)


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
