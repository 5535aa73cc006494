"""`accelsim dram stream FILE --dram DEVICE`: a request trace through the banked DRAM model."""

from __future__ import annotations

import argparse
import json
from typing import Any

from accelsim.cli.common import Parser
from accelsim.dram_devices import PRESETS, dram_device


def register(subparsers: Any) -> None:
    dram = subparsers.add_parser("dram", help="DRAM devices: run a request trace through the banked model")
    dram_sub = dram.add_subparsers(dest="dram_command", required=True, parser_class=Parser)
    stream = dram_sub.add_parser(
        "stream",
        help="bandwidth, latency, row hits and energy of a DRAMsim3-format trace (<hex address> <READ|WRITE> <cycle>)",
    )
    stream.add_argument("file", help="request trace, one `<hex address> <READ|WRITE> <cycle>` per line")
    stream.add_argument("--dram", default="ddr4-3200", help=f"device: {', '.join(PRESETS)} (default: ddr4-3200)")
    stream.add_argument("--json", action="store_true", help="JSON output")
    stream.set_defaults(func=cmd_dram_stream)


def cmd_dram_stream(args: argparse.Namespace) -> int:
    from accelsim.sim.dram_stream import format_stream, run_stream

    result = run_stream(args.file, dram_device(args.dram))
    print(json.dumps(result.to_json(), indent=2) if args.json else format_stream(result))
    return 0
