"""Weight-only group quantization: `wq(bits, group, sym=true)`, e.g. `wq(bits=4, group=128)`.

Weights are stored at `bits` (8 or 4) with a 16-bit scale per `group` consecutive weights along
the reduction axis of each output column, and with `sym=false` a `bits`-bit zero point per group
as well (the GPTQ/AWQ layout); activations keep their precision, and the MACs run at it after
dequantization (where that happens is the hardware's `mac_array.dequantize_in_datapath`). Every
stored bit is counted by `accelsim.workload.quantized.GroupQuantized`: Q8_0 (`wq(8, 32)`) is 8.5
bits per weight, Q4_0 (`wq(4, 32)`) 4.5, GPTQ W4 g128 asymmetric 4.15625. Biases stay at the
activation precision.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accelsim.compress.decoder_graph import on_vector_unit
from accelsim.compress.methods.base import Followup, Parameter, Transform, layer_names, mac_share, selected
from accelsim.compress.methods.registry import register
from accelsim.errors import InputError
from accelsim.precision import Precision
from accelsim.workload.layers import Layer, Network
from accelsim.workload.quantized import GroupQuantized

if TYPE_CHECKING:
    from accelsim.compress.accuracy import ParametricAccuracy
    from accelsim.compress.measured import MeasurementSettings

#: Integer widths a weight may be stored at (the integer precisions of `accelsim.precision`).
BITS = {8: Precision.INT8, 4: Precision.INT4}
ALGORITHMS = ("rtn", "gptq", "awq")


def boolean(text: str | bool) -> bool:
    """`true`/`false` (also 1/0, yes/no) from a pipeline text; a ValueError otherwise."""
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise ValueError(text)


def integer_bits(method: str, bits: int) -> Precision:
    """The integer precision of `bits` (8 or 4); a one-line error otherwise."""
    if isinstance(bits, bool) or bits not in BITS:
        raise InputError(f"{method}: bits must be 8 or 4 (got {bits!r})")
    return BITS[bits]


@register
@dataclass(frozen=True)
class WeightQuantize(Transform):
    """Weight-only quantization to `bits` with a scale (and, asymmetric, a zero point) per group
    of `group` weights along K, on every MAC-array layer with weights or the named ones (a
    vector layer's norm parameters stay as they are)."""

    bits: int = 4
    group: int = 128
    sym: bool = True
    #: How the integers are chosen: round-to-nearest, GPTQ or AWQ. Cost-neutral (the same
    #: storage); it selects the published perplexity (`accelsim.compress.llm_perplexity`).
    algo: str = "gptq"
    layers: tuple[str, ...] | None = None

    method = "wq"
    parameters = (
        Parameter("bits", int),
        Parameter("group", int),
        Parameter("sym", boolean),
        Parameter("algo", str),
        Parameter("layers", layer_names, structured=True, keyword=True),
    )

    def __post_init__(self) -> None:
        integer_bits("wq", self.bits)
        if isinstance(self.group, bool) or not isinstance(self.group, int) or not 1 <= self.group <= 2**20:
            raise InputError(f"wq: group must be an integer in [1, 1,048,576] (got {self.group!r})")
        if not isinstance(self.sym, bool):
            raise InputError(f"wq: sym must be true or false (got {self.sym!r})")
        if self.algo not in ALGORITHMS:
            raise InputError(f"wq: algo must be one of {', '.join(ALGORITHMS)} (got {self.algo!r})")

    @property
    def storage(self) -> GroupQuantized:
        zero = 0 if self.sym else self.bits
        return GroupQuantized(BITS[self.bits], self.group, "k", zero_bits=zero)

    def apply(self, network: Network) -> Network:
        chosen = selected(network, self.layers, "wq")
        storage = self.storage

        def quantize(layer: Layer) -> Layer:
            if layer.name not in chosen or not layer.b_is_weight or on_vector_unit(layer):
                return layer
            if layer.b_storage is not None:
                raise InputError(f"wq: layer {layer.name} is already group-quantized ({layer.b_storage.describe()})")
            return dataclasses.replace(layer, weight_precision=storage.precision, b_storage=storage)

        return dataclasses.replace(network, layers=tuple(quantize(layer) for layer in network.layers))

    def describe(self) -> str:
        scope = f" on {', '.join(self.layers)}" if self.layers is not None else ""
        kind = "sym" if self.sym else "asym"
        return f"wq(int{self.bits}, group={self.group}, {kind}, {self.algo}{scope})"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """`curves.weight_only` of the weight precision (activations keep their precision), as
        `quantize` with 16-bit activations; perplexities of LLMs: `accelsim.compress.llm_accuracy`."""
        return 1 - (1 - curves.weight_only[BITS[self.bits]]) * mac_share(network, self.layers)

    def perplexity_setting(self) -> str:
        """The row of `accelsim.compress.llm_perplexity.PUBLISHED` this step reads."""
        return f"wq(int{self.bits}, g{self.group}, {self.algo})"

    def followup(self, settings: MeasurementSettings) -> Followup:
        """Post-training quantization: calibration only (RTN and GPTQ retrain nothing)."""
        return Followup(0, settings.finetune_learning_rate)
