"""What every subcommand shares: the parser class, warnings, and the options naming a workload."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from accelsim import hardware
from accelsim.compress.policy import load_weight_policy
from accelsim.compress.spec import parse_pipeline
from accelsim.compress.transforms import pipeline
from accelsim.errors import InputError
from accelsim.precision import Precision
from accelsim.workload.layers import Network
from accelsim.workload.networks import network

if TYPE_CHECKING:
    from accelsim.metrics import Figures, Summary
    from accelsim.metrics.carbon import CarbonModel
    from accelsim.trace.trace import Trace

#: Exit status of bad input (as argparse's own usage errors).
EXIT_USAGE = 2
#: Exit status after Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130


class Parser(argparse.ArgumentParser):
    """argparse with the exit status of every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"accelsim: error: {message}\n")


def warn(lines: Sequence[str], kind: str = "warning") -> None:
    for line in lines:
        print(f"accelsim: {kind}: {line}", file=sys.stderr)


def accuracy_fraction(text: str) -> float:
    """argparse type: an accuracy, a fraction in [0, 1]."""
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction in [0, 1] (got {text})")
    return value


def check_parent(option: str, path: str | None) -> None:
    """Refuse an output path whose directory does not exist, before any work is done."""
    if path is not None and not Path(path).resolve().parent.is_dir():
        raise InputError(f"{option}: directory {Path(path).resolve().parent} does not exist")


def add_workload_options(parser: argparse.ArgumentParser) -> None:
    """The options naming a (compressed) network and the hardware it runs on."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--network", help="built-in network (see `accelsim networks`)")
    source.add_argument("--topology", metavar="CSV", help="SCALE-Sim convolution or GEMM topology CSV")
    source.add_argument("--onnx", metavar="MODEL", help="ONNX model: Conv, Gemm, MatMul (needs accelsim[onnx])")
    source.add_argument(
        "--network-file", metavar="CONFIG.json", help="a decoder LLM's Hugging Face config.json, run as a prompt pass"
    )
    parser.add_argument("--hardware", default="seed", help="hardware preset (default: seed)")
    parser.add_argument("--hardware-file", help="hardware TOML file (overrides --hardware)")
    parser.add_argument(
        "--scalesim-config", metavar="CFG", help="SCALE-Sim .cfg: a systolic array (overrides --hardware)"
    )
    parser.add_argument(
        "--scalesim-memory",
        choices=["scalesim", "accelsim"],
        help="with --scalesim-config in CALC mode: SCALE-Sim's memory, which never stalls (default), or accelsim's "
        "own DRAM bus at the config's Bandwidth",
    )
    precisions = [p.value for p in Precision]
    parser.add_argument("--precision", choices=precisions, help="weights and activations precision")
    parser.add_argument("--weight-precision", choices=precisions, help="weights precision")
    parser.add_argument("--activation-precision", choices=precisions, help="activations precision")
    parser.add_argument(
        "--weight-policy",
        metavar="JSON",
        help="per-layer bits: a JSON map from layer name to 32/16/8/4 (or seed 001's results with final_config)",
    )
    parser.add_argument(
        "--policy-applies-to",
        choices=["weights", "both"],
        default="weights",
        help="--weight-policy sets weights only (default, as seed 001) or weights and activations",
    )
    parser.add_argument(
        "--compress",
        metavar="PIPELINE",
        help='compression steps, e.g. "prune(0.5) -> int8 -> distill(0.5)" (see README: Compression)',
    )


def hardware_of(args: argparse.Namespace) -> hardware.Accelerator:
    """The accelerator named by --hardware, --hardware-file or --scalesim-config."""
    if getattr(args, "scalesim_config", None):
        from accelsim.interop.scalesim import read_config

        if args.hardware_file:
            raise InputError("--scalesim-config: give it or --hardware-file, not both")
        config = read_config(args.scalesim_config, memory=args.scalesim_memory or "scalesim")
        warn(config.warnings)
        return config.accelerator
    if getattr(args, "scalesim_memory", None):
        raise InputError("--scalesim-memory: needs --scalesim-config")
    if args.hardware_file:
        return hardware.load_toml(args.hardware_file)
    return hardware.preset(args.hardware)


def scalesim_notes(args: argparse.Namespace, net: Network, trace: Trace, summary: Summary) -> None:
    """After a run on a SCALE-Sim configuration in CALC mode: the DRAM bandwidth each layer used,
    as SCALE-Sim reports it; with --scalesim-memory accelsim, how far accelsim's bus is from
    CALC's stall-free answer (the compute schedule alone)."""
    if not getattr(args, "scalesim_config", None):
        return
    from accelsim.interop.scalesim import read_config
    from accelsim.sim.tiling import systolic_cycles

    config = read_config(args.scalesim_config, memory=args.scalesim_memory or "scalesim")
    if config.interface_bandwidth != "CALC":
        return
    if config.stall_free:
        warn([_layer_bandwidth(trace, i, figures) for i, figures in enumerate(summary.layers)], "note")
        return
    hw = config.accelerator
    # SCALE-Sim's CALC answer covers the GEMM layers; vector layers have no systolic schedule.
    calc = {i: systolic_cycles(layer, hw, *layer.gemm_mkn) for i, layer in enumerate(net.layers) if layer.unit == "mac"}
    ratios = {i: summary.layers[i].cycles / c for i, c in calc.items()}
    worst = max(ratios, key=ratios.__getitem__)
    warn(
        [
            f"--scalesim-memory accelsim: {summary.total.cycles:,} cycles on accelsim's DRAM bus at Bandwidth = "
            f"{config.bandwidth_words_per_cycle} words/cycle, {summary.total.cycles / sum(calc.values()):.3f}x the "
            f"{sum(calc.values()):,} of CALC's stall-free answer (the compute schedule alone); most on layer "
            f"{summary.layers[worst].name}: {ratios[worst]:.3f}x"
        ]
    )


