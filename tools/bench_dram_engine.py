"""The banked DRAM model's cost in the engine: resnet50 INT8 with its full trace on the seed
accelerator, simple DRAM against banked devices (issue 13 target: banked <= 3x simple's wall time).

    python tools/bench_dram_engine.py [--repeat 3] [--devices ddr4-3200,lpddr5-6400,hbm2]

Each case counts planning and simulation together (a fresh plan cache each run) and reports the
best of `--repeat` runs, with the run's DRAM requests, commands and row-buffer hit rate: the cost
grows with requests and row switches, not bytes. The cases take turns within each round (simple,
then each device), so a shared machine's load drifts over all of them alike; the best wall and the
best CPU time of each are compared with simple's in the same process.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from accelsim import hardware
from accelsim.precision import Precision
from accelsim.sim.engine import simulate
from accelsim.sim.tiling import clear_plan_cache
from accelsim.workload.networks import network


def _run(net, hw):  # noqa: ANN001, ANN202
    clear_plan_cache()
    wall, cpu = time.perf_counter(), time.process_time()
    trace = simulate(net, hw)
    return time.perf_counter() - wall, time.process_time() - cpu, trace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best is reported")
    parser.add_argument("--devices", default="ddr4-3200,lpddr5-6400,hbm2", help="banked devices, comma-separated")
    args = parser.parse_args()
    net = network("resnet50").with_precision(Precision.INT8)
    seed = hardware.seed()
    print(
        f"{'dram':22s} {'wall s':>7s} {'x simple':>8s} {'cpu s':>7s} {'x simple':>8s} {'sim cycles':>13s}"
        f" {'requests':>9s} {'ACTs':>8s} {'hit rate':>8s}"
    )
    cases = [("simple", seed)] + [
        (f"banked {name}", seed.replace(dram=dataclasses.replace(seed.dram, model="banked", device=name)))
        for name in args.devices.split(",")
    ]
    best: dict[str, list] = {}
    for _ in range(args.repeat):
        for label, hw in cases:
            wall, cpu, trace = _run(net, hw)
            mine = best.setdefault(label, [wall, cpu, trace])
            mine[0], mine[1], mine[2] = min(mine[0], wall), min(mine[1], cpu), trace
    base_wall, base_cpu, _ = best["simple"]
    for label, (wall, cpu, trace) in best.items():
        counters = trace.meta["counters"]
        acts = sum(c.get("dram_act_commands", 0) for c in counters)
        columns = sum(c.get("dram_read_commands", 0) + c.get("dram_write_commands", 0) for c in counters)
        hits = sum(c.get("dram_row_hits", 0) for c in counters)
        rate = f"{hits / columns:8.4f}" if columns else f"{'-':>8s}"
        print(
            f"{label:22s} {wall:7.3f} {wall / base_wall:8.2f} {cpu:7.3f} {cpu / base_cpu:8.2f}"
            f" {trace.end_cycle:13,d} {len(trace.transfers['kind']):9,d} {acts:8,d} {rate}"
        )


if __name__ == "__main__":
    main()
