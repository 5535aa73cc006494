"""SCALE-Sim's input files, read into accelsim networks and hardware.

- **Convolution topology CSV** (`Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter
  Width, Channels, Num Filter, Strides,` with SCALE-Sim's trailing comma, an optional ninth field
  `N:M` sparsity): one `Conv2d` per row, no padding, every layer reading its input from memory
  (SCALE-Sim simulates layers one by one).
- **GEMM topology CSV** (`Layer, M, N, K,`): one `Gemm` per row.
- **Configuration `.cfg`**: what SCALE-Sim means by it: a systolic array of ArrayHeight x
  ArrayWidth PEs with its Dataflow, running SCALE-Sim's compute schedule (`mac_array.schedule =
  "scalesim-folds"`: SRAM size changes traffic, not the schedule), the three SRAMs (kB x 1024,
  SCALE-Sim words being one byte, partial sums included), no DRAM latency, and its memory:
  - `InterfaceBandwidth: CALC` (`memory="scalesim"`, the default): SCALE-Sim sizes the bandwidth
    so that operands never stall; the imported DRAM bus is as wide as the three SRAMs together,
    so every request completes within a cycle, and the bandwidth a run used is reported as
    SCALE-Sim reports it (average DRAM words per cycle per operand);
  - `InterfaceBandwidth: USER`, or `memory="accelsim"`: accelsim's own memory model, one DRAM bus
    at `Bandwidth` words per cycle carrying all traffic.

Whatever accelsim reads differently or cannot honour is returned as a warning, one line each,
never dropped silently; a malformed row names its line.
"""

from __future__ import annotations

import configparser
import math
from dataclasses import dataclass
from pathlib import Path

from accelsim import hardware
from accelsim.errors import InputError
from accelsim.workload.layers import Conv2d, Gemm, Layer, LayerError, Network
from accelsim.workload.sparsity import WeightSparsity

_CONV_FIELDS = ("IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels", "Num Filter", "Strides")
_GEMM_FIELDS = ("M", "N", "K")


@dataclass(frozen=True)
class Imported:
    """What an importer read, with the warnings about what it read differently or ignored."""

    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Topology(Imported):
    network: Network


#: What `read_config` makes of SCALE-Sim's memory: its own (CALC: never stalls) or accelsim's.
MEMORY_MODELS = ("scalesim", "accelsim")


@dataclass(frozen=True)
class Config(Imported):
    accelerator: hardware.Accelerator
    #: SCALE-Sim's `run_presets.InterfaceBandwidth`: "CALC" or "USER".
    interface_bandwidth: str = "USER"
    #: `Bandwidth` in words (bytes) per cycle, as the file gives it.
    bandwidth_words_per_cycle: int = 10
    #: Whose memory model a CALC config got (MEMORY_MODELS).
    memory: str = "scalesim"

    @property
    def stall_free(self) -> bool:
        """The imported DRAM never stalls the array (CALC mode read as SCALE-Sim means it)."""
        return self.interface_bandwidth == "CALC" and self.memory == "scalesim"


# --- topologies ---------------------------------------------------------------------------------


def _fields(line: str) -> list[str]:
    parts = [p.strip() for p in line.rstrip("\n").split(",")]
    while parts and parts[-1] == "":
        parts.pop()  # SCALE-Sim's trailing comma
    return parts


def _integer(path: Path, number: int, field: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"topology {path}: line {number}: {field} must be an integer >= 1 (got {text!r})")
    return value


