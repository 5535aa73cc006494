"""Hardware description: frozen, validated configuration with SI units in every name.

Every default lives here (energy figures in `accelsim.energy_table`). Each class validates its
own fields on construction, so no invalid `Accelerator` can exist; errors are `ConfigError`
with one line naming the field and its allowed range.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from fractions import Fraction
from pathlib import Path
from typing import Any

import tomli_w

from accelsim.dram_devices import PAGE_POLICIES, AddressMapping, DramDevice
from accelsim.dram_devices import PRESETS as DRAM_PRESETS
from accelsim.energy_table import (
    DRAM_ENERGY_PJ_PER_BYTE,
    MAC_ENERGY_PJ,
    VECTOR_OP_ENERGY_PJ,
    sram_energy_pj_per_byte,
)
from accelsim.errors import InputError
from accelsim.precision import Precision

DRAM_MODELS = ("simple", "banked")
DRAM_LAYOUTS = ("tiled", "row-major")


class ConfigError(InputError):
    """An invalid configuration value; the message is one line naming the field."""


def _require(ok: bool, name: str, rule: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{name}: must be {rule} (got {value!r})")


def _positive_int(section: str, name: str, value: Any, minimum: int = 1, maximum: int = 2**40) -> None:
    """An integer in [minimum, maximum]; the bound keeps values physical and arithmetic exact."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    rule = f"an integer in [{minimum:,}, {maximum:,}]"
    _require(is_int and minimum <= value <= maximum, f"{section}.{name}", rule, value)


def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    _require(value in allowed, name, f"one of {', '.join(allowed)}", value)


def _positive_number(
    section: str, name: str, value: Any, allow_zero: bool = False, minimum: float = 0.0, maximum: float = 1e6
) -> None:
    """A finite number > minimum (>= with allow_zero) and <= maximum."""
    is_num = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = is_num and math.isfinite(value) and (value >= minimum if allow_zero else value > minimum) and value <= maximum
    low = f">= {minimum:g}" if allow_zero else f"> {minimum:g}"
    _require(ok, f"{section}.{name}", f"a number {low} and <= {maximum:g}", value)


@dataclass(frozen=True)
class PerPrecision:
    """One number per operand precision."""

    fp32: float
    fp16: float
    bf16: float
    int8: float
    int4: float

    def __getitem__(self, precision: Precision) -> float:
        return getattr(self, precision.value)

    def validate(self, section: str, integer: bool) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if integer:
                _positive_int(section, f.name, value, maximum=64)
            else:
                _positive_number(section, f.name, value, allow_zero=True)


#: Precision-scalable array: a lane splits into 2 FP16/BF16, 4 INT8 or 8 INT4 multipliers.
SCALABLE_PACK = PerPrecision(fp32=1, fp16=2, bf16=2, int8=4, int4=8)
#: Fixed-width array: one MAC per lane per cycle whatever the precision.
FIXED_PACK = PerPrecision(fp32=1, fp16=1, bf16=1, int8=1, int4=1)
DEFAULT_MAC_ENERGY_PJ = PerPrecision(**{p.value: MAC_ENERGY_PJ[p] for p in Precision})
DEFAULT_VECTOR_ENERGY_PJ = PerPrecision(**{p.value: VECTOR_OP_ENERGY_PJ[p] for p in Precision})
#: A vector lane is a SIMD ALU that splits like the MAC lanes: 2 FP16/BF16, 4 INT8, 8 INT4.
DEFAULT_VECTOR_OPS_PER_LANE = PerPrecision(fp32=1, fp16=2, bf16=2, int8=4, int4=8)
#: Vector lanes of the seed hardware: one per four MAC lanes (64 / 4). NVDLA pairs its 2048-MAC
#: array with a 16-element-per-cycle SDP (1:128); TPUs and NPUs for transformers use wider ones
#: (softmax and norms are a share of time there); 1:4 is between, and a preset may set its own.
DEFAULT_VECTOR_LANES = 16

GEOMETRIES = ("vector", "systolic")
#: Systolic dataflows: output, weight or input stationary (SCALE-Sim's os, ws, is), or Eyeriss's
#: row stationary (`rs`: `accelsim.sim.row_stationary`).
DATAFLOWS = ("os", "ws", "is", "rs")
#: DRAM-side coding of feature maps: none, or Eyeriss's run-length code (`accelsim.sim.rlc`).
ACTIVATION_COMPRESSIONS = ("none", "rlc")
#: Systolic compute schedules: `tiles` (every tile's folds pay their load, fill and drain) or
#: `scalesim-folds` (SCALE-Sim's: each fold of the whole layer pays them once, whatever the
#: buffers make of its stream; see `accelsim.sim.tiling`).
SCHEDULES = ("tiles", "scalesim-folds")


def _is_pattern(text: Any) -> bool:
    if text == "none":
        return True
    n, _, m = str(text).partition(":")
    return n.isdigit() and m.isdigit() and 1 <= int(n) < int(m)


