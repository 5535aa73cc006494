"""`accelsim networks` and `accelsim hardware list|show`: what is built in."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from accelsim import hardware
from accelsim.cli.common import Parser
from accelsim.metrics.report import format_table
from accelsim.workload.networks import describe_networks, network


def register(subparsers: Any) -> None:
    nets = subparsers.add_parser("networks", help="list the built-in networks")
    nets.set_defaults(func=cmd_networks)

    hw = subparsers.add_parser("hardware", help="hardware presets and files")
    hw_sub = hw.add_subparsers(dest="hardware_command", required=True, parser_class=Parser)
    show = hw_sub.add_parser("show", help="print a preset (or a file, validated) as complete TOML")
    show.add_argument("name", nargs="?", default="seed", help="preset name (default: seed)")
    show.add_argument("--file", help="validate and print this hardware TOML instead of a preset")
    show.add_argument("--toml", action="store_true", help="TOML output (the default and only format)")
    show.add_argument("-o", "--output", help="write the TOML to this file")
    show.set_defaults(func=cmd_hardware_show)
    hw_list = hw_sub.add_parser("list", help="list the presets")
    hw_list.set_defaults(func=cmd_hardware_list)


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
