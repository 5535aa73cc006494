"""Sweep throughput: points per second of one 500-point sweep on each executor.

    python tools/bench_sweep.py [--out DIR] [--no-dask]

The sweep: mlp, seed-gemms, resnet20 and mobilenet_v2 x 5 compressions x 5 MAC lane counts x
5 DRAM bandwidths on the seed preset (500 points, 1 ms to 0.2 s each). It runs in this process,
in a process pool of 1 and of 2 workers, and on a local Dask cluster of 2 one-thread workers,
each into a fresh store, then checks the records are byte-identical across executors by key.
"Start" is the time to build the executor (Dask starts its cluster there; the pool starts its
workers on first use, inside the sweep).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from accelsim.study.executors import DaskExecutor, Executor, InProcessExecutor, ProcessPoolExecutor
from accelsim.study.points import Point
from accelsim.study.store import encode, read_records
from accelsim.study.sweep import run_sweep

NETWORKS = ("mlp", "seed-gemms", "resnet20", "mobilenet_v2")
COMPRESSIONS = ("baseline", "int8", "int4", "prune(0.5) -> int8", "distill(0.5) -> int4")
LANES = (16, 32, 64, 256, 1024)
BANDWIDTHS_BYTES_PER_S = (2e8, 1e9, 5e9, 2e10, 1e11)


def points() -> list[Point]:
    return [
        Point(net, text, overrides={"mac_array.lanes": n, "dram.bandwidth_bytes_per_s": bw})
        for net in NETWORKS
        for text in COMPRESSIONS
        for n in LANES
        for bw in BANDWIDTHS_BYTES_PER_S
    ]


def _executors(dask: bool) -> list[tuple[str, Callable[[], Executor]]]:
    out: list[tuple[str, Callable[[], Executor]]] = [
        ("in-process (1 worker)", InProcessExecutor),
        ("process pool, 1 worker", lambda: ProcessPoolExecutor(1)),
        ("process pool, 2 workers", lambda: ProcessPoolExecutor(2)),
    ]
    if dask:
        out.append(("Dask LocalCluster, 2 workers", lambda: DaskExecutor("local:2")))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder for the stores (default: a temporary folder, removed)")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask cluster")
    args = parser.parse_args(argv)
    sweep = points()
    folder = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench_sweep."))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"command: python {shlex.join(['tools/bench_sweep.py', *(argv or sys.argv[1:])])}")
    print(f"machine: {os.cpu_count()} CPUs (os.cpu_count); Python {sys.version.split()[0]}")
    print(f"sweep: {len(sweep)} points ({len({p.key for p in sweep})} distinct)\n")
    print(f"{'executor':30s} {'start s':>8s} {'sweep s':>8s} {'points/s':>9s} {'with start':>11s}")
    stores = {}
    try:
        for name, make in _executors(not args.no_dask):
            store = folder / (name.replace(" ", "_").replace(",", "") + ".jsonl")
            store.unlink(missing_ok=True)
            began = time.perf_counter()
            with make() as executor:
                started = time.perf_counter()
                summary = run_sweep(sweep, store, executor, progress=False)
            ended = time.perf_counter()  # closing the executor included
            assert summary.ran == len(sweep) and summary.failed == 0, summary.describe()
            print(
                f"{name:30s} {started - began:8.2f} {summary.wall_s:8.2f} {summary.points_per_s:9.1f}"
                f" {len(sweep) / (ended - began):11.1f}"
            )
            stores[name] = {key: encode(record) for key, record in read_records(store).items()}
    finally:
        if not args.out:
            shutil.rmtree(folder, ignore_errors=True)
    reference = next(iter(stores.values()))
    for name, records in stores.items():
        assert records == reference, f"{name}: records differ from the in-process run"
    print(f"\nrecords byte-identical across the {len(stores)} executors ({len(reference)} keys)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
