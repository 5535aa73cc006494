"""Group-quantized storage: values at a narrow integer precision plus a scale (and optionally a
zero point) per group of values, as weight-only LLM quantization and KV-cache quantization store
tensors.

A block of k x n values (k along the reduction axis, n output columns; what one tile holds,
fetched on its own) at b bits per value occupies k n b bits plus, per group, `scale_bits` for
the scale and `zero_bits` for the zero point. Groups run along one axis:

- `k`: `group` consecutive values along the reduction axis of one output column share a scale
  (llama.cpp's Q8_0 and Q4_0 blocks of 32; GPTQ and AWQ groups of 128): n ceil(k / group) groups;
- `n`: `group` consecutive values along the columns of one row share a scale (one cached token's
  values of one head, for the V cache whose rows are tokens): k ceil(n / group) groups;
- `block`: one scale for the whole block (a static per-head scale of a KV cache).

A tile restarts its groups, as an N:M pattern restarts (`accelsim.workload.sparsity`): a tile
needs the scales of every group it touches, so tiles never hold fewer bytes than the tensor
counted whole.

Reference formats (bits per value, scales 16-bit): llama.cpp Q8_0 (int8, group 32 along k) is
8 + 16/32 = 8.5; Q4_0 (int4, group 32) is 4 + 16/32 = 4.5. Asymmetric GPTQ/AWQ W4 group 128
stores a 16-bit scale and a `bits`-bit zero point per group (AutoGPTQ and llm-awq pack `qzeros`
at the weight width, eight 4-bit zeros per int32 word, beside fp16 `scales`): 4 + 20/128 =
4.15625 bits per weight.
"""

from __future__ import annotations

from dataclasses import dataclass

from accelsim.errors import InputError
from accelsim.precision import Precision

AXES = ("k", "n", "block")
#: Width of a stored scale: fp16, as llama.cpp, GPTQ, AWQ and KV-cache schemes store them.
SCALE_BITS = 16


@dataclass(frozen=True)
class GroupQuantized:
    """Values at `precision` (an integer precision) with one scale per group (see the module doc);
    `zero_bits` > 0 adds a zero point per group (asymmetric quantization)."""

    precision: Precision
    group: int = 0
    axis: str = "k"
    scale_bits: int = SCALE_BITS
    zero_bits: int = 0

    def __post_init__(self) -> None:
        if not self.precision.is_integer:
            raise InputError(f"group quantization: precision must be int8 or int4 (got {self.precision.value})")
        if self.axis not in AXES:
            raise InputError(f"group quantization: axis must be one of {', '.join(AXES)} (got {self.axis!r})")
        if self.axis != "block" and not (isinstance(self.group, int) and self.group >= 1):
            raise InputError(f"group quantization: group must be an integer >= 1 (got {self.group!r})")
        for name in ("scale_bits", "zero_bits"):
            value = getattr(self, name)
            if not (isinstance(value, int) and 0 <= value <= 32):
                raise InputError(f"group quantization: {name} must be an integer in [0, 32] (got {value!r})")

    @property
    def bits(self) -> int:
        return self.precision.bits

    @property
    def symmetric(self) -> bool:
        return self.zero_bits == 0

    def groups_in(self, k: int, n: int) -> int:
        """Groups (scales) a block of k x n values holds."""
        if self.axis == "block":
            return 1
        along, across = (k, n) if self.axis == "k" else (n, k)
        return across * -(-along // self.group)

    def side_bits(self, k: int, n: int) -> int:
        """Bits of the scales and zero points of a k x n block."""
        return self.groups_in(k, n) * (self.scale_bits + self.zero_bits)

    def stored_bits(self, k: int, n: int) -> int:
        """Bits that a dense k x n block occupies: values and their scales and zero points."""
        return k * n * self.bits + self.side_bits(k, n)

    def bits_per_value(self, k: int, n: int) -> float:
        """Average stored bits per value of a k x n block (8.5 for Q8_0)."""
        return self.stored_bits(k, n) / (k * n)

    def describe(self) -> str:
        grouping = "per block" if self.axis == "block" else f"g{self.group} along {self.axis}"
        zero = "" if self.symmetric else f" + {self.zero_bits}-bit zero"
        return f"{self.precision.value} {grouping} ({self.scale_bits}-bit scale{zero})"


@dataclass(frozen=True)
class QuantizedOutput:
    """Output columns [first_column, N) written quantized (the K and V a projection appends to the
    cache), the rest at the activation precision."""

    storage: GroupQuantized
    first_column: int = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.first_column, int) and self.first_column >= 0):
            raise InputError(f"quantized output: first_column must be an integer >= 0 (got {self.first_column!r})")
        if self.storage.axis == "k":
            raise InputError("quantized output: groups run along the columns (axis n) or per block")

    def block_bits(self, rows: int, n0: int, n1: int, activation_bits: int) -> int:
        """Bits of `rows` x columns [n0, n1) of the output."""
        quantized = max(0, n1 - max(n0, self.first_column))
        plain = (n1 - n0) - quantized
        stored = self.storage.stored_bits(rows, quantized) if quantized else 0
        if quantized and self.storage.axis == "block":
            stored = rows * quantized * self.storage.bits  # a static scale is not written per pass
        return rows * plain * activation_bits + stored
