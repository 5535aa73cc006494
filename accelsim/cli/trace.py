"""`accelsim trace info|show|stats|export`: inspect and export trace files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from accelsim.cli.common import Parser, accuracy_fraction, add_carbon_options, carbon_model_of
from accelsim.cli.run import print_summary
from accelsim.metrics import dram_commands, summarize, tile_figures
from accelsim.metrics.generation import step_spans
from accelsim.metrics.report import format_table
from accelsim.trace import listing, signals, store
from accelsim.trace.trace import Trace
from accelsim.workload.provenance import provenance_text, steps_from_json

_EXPORT_SUFFIX = {"vcd": ".vcd", "chrome": ".json", "csv": ".csv", "parquet": ".parquet"}


def register(subparsers: Any) -> None:
    trace = subparsers.add_parser("trace", help="inspect and export trace files")
    trace_sub = trace.add_subparsers(dest="trace_command", required=True, parser_class=Parser)
    info = trace_sub.add_parser("info", help="metadata, signals, total cycles, file size")
    info.set_defaults(func=cmd_trace_info)
    show = trace_sub.add_parser("show", help="one row per cycle, like a waveform listing")
    show.add_argument("--cycles", help="window A:B (cycles A to B-1)")
    show.add_argument("--signals", help="comma-separated signals (default: all)")
    show.add_argument("--changes", action="store_true", help="only rows where a value changes")
    show.set_defaults(func=cmd_trace_show)
    stats = trace_sub.add_parser("stats", help="figures recomputed from the file alone")
    stats.add_argument("--by", choices=["layer", "tile"], default="layer", help="per layer (default) or per tile")
    stats.add_argument(
        "--accuracy", type=accuracy_fraction, help="accuracy of this configuration, a fraction in [0, 1]"
    )
    stats.add_argument("--json", action="store_true", help="JSON output")
    add_carbon_options(stats)
    stats.set_defaults(func=cmd_trace_stats)
    exp = trace_sub.add_parser(
        "export", help="VCD (GTKWave), Chrome trace JSON (Perfetto, speedscope), CSV, or Parquet intervals"
    )
    exp.add_argument("--format", required=True, choices=sorted(_EXPORT_SUFFIX), help="output format")
    exp.add_argument("--cycles", help="window A:B (default: the whole run)")
    exp.add_argument("--signals", help="comma-separated signals for CSV and Parquet (default: all)")
    exp.add_argument("-o", "--output", help="output file (default: beside the trace)")
    exp.set_defaults(func=cmd_trace_export)
    for command in (info, show, stats, exp):
        command.add_argument("file", help="trace file written by `accelsim run --trace`")


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
    commands = dram_commands(trace)
    if commands is not None:
        dram = hw["dram"]
        print(
            f"dram        banked {dram['device']} ({dram['page_policy']} page, {dram['layout']} layout): "
            f"row-buffer hit rate {100 * commands.row_hit_rate:.2f}% ({commands.row_hits:,} of {commands.columns:,} "
            f"column commands), {commands.acts:,} ACT, {commands.refs:,} REF"
        )
    if meta.get("provenance"):
        print("provenance  " + provenance_text(steps_from_json(meta["provenance"])))
    rows = [
        [name, spec.unit, f"{len(trace.starts[name]):,}", ", ".join(spec.states), spec.description]
        for name, spec in trace.specs.items()
    ]
    print()
    print(format_table(rows, ["signal", "unit", "intervals", "states", "description"], text_columns=(0, 1, 3, 4)))
    if signals.STEP.name in trace.specs:
        print()
        print(_generation_info(trace))
    return 0


def _generation_info(trace: Trace) -> str:
    """Where a generation's prefill ends and each decode step starts, and how long each takes."""
    spans = step_spans(trace)
    clock = trace.meta["clock_hz"]
    prefill_end = spans[0][2]
    head = f"generation  prefill ends at cycle {prefill_end:,} ({prefill_end / clock * 1e3:.6g} ms)"
    info = trace.meta.get("generation") or {}
    if info:
        head += f"; prompt {info['prompt']:,}, {info['generate']:,} decode steps, batch {info['batch']}"
    kinds, spec = info.get("phase_kinds"), info.get("speculative")
    if spec:  # speculative decoding: the steps are draft steps and verification passes
        head = head.replace(" decode steps", " tokens generated") + (
            f"\nspeculative draft {spec['draft']}, k={spec['k']}, acceptance {spec['acceptance']:g}: "
            f"{spec['rounds']} rounds of {spec['k']} draft steps and 1 verification"
        )
    rows = [
        [str(k), *([kinds[k]] if kinds else []), f"{start:,}", f"{end - start:,}", f"{(end - start) / clock * 1e3:.6g}"]
        for k, start, end in spans
        if k > 0
    ]
    if not rows:
        return head
    headers = ["step", *(["kind"] if kinds else []), "start cycle", "cycles", "ms"]
    return head + "\n" + format_table(rows, headers, text_columns=(0, 1) if kinds else (0,))


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
    print_summary(summarize(trace, accuracy=args.accuracy), carbon_model_of(args), args.json)
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