@dataclass(frozen=True)
class MacArray:
    """The MAC array: `lanes` units, each doing `pack[precision]` MACs per cycle (`vector`), or
    a `rows` x `cols` grid of processing elements, one MAC each per cycle, fed by a `dataflow`
    with fill and drain cycles (`systolic`; `pack` does not apply)."""

    lanes: int = 64
    geometry: str = "vector"
    #: Systolic geometry only: the grid (rows x cols must equal lanes) and what stays in place.
    rows: int = 8
    cols: int = 8
    dataflow: str = "os"
    pack: PerPrecision = SCALABLE_PACK
    energy_per_mac_pj: PerPrecision = DEFAULT_MAC_ENERGY_PJ
    #: Fixed cycles a tile occupies the array beyond its MAC cycles (pipeline fill and drain).
    tile_overhead_cycles: int = 0
    #: Skip every zero weight (unstructured or N:M sparsity): only nonzero weights take MAC
    #: slots, with ideal load balance across lanes.
    zero_skipping: bool = False
    #: An N:M pattern ("2:4") the array executes natively, as sparse tensor cores do: layers
    #: pruned to exactly this pattern run N/M of their dense MACs. "none": no such support.
    sparse_pattern: str = "none"
    #: Systolic geometry only: `tiles` or `scalesim-folds` (SCHEDULES).
    schedule: str = "tiles"
    #: Group-quantized operands (weight-only quantization, a quantized KV cache) are dequantized
    #: in the MAC datapath as they enter it (no extra operations), else on the vector unit (one
    #: vector operation per stored value, `Layer.dequantize_ops`).
    dequantize_in_datapath: bool = False
    #: The share of the peak MAC rate that real kernels sustain, in (0, 1]: a step of c peak
    #: cycles occupies the array ceil(c / fraction) cycles, the extra ones with idle lanes (a
    #: device family's calibration constant, `accelsim.study.calibration`; 1 is the ideal array).
    sustained_fraction: float = 1.0
    #: Atomic operation of the array (NVDLA's atomic-C x atomic-K): each cycle multiplies
    #: `atomic_c` input channels by `atomic_k` kernels, so a tile's input channels (times the
    #: stride squared, folded into channels) are padded to whole multiples of `atomic_c` and its
    #: output channels to multiples of `atomic_k`; the padding costs cycles, not MACs
    #: (`accelsim.sim.atomic_padding`). 1 and 1: no padding (vector geometry only).
    atomic_c: int = 1
    atomic_k: int = 1
    #: Row-stationary dataflow only: each PE's scratchpads in 16-bit entries (Eyeriss, JSSC 2017:
    #: filter 224, ifmap 12, psum 24).
    pe_filter_spad_entries: int = 224
    pe_ifmap_spad_entries: int = 12
    pe_psum_spad_entries: int = 24

    def __post_init__(self) -> None:
        _positive_int("mac_array", "lanes", self.lanes, maximum=2**24)
        _positive_int("mac_array", "atomic_c", self.atomic_c, maximum=2**12)
        _positive_int("mac_array", "atomic_k", self.atomic_k, maximum=2**12)
        for name in ("pe_filter_spad_entries", "pe_ifmap_spad_entries", "pe_psum_spad_entries"):
            _positive_int("mac_array", name, getattr(self, name), maximum=2**20)
        _positive_number(
            "mac_array", "sustained_fraction", self.sustained_fraction, allow_zero=True, minimum=1e-6, maximum=1.0
        )
        _require(self.geometry in GEOMETRIES, "mac_array.geometry", "one of " + ", ".join(GEOMETRIES), self.geometry)
        _positive_int("mac_array", "rows", self.rows, maximum=2**12)
        _positive_int("mac_array", "cols", self.cols, maximum=2**12)
        _require(self.dataflow in DATAFLOWS, "mac_array.dataflow", "one of " + ", ".join(DATAFLOWS), self.dataflow)
        self.pack.validate("mac_array.pack", integer=True)
        self.energy_per_mac_pj.validate("mac_array.energy_per_mac_pj", integer=False)
        _positive_int("mac_array", "tile_overhead_cycles", self.tile_overhead_cycles, minimum=0, maximum=2**20)
        _require(isinstance(self.zero_skipping, bool), "mac_array.zero_skipping", "true or false", self.zero_skipping)
        _require(
            _is_pattern(self.sparse_pattern),
            "mac_array.sparse_pattern",
            '"none" or "N:M" with 1 <= N < M',
            self.sparse_pattern,
        )
        _require(
            isinstance(self.dequantize_in_datapath, bool),
            "mac_array.dequantize_in_datapath",
            "true or false",
            self.dequantize_in_datapath,
        )
        _require(self.schedule in SCHEDULES, "mac_array.schedule", "one of " + ", ".join(SCHEDULES), self.schedule)
        _require(
            self.systolic or self.schedule == "tiles", "mac_array.schedule", '"tiles" for a vector array', self.schedule
        )
        _require(
            self.dataflow != "rs" or (self.systolic and self.schedule == "tiles"),
            "mac_array.dataflow",
            '"rs" only on a systolic array with schedule "tiles"',
            self.dataflow,
        )
        if self.systolic:
            _require(
                self.lanes == self.rows * self.cols,
                "mac_array.lanes",
                f"rows x cols = {self.rows * self.cols} for a systolic array",
                self.lanes,
            )
            _require(
                not self.zero_skipping, "mac_array.zero_skipping", "false for a systolic array", self.zero_skipping
            )
            _require(
                self.sustained_fraction == 1,
                "mac_array.sustained_fraction",
                "1 for a systolic array (its fill and drain are modelled)",
                self.sustained_fraction,
            )
            _require(
                self.sparse_pattern == "none",
                "mac_array.sparse_pattern",
                '"none" for a systolic array',
                self.sparse_pattern,
            )
            _require(self.atomic_c == 1, "mac_array.atomic_c", "1 for a systolic array", self.atomic_c)
            _require(self.atomic_k == 1, "mac_array.atomic_k", "1 for a systolic array", self.atomic_k)

    @property
    def systolic(self) -> bool:
        return self.geometry == "systolic"

    def macs_per_cycle(self, precision: Precision) -> int:
        """Peak MACs per cycle: a systolic PE does one at any precision."""
        return self.lanes if self.systolic else self.lanes * int(self.pack[precision])


@dataclass(frozen=True)
class VectorUnit:
    """The vector unit beside the MAC array: `lanes` SIMD ALUs, each doing
    `ops_per_lane[precision]` elementwise or reduction operations per cycle (see
    `accelsim.workload.vector` for what one operation is). It reads and writes through the same
    buffers as the array; the two never compute at once (a layer runs on one of them), so it
    needs no SRAM ports of its own and none are modelled."""

    lanes: int = DEFAULT_VECTOR_LANES
    ops_per_lane: PerPrecision = DEFAULT_VECTOR_OPS_PER_LANE
    energy_per_op_pj: PerPrecision = DEFAULT_VECTOR_ENERGY_PJ

    def __post_init__(self) -> None:
        _positive_int("vector_unit", "lanes", self.lanes, maximum=2**24)
        self.ops_per_lane.validate("vector_unit.ops_per_lane", integer=True)
        self.energy_per_op_pj.validate("vector_unit.energy_per_op_pj", integer=False)

    def ops_per_cycle(self, precision: Precision) -> int:
        """Peak vector operations per cycle at this precision."""
        return self.lanes * int(self.ops_per_lane[precision])


