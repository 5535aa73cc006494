"""Weight sparsity: how many of a layer's weights are zero and how they are stored.

Storage formats, for a block of k x n weights (k along the reduction axis, n output channels)
at b bits per value; a block is what one weight tile holds, compressed on its own so it can be
fetched on its own, and a bias is always stored dense beside it:

- `dense`: every value, zeros included: k n b bits. Pruning saves nothing in memory; compute
  shrinks only on an array that skips zero weights.
- `bitmask`: the nonzeros plus one presence bit per position: nnz b + k n bits.
- `csr`: compressed by output channel: each nonzero with its position along the layer's whole
  reduction axis K (ceil(log2 K) bits), plus one count of nonzeros per output channel
  (bit_length(K) bits): nnz (b + ceil(log2 K)) + n bit_length(K) bits.
- `nm`: N:M structured sparsity (e.g. 2:4): of every M consecutive weights along K, N are kept,
  each with a ceil(log2 M)-bit position: nnz (b + ceil(log2 M)) bits.

Nonzeros in a block: ceil(density x k x n) for unstructured sparsity (zeros spread uniformly);
for N:M, n x (N x floor(k / M) + min(k mod M, N)) (a block restarts the pattern). Both round
up per block, so a layer cut into tiles never holds fewer nonzeros or bytes than the layer
counted whole: the whole-layer figures are the lower bounds the roofline uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from accelsim.errors import InputError

FORMATS = ("dense", "bitmask", "csr", "nm")


@dataclass(frozen=True)
class WeightSparsity:
    """Fraction of nonzero weights and their storage format (see the module docstring)."""

    density: float = 1.0
    format: str = "dense"
    #: N:M pattern (format "nm" only): n nonzeros in every m consecutive weights along K.
    n: int = 0
    m: int = 0

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise InputError(f"sparsity.format: unknown {self.format!r}; allowed: {', '.join(FORMATS)}")
        ok = isinstance(self.density, (int, float)) and not isinstance(self.density, bool)
        if not (ok and 0 < self.density <= 1):
            raise InputError(f"sparsity.density: must be in (0, 1] (got {self.density!r})")
        if self.format == "nm":
            if not (isinstance(self.n, int) and isinstance(self.m, int) and 1 <= self.n < self.m):
                raise InputError(f"sparsity: N:M pattern needs 1 <= N < M (got {self.n}:{self.m})")
            if Fraction(self.n, self.m) != Fraction(self.density).limit_denominator(10**6):
                raise InputError(f"sparsity.density: an {self.n}:{self.m} pattern has density {self.n / self.m:g}")
        elif self.n or self.m:
            raise InputError(f"sparsity: an N:M pattern needs format 'nm' (got {self.format!r})")

    @classmethod
    def n_of_m(cls, n: int, m: int) -> WeightSparsity:
        """N:M structured sparsity, e.g. `n_of_m(2, 4)` for 2:4."""
        if not (isinstance(n, int) and isinstance(m, int) and 1 <= n < m):
            raise InputError(f"sparsity: N:M pattern needs integers 1 <= N < M (got {n}:{m})")
        return cls(n / m, "nm", n, m)

    @property
    def is_dense(self) -> bool:
        return self.density == 1 and self.format == "dense"

    @property
    def pattern(self) -> str:
        """`2:4` for an N:M pattern, else empty."""
        return f"{self.n}:{self.m}" if self.format == "nm" else ""

    def describe(self) -> str:
        if self.is_dense:
            return "dense"
        if self.format == "nm":
            return f"{self.pattern} sparse"
        return f"{100 * (1 - self.density):.4g}% sparse ({self.format})"

    def nonzeros(self, k: int, n: int) -> int:
        """Nonzero weights in a block of k x n (see the module docstring)."""
        if self.format == "nm":
            return n * (self.n * (k // self.m) + min(k % self.m, self.n))
        # Exact rational product: a float product such as 0.7 x 10 = 7.000000000000001 would
        # round up one nonzero too many.
        return math.ceil(Fraction(self.density).limit_denominator(10**9) * k * n)

    def stored_bits(self, k: int, n: int, bits: int, layer_k: int) -> int:
        """Bits that a k x n block of weights at `bits` per value occupies in this format;
        `layer_k` is the layer's whole reduction length (CSR positions index it)."""
        if self.format == "dense":
            return k * n * bits
        nnz = self.nonzeros(k, n)
        if self.format == "bitmask":
            return nnz * bits + k * n
        if self.format == "csr":
            return nnz * (bits + max(1, math.ceil(math.log2(layer_k)))) + n * layer_k.bit_length()
        return nnz * (bits + max(1, math.ceil(math.log2(self.m))))


DENSE = WeightSparsity()
