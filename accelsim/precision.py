"""Numeric precisions of operands; the one place their widths are defined."""

from __future__ import annotations

import enum

from accelsim.errors import InputError


class Precision(enum.Enum):
    """Operand precision; the value is the name used in files and on the command line."""

    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"
    INT8 = "int8"
    INT4 = "int4"

    @property
    def bits(self) -> int:
        return _BITS[self]

    @property
    def is_integer(self) -> bool:
        return self in (Precision.INT8, Precision.INT4)

    @classmethod
    def parse(cls, name: str | Precision) -> Precision:
        """Precision from its name, case-insensitive; a one-line error otherwise."""
        if isinstance(name, Precision):
            return name
        try:
            return cls(str(name).lower())
        except ValueError:
            allowed = ", ".join(p.value for p in cls)
            raise InputError(f"precision: unknown {name!r}; allowed: {allowed}") from None


_BITS = {
    Precision.FP32: 32,
    Precision.FP16: 16,
    Precision.BF16: 16,
    Precision.INT8: 8,
    Precision.INT4: 4,
}


def storage_bytes(elements: int, precision: Precision) -> int:
    """Bytes that `elements` values occupy when packed densely (INT4: two per byte)."""
    return -(-elements * precision.bits // 8)


def wider(a: Precision, b: Precision) -> Precision:
    """The wider of two operand precisions; a MAC's datapath is sized for it."""
    if a.bits != b.bits:
        return a if a.bits > b.bits else b
    # Same width: a float beats an integer, and FP16 and BF16 share a datapath class.
    return a if not a.is_integer else b