@dataclass(frozen=True)
class Buffers:
    """On-chip SRAM buffers. Capacities in bytes; energy per byte read or written."""

    weight_bytes: int = 64 * 1024
    activation_bytes: int = 64 * 1024
    output_bytes: int = 32 * 1024
    weight_energy_pj_per_byte: float = sram_energy_pj_per_byte(64 * 1024)
    activation_energy_pj_per_byte: float = sram_energy_pj_per_byte(64 * 1024)
    output_energy_pj_per_byte: float = sram_energy_pj_per_byte(32 * 1024)
    #: Width of a partial sum held in the output buffer while a tile accumulates.
    accumulator_bits: int = 32
    #: Tiles fetched ahead of the one computing; 1 is double buffering, 0 none (a tile is
    #: fetched once the one before it is released).
    prefetch_depth_tiles: int = 1
    #: Keep a layer's output in the activation buffer for its only consumer, the next layer,
    #: when it fits, instead of writing it to DRAM and reading it back.
    retain_activations: bool = True
    #: Shared-bank mode (NVDLA's convolution buffer): the weight and activation buffers are one
    #: SRAM of `shared_banks` banks of `bank_bytes` each, allocated per layer in whole banks
    #: (`accelsim.sim.nvdla_mapping`); weight_bytes + activation_bytes must then be its size (the
    #: fixed split serves layers that allocation cannot plan). 0 and 0: fixed buffers.
    shared_banks: int = 0
    bank_bytes: int = 0

    def __post_init__(self) -> None:
        for name in ("weight_bytes", "activation_bytes", "output_bytes"):
            _positive_int("buffers", name, getattr(self, name))
        _positive_int("buffers", "shared_banks", self.shared_banks, minimum=0, maximum=2**12)
        _positive_int("buffers", "bank_bytes", self.bank_bytes, minimum=0, maximum=2**30)
        _require(
            (self.shared_banks == 0) == (self.bank_bytes == 0),
            "buffers.bank_bytes",
            "0 exactly when shared_banks is 0",
            self.bank_bytes,
        )
        _require(
            self.shared_banks * self.bank_bytes in (0, self.weight_bytes + self.activation_bytes),
            "buffers.shared_banks",
            f"such that shared_banks x bank_bytes = weight_bytes + activation_bytes "
            f"({self.weight_bytes + self.activation_bytes})",
            self.shared_banks,
        )
        for name in ("weight", "activation", "output"):
            _positive_number("buffers", f"{name}_energy_pj_per_byte", getattr(self, f"{name}_energy_pj_per_byte"), True)
        _require(
            self.accumulator_bits in (8, 16, 32, 64),
            "buffers.accumulator_bits",
            "one of 8, 16, 32, 64",
            self.accumulator_bits,
        )
        _positive_int("buffers", "prefetch_depth_tiles", self.prefetch_depth_tiles, minimum=0, maximum=64)
        _require(
            isinstance(self.retain_activations, bool),
            "buffers.retain_activations",
            "true or false",
            self.retain_activations,
        )

    @property
    def slots(self) -> int:
        """Tiles a buffer holds at once: the one in use plus those prefetched."""
        return self.prefetch_depth_tiles + 1

    @property
    def shared(self) -> bool:
        """Whether weights and activations share banks allocated per layer."""
        return self.shared_banks > 0


@dataclass(frozen=True)
class Dram:
    """The DRAM channel: a bounded request queue in front of one bandwidth-limited bus."""

    bandwidth_bytes_per_s: float = 200e6
    latency_ns: float = 100.0
    queue_depth: int = 8
    #: The bus moves whole bursts: a request of n bytes occupies it for ceil(n / burst) bursts.
    burst_bytes: int = 64
    energy_pj_per_byte: float = DRAM_ENERGY_PJ_PER_BYTE
    #: "simple": the bandwidth-and-latency queue above. "banked": the device's banks, rows, refresh
    #: and command energy (accelsim.sim.banked_controller); bandwidth, latency, burst and per-byte
    #: energy then come from the device, and queue_depth still bounds the requests waiting.
    model: str = "simple"
    #: A preset of accelsim.dram_devices (banked model only).
    device: str = "ddr4-3200"
    page_policy: str = "open"
    #: DRAMsim3 bit order, most significant field first (e.g. "rochrababgco"); "" keeps the device's.
    address_mapping: str = ""
    #: How a tile sits in its tensor: "tiled" (each tile contiguous, tiles in the order they are
    #: first streamed) or "row-major" (the tensor row by row: a tile is one run per tile row).
    layout: str = "tiled"
    #: Banked model: requests the controller may have placed per channel ahead of their last column
    #: command (DRAMsim3's default command queue size, cmd_queue_size 8); 1 places each request once
    #: the one before has issued its last column command.
    channel_queue_depth: int = 8
    #: The share of the peak bandwidth that real kernels sustain, in (0, 1]: the bus moves this
    #: share of its peak bytes a cycle (a device family's calibration constant,
    #: `accelsim.study.calibration`; 1 is the ideal bus).
    sustained_fraction: float = 1.0
    #: Feature maps stored coded in DRAM: "none", or "rlc" (Eyeriss's run-length code, sized
    #: from each layer's activation zero share; `accelsim.sim.rlc`). Weights are never coded.
    activation_compression: str = "none"

    def __post_init__(self) -> None:
        _one_of("dram.activation_compression", self.activation_compression, ACTIVATION_COMPRESSIONS)
        _positive_number("dram", "bandwidth_bytes_per_s", self.bandwidth_bytes_per_s, minimum=1e3, maximum=1e15)
        _positive_number(
            "dram", "sustained_fraction", self.sustained_fraction, allow_zero=True, minimum=1e-6, maximum=1.0
        )
        _positive_number("dram", "latency_ns", self.latency_ns, allow_zero=True, maximum=1e9)
        _positive_int("dram", "queue_depth", self.queue_depth, maximum=2**16)
        _positive_int("dram", "channel_queue_depth", self.channel_queue_depth, maximum=1024)
        _positive_int("dram", "burst_bytes", self.burst_bytes, maximum=2**20)
        _positive_number("dram", "energy_pj_per_byte", self.energy_pj_per_byte, allow_zero=True)
        _one_of("dram.model", self.model, DRAM_MODELS)
        _one_of("dram.device", self.device, tuple(DRAM_PRESETS))
        _one_of("dram.page_policy", self.page_policy, PAGE_POLICIES)
        _one_of("dram.layout", self.layout, DRAM_LAYOUTS)
        if self.address_mapping:
            try:
                AddressMapping(dataclasses.replace(DRAM_PRESETS[self.device], address_mapping=self.address_mapping))
            except InputError:
                _require(
                    False,
                    "dram.address_mapping",
                    "12 characters naming each of ch ra bg ba ro co once",
                    self.address_mapping,
                )

    @property
    def dram_device(self) -> DramDevice:
        """The banked model's device, with this section's address mapping if it names one."""
        device = DRAM_PRESETS[self.device]
        return dataclasses.replace(device, address_mapping=self.address_mapping) if self.address_mapping else device