def read_topology(path: str | Path) -> Topology:
    """A SCALE-Sim convolution or GEMM topology (told apart by the header) as a network."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise InputError(f"topology {path}: {exc.strerror}") from None
    if not lines or not _fields(lines[0]):
        raise InputError(f"topology {path}: empty file; expected a SCALE-Sim topology CSV with a header line")
    gemm = [f.upper() for f in _fields(lines[0])[1:4]] == list(_GEMM_FIELDS)
    layers: list[Layer] = []
    warnings: list[str] = []
    for number, line in enumerate(lines[1:], start=2):
        parts = _fields(line)
        if not parts:
            continue
        layer, notes = (_gemm_row if gemm else _conv_row)(path, number, parts)
        layers.append(layer)
        warnings += notes
    if not layers:
        raise InputError(f"topology {path}: no layers after the header")
    names = [layer.name for layer in layers]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"topology {path}: layer names must be unique (repeated: {', '.join(duplicates)})")
    kind = "GEMM" if gemm else "convolution"
    description = f"SCALE-Sim {kind} topology {path.name}: {len(layers)} layers, each reading its input from memory"
    return Topology(tuple(warnings), Network(path.stem, tuple(layers), description))


def _conv_row(path: Path, number: int, parts: list[str]) -> tuple[Layer, list[str]]:
    if len(parts) < 8:
        raise InputError(
            f"topology {path}: line {number}: expected 8 fields (name, {', '.join(_CONV_FIELDS)}), got {len(parts)}"
        )
    name = parts[0]
    h, w, fh, fw, c, n, s = (_integer(path, number, f, t) for f, t in zip(_CONV_FIELDS, parts[1:8]))
    if fh > h or fw > w:
        raise InputError(f"topology {path}: line {number}: the {fh}x{fw} filter is larger than the {h}x{w} IFMAP")
    notes = []
    groups = 1
    if "DP" in name:
        if n == c:
            groups = c
            notes.append(
                f"layer {name}: SCALE-Sim splits a 'DP' layer into one per channel; read as a depthwise convolution"
            )
        else:
            notes.append(
                f"layer {name}: SCALE-Sim treats a 'DP' layer as depthwise; Num Filter != Channels, read as dense"
            )
    ours = ((h - fh) // s + 1, (w - fw) // s + 1)
    theirs = (math.ceil((h - fh) / s) + 1, math.ceil((w - fw) / s) + 1)
    if ours != theirs:
        notes.append(
            f"layer {name}: SCALE-Sim rounds the OFMAP up to {theirs[0]}x{theirs[1]}; accelsim's unpadded "
            f"convolution gives {ours[0]}x{ours[1]}"
        )
    sparsity, extra = _sparsity(path, number, name, parts[8:])
    try:
        conv = Conv2d(
            name,
            in_channels=c,
            out_channels=n,
            in_height=h,
            in_width=w,
            kernel=(fh, fw),
            stride=s,
            groups=groups,
            independent=True,
            sparsity=sparsity,
        )
    except LayerError as exc:
        raise InputError(f"topology {path}: line {number}: {exc}") from None
    return conv, notes + extra


def _gemm_row(path: Path, number: int, parts: list[str]) -> tuple[Layer, list[str]]:
    if len(parts) < 4:
        raise InputError(f"topology {path}: line {number}: expected 4 fields (name, M, N, K), got {len(parts)}")
    m, n, k = (_integer(path, number, f, t) for f, t in zip(_GEMM_FIELDS, parts[1:4]))
    notes = [f"layer {parts[0]}: fields after K ignored: {', '.join(parts[4:])}"] if len(parts) > 4 else []
    return Gemm(parts[0], m=m, k=k, n=n, independent=True), notes


def _sparsity(path: Path, number: int, name: str, extra: list[str]) -> tuple[WeightSparsity, list[str]]:
    if not extra:
        return WeightSparsity(), []
    text = extra[0]
    n, _, m = text.partition(":")
    if not (n.strip().isdigit() and m.strip().isdigit() and 1 <= int(n) < int(m)):
        raise InputError(f"topology {path}: line {number}: sparsity must be N:M with 1 <= N < M (got {text!r})")
    notes = [f"layer {name}: {text} sparsity saves MACs only on an array that skips zeros (vector geometry)"]
    if len(extra) > 1:
        notes.append(f"layer {name}: fields after the sparsity ignored: {', '.join(extra[1:])}")
    return WeightSparsity.n_of_m(int(n), int(m)), notes


# --- configuration ------------------------------------------------------------------------------

#: Keys accelsim reads, by section (lower case, as configparser gives them).
_READ = {
    "general": {"run_name"},
    "architecture_presets": {
        "arrayheight",
        "arraywidth",
        "ifmapsramszkb",
        "filtersramszkb",
        "ofmapsramszkb",
        "dataflow",
        "bandwidth",
    },
    "run_presets": {"interfacebandwidth"},
}
#: Keys that describe nothing accelsim models, and why.
_IGNORED = {
    "ifmapoffset": "address offsets do not change timing",
    "filteroffset": "address offsets do not change timing",
    "ofmapoffset": "address offsets do not change timing",
    "memorybanks": "SCALE-Sim itself never reads it",
    "readrequestbuffer": "accelsim's DRAM queue is dram.queue_depth",
    "writerequestbuffer": "accelsim's DRAM queue is dram.queue_depth",
    "userramulatortrace": "no Ramulator",
    "topologycsvloc": "pass the topology with --topology",
}


def read_config(path: str | Path, clock_hz: float = 1e9, memory: str = "scalesim") -> Config:
    """A SCALE-Sim `.cfg` as a systolic accelerator, with warnings for what is not honoured;
    `memory` (MEMORY_MODELS) says whose memory model a CALC config gets (module docstring)."""
    if memory not in MEMORY_MODELS:
        raise InputError(f"memory: must be one of {', '.join(MEMORY_MODELS)} (got {memory!r})")
    path = Path(path)
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep keys as written, for the warnings
    try:
        with path.open() as fh:
            parser.read_file(fh)
    except OSError as exc:
        raise InputError(f"SCALE-Sim config {path}: {exc.strerror}") from None
    except configparser.Error as exc:
        raise InputError(f"SCALE-Sim config {path}: not an INI file ({str(exc).splitlines()[0]})") from None
    if not parser.has_section("architecture_presets"):
        raise InputError(f"SCALE-Sim config {path}: no [architecture_presets] section")
    arch = {key.lower(): value for key, value in parser["architecture_presets"].items()}
    warnings = _unread(parser)

    def number(key: str, default: int | None = None) -> int:
        if key.lower() not in arch:
            if default is None:
                raise InputError(f"SCALE-Sim config {path}: architecture_presets.{key}: missing")
            return default
        text = arch[key.lower()].split(",")[0].strip()
        try:
            value = int(float(text))
        except ValueError:
            value = 0
        if value < 1:
            raise InputError(
                f"SCALE-Sim config {path}: architecture_presets.{key}: must be a number >= 1 (got {arch[key]!r})"
            )
        return value

    rows, cols = number("ArrayHeight"), number("ArrayWidth")
    dataflow = arch.get("dataflow", "os").strip().lower()
    if dataflow not in hardware.DATAFLOWS[:3]:  # SCALE-Sim's os, ws, is (row stationary is accelsim's)
        raise InputError(
            f"SCALE-Sim config {path}: architecture_presets.Dataflow: must be one of os, ws, is (got {dataflow!r})"
        )
    mode, bandwidth = _interface(parser, path), number("Bandwidth", 10)
    sram_bytes = [number(key) * 1024 for key in ("FilterSramSzkB", "IfmapSramSzkB", "OfmapSramSzkB")]
    # CALC: a bus moving all three SRAMs' worth in a cycle never keeps a tile waiting.
    bus_bytes_per_cycle = sum(sram_bytes) if mode == "CALC" and memory == "scalesim" else bandwidth
    general = {k.lower(): v for k, v in parser["general"].items()} if parser.has_section("general") else {}
    name = general.get("run_name", path.stem).strip() or path.stem
    try:
        accelerator = hardware.Accelerator(
            name=name,
            clock_hz=clock_hz,
            mac_array=hardware.MacArray(
                lanes=rows * cols,
                geometry="systolic",
                rows=rows,
                cols=cols,
                dataflow=dataflow,
                pack=hardware.FIXED_PACK,
                schedule="scalesim-folds",
            ),
            buffers=hardware.Buffers(
                weight_bytes=sram_bytes[0],
                activation_bytes=sram_bytes[1],
                output_bytes=sram_bytes[2],
                accumulator_bits=8,
            ),
            dram=hardware.Dram(bandwidth_bytes_per_s=bus_bytes_per_cycle * clock_hz, latency_ns=0.0),
        )
    except hardware.ConfigError as exc:
        raise InputError(f"SCALE-Sim config {path}: {exc}") from None
    warnings += _memory_notes(mode, memory, bandwidth, bus_bytes_per_cycle)
    warnings.append("SCALE-Sim models no DRAM latency: dram.latency_ns = 0")
    warnings.append(
        "SCALE-Sim words are one byte: operands are int8 unless --precision says otherwise, and partial sums "
        "take one byte of the OFMAP SRAM (buffers.accumulator_bits = 8)"
    )
    return Config(tuple(warnings), accelerator, mode, bandwidth, memory)


def _interface(parser: configparser.ConfigParser, path: Path) -> str:
    presets = {k.lower(): v for k, v in parser["run_presets"].items()} if parser.has_section("run_presets") else {}
    mode = presets.get("interfacebandwidth", "USER").strip().upper()
    if mode not in ("CALC", "USER"):
        raise InputError(
            f"SCALE-Sim config {path}: run_presets.InterfaceBandwidth: must be CALC or USER (got {mode!r})"
        )
    return mode


def _memory_notes(mode: str, memory: str, bandwidth: int, bus_bytes_per_cycle: int) -> list[str]:
    """Whose memory model the run gets, and what that leaves out."""
    user = (
        f"accelsim's own memory model: one DRAM bus carries IFMAP, filter and OFMAP traffic at Bandwidth = "
        f"{bandwidth} words/cycle"
    )
    if mode == "USER":
        return [
            f"run_presets.InterfaceBandwidth = USER: {user} (SCALE-Sim applies Bandwidth to OFMAP writes and takes "
            "reads from the [layout] bank bandwidths)"
        ]
    if memory == "accelsim":
        return [
            f"run_presets.InterfaceBandwidth = CALC not followed (--scalesim-memory accelsim): {user}; "
            "the run says how far that is from CALC's stall-free answer"
        ]
    return [
        "run_presets.InterfaceBandwidth = CALC: SCALE-Sim sizes the bandwidth so that operands never stall; the DRAM "
        f"bus moves {bus_bytes_per_cycle:,} bytes per cycle (all three SRAMs), so no request waits beyond its cycle, "
        "and the run reports the bandwidth each layer used (--scalesim-memory accelsim: accelsim's bus at "
        f"Bandwidth = {bandwidth} words/cycle instead)"
    ]


def _unread(parser: configparser.ConfigParser) -> list[str]:
    """One warning per reason, naming the keys (as written) accelsim does not honour; a switch
    set to false turns nothing on, so it is not one of them."""
    by_reason: dict[str, list[str]] = {}
    for section in parser.sections():
        for key, value in parser[section].items():
            lower, text = key.lower(), value.strip()
            if lower in _READ.get(section.lower(), set()) or text.lower() == "false":
                continue
            if section.lower() == "sparsity":
                if lower == "sparsitysupport":
                    by_reason.setdefault('sparsity is not read (use --compress "nm(N, M)")', []).append(
                        f"{key} = {text}"
                    )
                continue
            reason = (
                "custom SRAM layouts and banks are not modelled"
                if section.lower() == "layout"
                else _IGNORED.get(lower, "unknown to accelsim")
            )
            by_reason.setdefault(reason, []).append(f"{section}.{key} = {text}")
    return [f"not honoured ({reason}): {', '.join(keys)}" for reason, keys in by_reason.items()]
