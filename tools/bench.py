"""Simulator speed benchmark: wall time, simulated cycles, trace intervals, cycles per second.

    python tools/bench.py [--repeat 3]

Targets (issue 2): resnet50 with its full trace in under 2 s wall on a 2-core machine, and 10x
more simulated cycles (10x less DRAM bandwidth) costing at most 1.2x the wall time: cost grows
with tiles, not cycles.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from accelsim import hardware
from accelsim.precision import Precision
from accelsim.sim.engine import simulate
from accelsim.sim.tiling import clear_plan_cache, plan_layer
from accelsim.workload.networks import network


def _cases() -> list[tuple[str, object, object]]:
    seed = hardware.seed()
    slow = seed.replace(name="seed-bw/10", dram=dataclasses.replace(seed.dram, bandwidth_bytes_per_s=20e6))
    r50_int8 = network("resnet50").with_precision(Precision.INT8)
    return [
        ("resnet50 INT8 on seed", r50_int8, seed),
        ("resnet18 FP32 on seed", network("resnet18"), seed),
        ("resnet50 INT8 on seed, bandwidth / 10", r50_int8, slow),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best is reported")
    args = parser.parse_args()
    results = {}
    print(f"{'case':40s} {'wall s':>8s} {'plan s':>7s} {'sim cycles':>15s} {'intervals':>10s} {'cycles/s':>12s}")
    for name, net, hw in _cases():
        best = None
        for _ in range(args.repeat):
            clear_plan_cache()  # count planning in every run, as a fresh process would
            t0 = time.perf_counter()
            for layer in net.layers:
                plan_layer(layer, hw)
            t1 = time.perf_counter()
            clear_plan_cache()
            trace = simulate(net, hw)
            wall = time.perf_counter() - t1
            if best is None or wall < best[0]:
                best = (wall, t1 - t0, trace)
        wall, plan_s, trace = best
        results[name] = (wall, trace.end_cycle)
        print(
            f"{name:40s} {wall:8.3f} {plan_s:7.3f} {trace.end_cycle:15,d} {trace.interval_count:10,d}"
            f" {trace.end_cycle / wall:12.3g}"
        )
    (w1, c1), (w10, c10) = results[_cases()[0][0]], results[_cases()[2][0]]
    print(f"\n10x less bandwidth: {c10 / c1:.2f}x the simulated cycles for {w10 / w1:.2f}x the wall time")


if __name__ == "__main__":
    main()