@dataclass(frozen=True)
class Accelerator:
    """A complete accelerator: clock, MAC array, buffers, DRAM, vector unit and static power."""

    name: str = "custom"
    clock_hz: float = 1e9
    mac_array: MacArray = field(default_factory=MacArray)
    buffers: Buffers = field(default_factory=Buffers)
    dram: Dram = field(default_factory=Dram)
    static_power_w: float = 0.02
    vector_unit: VectorUnit = field(default_factory=VectorUnit)
    #: Host time to launch one kernel, a layer being one kernel (a GPU driver's launch cost).
    #: Above 0, layers run as a GPU stream runs kernels: the host issues them back to back,
    #: this long each, and a layer starts (and fetches its first tile) once it is issued and
    #: the previous layer has computed and written its output: no prefetch across layers, and
    #: a run of kernels shorter than a launch waits for the host. 0: no launches, tiles stream
    #: across layer boundaries.
    launch_latency_ns: float = 0.0

    def __post_init__(self) -> None:
        _require(isinstance(self.name, str) and bool(self.name), "name", "a non-empty string", self.name)
        _positive_number("accelerator", "clock_hz", self.clock_hz, minimum=1e3, maximum=1e11)
        _positive_number("accelerator", "static_power_w", self.static_power_w, allow_zero=True, maximum=1e4)
        _positive_number("accelerator", "launch_latency_ns", self.launch_latency_ns, allow_zero=True, maximum=1e9)
        # Exact rationals keep long streams free of rounding drift.
        _require(self.dram_bytes_per_cycle > 0, "dram.bandwidth_bytes_per_s", "> 0", self.dram.bandwidth_bytes_per_s)

    @property
    def dram_bytes_per_cycle(self) -> Fraction:
        """DRAM bytes per accelerator cycle: the bandwidth field (simple model) or the device's
        every channel busy every cycle (banked), times the sustained fraction."""
        if self.dram.model == "banked":
            d = self.dram.dram_device
            seconds_per_burst = Fraction(str(d.tck_ns)) * d.burst_cycles / 10**9
            peak = d.channels * d.request_bytes / seconds_per_burst / Fraction(self.clock_hz).limit_denominator(10**9)
        else:
            peak = Fraction(self.dram.bandwidth_bytes_per_s).limit_denominator(10**9) / Fraction(
                self.clock_hz
            ).limit_denominator(10**9)
        if self.dram.sustained_fraction == 1:
            return peak  # the exact peak, so existing figures stay bit for bit
        return peak * Fraction(self.dram.sustained_fraction).limit_denominator(10**6)

    @property
    def launch_latency_cycles(self) -> int:
        """Kernel launch latency in whole cycles, rounded up (0: layers are not kernels)."""
        return math.ceil(round(self.launch_latency_ns * 1e-9 * self.clock_hz, 9))

    @property
    def dram_latency_cycles(self) -> int:
        """DRAM latency in whole cycles, rounded up."""
        return math.ceil(round(self.dram.latency_ns * 1e-9 * self.clock_hz, 9))

    def replace(self, **changes: Any) -> Accelerator:
        return dataclasses.replace(self, **changes)


def seed() -> Accelerator:
    """The accelerator of seed study 000: 1 GHz, 64 MACs, 200 MB/s, 100 ns.

    The study gives no buffer sizes; ours are 64 KiB weight, 64 KiB activation and 32 KiB output
    SRAM (160 KiB in all, the size class of Eyeriss's 108 KB global buffer for a 168-PE array),
    with double buffering. Nor does it give a vector unit (its network has only GEMMs); ours has
    16 lanes, one per four MAC lanes (DEFAULT_VECTOR_LANES), splitting like the MAC lanes.
    """
    return Accelerator(name="seed")


def seed_fixed_width() -> Accelerator:
    """The seed accelerator with a fixed-width array: one MAC per lane per cycle at any precision."""
    return Accelerator(name="seed-fixed", mac_array=MacArray(pack=FIXED_PACK))


def seed_sparse() -> Accelerator:
    """The seed accelerator with zero-skipping: pruned (unstructured or N:M) weights save MACs."""
    return Accelerator(name="seed-sparse", mac_array=MacArray(zero_skipping=True))


# ---- published chips (validation presets: published parameters only) -------------------------