def _layer_bandwidth(trace: Trace, index: int, figures: Figures) -> str:
    """One layer's average DRAM bandwidth per operand over its compute cycles, in SCALE-Sim's words."""
    from accelsim.trace.trace import TRANSFER_KINDS

    t = trace.transfers
    mine = t["layer"] == index
    busy = figures.state_cycles.get("BUSY", 0) or 1
    moved = {
        kind: int(t["payload_bytes"][mine & (t["kind"] == TRANSFER_KINDS.index(kind))].sum()) / busy
        for kind in ("activation", "weight", "output")
    }
    return (
        f"CALC bandwidth of layer {figures.name}: IFMAP {moved['activation']:.3f}, filter {moved['weight']:.3f}, "
        f"OFMAP {moved['output']:.3f} words/cycle over its {busy:,} compute cycles"
    )


def _base_network(args: argparse.Namespace) -> Network:
    """The network named by --network, read from --topology (SCALE-Sim), --onnx or --network-file."""
    if args.topology:
        from accelsim.interop.scalesim import read_topology

        topology = read_topology(args.topology)
        warn(topology.warnings)
        return topology.network
    if args.onnx:
        from accelsim.interop.onnx_import import import_onnx

        imported = import_onnx(args.onnx)
        warn(imported.describe().splitlines(), "note")
        return imported.network
    if args.network_file:
        from accelsim.workload.decoder import DEFAULT_PREFILL_TOKENS, prefill, read_hf_config

        return prefill(read_hf_config(args.network_file), DEFAULT_PREFILL_TOKENS)
    return network(args.network)


def network_of(args: argparse.Namespace) -> Network:
    """The network of the workload options: at its precision, then its per-layer policy, then compressed."""
    net = _base_network(args)
    # SCALE-Sim's words are one byte: its configuration means int8 unless a precision is given.
    default = "int8" if getattr(args, "scalesim_config", None) else None
    if args.precision or args.weight_precision or args.activation_precision or default:
        base = Precision.parse(args.precision or default or "fp32")
        weights = Precision.parse(args.weight_precision) if args.weight_precision else base
        acts = Precision.parse(args.activation_precision) if args.activation_precision else base
        net = net.with_precision(weights, acts)
    if args.weight_policy:
        net = load_weight_policy(args.weight_policy, activations=args.policy_applies_to == "both")(net)
    if args.compress:
        net = pipeline(*parse_pipeline(args.compress))(net)
    return net


def add_carbon_options(parser: argparse.ArgumentParser) -> None:
    """Where the accelerator runs and what its silicon cost (README: Carbon)."""
    from accelsim.metrics.carbon import GRID_GCO2E_PER_KWH, SOURCE_GCO2E_PER_KWH

    group = parser.add_argument_group("carbon (ACT model; README: Carbon)")
    regions = ", ".join([*GRID_GCO2E_PER_KWH, *SOURCE_GCO2E_PER_KWH])
    group.add_argument("--grid", default="world", help=f"grid region or source for use-phase carbon: {regions}")
    group.add_argument("--grid-gco2e-per-kwh", type=float, help="grid intensity in gCO2e/kWh (overrides --grid)")
    group.add_argument(
        "--pue", type=float, default=1.0, help="power usage effectiveness, 1 to 3 (default 1: no facility)"
    )
    group.add_argument("--die-area-mm2", type=float, help="die area, for the embodied carbon of the chip")
    group.add_argument(
        "--process-node-nm", type=int, default=28, help="process node of the die: 28, 20, 14, 10, 8, 7, 5, 3"
    )
    group.add_argument(
        "--embodied-kgco2e", type=float, help="embodied carbon of the chip, kgCO2e (instead of the area)"
    )
    group.add_argument("--lifetime-years", type=float, default=4.0, help="service life over which it is amortized")
    group.add_argument("--duty-cycle", type=float, default=1.0, help="share of that life spent on this workload")


def carbon_model_of(args: argparse.Namespace) -> CarbonModel:
    from accelsim.metrics.carbon import CarbonModel

    return CarbonModel(
        grid=args.grid,
        grid_gco2e_per_kwh=args.grid_gco2e_per_kwh,
        pue=args.pue,
        die_area_mm2=args.die_area_mm2,
        process_node_nm=args.process_node_nm,
        embodied_kgco2e=args.embodied_kgco2e,
        lifetime_years=args.lifetime_years,
        duty_cycle=args.duty_cycle,
    )
