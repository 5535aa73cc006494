"""Vector layers: the non-GEMM work of a network, run on the vector unit beside the MAC array.

A vector layer works on `rows` independent rows of `row_length` input elements each (a feature
map is `channels` rows of H x W; a token-major tensor is `tokens` rows of its features). Per
row it reads `row_length` elements of each of its `input_count` input tensors, writes
`out_length` elements, and performs `row_ops` operations; its constant operand (a norm's
gamma/beta, a batch-norm's scale and shift, a rotary table) is `row_parameters` values per row
plus `shared_parameters` values that every row uses. It has no GEMM view and performs no MACs.

What one operation is. A vector operation is one pass of one element through one lane's ALU:
an add, subtract, multiply, compare (max) or select. A special function (exp, tanh, reciprocal,
reciprocal square root) costs SPECIAL_FUNCTION_OPS = 4: range reduction (a multiply and a
floor-subtract) and a degree-2 polynomial in Horner form (two multiply-adds), the usual
software sequence on a SIMD unit without a transcendental unit (cf. Schraudolph's exp and the
ARM CMSIS-NN / Intel SVML polynomial kernels). Per element, or per row of length L:

| kind | operations | count |
| --- | --- | --- |
| add, mul (two inputs) | one add or multiply | 1 per element |
| relu | max(x, 0) | 1 per element |
| relu6 | min(max(x, 0), 6) (MobileNetV2) | 2 per element |
| gelu | tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (Hendrycks & Gimpel 2016, as GPT-2): x^2, x^3, 0.044715 x^3, + x, x sqrt(2/pi), tanh (4), + 1, x x, x 0.5 | 12 per element |
| silu | x / (1 + exp(-x)) (Elfwing et al. 2018; Llama's SwiGLU): negate, exp (4), + 1, reciprocal (4), multiply | 11 per element |
| softmax | max (L - 1 compares), subtract L, exp 4L, sum L - 1, one reciprocal 4, multiply L | 8L + 2 per row |
| layernorm | mean (L - 1 adds, 1 multiply), subtract L, variance (L squares, L - 1 adds, 1 multiply), + eps 1, rsqrt 4, normalize L, gamma L, beta L | 7L + 5 per row |
| rmsnorm | L squares, L - 1 adds, 1 multiply, + eps 1, rsqrt 4, normalize L, gamma L | 4L + 5 per row |
| batchnorm | inference batch-norm y = a x + b with per-channel a, b | 2 per element |
| rotary | per pair (x1, x2): x1 cos - x2 sin, x1 sin + x2 cos (4 multiplies, 2 adds) | 3 per element |
| maxpool | k x k window: k^2 - 1 compares | (k^2 - 1) per output |
| avgpool | k x k window: k^2 - 1 adds, 1 multiply by 1/k^2 | k^2 per output |
| quantize | multiply by 1/scale, round, clamp (2 compares) | 4 per element |
| dequantize | (x - zero point) x scale | 2 per element |

A row too long for the buffers is split into parts (see `accelsim.sim.tiling`); reductions
combine partial results (online softmax, Welford), counted in the whole row's operations.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from accelsim.precision import Precision, storage_bytes
from accelsim.workload.layers import Layer, LayerError, Network, _check, scaled

#: Operations of one special function (exp, tanh, reciprocal, rsqrt); module docstring.
SPECIAL_FUNCTION_OPS = 4


@dataclass(frozen=True)
class VectorOp(Layer):
    """A layer of the vector unit: `rows` x `row_length` elements (module docstring).

    `channels_on_rows`: whether the channels a pruning or distillation transform changes are
    the rows (a C x H x W feature map) or the row elements (a tokens x features tensor)."""

    rows: int = 1
    row_length: int = 1
    channels_on_rows: bool = False

    unit = "vector"
    kind = "vector"
    #: Input tensors read element by element (a residual add reads two).
    input_count = 1

    def __post_init__(self) -> None:
        _check(self.name, "rows", self.rows)
        _check(self.name, "row_length", self.row_length)
        if self.inputs is not None and len(self.inputs) not in (1, self.input_count):
            raise LayerError(f"layer {self.name}: inputs must name 1 or {self.input_count} layers")

    # --- per row ------------------------------------------------------------------------------
    @property
    def out_length(self) -> int:
        """Output elements per row."""
        return self.row_length

    @property
    def row_ops(self) -> int:
        """Vector operations per row (module docstring)."""
        return self.row_length * self.ops_per_element

    #: Operations per element for elementwise kinds.
    ops_per_element = 1

    @property
    def row_parameters(self) -> int:
        """Constant operand values each row has of its own (a batch-norm channel's scale, shift)."""
        return 0

    @property
    def shared_parameters(self) -> int:
        """Constant operand values every row uses (a LayerNorm's gamma and beta)."""
        return 0

    @property
    def trainable(self) -> bool:
        """Whether the constant operand counts as parameters (a rotary table does not)."""
        return True

    @property
    def output_precision(self) -> Precision:
        return self.activation_precision

    # --- exact counts -------------------------------------------------------------------------
    @property
    def gemm_mkn(self) -> tuple[int, int, int]:
        return (0, 0, 0)  # no GEMM view: no MACs

    @property
    def macs(self) -> int:
        return 0

    @property
    def vector_ops(self) -> int:
        return self.rows * self.row_ops

    @property
    def weight_elements(self) -> int:
        return self.rows * self.row_parameters + self.shared_parameters

    @property
    def parameter_count(self) -> int:
        return self.weight_elements if self.trainable else 0

    @property
    def input_elements(self) -> int:
        return self.input_count * self.rows * self.row_length

    @property
    def input_tensor_elements(self) -> int:
        """Elements of one input tensor as its producer wrote it."""
        return self.rows * self.row_length

    @property
    def output_elements(self) -> int:
        return self.rows * self.out_length

    @property
    def output_bytes(self) -> int:
        return self.output_block_bytes(1, self.rows, 0, self.out_length)

    def output_block_bytes(self, groups: int, rows: int, n0: int, n1: int) -> int:
        """At the output precision; a rotary K written to a quantized cache at its format."""
        if self.out_storage is not None:
            return super().output_block_bytes(groups, rows, n0, n1)
        return storage_bytes(groups * rows * (n1 - n0), self.output_precision)

    @property
    def weight_bytes(self) -> int:
        return storage_bytes(self.weight_elements, self.weight_precision)

    @property
    def b_is_weight(self) -> bool:
        return self.weight_elements > 0

    @property
    def nonzero_weights(self) -> int:
        return 0

    @property
    def macs_skipping_zeros(self) -> int:
        return 0

    @property
    def mac_precision(self) -> Precision:
        """The vector unit computes at the activations' precision."""
        return self.activation_precision

    def describe(self) -> str:
        inputs = f" x{self.input_count} inputs" if self.input_count > 1 else ""
        return f"{self.kind} {self.rows}x{self.row_length}{inputs} ({self.vector_ops:,} ops)"

    # --- widths -------------------------------------------------------------------------------
    @property
    def out_channels(self) -> int:
        return self.rows if self.channels_on_rows else self.row_length

    @property
    def in_channels(self) -> int:
        return self.out_channels

    @property
    def is_depthwise(self) -> bool:
        """Its outputs follow its inputs channel for channel, as a depthwise convolution's."""
        return True

    def _with_channels(self, channels: int) -> Layer:
        field = "rows" if self.channels_on_rows else "row_length"
        return dataclasses.replace(self, **{field: channels})

    def with_outputs(self, outputs: int) -> Layer:
        return self._with_channels(outputs)

    def with_inputs(self, old: int, new: int) -> Layer:
        return self._with_channels(self.out_channels * new // old)

    def narrowed(self, width: float) -> Layer:
        return self._with_channels(scaled(self.out_channels, width))


@dataclass(frozen=True)
class Elementwise(VectorOp):
    """A binary elementwise op on two tensors of equal shape: `op` is "add" or "mul". A
    residual add is an add whose `inputs` name both producers."""

    op: str = "add"

    kind = "elementwise"
    input_count = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.op not in ("add", "mul"):
            raise LayerError(f"layer {self.name}: op must be add or mul (got {self.op!r})")

    def describe(self) -> str:
        return f"{self.op} {self.rows}x{self.row_length} x2 inputs ({self.vector_ops:,} ops)"


@dataclass(frozen=True)
class Activation(VectorOp):
    """An elementwise activation function: `function` is relu, relu6, gelu or silu."""

    function: str = "relu"

    kind = "activation"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.function not in ACTIVATION_OPS:
            allowed = ", ".join(ACTIVATION_OPS)
            raise LayerError(f"layer {self.name}: function must be one of {allowed} (got {self.function!r})")

    @property
    def row_ops(self) -> int:
        return self.row_length * ACTIVATION_OPS[self.function]

    def describe(self) -> str:
        return f"{self.function} {self.rows}x{self.row_length} ({self.vector_ops:,} ops)"


#: Operations per element of each activation function (module docstring).
ACTIVATION_OPS = {
    "relu": 1,
    "relu6": 2,
    "gelu": 8 + SPECIAL_FUNCTION_OPS,
    "silu": 3 + 2 * SPECIAL_FUNCTION_OPS,
}


def softmax_row_ops(length: int) -> int:
    """Operations of a softmax over a row of `length`: max, subtract, exp, sum, one reciprocal,
    multiply (the fused attention's online softmax counts the same)."""
    return (length - 1) + length + SPECIAL_FUNCTION_OPS * length + (length - 1) + SPECIAL_FUNCTION_OPS + length


@dataclass(frozen=True)
class Softmax(VectorOp):
    """Softmax along each row: max, subtract, exp, sum, divide."""

    kind = "softmax"

    @property
    def has_channels(self) -> bool:
        """Its rows are attention scores: their length is the sequence, not a width."""
        return False

    def narrowed(self, width: float) -> Layer:
        return self

    @property
    def row_ops(self) -> int:
        return softmax_row_ops(self.row_length)


@dataclass(frozen=True)
class LayerNorm(VectorOp):
    """LayerNorm over each row, with gamma and beta (2 x row_length parameters)."""

    kind = "layernorm"

    @property
    def row_ops(self) -> int:
        n = self.row_length
        return n + n + (2 * n) + 1 + SPECIAL_FUNCTION_OPS + 3 * n

    @property
    def shared_parameters(self) -> int:
        return 2 * self.row_length


@dataclass(frozen=True)
class RMSNorm(VectorOp):
    """RMSNorm over each row, with gamma (row_length parameters)."""

    kind = "rmsnorm"

    @property
    def row_ops(self) -> int:
        n = self.row_length
        return n + (n - 1) + 1 + 1 + SPECIAL_FUNCTION_OPS + 2 * n

    @property
    def shared_parameters(self) -> int:
        return self.row_length


@dataclass(frozen=True)
class BatchNorm(VectorOp):
    """Inference batch-norm, unfolded: y = a x + b per channel (rows are channels), with the
    channel's scale and shift (2 parameters per channel, as frameworks count gamma and beta)."""

    kind = "batchnorm"
    ops_per_element = 2

    @property
    def row_parameters(self) -> int:
        return 2


@dataclass(frozen=True)
class Rotary(VectorOp):
    """Rotary position embedding of queries or keys: rows are tokens, a row is heads x head_dim.
    Each token's cos/sin table (head_dim values: cos and sin of head_dim / 2 frequencies) is
    the constant operand, shared by the token's heads and not a trained parameter."""

    head_dim: int = 2

    kind = "rotary"
    ops_per_element = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(self.name, "head_dim", self.head_dim)
        if self.head_dim % 2 or self.head_dim > self.row_length:
            raise LayerError(f"layer {self.name}: head_dim must be even and at most row_length")

    @property
    def row_parameters(self) -> int:
        return self.head_dim

    def _with_channels(self, channels: int) -> Layer:
        # The heads stay; each head's size follows the width (as an attention product's does).
        heads = max(self.row_length // self.head_dim, 1)
        head_dim = max(2, channels // heads // 2 * 2)
        return dataclasses.replace(self, row_length=max(channels, head_dim), head_dim=head_dim)

    @property
    def trainable(self) -> bool:
        return False


@dataclass(frozen=True)
class Pool(VectorOp):
    """Max or average pooling of a C x H x W map: rows are channels (row_length = H x W), each
    output a k x k window at `stride` with `padding`. A global average pool is a window the
    size of the map."""

    mode: str = "max"
    in_height: int = 1
    in_width: int = 1
    kernel: int = 2
    stride: int = 2
    padding: int = 0
    channels_on_rows: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode not in ("max", "avg"):
            raise LayerError(f"layer {self.name}: mode must be max or avg (got {self.mode!r})")
        for name in ("in_height", "in_width", "kernel", "stride"):
            _check(self.name, name, getattr(self, name))
        _check(self.name, "padding", self.padding, 0)
        if self.in_height * self.in_width != self.row_length:
            raise LayerError(f"layer {self.name}: row_length must be in_height x in_width")
        if self.out_height < 1 or self.out_width < 1:
            raise LayerError(f"layer {self.name}: kernel larger than the padded input")

    @property
    def kind(self) -> str:  # type: ignore[override]
        return f"{self.mode}pool"

    @property
    def out_height(self) -> int:
        return (self.in_height + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def out_width(self) -> int:
        return (self.in_width + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def out_length(self) -> int:
        return self.out_height * self.out_width

    @property
    def row_ops(self) -> int:
        per_output = self.kernel**2 - 1 if self.mode == "max" else self.kernel**2
        return self.out_length * per_output

    def describe(self) -> str:
        k, s = self.kernel, self.stride
        return (
            f"{self.mode}pool {k}x{k}/{s} {self.rows}x{self.in_height}x{self.in_width}"
            f" -> {self.rows}x{self.out_height}x{self.out_width} ({self.vector_ops:,} ops)"
        )


@dataclass(frozen=True)
class Quantize(VectorOp):
    """(De)quantization: converts each element to `to_precision`. To an integer precision it
    quantizes (4 operations per element), to a float one it dequantizes (2)."""

    to_precision: Precision = Precision.INT8

    kind = "quantize"

    @property
    def ops_per_element(self) -> int:  # type: ignore[override]
        return 4 if self.to_precision.is_integer else 2

    @property
    def output_precision(self) -> Precision:
        return self.to_precision

    def describe(self) -> str:
        word = "quantize" if self.to_precision.is_integer else "dequantize"
        return f"{word} {self.rows}x{self.row_length} {self.activation_precision.value} -> {self.to_precision.value}"


def without_vector_layers(network: Network) -> Network:
    """The network as an accelerator without a vector unit of its own runs it: every vector
    layer removed, a batch-norm folded back into the convolution before it (one bias per
    channel), and a layer that read a removed one reading what that one read (a residual add:
    the sum named by its terms, a sum as its first term, as GEMM-only networks name it). For hardware whose
    convolution pipeline applies batch-norm, activation and element-wise adds on the fly
    (NVDLA's SDP), and for comparisons with a GEMM-only model (seed 001's arithmetic intensity)."""
    layers = network.layers
    producers = network.producers()
    kept: list[Layer] = []
    sources: dict[int, tuple[int, ...]] = {}  # a removed layer -> the kept layers it stands for
    folded: set[int] = set()
    for i, layer in enumerate(layers):
        if layer.unit == "vector":
            terms = [sources.get(p, (p,)) for p in producers[i]]
            # A sum whose second term is a sum is named by that term's first (the block input).
            sources[i] = terms[0] + terms[1][:1] if len(terms) == 2 else tuple(s for t in terms for s in t)
            if isinstance(layer, BatchNorm) and len(producers[i]) == 1 and producers[i][0] not in sources:
                folded.add(producers[i][0])
    for i, layer in enumerate(layers):
        if layer.unit == "vector":
            continue
        if i in folded:
            layer = dataclasses.replace(layer, batch_norm=True)
        reads = tuple(s for p in producers[i] for s in sources.get(p, (p,)))
        if producers[i] and not reads:  # it read vector layers reading the network input
            layer = dataclasses.replace(layer, inputs=None, independent=True)
        elif producers[i] and (layer.inputs is not None or reads != (_previous_kept(i, sources),)):
            layer = dataclasses.replace(layer, inputs=tuple(layers[s].name for s in reads))
        elif producers[i]:
            layer = dataclasses.replace(layer, inputs=None)
        kept.append(layer)
    return dataclasses.replace(network, layers=tuple(kept))


def _previous_kept(i: int, removed: dict[int, tuple[int, ...]]) -> int:
    """The kept layer before layer i (what `inputs=None` reads once vector layers are gone)."""
    j = i - 1
    while j in removed:
        j -= 1
    return j