#: NVDLA primer, "Example Area and Performance with NVDLA" (nvdla.org/primer.html): # MACs ->
#: (convolution buffer KB, SDRAM bandwidth GB/s), all at 1 GHz with no on-chip SRAM.
NVDLA_PRIMER_CONFIGS: dict[int, tuple[int, float]] = {
    2048: (512, 20.0),
    1024: (256, 15.0),
    512: (256, 10.0),
    256: (256, 5.0),
    128: (256, 2.0),
    64: (128, 1.0),
    32: (128, 0.5),
}
#: An NVDLA MAC cell does one INT16/FP16 or two INT8 multiply-accumulates per cycle (hwarch:
#: nv_full has 1024 INT16/FP16 and 2048 INT8 MACs). FP32 is not an NVDLA format: it runs at the
#: INT16 rate here. INT4 is not either: it runs at the INT8 rate.
NVDLA_PACK = PerPrecision(fp32=1, fp16=1, bf16=1, int8=2, int4=2)
#: The accumulator (CACC assembly SRAM group): 256 entries of partial sums (NVDLA C model,
#: DIRECT_CONV_ASSEMBLY_ENTRY_NUM) for 32 INT8 output channels of nv_full, 34-bit sums held
#: here as 32-bit: 256 x 32 x 4 B. The primer does not give the smaller designs' accumulators.
NVDLA_ACCUMULATOR_BYTES = 256 * 32 * 4
#: The convolution core's atomic operation and the CBUF's bank count, per primer configuration:
#: # MACs -> (atomic-C, atomic-K, CBUF banks), from the configurations of nvdla/hw
#: (spec/defs/*.spec, MAC_ATOMIC_C_SIZE, MAC_ATOMIC_K_SIZE, CBUF_BANK_NUMBER; nvdla/doc
#: hw/v2/scalability.rst: atomic-C x atomic-K is the number of multipliers):
#: 2048 nv_full (64, 32, 16 banks), 1024 nv_medium_1024_full (32, 32, 32), 512 nv_medium_512
#: (32, 16, 32), 256 nv_small_256 (32, 8, 32), 64 nv_small (8, 8, 32). No configuration of 128
#: or 32 MACs is published: those take nv_small's atomic-C of 8 (the smallest published) with
#: atomic-K = MACs / 8, and 32 banks, as every configuration below nv_full has. The bank size is
#: the primer's CBUF divided by the bank count (the specs' bank depths give other CBUF sizes
#: than the primer's for 1024, 512 and 256 MACs; the primer's size is the one compared).
NVDLA_ATOMICS_AND_BANKS: dict[int, tuple[int, int, int]] = {
    2048: (64, 32, 16),
    1024: (32, 32, 32),
    512: (32, 16, 32),
    256: (32, 8, 32),
    128: (8, 16, 32),
    64: (8, 8, 32),
    32: (8, 4, 32),
}


