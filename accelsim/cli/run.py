"""`accelsim run` and `accelsim ai`: simulate a workload and print its figures or its intensity."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from accelsim.cli.common import (
    accuracy_fraction,
    add_carbon_options,
    add_workload_options,
    carbon_model_of,
    check_parent,
    hardware_of,
    network_of,
    scalesim_notes,
    warn,
)
from accelsim.hardware import Accelerator
from accelsim.metrics import Summary, summarize
from accelsim.metrics.carbon import Carbon, CarbonModel, format_carbon
from accelsim.metrics.report import format_summary, format_table
from accelsim.sim.engine import simulate
from accelsim.sim.tiling import plan_layer
from accelsim.trace import store
from accelsim.workload.layers import Network


def register(subparsers: Any) -> None:
    run = subparsers.add_parser("run", help="simulate a network on an accelerator and print its figures")
    add_workload_options(run)
    run.add_argument("--accuracy", type=accuracy_fraction, help="accuracy of this configuration, a fraction in [0, 1]")
    run.add_argument("--trace", help="write the per-cycle trace to this file (.npz)")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_carbon_options(run)
    run.set_defaults(func=cmd_run)

    ai = subparsers.add_parser("ai", help="arithmetic intensity per layer: seed 001's convention and simulated bytes")
    add_workload_options(ai)
    ai.add_argument("--json", action="store_true", help="JSON output")
    ai.set_defaults(func=cmd_ai)


def cmd_run(args: argparse.Namespace) -> int:
    hw = hardware_of(args)
    net = network_of(args)
    carbon_model = carbon_model_of(args)
    check_parent("--trace", args.trace)
    warn_if_long(net, hw)
    trace = simulate(net, hw, progress=not args.json)
    summary = summarize(trace, accuracy=args.accuracy)
    if args.trace:
        store.save(trace, args.trace)
    print_summary(summary, carbon_model, args.json)
    if args.trace and not args.json:
        print(f"trace written to {args.trace} ({trace.interval_count:,} intervals)")
    scalesim_notes(args, net, trace, summary)
    return 0


_AI_HEADERS = [
    "layer",
    "FLOPs",
    "weight B",
    "input B",
    "output B",
    "FLOPs/B (seed 001)",
    "DRAM B (simulated)",
    "FLOPs/B (simulated)",
]


def cmd_ai(args: argparse.Namespace) -> int:
    from accelsim.intensity import network_intensity

    net = network_of(args)
    trace = simulate(net, hardware_of(args))
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
    print(f"arithmetic intensity of {net.name} on {trace.meta['hardware']['name']}")
    print(format_table(rows, _AI_HEADERS))
    return 0


#: Tile steps a run takes per second on the development machine (gpt2's prompt pass: about 20,000).
TILES_PER_S = 20_000
#: Runs estimated longer than this many tile steps say so before they start.
LONG_RUN_STEPS = 2_000_000


def warn_if_long(net: Network, hw: Accelerator) -> None:
    """Say up front when a legal run will take minutes (its progress bar follows)."""
    steps = sum(plan_layer(layer, hw).step_count for layer in net.layers)
    if steps > LONG_RUN_STEPS:
        minutes = steps / TILES_PER_S / 60
        warn([f"{net.name}: about {steps:,} tile steps, roughly {minutes:,.0f} minutes of simulation"], "note")


def print_summary(summary: Summary, carbon_model: CarbonModel, as_json: bool) -> None:
    """The run's figures and its carbon, as text or JSON (`run` and `trace stats` alike)."""
    carbon = carbon_model.per_million(summary.efficiency.energy_j, summary.efficiency.latency_s)
    if as_json:
        print(json.dumps({**summary.as_dict(), "carbon": _carbon_dict(carbon, carbon_model)}, indent=2))
    else:
        print(format_summary(summary))
        print(format_carbon(carbon, carbon_model))


def _carbon_dict(carbon: Carbon, model: CarbonModel) -> dict[str, Any]:
    return {
        "carbon_gco2e_per_million": carbon.total_gco2e_per_million,
        "operational_gco2e_per_million": carbon.operational_gco2e_per_million,
        "embodied_gco2e_per_million": carbon.embodied_gco2e_per_million,
        "model": dataclasses.asdict(model),
    }
