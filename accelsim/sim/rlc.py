"""Eyeriss's run-length code for feature maps in DRAM, exact and analytical.

Eyeriss (Chen et al., JSSC 2017, Sec. V-B) stores feature maps in DRAM run-length coded: a
64-bit word holds three (5-bit run, 16-bit level) pairs and one bit. A pair stands for `run`
zeros followed by one value (`level`); a run longer than 31 zeros is cut by a pair whose level
is zero (31 zeros, then the zero itself: 32 values). Generally, with `b`-bit values a word holds
(64 - 1) // (5 + b) pairs: 3 at 16 bits, 4 at 8, 7 at 4, 1 at 32.

`rlc_words` encodes a real sequence and counts its words (the exact size). The simulator sees
only a layer's zero share `z`, so it sizes a tensor of n values with the analytical twin: zeros
independent with probability z, a coder emits pairs at the rate (1 - z) / (1 - z^32) per value
(a value ends a pair when it is nonzero, or when it is the 32nd zero of a run; the run length
before a pair is geometric, so P(run reaches 32) = z^32), plus one pair for trailing zeros. The
coder is bypassed when the code would not be smaller (CONV1's image has almost no zeros):
`coded_bytes` is never above the dense size.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from accelsim.hardware import Accelerator
from accelsim.precision import Precision, storage_bytes
from accelsim.sim.tiling import Step, compulsory_bytes
from accelsim.workload.layers import Layer

WORD_BITS = 64
RUN_BITS = 5
#: Values a pair can skip plus the one it carries: 31 zeros and a level.
RUN_SPAN = (1 << RUN_BITS) - 1 + 1
#: One bit of every word is not a pair's.
WORD_SPARE_BITS = 1


def pairs_per_word(precision: Precision) -> int:
    """(run, level) pairs in one 64-bit word at this value width (3 at 16 bits)."""
    return (WORD_BITS - WORD_SPARE_BITS) // (RUN_BITS + precision.bits)


def rlc_pairs(values: Sequence[float]) -> int:
    """Pairs the coder emits for this sequence (exact)."""
    pairs, run = 0, 0
    for v in values:
        if v != 0:
            pairs, run = pairs + 1, 0
        elif run == RUN_SPAN - 1:  # a 32nd zero: carried as the level of a pair of 31 zeros
            pairs, run = pairs + 1, 0
        else:
            run += 1
    return pairs + (1 if run else 0)


def rlc_words(values: Sequence[float], precision: Precision = Precision.FP16) -> int:
    """64-bit words of the coded sequence (exact)."""
    return -(-rlc_pairs(values) // pairs_per_word(precision))


def expected_pairs(elements: int, zero_share: float) -> float:
    """Pairs of n values with independent zeros of probability `zero_share` (analytical)."""
    if elements <= 0:
        return 0.0
    z = zero_share
    rate = (1 - z) / (1 - z**RUN_SPAN) if z < 1 else 1 / RUN_SPAN
    return elements * rate + (z if z < 1 else 1.0)  # the trailing run's pair, when it is not empty


def coded_bytes(elements: int, zero_share: float, precision: Precision) -> int:
    """Bytes that `elements` values take in DRAM: whole words of the expected code, or the dense
    size when that is no larger (the coder bypassed)."""
    dense = storage_bytes(elements, precision)
    words = math.ceil(expected_pairs(elements, zero_share) / pairs_per_word(precision) - 1e-9)
    return min(dense, words * WORD_BITS // 8)


def codes_activations(hw: Accelerator) -> bool:
    return hw.dram.activation_compression == "rlc"


def coded_size(nbytes: int, zero_share: float, precision: Precision) -> int:
    """The coded size of a dense feature-map transfer of `nbytes`."""
    if nbytes <= 0:
        return nbytes
    return coded_bytes(nbytes * 8 // precision.bits, zero_share, precision)


def coded_steps(steps: Sequence[Step], layer: Layer, input_from_dram: bool, output_to_dram: bool) -> tuple[Step, ...]:
    """A plan's steps with the feature maps that cross the DRAM bus at their coded size: input
    tiles at the input's zero share (fetched and resident alike: the scheduler books a tile in its
    buffer at the size it fetched), output tiles and a fused epilogue's input at the output's.
    Weights, and a tensor that stays on chip, are not coded."""
    prec = layer.activation_precision
    zi, zo = layer.input_zero_share, layer.output_zero_share

    def code_in(n: int) -> int:
        return coded_size(n, zi, prec) if input_from_dram else n

    return tuple(
        dataclasses.replace(
            s,
            a_bytes=code_in(s.a_bytes),
            a_resident_bytes=code_in(s.a_resident_bytes),
            out_bytes=coded_size(s.out_bytes, zo, prec) if output_to_dram else s.out_bytes,
            e_bytes=coded_size(s.e_bytes, zo, prec),
        )
        for s in steps
    )


def coded_compulsory_bytes(layer: Layer, input_on_chip: bool, output_on_chip: bool) -> int:
    """`compulsory_bytes` with the feature maps at their coded size."""
    prec = layer.activation_precision
    weights = compulsory_bytes(layer, True, True)
    ins = 0 if input_on_chip else coded_size(layer.input_bytes, layer.input_zero_share, prec)
    outs = 0 if output_on_chip else coded_size(layer.output_bytes, layer.output_zero_share, prec)
    return weights + ins + outs