def nvdla(macs: int) -> Accelerator:
    """An NVDLA configuration of the primer's table: `macs` INT8 MACs at 1 GHz in atomic
    operations of atomic-C x atomic-K (NVDLA_ATOMICS_AND_BANKS), its convolution buffer as
    shared banks, its SDRAM bandwidth.

    NVDLA's convolution buffer (CBUF) is one SRAM shared by weights and feature data, allocated
    to each in whole banks per hardware layer (hwarch, "Convolution Buffer Banks": the number
    of banks "defines the granularity of CBUF storage allocation between weights and
    activations"): `buffers.shared_banks` (accelsim.sim.nvdla_mapping). The fixed even split
    (half the CBUF each) serves only layers that allocation does not plan (grouped ones).
    NVDLA runs a network hardware layer by hardware layer, each from memory to memory (hwarch,
    "Functional Description"; only the convolution, activation and pooling stages of one layer
    are fused), so no layer's output stays on chip for the next one. Static power is 0: the
    comparison is of dynamic energy (the primer gives no leakage figure).
    """
    if macs not in NVDLA_PRIMER_CONFIGS:
        allowed = ", ".join(str(m) for m in NVDLA_PRIMER_CONFIGS)
        raise ConfigError(f"nvdla: macs must be one of {allowed} (got {macs!r})")
    cbuf_kb, bandwidth_gbps = NVDLA_PRIMER_CONFIGS[macs]
    atomic_c, atomic_k, banks = NVDLA_ATOMICS_AND_BANKS[macs]
    cbuf_bytes = cbuf_kb * 1024
    half = cbuf_bytes // 2
    cbuf_pj = sram_energy_pj_per_byte(cbuf_bytes)
    return Accelerator(
        name=f"nvdla-{macs}",
        clock_hz=1e9,
        mac_array=MacArray(lanes=macs // 2, pack=NVDLA_PACK, atomic_c=atomic_c, atomic_k=atomic_k),
        buffers=Buffers(
            shared_banks=banks,
            bank_bytes=cbuf_bytes // banks,
            weight_bytes=half,
            activation_bytes=half,
            output_bytes=NVDLA_ACCUMULATOR_BYTES,
            weight_energy_pj_per_byte=cbuf_pj,
            activation_energy_pj_per_byte=cbuf_pj,
            output_energy_pj_per_byte=sram_energy_pj_per_byte(NVDLA_ACCUMULATOR_BYTES),
            retain_activations=False,
        ),
        dram=Dram(bandwidth_bytes_per_s=bandwidth_gbps * 1e9),
        static_power_w=0.0,
    )


#: Eyeriss (Chen et al., JSSC 2017): 168 PEs as 12 x 14, 200 MHz in the AlexNet measurement,
#: a 108 KB global buffer (GLB) for input feature maps and partial sums, and per-PE filter
#: scratchpads of 224 16-bit entries: weights go from DRAM to the PEs, not through the GLB.
EYERISS_GLB_BYTES = 108 * 1024
EYERISS_FILTER_SPAD_BYTES = 168 * 224 * 2
#: Off-chip: a 64-bit data bus on the chip's 90 MHz link clock (JSSC 2017: core clock 100-250
#: MHz, link clock 90 MHz), one direction at a time.
EYERISS_LINK_BYTES_PER_S = 8 * 90e6


def eyeriss() -> Accelerator:
    """Eyeriss v1 (JSSC 2017): 168 PEs as 12 x 14 at 200 MHz, row stationary, 108 KB GLB.

    Row-stationary dataflow (`accelsim.sim.row_stationary`) with the PEs' scratchpads (filter
    224, ifmap 12, psum 24 entries); the GLB, which Eyeriss allocates per layer between input
    feature maps and 16-bit partial sums, is the activation and output buffers together (the
    mapper splits it per layer; the even split here only names the two halves); the filter
    scratchpads are the weight buffer. Nothing is fetched ahead (`prefetch_depth_tiles = 0`): a
    pass fills the filter scratchpads and the GLB (CONV1's mapping keeps 176-220 of 224 filter
    entries), leaving no room for a second copy. Feature maps are run-length coded in DRAM."""
    return Accelerator(
        name="eyeriss",
        clock_hz=200e6,
        mac_array=MacArray(lanes=168, geometry="systolic", rows=12, cols=14, dataflow="rs"),
        buffers=Buffers(
            weight_bytes=EYERISS_FILTER_SPAD_BYTES,
            activation_bytes=EYERISS_GLB_BYTES // 2,
            output_bytes=EYERISS_GLB_BYTES // 2,
            weight_energy_pj_per_byte=sram_energy_pj_per_byte(EYERISS_FILTER_SPAD_BYTES),
            activation_energy_pj_per_byte=sram_energy_pj_per_byte(EYERISS_GLB_BYTES),
            output_energy_pj_per_byte=sram_energy_pj_per_byte(EYERISS_GLB_BYTES),
            accumulator_bits=16,
            prefetch_depth_tiles=0,
        ),
        dram=Dram(bandwidth_bytes_per_s=EYERISS_LINK_BYTES_PER_S, activation_compression="rlc"),
        static_power_w=0.0,
    )


#: TPUv1 (Jouppi et al., ISCA 2017): a 256 x 256 INT8 matrix unit at 700 MHz, weights streamed
#: from 34 GB/s DDR3 through a weight FIFO four 64 KiB tiles deep, a 24 MiB unified buffer for
#: activations and 4 MiB of 32-bit accumulators.
TPU_V1_WEIGHT_FIFO_BYTES = 4 * 64 * 1024
TPU_V1_UNIFIED_BUFFER_BYTES = 24 * 1024 * 1024
TPU_V1_ACCUMULATOR_BYTES = 4 * 1024 * 1024


def tpu_v1() -> Accelerator:
    """TPUv1: a weight-stationary 256 x 256 systolic array at 700 MHz and 34 GB/s."""
    return Accelerator(
        name="tpu-v1",
        clock_hz=700e6,
        mac_array=MacArray(lanes=256 * 256, geometry="systolic", rows=256, cols=256, dataflow="ws"),
        buffers=Buffers(
            weight_bytes=TPU_V1_WEIGHT_FIFO_BYTES,
            activation_bytes=TPU_V1_UNIFIED_BUFFER_BYTES,
            output_bytes=TPU_V1_ACCUMULATOR_BYTES,
            weight_energy_pj_per_byte=sram_energy_pj_per_byte(TPU_V1_WEIGHT_FIFO_BYTES),
            activation_energy_pj_per_byte=sram_energy_pj_per_byte(TPU_V1_UNIFIED_BUFFER_BYTES),
            output_energy_pj_per_byte=sram_energy_pj_per_byte(TPU_V1_ACCUMULATOR_BYTES),
        ),
        dram=Dram(bandwidth_bytes_per_s=34e9),
        static_power_w=0.0,
    )


#: edge-llm: a phone-class NPU, Arm Ethos-N77's compute and SRAM (WikiChip, "Ethos - Arm
#: Holdings": 2048 INT8 MACs = 4,096 OPs/clk, 4.096 INT8 TOPS and 1.024 INT16 TOPS, so 1 GHz;
#: up to 4 MiB SRAM) beside LPDDR5-6400 on a 64-bit bus (JEDEC JESD209-5: 6400 MT/s x 8 bytes
#: = 51.2 GB/s). 512 lanes do 4 INT8 or INT4 MACs, or one 16/32-bit MAC, per cycle (the 16-bit
#: rate is Ethos-N77's INT16 rate; FP16, BF16 and FP32 run at it, an assumption: the chip has
#: no float format).
EDGE_LLM_PACK = PerPrecision(fp32=1, fp16=1, bf16=1, int8=4, int4=4)
EDGE_LLM_SRAM_BYTES = 4 * 1024 * 1024
EDGE_LLM_DRAM_BYTES_PER_S = 6400e6 * 8


def edge_llm() -> Accelerator:
    """A phone-class NPU (Ethos-N77-class array and SRAM, LPDDR5-6400 x64): 4.1 INT8 TOPS at
    1 GHz, 51.2 GB/s. Its 4 MiB of SRAM is split here 2 MiB weights, 1.5 MiB activations,
    0.5 MiB accumulators (Ethos-N shares its SRAM; accelsim's buffers are fixed per run)."""
    mib = 1024 * 1024
    split = {"weight": 2 * mib, "activation": 3 * mib // 2, "output": mib // 2}
    return Accelerator(
        name="edge-llm",
        clock_hz=1e9,
        mac_array=MacArray(lanes=512, pack=EDGE_LLM_PACK),
        # No vector width is published for this class of NPU: the seed's one ALU per four MAC lanes.
        vector_unit=VectorUnit(lanes=128),
        buffers=_split_buffers(split),
        dram=Dram(bandwidth_bytes_per_s=EDGE_LLM_DRAM_BYTES_PER_S),
        static_power_w=0.0,
    )


#: datacenter-llm: NVIDIA H100 SXM5's throughput and memories (NVIDIA H100 datasheet and Hopper
#: whitepaper: 528 tensor cores at 1.83 GHz, 989.4 dense FP16/BF16 TFLOPS, 1,978.9 dense INT8
#: TOPS, 494.7 TF32 TFLOPS; 3.35 TB/s HBM3; 50 MB L2; 33,792 KB of registers). 135,168 lanes
#: x the scalable pack (2 FP16, 4 INT8, 1 FP32 MACs a lane) at 1.83 GHz give exactly those
#: rates. An ideal GEMM engine of that throughput: tensor cores are many small arrays, not one.
DATACENTER_LLM_LANES = 135_168
#: The non-GEMM work runs on the CUDA cores: 132 SMs x 128 FP32 cores (Hopper whitepaper), two FP16
#: operations a core per cycle (packed half2), as the vector unit's default pack gives.
DATACENTER_LLM_VECTOR_LANES = 132 * 128
DATACENTER_LLM_L2_BYTES = 50 * 1000 * 1000
DATACENTER_LLM_REGISTER_BYTES = 33_792 * 1024


def datacenter_llm() -> Accelerator:
    """An H100-SXM5-class accelerator: 989 FP16 TFLOPS at 1.83 GHz, 3.35 TB/s HBM3, the 50 MB
    L2 split evenly between weights and activations, the register file as accumulators."""
    half = DATACENTER_LLM_L2_BYTES // 2
    split = {"weight": half, "activation": half, "output": DATACENTER_LLM_REGISTER_BYTES}
    return Accelerator(
        name="datacenter-llm",
        clock_hz=1.83e9,
        mac_array=MacArray(lanes=DATACENTER_LLM_LANES),
        vector_unit=VectorUnit(lanes=DATACENTER_LLM_VECTOR_LANES),
        buffers=_split_buffers(split),
        dram=Dram(bandwidth_bytes_per_s=3.35e12),
        static_power_w=0.0,
    )


# ---- GPUs for LLM validation (issue 19; every figure cited in README "LLM presets") ----------

#: NVIDIA A100 80GB SXM4 (NVIDIA A100 datasheet and Ampere GA100 whitepaper): 108 SMs, 432 tensor
#: cores (4 per SM), 1,410 MHz boost, 312 dense FP16/BF16 tensor TFLOPS, 624 INT8 TOPS, 156 TF32
#: TFLOPS; a tensor core does 256 dense FP16 FMAs a cycle, so 432 x 256 = 110,592 FP16 MACs a cycle
#: (x 2 x 1.41 GHz = 311.9 TFLOPS): 55,296 lanes of the scalable pack (2 FP16, 4 INT8, 1 TF32).
A100_LANES = 108 * 4 * 128
A100_CLOCK_HZ = 1.41e9
#: 6,912 FP32 CUDA cores (64 per SM); non-tensor FP16 is 78 TFLOPS, four times FP32's 19.5: four
#: FP16 operations a core a cycle.
A100_VECTOR_LANES = 108 * 64
A100_VECTOR_OPS_PER_LANE = PerPrecision(fp32=1, fp16=4, bf16=4, int8=4, int4=8)
A100_L2_BYTES = 40 * 1000 * 1000
A100_REGISTER_BYTES = 108 * 256 * 1024
A100_DRAM_BYTES_PER_S = 2039e9  # HBM2e, 80 GB SXM4
#: CUDA kernel launch: "Usually, the launch time on the CPU side is between 5-20 microseconds"
#: (Meta's Holistic Trace Analysis docs, docs/source/features/cuda_kernel_launch_stats.rst,
#: github.com/facebookresearch/HolisticTraceAnalysis commit 0c2146a8): the low end of that range.
A100_LAUNCH_LATENCY_NS = 5000.0


def nvidia_a100_80gb() -> Accelerator:
    """NVIDIA A100 80GB SXM4 from its datasheet: 312 dense FP16 TFLOPS at 1.41 GHz, 2,039 GB/s
    HBM2e, the 40 MB L2 split evenly between weights and activations, the register file as
    accumulators, 5 us a kernel launch (the low end of the 5-20 us host launch time in Meta's
    Holistic Trace Analysis docs). An ideal GEMM engine of that throughput (tensor cores are
    many small arrays)."""
    half = A100_L2_BYTES // 2
    return Accelerator(
        name="nvidia-a100-80gb",
        clock_hz=A100_CLOCK_HZ,
        mac_array=MacArray(lanes=A100_LANES),
        vector_unit=VectorUnit(lanes=A100_VECTOR_LANES, ops_per_lane=A100_VECTOR_OPS_PER_LANE),
        buffers=_split_buffers({"weight": half, "activation": half, "output": A100_REGISTER_BYTES}),
        dram=Dram(bandwidth_bytes_per_s=A100_DRAM_BYTES_PER_S),
        static_power_w=0.0,
        launch_latency_ns=A100_LAUNCH_LATENCY_NS,
    )


def nvidia_h100_sxm() -> Accelerator:
    """NVIDIA H100 SXM5: the `datacenter-llm` preset's figures (its sources), under the chip's name."""
    return datacenter_llm().replace(name="nvidia-h100-sxm")


#: Apple M-series GPUs: each GPU core has 128 FP32 ALUs; FP16 runs at the FP32 rate (no packed
#: half rate on M1/M2), so one MAC a lane a cycle at every precision. chip -> (GPU cores, GPU clock
#: Hz, unified-memory bytes/s, LPDDR generation, system-level cache bytes); sources in README.
APPLE_ALUS_PER_CORE = 128
#: One GPU clock a generation (M1 base 1.278 GHz, M1 Pro/Max/Ultra 1.296 GHz, M2 family 1.398 GHz)
#: and one SLC size a die class (base 8 MB, Pro 24 MB, Max 48 MB, Ultra two Max dies).
APPLE_GPUS: dict[str, tuple[int, float, float, str, int]] = {
    "m1-7": (7, 1.278e9, 68.25e9, "LPDDR4X-4266", 8 * 1024 * 1024),
    "m1-8": (8, 1.278e9, 68.25e9, "LPDDR4X-4266", 8 * 1024 * 1024),
    "m1-pro-14": (14, 1.296e9, 200e9, "LPDDR5-6400", 24 * 1024 * 1024),
    "m1-pro-16": (16, 1.296e9, 200e9, "LPDDR5-6400", 24 * 1024 * 1024),
    "m1-max-24": (24, 1.296e9, 400e9, "LPDDR5-6400", 48 * 1024 * 1024),
    "m1-max-32": (32, 1.296e9, 400e9, "LPDDR5-6400", 48 * 1024 * 1024),
    "m1-ultra-48": (48, 1.296e9, 800e9, "LPDDR5-6400", 96 * 1024 * 1024),
    "m1-ultra-64": (64, 1.296e9, 800e9, "LPDDR5-6400", 96 * 1024 * 1024),
    "m2-8": (8, 1.398e9, 100e9, "LPDDR5-6400", 8 * 1024 * 1024),
    "m2-10": (10, 1.398e9, 100e9, "LPDDR5-6400", 8 * 1024 * 1024),
    "m2-pro-16": (16, 1.398e9, 200e9, "LPDDR5-6400", 24 * 1024 * 1024),
    "m2-pro-19": (19, 1.398e9, 200e9, "LPDDR5-6400", 24 * 1024 * 1024),
    "m2-max-30": (30, 1.398e9, 400e9, "LPDDR5-6400", 48 * 1024 * 1024),
    "m2-max-38": (38, 1.398e9, 400e9, "LPDDR5-6400", 48 * 1024 * 1024),
    "m2-ultra-60": (60, 1.398e9, 800e9, "LPDDR5-6400", 96 * 1024 * 1024),
    "m2-ultra-76": (76, 1.398e9, 800e9, "LPDDR5-6400", 96 * 1024 * 1024),
}


def apple_gpu(chip: str) -> Accelerator:
    """An Apple M-series GPU (`chip` a key of APPLE_GPUS): cores x 128 ALUs, one FMA each a cycle
    at any precision, on the chip's unified memory; the system-level cache split half weights, a
    quarter activations, a quarter accumulators (Apple publishes no register-file size). The same
    ALUs run the vector work, one operation each a cycle."""
    if chip not in APPLE_GPUS:
        raise ConfigError(f"apple: chip must be one of {', '.join(APPLE_GPUS)} (got {chip!r})")
    cores, clock_hz, bandwidth, _, slc = APPLE_GPUS[chip]
    lanes = cores * APPLE_ALUS_PER_CORE
    return Accelerator(
        name=f"apple-{chip}",
        clock_hz=clock_hz,
        mac_array=MacArray(lanes=lanes, pack=FIXED_PACK),
        vector_unit=VectorUnit(lanes=lanes, ops_per_lane=FIXED_PACK),
        buffers=_split_buffers({"weight": slc // 2, "activation": slc // 4, "output": slc // 4}),
        dram=Dram(bandwidth_bytes_per_s=bandwidth),
        static_power_w=0.0,
    )


def _apple_preset(chip: str) -> Callable[[], Accelerator]:
    def make() -> Accelerator:
        return apple_gpu(chip)

    cores, clock_hz, bandwidth, lpddr, slc = APPLE_GPUS[chip]
    make.__doc__ = (
        f"Apple {chip.rsplit('-', 1)[0].replace('-', ' ').title()} {cores}-core GPU: {cores * 128 * 2 * clock_hz / 1e12:.1f} "
        f"FP16 TFLOPS at {clock_hz / 1e9:g} GHz, {bandwidth / 1e9:g} GB/s {lpddr}, {slc // 2**20} MB SLC."
    )
    return make


def _split_buffers(capacity: dict[str, int]) -> Buffers:
    """Buffers of these capacities (bytes by weight, activation, output), each at the access
    energy of its size."""
    return Buffers(
        **{f"{name}_bytes": size for name, size in capacity.items()},
        **{f"{name}_energy_pj_per_byte": sram_energy_pj_per_byte(size) for name, size in capacity.items()},
    )


def _nvdla_preset(macs: int) -> Callable[[], Accelerator]:
    def make() -> Accelerator:
        return nvdla(macs)

    cbuf_kb, bandwidth_gbps = NVDLA_PRIMER_CONFIGS[macs]
    make.__doc__ = f"NVDLA primer configuration: {macs} INT8 MACs at 1 GHz, {cbuf_kb} KB CBUF, {bandwidth_gbps:g} GB/s."
    return make


PRESETS = {
    "seed": seed,
    "seed-fixed": seed_fixed_width,
    "seed-sparse": seed_sparse,
    **{f"nvdla-{macs}": _nvdla_preset(macs) for macs in NVDLA_PRIMER_CONFIGS},
    "eyeriss": eyeriss,
    "tpu-v1": tpu_v1,
    "edge-llm": edge_llm,
    "datacenter-llm": datacenter_llm,
    "nvidia-a100-80gb": nvidia_a100_80gb,
    "nvidia-h100-sxm": nvidia_h100_sxm,
    **{f"apple-{chip}": _apple_preset(chip) for chip in APPLE_GPUS},
}


def preset(name: str) -> Accelerator:
    if name not in PRESETS:
        raise ConfigError(f"hardware: unknown preset {name!r}; allowed: {', '.join(PRESETS)}")
    return PRESETS[name]()


# ---- TOML ----------------------------------------------------------------------------------

_SECTIONS = {"mac_array": MacArray, "buffers": Buffers, "dram": Dram, "vector_unit": VectorUnit}
_TABLES = {"pack", "energy_per_mac_pj", "ops_per_lane", "energy_per_op_pj"}


def _build(cls: type, data: dict[str, Any], section: str) -> Any:
    known = {f.name for f in fields(cls)}
    for key in data:
        if key not in known:
            raise ConfigError(f"{section}.{key}: unknown field; allowed: {', '.join(sorted(known))}")
    values = dict(data)
    for key in _TABLES & values.keys():
        table = values[key]
        if not isinstance(table, dict):
            raise ConfigError(f"{section}.{key}: must be a table of precisions")
        base = dataclasses.asdict(getattr(cls(), key))
        values[key] = _build(PerPrecision, {**base, **table}, f"{section}.{key}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{section}: {exc}") from None


def from_dict(data: dict[str, Any]) -> Accelerator:
    """Build an Accelerator from a nested dict (as TOML gives); missing fields take defaults."""
    top = dict(data)
    for name, cls in _SECTIONS.items():
        if name in top:
            if not isinstance(top[name], dict):
                raise ConfigError(f"{name}: must be a table")
            top[name] = _build(cls, top[name], name)
    return _build(Accelerator, top, "accelerator")


def load_toml(path: str | Path) -> Accelerator:
    """Read a hardware TOML file; errors name the file and the field."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"hardware file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"hardware file {path}: invalid TOML: {exc}") from None
    try:
        return from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"hardware file {path}: {exc}") from None


def to_toml(hw: Accelerator) -> str:
    """A complete TOML description that `load_toml` reads back to an equal Accelerator.

    tomli-w writes each float as its shortest round-tripping repr, so every value reads back
    bit for bit (a value like 4.6000000000000005 is the float the preset computes, not noise)."""
    return tomli_w.dumps(dataclasses.asdict(hw))


def save_toml(hw: Accelerator, path: str | Path) -> None:
    Path(path).write_text(to_toml(hw))
