"""Fused attention: QK^T, online softmax and PV on chip tile by tile (FlashAttention).

`FusedAttention` replaces an attention block's scores product, softmax and context product. Per
KV head (a group) it multiplies `m` query rows of size `d` against `keys` keys and values. Its
GEMM view is out[m, 2 keys] = Q[m, d] x B[d, 2 keys], where B holds each key's K and V side by
side (column 2j: key j, column 2j + 1: value j), so that:

- MACs = m x d x 2 keys = the scores product's m x d x keys plus the context product's
  m x keys x d, exactly;
- a tile of B columns is a block of keys with their values: the array computes that block's
  scores (tm x block), the vector unit its online-softmax update, and the array accumulates
  P x V into the running output held in the tile's output slot;
- the tiler keeps the query tile stationary (loop order `gmnk` only): Q is read once per query
  tile and K, V are streamed once per query tile, so with `nm` query tiles K and V are read
  `nm` times (once when all queries fit one tile), which is FlashAttention's traffic;
- only the output O[m, d] is written, once, when the last key block of a query tile is done
  (the earlier key blocks write nothing): the score matrix never goes to DRAM.

The softmax's operations (`Softmax.row_ops` per query row, 8 keys + 2) are the layer's epilogue,
run by the vector unit in the array's shadow, shared among key blocks by exact integer
boundaries so they add up to the unfused softmax's. The online softmax's rescaling of the
running output at each key block is not counted (it is O(m x d) per block, a few percent of
the softmax's O(m x keys) at the block sizes the tiler picks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from accelsim.workload.layers import Layer, LayerError, _check
from accelsim.workload.vector import softmax_row_ops


@dataclass(frozen=True)
class FusedAttention(Layer):
    """`batch` KV heads, each: softmax(Q[m, d] K^T[d, keys]) V[keys, d] on chip (module doc)."""

    batch: int = 1
    m: int = 1
    d: int = 1
    keys: int = 1
    #: Keys [0, resident_keys) and their values are held on chip, read from SRAM, not DRAM
    #: (B columns [0, 2 resident_keys); set by `accelsim.sim.kv_residency`).
    resident_keys: int = 0

    kind = "fused_attention"
    tile_orders: ClassVar[tuple[str, ...]] = ("gmnk",)

    def __post_init__(self) -> None:
        for name in ("batch", "m", "d", "keys"):
            _check(self.name, name, getattr(self, name))
        if not 0 <= self.resident_keys <= self.keys:
            raise LayerError(f"layer {self.name}: resident_keys must be in [0, {self.keys}] (got {self.resident_keys})")

    def b_on_chip_block_bytes(self, groups: int, k0: int, k1: int, n0: int, n1: int) -> int:
        # Columns [0, 2 resident_keys) of B are the resident keys with their values.
        held = max(0, min(n1, 2 * self.resident_keys) - n0)
        if not held:
            return 0
        k, n = k1 - k0, n1 - n0
        return self.weight_block_bytes(groups, k, n) - self.weight_block_bytes(groups, k, n - held)

    @property
    def groups(self) -> int:
        return self.batch

    @property
    def gemm_mkn(self) -> tuple[int, int, int]:
        return self.m, self.d, 2 * self.keys

    @property
    def b_is_weight(self) -> bool:
        return False

    @property
    def has_channels(self) -> bool:
        return False

    @property
    def output_elements(self) -> int:
        return self.batch * self.m * self.d

    def output_block_bytes(self, groups: int, rows: int, n0: int, n1: int) -> int:
        """The output rows of a query tile, written by its last key block; nothing before."""
        if n1 < 2 * self.keys:
            return 0
        return -(-groups * rows * self.d * self.output_precision.bits // 8)

    @property
    def epilogue_ops(self) -> int:
        return self.batch * self.m * softmax_row_ops(self.keys)

    def epilogue_tile_ops(self, groups: int, rows: int, n0: int, n1: int) -> int:
        row_ops, columns = softmax_row_ops(self.keys), 2 * self.keys
        return groups * rows * (row_ops * n1 // columns - row_ops * n0 // columns)

    def epilogue_tile_read_bytes(self, groups: int, rows: int, n0: int, n1: int) -> int:
        return 0

    def narrowed(self, width: float) -> Layer:
        return self

    def describe(self) -> str:
        return (
            f"fused attention {self.batch}x(softmax({self.m}x{self.d} @ {self.d}x{self.keys}) "
            f"@ {self.keys}x{self.d}) ({self.epilogue_ops:,} softmax ops)"
        )
