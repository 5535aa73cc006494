"""Trace file benchmark on a resnet50 INT8 run on the seed hardware.

    python tools/bench_trace.py [--frames 120] [--out DIR]

Prints bytes per interval, write and read speed, `trace stats` time, VCD and Chrome export
speed, and replay export times (PNG summary, GIF), and leaves the files in DIR to look at.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from accelsim import hardware, replay
from accelsim.metrics import summarize
from accelsim.precision import Precision
from accelsim.sim.engine import simulate
from accelsim.trace import export, store
from accelsim.workload.networks import network


def _timed(label: str, func: Callable[[], Any], per: tuple[float, str] | None = None) -> Any:
    t0 = time.perf_counter()
    result = func()
    wall = time.perf_counter() - t0
    rate = f"  ({per[0] / wall:,.0f} {per[1]}/s)" if per else ""
    print(f"{label:34s} {wall:8.3f} s{rate}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120, help="GIF frames")
    parser.add_argument("--out", type=Path, default=None, help="directory for the files (default: a temporary one)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="accelsim-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    trace = _timed(
        "simulate resnet50 INT8", lambda: simulate(network("resnet50").with_precision(Precision.INT8), hardware.seed())
    )
    n = trace.interval_count
    path = out / "resnet50-int8.npz"
    _timed("write trace", lambda: store.save(trace, path), (n, "intervals"))
    size = path.stat().st_size
    print(f"{'file size':34s} {size:,} bytes, {n:,} intervals, {size / n:.2f} bytes per interval")
    loaded = _timed("read trace (eager)", lambda: store.load(path), (n, "intervals"))
    _timed("read trace (memory-mapped)", lambda: store.load(path, lazy=True), (n, "intervals"))
    _timed("trace stats (summarize)", lambda: summarize(loaded))
    _timed("export VCD + .gtkw", lambda: export.export(loaded, "vcd", out / "resnet50.vcd"), (n, "intervals"))
    _timed("export Chrome trace JSON", lambda: export.export(loaded, "chrome", out / "resnet50.json"), (n, "intervals"))
    _timed("replay summary PNG", lambda: replay.summary_png(loaded, out / "resnet50-summary.png"))
    _timed(
        f"replay GIF ({args.frames} frames)",
        lambda: replay.export_animation(loaded, out / "resnet50.gif", frames=args.frames, progress=False),
    )
    print(f"files in {out}")


if __name__ == "__main__":
    main()
