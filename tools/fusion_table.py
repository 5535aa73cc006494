"""The README's fusion table: DRAM bytes and time with and without `fuse(attention)` and
`fuse(elementwise)`, for GPT-2's prefill of a 1024-token prompt and for ResNet-50, at FP16.

    python tools/fusion_table.py [--hardware seed edge-llm] [--networks gpt2-1024 resnet50]
"""

from __future__ import annotations

import argparse

from accelsim.compress.spec import parse_pipeline
from accelsim.compress.transforms import pipeline
from accelsim.hardware import preset
from accelsim.precision import Precision
from accelsim.sim.engine import simulate
from accelsim.workload.decoder import decoder, prefill
from accelsim.workload.layers import Network
from accelsim.workload.networks import network

PIPELINES = {
    "gpt2-1024": ("", "fuse(attention)", "fuse(elementwise)", "fuse(attention) -> fuse(elementwise)"),
    "resnet50": ("", "fuse(elementwise)"),
}


def _network(name: str) -> Network:
    base = prefill(decoder("gpt2"), 1024) if name == "gpt2-1024" else network(name)
    return base.with_precision(Precision.FP16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hardware", nargs="+", default=["seed", "edge-llm"])
    parser.add_argument("--networks", nargs="+", default=list(PIPELINES))
    args = parser.parse_args()
    print("| network | hardware | pipeline | DRAM read bytes | DRAM write bytes | time | vs. unfused |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    for name in args.networks:
        for hw_name in args.hardware:
            hw = preset(hw_name)
            first = None
            for text in PIPELINES[name]:
                net = _network(name)
                if text:
                    net = pipeline(*parse_pipeline(text))(net)
                trace = simulate(net, hw)
                counters = trace.meta["counters"]
                reads = sum(c["dram_read_bytes"] for c in counters)
                writes = sum(c["dram_write_bytes"] for c in counters)
                seconds = trace.end_cycle / hw.clock_hz
                first = first or seconds
                shown = text or "(none)"
                print(
                    f"| {name} | {hw_name} | {shown} | {reads:,} | {writes:,} | {seconds * 1e3:,.3f} ms"
                    f" | {seconds / first:.3f}x |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
