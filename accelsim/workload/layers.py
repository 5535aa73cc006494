"""Layers and their GEMM views.

Every layer lowers to `groups` independent matrix products out[M, N] = A[M, K] x B[K, N]:
A holds input activations, B the weights (or, for an activation-by-activation MatMul, the second
activation operand). Element counts are exact: the activation elements a tile reads are the input
pixels its outputs actually touch (a convolution window slides over a feature map, it is not an
im2col copy), so bytes moved by a tiled schedule are those a real accelerator moves.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from accelsim.errors import InputError
from accelsim.precision import Precision, storage_bytes, wider
from accelsim.workload.provenance import ProvenanceStep
from accelsim.workload.quantized import GroupQuantized, QuantizedOutput
from accelsim.workload.sparsity import DENSE, WeightSparsity


class LayerError(InputError):
    """An invalid layer shape; the message names the layer and the field."""


def scaled(channels: int, width: float) -> int:
    """`channels` times a width multiplier, rounded, at least 1."""
    return max(1, round(channels * width))


#: Largest dimension of a layer: beyond it no tensor fits any memory (and 2^62 would overflow).
MAX_DIMENSION = 2**31


def _check(layer: str, name: str, value: int, minimum: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= MAX_DIMENSION:
        raise LayerError(f"layer {layer}: {name} must be an integer in [{minimum}, {MAX_DIMENSION:,}] (got {value!r})")


@dataclass(frozen=True)
class Layer:
    """Fields shared by every layer kind; subclasses describe the shape."""

    name: str
    weight_precision: Precision = Precision.FP32
    activation_precision: Precision = Precision.FP32
    #: The input does not come from an earlier layer of the network (network input, or an
    #: independent GEMM), so it may be fetched before earlier layers finish writing.
    independent: bool = False
    #: Names of the earlier layers whose outputs make this layer's input (through any unmodelled
    #: element-wise op such as a residual add or a pool). None: the previous layer.
    inputs: tuple[str, ...] | None = None
    #: Zero weights and their storage format (dense by default; ignored without weights).
    sparsity: WeightSparsity = DENSE
    #: The B operand stored group-quantized (weight-only quantization, or a quantized KV cache):
    #: its values at this integer precision plus per-group scales, dequantized to the activation
    #: precision before the MACs (`accelsim.workload.quantized`). None: stored at `b_precision`.
    b_storage: GroupQuantized | None = None
    #: Output columns written quantized (K and V appended to a quantized KV cache). None: every
    #: output at the activation precision.
    out_storage: QuantizedOutput | None = None
    #: Vector layers applied to each finished output tile on chip before it is written
    #: (`fuse(elementwise)`, `accelsim.workload.fused`): the output is the post-op tensor.
    epilogue: tuple[Layer, ...] = ()
    #: How many of the last names in `inputs` the epilogue reads (a residual add's stream)
    #: rather than the A operand.
    epilogue_inputs: int = 0
    #: Share of zeros in the input and in the output feature map, in [0, 1) (measured data a
    #: study attaches, `accelsim.workload.activation_zeros`): sizes feature maps a DRAM-side
    #: activation code stores (`dram.activation_compression`); nothing else reads them.
    input_zero_share: float = 0.0
    output_zero_share: float = 0.0

    kind = "layer"
    #: Loop orders the tiler may use (`accelsim.sim.tiling.ORDERS`); a fused attention keeps
    #: its query tile stationary.
    tile_orders: ClassVar[tuple[str, ...]] = ("gmnk", "gnmk")
    #: The unit that computes the layer: "mac" (the MAC array) or "vector" (the vector unit).
    unit = "mac"

    @property
    def vector_ops(self) -> int:
        """Vector-unit operations (`accelsim.workload.vector`); a GEMM layer has none."""
        return 0

    # --- epilogue: vector work on each output tile, in the array's shadow ------------------------
    @property
    def epilogue_ops(self) -> int:
        """Vector-unit operations applied to the output tiles on chip (fused vector layers)."""
        return sum(op.vector_ops for op in self.epilogue)

    def epilogue_tile_ops(self, groups: int, rows: int, n0: int, n1: int) -> int:
        """Epilogue operations of an output tile of `groups` x `rows` x columns [n0, n1): the
        fused layers are elementwise, so every output element costs the same."""
        if not self.epilogue:
            return 0
        return self.epilogue_ops // self.output_elements * groups * rows * (n1 - n0)

    def epilogue_tile_read_bytes(self, groups: int, rows: int, n0: int, n1: int) -> int:
        """DRAM bytes an output tile's epilogue reads: the second input of each fused two-input
        layer (a residual add's stream), at the activation precision."""
        extra = sum(getattr(op, "input_count", 1) - 1 for op in self.epilogue)
        return storage_bytes(extra * groups * rows * (n1 - n0), self.activation_precision) if extra else 0

    # --- a B operand partly held on chip (a decode step's KV cache, `accelsim.sim.kv_residency`) ---
    def b_on_chip_block_bytes(self, groups: int, k0: int, k1: int, n0: int, n1: int) -> int:
        """Bytes of the B block [k0, k1) x [n0, n1) of `groups` groups read from on chip rather
        than DRAM: none, unless the layer holds part of its B operand there (a MatMul over a KV
        cache with resident keys)."""
        return 0

    @property
    def b_on_chip_bytes(self) -> int:
        """Bytes of the whole B operand held on chip (see `b_on_chip_block_bytes`)."""
        _, k, n = self.gemm_mkn
        return self.b_on_chip_block_bytes(self.groups, 0, k, 0, n)

    @property
    def epilogue_read_bytes(self) -> int:
        m, _, n = self.gemm_mkn
        return self.epilogue_tile_read_bytes(self.groups, m, 0, n)

    # --- GEMM view, per group ------------------------------------------------------------------
    @property
    def groups(self) -> int:
        return 1

    @property
    def gemm_mkn(self) -> tuple[int, int, int]:
        raise NotImplementedError

    @property
    def b_is_weight(self) -> bool:
        """True when the B operand holds trained parameters (False for activation MatMul)."""
        return True

    @property
    def k_granule(self) -> int:
        """K tiles are multiples of this (a convolution splits K by whole input channels)."""
        return 1

    def a_tile_elements(self, m0: int, m1: int, k0: int, k1: int) -> int:
        """Distinct input elements that outputs [m0, m1) read over reduction range [k0, k1)."""
        return (m1 - m0) * (k1 - k0)

    def bias_elements(self) -> int:
        """Per-output-channel additive terms (a bias, or a folded batch-norm), per group."""
        return 0

    # --- exact counts --------------------------------------------------------------------------
    @property
    def macs(self) -> int:
        m, k, n = self.gemm_mkn
        return self.groups * m * k * n

    @property
    def weight_elements(self) -> int:
        """B operand elements plus bias terms, as stored for inference (batch-norm folded)."""
        m, k, n = self.gemm_mkn
        return self.groups * (k * n + self.bias_elements())

    @property
    def input_elements(self) -> int:
        m, k, _ = self.gemm_mkn
        return self.groups * self.a_tile_elements(0, m, 0, k)

    @property
    def output_elements(self) -> int:
        m, _, n = self.gemm_mkn
        return self.groups * m * n

    @property
    def input_tensor_elements(self) -> int:
        """Elements of the A operand tensor as its producer wrote it (a feature map, not im2col)."""
        m, k, _ = self.gemm_mkn
        return self.groups * m * k

    @property
    def parameter_count(self) -> int:
        """Trainable parameters as frameworks count them (batch-norm unfolded: 2 per channel)."""
        return self.weight_elements if self.b_is_weight else 0

    @property
    def mac_precision(self) -> Precision:
        b = self.weight_precision if self.b_is_weight else self.activation_precision
        return wider(b, self.activation_precision)

    @property
    def output_precision(self) -> Precision:
        """The precision the output is written at (whole tensor; a quantized cache aside): a fused
        quantization's, else the activations'."""
        for op in reversed(self.epilogue):
            if op.output_precision != op.activation_precision:
                return op.output_precision
        return self.activation_precision

    @property
    def b_precision(self) -> Precision:
        if self.b_storage is not None:
            return self.b_storage.precision
        return self.weight_precision if self.b_is_weight else self.activation_precision

    @property
    def b_sparsity(self) -> WeightSparsity:
        """Sparsity of the B operand: only trained weights are pruned."""
        return self.sparsity if self.b_is_weight else DENSE

    def weight_block_bytes(self, groups: int, k: int, n: int, bias_terms: int = 0) -> int:
        """Bytes of `groups` blocks of k x n B-operand values (plus `bias_terms` dense terms each)
        as stored in DRAM, in the layer's sparse format (`accelsim.workload.sparsity`)."""
        bits = self.b_precision.bits
        per_group = self.b_sparsity.stored_bits(k, n, bits, self.gemm_mkn[1]) + bias_terms * bits
        if self.b_storage is not None:  # scales beside the values; biases stay unquantized
            per_group += self.b_storage.side_bits(k, n) + bias_terms * (self.activation_precision.bits - bits)
        return -(-groups * per_group // 8)

    def output_block_bytes(self, groups: int, rows: int, n0: int, n1: int) -> int:
        """Bytes of `groups` x `rows` x output columns [n0, n1) as written to DRAM (at a fused
        quantization's precision when the epilogue ends in one)."""
        bits = self.output_precision.bits
        if self.out_storage is None:
            return -(-groups * rows * (n1 - n0) * bits // 8)
        return -(-groups * self.out_storage.block_bits(rows, n0, n1, bits) // 8)

    @property
    def dequantize_ops(self) -> int:
        """B-operand values dequantized (one multiply, or multiply-add with a zero point, each)
        per pass over the operand: 0 unless it is stored group-quantized."""
        if self.b_storage is None:
            return 0
        _, k, n = self.gemm_mkn
        return self.groups * self.b_sparsity.nonzeros(k, n)

    @property
    def weight_bytes(self) -> int:
        _, k, n = self.gemm_mkn
        return self.weight_block_bytes(self.groups, k, n, self.bias_elements())

    @property
    def nonzero_weights(self) -> int:
        """B-operand values that are not pruned away (biases excluded)."""
        _, k, n = self.gemm_mkn
        return self.groups * self.b_sparsity.nonzeros(k, n)

    @property
    def macs_skipping_zeros(self) -> int:
        """MACs left when the array skips every zero weight: one per nonzero weight per row."""
        m, _, _ = self.gemm_mkn
        return m * self.nonzero_weights

    @property
    def input_bytes(self) -> int:
        """The A operand, and the second inputs a fused epilogue reads."""
        return storage_bytes(self.input_elements, self.activation_precision) + self.epilogue_read_bytes

    @property
    def output_bytes(self) -> int:
        m, _, n = self.gemm_mkn
        return self.output_block_bytes(self.groups, m, 0, n)

    def with_precision(self, weights: Precision, activations: Precision) -> Layer:
        # Weights given a uniform precision are no longer group-quantized; a KV cache stays so.
        storage = None if self.b_is_weight else self.b_storage
        epilogue = tuple(op.with_precision(weights, activations) for op in self.epilogue)
        return dataclasses.replace(
            self, weight_precision=weights, activation_precision=activations, b_storage=storage, epilogue=epilogue
        )

    def describe(self) -> str:
        m, k, n = self.gemm_mkn
        g = f" x{self.groups} groups" if self.groups > 1 else ""
        return f"{self.kind} M={m} K={k} N={n}{g}{self._sparsity_note()}"

    def _sparsity_note(self) -> str:
        note = "" if self.b_sparsity.is_dense else f", {self.b_sparsity.describe()}"
        if self.epilogue:
            note += f", epilogue {'+'.join(op.kind for op in self.epilogue)} ({self.epilogue_ops:,} ops)"
        if self.b_storage is not None:
            note += f", {'weights' if self.b_is_weight else 'B'} {self.b_storage.describe()}"
        if self.out_storage is not None:
            note += f", out[{self.out_storage.first_column}:] {self.out_storage.storage.describe()}"
        return note

    # --- widths, for transforms that change them (pruning, distillation, low rank) -------------
    # A layer kind answers these itself, so a transform never asks which kind a layer is.
    @property
    def has_channels(self) -> bool:
        """True when the layer's outputs are channels (features) that a transform may remove;
        False for a layer whose output width follows its operands (an activation MatMul)."""
        return True

    @property
    def out_channels(self) -> int:
        """Output channels (features, columns of the weight matrix)."""
        raise InputError(f"layer {self.name}: {self.kind} has no output channels to change")

    @property
    def in_channels(self) -> int:
        """Input channels as the producer wrote them (a Linear reading a feature map: C x H x W)."""
        raise InputError(f"layer {self.name}: {self.kind} has no input channels to change")

    @property
    def is_depthwise(self) -> bool:
        """One output channel per input channel: its outputs follow its inputs."""
        return False

    def with_outputs(self, outputs: int) -> Layer:
        """The layer with `outputs` output channels."""
        raise InputError(f"layer {self.name}: cannot change the outputs of a {self.kind}")

    def with_inputs(self, old: int, new: int) -> Layer:
        """The layer reading `new` instead of `old` channels from its producer."""
        raise InputError(f"layer {self.name}: cannot change the inputs of a {self.kind}")

    def narrowed(self, width: float) -> Layer:
        """A layer without channels of its own, in a network whose widths are multiplied by `width`."""
        raise InputError(f"layer {self.name}: cannot narrow a {self.kind}")

    @property
    def low_rank_shape(self) -> tuple[int, int] | None:
        """(K, N) of the weight matrix a low-rank factorization splits; None: not factorable."""
        return None

    def factored(self, rank: int) -> tuple[Layer, Layer]:
        """Two layers `<name>.u` (to `rank` channels) then `<name>.v` computing this one's product."""
        raise InputError(f"layer {self.name}: a {self.kind} has no low-rank factorization")


@dataclass(frozen=True)
class Conv2d(Layer):
    """2-D convolution on a C x H x W feature map (batch 1); groups=in_channels is depthwise."""

    in_channels: int = 1
    out_channels: int = 1
    in_height: int = 1
    in_width: int = 1
    kernel: tuple[int, int] = (3, 3)
    stride: int = 1
    padding: int = 0
    groups: int = 1  # type: ignore[assignment]
    bias: bool = False
    batch_norm: bool = False

    kind = "conv2d"

    def __post_init__(self) -> None:
        for name in ("in_channels", "out_channels", "in_height", "in_width", "stride", "groups"):
            _check(self.name, name, getattr(self, name))
        _check(self.name, "padding", self.padding, 0)
        for v in self.kernel:
            _check(self.name, "kernel", v)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise LayerError(f"layer {self.name}: groups must divide in_channels and out_channels")
        if self.out_height < 1 or self.out_width < 1:
            raise LayerError(f"layer {self.name}: kernel larger than the padded input")

    @property
    def out_height(self) -> int:
        return (self.in_height + 2 * self.padding - self.kernel[0]) // self.stride + 1

    @property
    def out_width(self) -> int:
        return (self.in_width + 2 * self.padding - self.kernel[1]) // self.stride + 1

    @property
    def gemm_mkn(self) -> tuple[int, int, int]:
        kh, kw = self.kernel
        k = self.in_channels // self.groups * kh * kw
        return self.out_height * self.out_width, k, self.out_channels // self.groups

    @property
    def k_granule(self) -> int:
        return self.kernel[0] * self.kernel[1]

    def bias_elements(self) -> int:
        return self.out_channels // self.groups if (self.bias or self.batch_norm) else 0

    @property
    def parameter_count(self) -> int:
        # Unfolded batch-norm has a scale and a shift per channel; folding merges them into one bias.
        extra = self.out_channels if self.batch_norm else 0
        if self.batch_norm and self.bias:
            extra += self.out_channels
        return self.weight_elements + extra

    @property
    def input_tensor_elements(self) -> int:
        return self.in_channels * self.in_height * self.in_width

    def _span(self, o0: int, o1: int, kernel: int, size: int) -> int:
        """Input positions along one axis read by the windows of outputs [o0, o1] (inclusive),
        padding excluded. Windows overlap or touch when stride <= kernel, so they cover one
        range; a larger stride skips the positions between windows, which nothing reads."""
        s, p = self.stride, self.padding
        if s <= kernel:
            return max(min(o1 * s - p + kernel, size) - max(o0 * s - p, 0), 0)

        def clipped(o: int) -> int:
            return max(min(o * s - p + kernel, size) - max(o * s - p, 0), 0)

        # Windows wholly inside read `kernel` each; only a few at either end are clipped (a
        # window is `kernel` wide and `stride` apart), so the sum costs O(1), not O(outputs).
        first, last = max(o0, -(-p // s)), min(o1, (size - kernel + p) // s)
        inside = max(last - first + 1, 0) * kernel
        head = range(max(o0, (p - kernel) // s), min(o1, first - 1) + 1)
        tail = range(max(o0, last + 1, first), min(o1, (size + p) // s) + 1)
        return inside + sum(map(clipped, head)) + sum(map(clipped, tail))

    def a_tile_elements(self, m0: int, m1: int, k0: int, k1: int) -> int:
        kh, kw = self.kernel
        channels = (k1 - 1) // (kh * kw) - k0 // (kh * kw) + 1
        r0, r1 = m0 // self.out_width, (m1 - 1) // self.out_width
        rows = self._span(r0, r1, kh, self.in_height)
        if r0 == r1:
            c0, c1 = m0 % self.out_width, (m1 - 1) % self.out_width
        else:
            c0, c1 = 0, self.out_width - 1
        cols = self._span(c0, c1, kw, self.in_width)
        return channels * rows * cols

    @property
    def is_depthwise(self) -> bool:
        return self.groups == self.in_channels == self.out_channels and self.groups > 1

    def with_outputs(self, outputs: int) -> Layer:
        return dataclasses.replace(self, out_channels=outputs)

    def with_inputs(self, old: int, new: int) -> Layer:
        # A depthwise convolution keeps one output (and one group) per input channel.
        cin = self.in_channels * new // old
        if self.is_depthwise:
            return dataclasses.replace(self, in_channels=cin, out_channels=cin, groups=cin)
        return dataclasses.replace(self, in_channels=cin)

    @property
    def low_rank_shape(self) -> tuple[int, int] | None:
        kh, kw = self.kernel
        return (self.in_channels * kh * kw, self.out_channels) if self.groups == 1 else None

    def factored(self, rank: int) -> tuple[Layer, Layer]:
        """A k x k convolution to `rank` channels, then a 1 x 1 convolution to the outputs."""
        first = dataclasses.replace(
            self, name=f"{self.name}.u", out_channels=rank, bias=False, batch_norm=False, sparsity=DENSE
        )
        return first, self.pointwise_after(f"{self.name}.v", first)

    def pointwise_after(self, name: str, producer: Conv2d) -> Conv2d:
        """A 1 x 1 convolution `name` from `producer`'s output to this layer's outputs, with this
        layer's precisions, bias and batch-norm: the last factor of a factorization."""
        return Conv2d(
            name,
            weight_precision=self.weight_precision,
            activation_precision=self.activation_precision,
            inputs=(producer.name,),
            in_channels=producer.out_channels,
            out_channels=self.out_channels,
            in_height=producer.out_height,
            in_width=producer.out_width,
            kernel=(1, 1),
            bias=self.bias,
            batch_norm=self.batch_norm,
        )

    def describe(self) -> str:
        kh, kw = self.kernel
        g = f" g={self.groups}" if self.groups > 1 else ""
        return (
            f"conv {kh}x{kw}/{self.stride} {self.in_channels}x{self.in_height}x{self.in_width}"
            f" -> {self.out_channels}x{self.out_height}x{self.out_width}{g}{self._sparsity_note()}"
        )


@dataclass(frozen=True)
class Linear(Layer):
    """Fully connected layer applied to `tokens` rows (batch x sequence)."""

    in_features: int = 1
    out_features: int = 1
    tokens: int = 1
    bias: bool = True
    #: Extra per-feature parameters that fold away for inference (e.g. a LayerNorm's 2 x out).
    folded_parameters: int = 0

    kind = "linear"

    def __post_init__(self) -> None:
        for name in ("in_features", "out_features", "tokens"):
            _check(self.name, name, getattr(self, name))
        _check(self.name, "folded_parameters", self.folded_parameters, 0)

    @property
    def gemm_mkn(self) -> tuple[int, int, int]:
        return self.tokens, self.in_features, self.out_features

    def bias_elements(self) -> int:
        return self.out_features if self.bias else 0

    @property
    def parameter_count(self) -> int:
        return self.weight_elements + self.folded_parameters

    @property
    def out_channels(self) -> int:
        return self.out_features

    @property
    def in_channels(self) -> int:
        return self.in_features

    def with_outputs(self, outputs: int) -> Layer:
        return dataclasses.replace(self, out_features=outputs)

    def with_inputs(self, old: int, new: int) -> Layer:
        # Reading a flattened feature map, the features scale with the channels.
        return dataclasses.replace(self, in_features=self.in_features * new // old)

    @property
    def low_rank_shape(self) -> tuple[int, int] | None:
        return self.in_features, self.out_features

    def factored(self, rank: int) -> tuple[Layer, Layer]:
        """K x rank (no bias), then rank x N; the factors are dense."""
        first = dataclasses.replace(
            self, name=f"{self.name}.u", out_features=rank, bias=False, folded_parameters=0, sparsity=DENSE
        )
        second = dataclasses.replace(
            self, name=f"{self.name}.v", in_features=rank, inputs=(first.name,), independent=False, sparsity=DENSE
        )
        return first, second

    def describe(self) -> str:
        return f"linear {self.in_features} -> {self.out_features} x{self.tokens} tokens{self._sparsity_note()}"


@dataclass(frozen=True)
class MatMul(Layer):
    """Batched product of two activations (attention scores, attention-weighted values)."""

    batch: int = 1
    m: int = 1
    k: int = 1
    n: int = 1
    #: Which of k and n runs over the attended keys ("": unknown, the one equal to m).
    keys_axis: str = ""
    #: Keys [0, resident_keys) of the B operand (a decode step's K or V cache) are held on chip,
    #: so their tiles are read from SRAM, not DRAM (set by `accelsim.sim.kv_residency`).
    resident_keys: int = 0

    kind = "matmul"

    def __post_init__(self) -> None:
        for name in ("batch", "m", "k", "n"):
            _check(self.name, name, getattr(self, name))
        if self.keys_axis not in ("", "k", "n"):
            raise LayerError(f"layer {self.name}: keys_axis must be k, n or empty (got {self.keys_axis!r})")
        keys = self.n if self.keys_axis == "n" else self.k
        if self.resident_keys and (not self.keys_axis or not 0 <= self.resident_keys <= keys):
            raise LayerError(
                f"layer {self.name}: resident_keys must be in [0, {keys}] on a keys axis (got {self.resident_keys})"
            )

    def b_on_chip_block_bytes(self, groups: int, k0: int, k1: int, n0: int, n1: int) -> int:
        # The block less its keys at or beyond resident_keys, each part rounded as stored.
        if not self.resident_keys:
            return 0
        k, n = k1 - k0, n1 - n0
        if self.keys_axis == "n":
            fetched_k, fetched_n = k, n - max(0, min(n1, self.resident_keys) - n0)
        else:
            fetched_k, fetched_n = k - max(0, min(k1, self.resident_keys) - k0), n
        return self.weight_block_bytes(groups, k, n) - self.weight_block_bytes(groups, fetched_k, fetched_n)

    @property
    def groups(self) -> int:
        return self.batch

    @property
    def gemm_mkn(self) -> tuple[int, int, int]:
        return self.m, self.k, self.n

    @property
    def b_is_weight(self) -> bool:
        return False

    @property
    def has_channels(self) -> bool:
        return False

    def narrowed(self, width: float) -> Layer:
        # Attention: the head size shrinks, not the sequence (the keys axis; unknown: a k or n
        # equal to m, as in self-attention over a whole sequence).
        k = self.k if self.keys_axis == "k" or (not self.keys_axis and self.k == self.m) else scaled(self.k, width)
        n = self.n if self.keys_axis == "n" or (not self.keys_axis and self.n == self.m) else scaled(self.n, width)
        return dataclasses.replace(self, k=k, n=n)

    def describe(self) -> str:
        return f"matmul {self.batch}x({self.m}x{self.k} @ {self.k}x{self.n}){self._sparsity_note()}"


@dataclass(frozen=True)
class Gemm(Layer):
    """A plain matrix product with a weight operand: out[M, N] = A[M, K] x W[K, N]."""

    m: int = 1
    k: int = 1
    n: int = 1

    kind = "gemm"

    def __post_init__(self) -> None:
        for name in ("m", "k", "n"):
            _check(self.name, name, getattr(self, name))

    @property
    def gemm_mkn(self) -> tuple[int, int, int]:
        return self.m, self.k, self.n

    @property
    def out_channels(self) -> int:
        return self.n

    @property
    def in_channels(self) -> int:
        return self.k

    def with_outputs(self, outputs: int) -> Layer:
        return dataclasses.replace(self, n=outputs)

    def with_inputs(self, old: int, new: int) -> Layer:
        return dataclasses.replace(self, k=self.k * new // old)

    def describe(self) -> str:
        return f"gemm {self.m}x{self.k} @ {self.k}x{self.n}{self._sparsity_note()}"


@dataclass(frozen=True)
class Network:
    """An ordered list of layers, run one after another (batch 1)."""

    name: str
    layers: tuple[Layer, ...]
    description: str = ""
    #: Compression steps that produced this network from a built-in one, in order.
    provenance: tuple[ProvenanceStep, ...] = ()
    #: The layers stand for the inside of a larger model (e.g. the seed's stand-alone GEMMs):
    #: no width is fixed by the data or the classes, so pruning and distillation may change
    #: every layer's inputs and outputs. False: the network input and last layer keep theirs.
    interior: bool = False

    def __post_init__(self) -> None:
        if not self.layers:
            raise LayerError(f"network {self.name}: has no layers")
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise LayerError(f"network {self.name}: layer names are not unique")
        if not all(isinstance(step, ProvenanceStep) for step in self.provenance):
            raise LayerError(f"network {self.name}: provenance must be ProvenanceStep records")
        earlier: set[str] = set()  # a set, not names[:i]: a generation has tens of thousands of layers
        for layer in self.layers:
            for source in layer.inputs or ():
                if source not in earlier:
                    raise LayerError(f"layer {layer.name}: inputs: {source!r} is not an earlier layer of {self.name}")
            earlier.add(layer.name)

    def producers(self) -> tuple[tuple[int, ...], ...]:
        """Per layer, the indices of the layers whose outputs it reads (empty: network input)."""
        index = {layer.name: i for i, layer in enumerate(self.layers)}
        out = []
        for i, layer in enumerate(self.layers):
            if layer.independent or i == 0:
                out.append(())
            elif layer.inputs is None:
                out.append((i - 1,))
            else:
                out.append(tuple(index[name] for name in layer.inputs))
        return tuple(out)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def parameter_count(self) -> int:
        return sum(layer.parameter_count for layer in self.layers)

    @property
    def weight_bytes(self) -> int:
        return sum(layer.weight_bytes for layer in self.layers if layer.b_is_weight)

    def with_precision(self, weights: Precision, activations: Precision | None = None) -> Network:
        """Every layer at one precision (activations default to the weights' precision)."""
        act = activations or weights
        layers = tuple(layer.with_precision(weights, act) for layer in self.layers)
        return dataclasses.replace(self, layers=layers)
