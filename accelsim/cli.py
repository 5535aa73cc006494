"""The `accelsim` command: a thin layer over the public API.

Bad input (an invalid field, an unknown name, an unreadable file) prints one line naming the
field and the allowed range to stderr and exits with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from accelsim import hardware
from accelsim.compress.spec import parse_pipeline
from accelsim.compress.transforms import pipeline
from accelsim.errors import InputError
from accelsim.metrics import summarize, tile_figures
from accelsim.precision import Precision
from accelsim.report import format_summary, format_table
from accelsim.sim.engine import simulate
from accelsim.study.command import add_study_parser
from accelsim.trace import listing, store
from accelsim.trace.trace import Trace
from accelsim.workload.layers import Network
from accelsim.workload.networks import describe_networks, network
from accelsim.workload.provenance import provenance_text, steps_from_json

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"accelsim: error: {message}\n")


def _warn(lines: Sequence[str], kind: str = "warning") -> None:
    for line in lines:
        print(f"accelsim: {kind}: {line}", file=sys.stderr)


def _hardware(args: argparse.Namespace) -> hardware.Accelerator:
    if getattr(args, "scalesim_config", None):
        from accelsim.interop.scalesim import read_config

        if args.hardware_file:
            raise InputError("--scalesim-config: give it or --hardware-file, not both")
        config = read_config(args.scalesim_config)
        _warn(config.warnings)
        return config.accelerator
    if args.hardware_file:
        return hardware.load_toml(args.hardware_file)
    return hardware.preset(args.hardware)


def _base_network(args: argparse.Namespace) -> Network:
    """The network named by --network, read from --topology (SCALE-Sim) or --onnx."""
    if args.topology:
        from accelsim.interop.scalesim import read_topology

        topology = read_topology(args.topology)
        _warn(topology.warnings)
        return topology.network
    if args.onnx:
        from accelsim.workload.onnx_import import import_onnx

        imported = import_onnx(args.onnx)
        _warn(imported.describe().splitlines(), "note")
        return imported.network
    return network(args.network)


def _network(args: argparse.Namespace) -> Network:
    net = _base_network(args)
    if args.precision or args.weight_precision or args.activation_precision:
        base = Precision.parse(args.precision or "fp32")
        weights = Precision.parse(args.weight_precision) if args.weight_precision else base
        acts = Precision.parse(args.activation_precision) if args.activation_precision else base
        net = net.with_precision(weights, acts)
    if args.compress:
        net = pipeline(*parse_pipeline(args.compress))(net)
    return net


def _accuracy(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction in [0, 1] (got {text})")
    return value


def cmd_run(args: argparse.Namespace) -> int:
    hw = _hardware(args)
    net = _network(args)
    if args.trace:
        _check_writable(args.trace)
    trace = simulate(net, hw, progress=not args.json)
    summary = summarize(trace, accuracy=args.accuracy)
    if args.trace:
        store.save(trace, args.trace)
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        print(format_summary(summary))
        if args.trace:
            print(f"trace written to {args.trace} ({trace.interval_count:,} intervals)")
    return 0


def _check_writable(path: str) -> None:
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise InputError(f"--trace: directory {parent} does not exist")


def cmd_ai(args: argparse.Namespace) -> int:
    from accelsim.intensity import network_intensity

    net = _network(args)
    trace = simulate(net, _hardware(args))
    layers, whole = network_intensity(net, trace)
    if args.json:
        rows_json = [
            {**vars(x), "flops_per_byte": x.flops_per_byte, "simulated_flops_per_byte": x.simulated_flops_per_byte}
            for x in (*layers, whole)
        ]
        print(json.dumps(rows_json, indent=2))
        return 0
    rows = [
        [
            x.name if x is not whole else "network",
            f"{x.flops:,}",
            f"{x.weight_bytes:,}",
            f"{x.input_bytes:,}",
            f"{x.output_bytes:,}",
            f"{x.flops_per_byte:.2f}",
            f"{x.simulated_bytes:,}",
            f"{x.simulated_flops_per_byte:.2f}",
        ]
        for x in (*layers, whole)
    ]
    headers = [
        "layer",
        "FLOPs",
        "weight B",
        "input B",
        "output B",
        "FLOPs/B (seed 001)",
        "DRAM B (simulated)",
        "FLOPs/B (simulated)",
    ]
    print(f"arithmetic intensity of {net.name} on {trace.meta['hardware']['name']}")
    print(format_table(rows, headers))
    return 0


def cmd_networks(args: argparse.Namespace) -> int:
    rows = []
    for name, description in describe_networks():
        net = network(name)
        rows.append([name, str(len(net.layers)), f"{net.parameter_count:,}", f"{net.macs:,}", description])
    print(format_table(rows, ["network", "layers", "parameters", "MACs", "description"], text_columns=(0, 4)))
    return 0


def cmd_hardware_show(args: argparse.Namespace) -> int:
    hw = hardware.load_toml(args.file) if args.file else hardware.preset(args.name)
    text = hardware.to_toml(hw)
    if args.output:
        Path(args.output).write_text(text)
    else:
        print(text, end="")
    return 0


def cmd_hardware_list(args: argparse.Namespace) -> int:
    for name, make in hardware.PRESETS.items():
        print(f"{name:12s} {(make.__doc__ or '').strip().splitlines()[0]}")
    return 0


def _load_trace(args: argparse.Namespace) -> Trace:
    return store.load(args.file, lazy=True)


def cmd_trace_info(args: argparse.Namespace) -> int:
    trace = _load_trace(args)
    size = store.file_size_bytes(args.file)
    meta, hw = trace.meta, trace.meta["hardware"]
    print(f"file        {args.file}  ({size:,} bytes, {size / max(trace.interval_count, 1):.2f} bytes per interval)")
    print(f"schema      {store.SCHEMA} version {store.SCHEMA_VERSION}")
    print(f"network     {meta['network']['name']}  ({len(meta['layers'])} layers)")
    print(f"hardware    {hw['name']}  clock {meta['clock_hz'] / 1e9:g} GHz")
    print(f"cycles      {trace.end_cycle:,}  ({trace.end_cycle / meta['clock_hz'] * 1e3:.6g} ms)")
    print(f"transfers   {len(trace.transfers['kind']):,} DRAM requests")
    if meta.get("provenance"):
        print("provenance  " + provenance_text(steps_from_json(meta["provenance"])))
    rows = [
        [name, spec.unit, f"{len(trace.starts[name]):,}", ", ".join(spec.states), spec.description]
        for name, spec in trace.specs.items()
    ]
    print()
    print(format_table(rows, ["signal", "unit", "intervals", "states", "description"], text_columns=(0, 1, 3, 4)))
    return 0


def cmd_trace_show(args: argparse.Namespace) -> int:
    trace = _load_trace(args)
    start, stop = listing.parse_window(args.cycles, trace)
    names = listing.parse_signals(args.signals, trace)
    widths = [max(len(n), 8, *(len(s) for s in trace.specs[n].states)) for n in names]
    print("cycle".rjust(12) + "  " + "  ".join(n.rjust(w) for n, w in zip(names, widths)))
    for cycle, values in listing.rows(trace, names, start, stop, changes_only=args.changes):
        print(f"{cycle:12d}  " + "  ".join(v.rjust(w) for v, w in zip(values, widths)))
    return 0


def cmd_trace_stats(args: argparse.Namespace) -> int:
    trace = _load_trace(args)
    if args.by == "tile":
        tiles = tile_figures(trace)
        if args.json:
            print(json.dumps(tiles, indent=2))
            return 0
        states = trace.specs["mac.state"].states
        rows = [
            [t["layer"], str(t["tile"]), f"{t['start_cycle']:,}", f"{t['cycles']:,}", f"{t['macs']:,}"]
            + [f"{t['state_cycles'].get(s, 0):,}" for s in states]
            for t in tiles
        ]
        print(format_table(rows, ["layer", "tile", "start", "cycles", "MACs", *states], text_columns=(0,)))
        return 0
    summary = summarize(trace, accuracy=args.accuracy)
    print(json.dumps(summary.as_dict(), indent=2) if args.json else format_summary(summary))
    return 0


def cmd_trace_export(args: argparse.Namespace) -> int:
    from accelsim.trace import export  # the exporters are only needed here

    trace = _load_trace(args)
    start, stop = listing.parse_window(args.cycles, trace)
    names = listing.parse_signals(args.signals, trace) if args.signals else None
    output = Path(args.output) if args.output else Path(args.file).with_suffix(_EXPORT_SUFFIX[args.format])
    for path in export.export(trace, args.format, output, start, stop, names):
        print(f"wrote {path}")
    return 0


_EXPORT_SUFFIX = {"vcd": ".vcd", "chrome": ".json", "csv": ".csv"}


def _workload_options(parser: argparse.ArgumentParser) -> None:
    """The options naming a (compressed) network and the hardware it runs on."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--network", help="built-in network (see `accelsim networks`)")
    source.add_argument("--topology", metavar="CSV", help="SCALE-Sim convolution or GEMM topology CSV")
    source.add_argument("--onnx", metavar="MODEL", help="ONNX model: Conv, Gemm, MatMul (needs accelsim[onnx])")
    parser.add_argument("--hardware", default="seed", help="hardware preset (default: seed)")
    parser.add_argument("--hardware-file", help="hardware TOML file (overrides --hardware)")
    parser.add_argument(
        "--scalesim-config", metavar="CFG", help="SCALE-Sim .cfg: a systolic array (overrides --hardware)"
    )
    precisions = [p.value for p in Precision]
    parser.add_argument("--precision", choices=precisions, help="weights and activations precision")
    parser.add_argument("--weight-precision", choices=precisions, help="weights precision")
    parser.add_argument("--activation-precision", choices=precisions, help="activations precision")
    parser.add_argument(
        "--compress",
        metavar="PIPELINE",
        help='compression steps, e.g. "prune(0.5) -> int8 -> distill(0.5)" (see README: Compression)',
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="accelsim", description="Cycle-level simulator of a neural-network accelerator.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="simulate a network on an accelerator and print its figures")
    _workload_options(run)
    run.add_argument("--accuracy", type=_accuracy, help="accuracy of this configuration, a fraction in [0, 1]")
    run.add_argument("--trace", help="write the per-cycle trace to this file (.npz)")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.set_defaults(func=cmd_run)

    ai = sub.add_parser("ai", help="arithmetic intensity per layer: seed 001's convention and simulated bytes")
    _workload_options(ai)
    ai.add_argument("--json", action="store_true", help="JSON output")
    ai.set_defaults(func=cmd_ai)

    add_study_parser(sub)

    nets = sub.add_parser("networks", help="list the built-in networks")
    nets.set_defaults(func=cmd_networks)

    hw = sub.add_parser("hardware", help="hardware presets and files")
    hw_sub = hw.add_subparsers(dest="hardware_command", required=True, parser_class=_Parser)
    show = hw_sub.add_parser("show", help="print a preset (or a file, validated) as complete TOML")
    show.add_argument("name", nargs="?", default="seed", help="preset name (default: seed)")
    show.add_argument("--file", help="validate and print this hardware TOML instead of a preset")
    show.add_argument("--toml", action="store_true", help="TOML output (the default and only format)")
    show.add_argument("-o", "--output", help="write the TOML to this file")
    show.set_defaults(func=cmd_hardware_show)
    hw_list = hw_sub.add_parser("list", help="list the presets")
    hw_list.set_defaults(func=cmd_hardware_list)

    trace = sub.add_parser("trace", help="inspect and export trace files")
    trace_sub = trace.add_subparsers(dest="trace_command", required=True, parser_class=_Parser)
    info = trace_sub.add_parser("info", help="metadata, signals, total cycles, file size")
    info.set_defaults(func=cmd_trace_info)
    show = trace_sub.add_parser("show", help="one row per cycle, like a waveform listing")
    show.add_argument("--cycles", help="window A:B (cycles A to B-1)")
    show.add_argument("--signals", help="comma-separated signals (default: all)")
    show.add_argument("--changes", action="store_true", help="only rows where a value changes")
    show.set_defaults(func=cmd_trace_show)
    stats = trace_sub.add_parser("stats", help="figures recomputed from the file alone")
    stats.add_argument("--by", choices=["layer", "tile"], default="layer", help="per layer (default) or per tile")
    stats.add_argument("--accuracy", type=_accuracy, help="accuracy of this configuration, a fraction in [0, 1]")
    stats.add_argument("--json", action="store_true", help="JSON output")
    stats.set_defaults(func=cmd_trace_stats)
    exp = trace_sub.add_parser("export", help="VCD (GTKWave), Chrome trace JSON (Perfetto, speedscope) or CSV")
    exp.add_argument("--format", required=True, choices=sorted(_EXPORT_SUFFIX), help="output format")
    exp.add_argument("--cycles", help="window A:B (default: the whole run)")
    exp.add_argument("--signals", help="comma-separated signals for CSV (default: all)")
    exp.add_argument("-o", "--output", help="output file (default: beside the trace)")
    exp.set_defaults(func=cmd_trace_export)
    for command in (info, show, stats, exp):
        command.add_argument("file", help="trace file written by `accelsim run --trace`")

    # Listed for `accelsim --help`; `main` hands `accelsim replay ...` to the replay tool.
    sub.add_parser(
        "replay", help="replay a trace in a window, or export PNG / GIF / MP4 (see `accelsim replay --help`)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["replay"]:
        # The replay tool owns its options (and its --help).
        from accelsim import replay

        return replay.main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except InputError as exc:
        print(f"accelsim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("accelsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `head`) went away: stop quietly, as Unix tools do.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except OSError as exc:
        # A file that cannot be written or read (missing directory, permissions, full disk).
        print(f"accelsim: error: {exc.filename or ''}: {exc.strerror or exc}".replace(": :", ":"), file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
