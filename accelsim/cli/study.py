"""`accelsim study SPEC.toml`: run a sweep from a study spec, resumable, on any executor.

Ctrl-C exits with 130 after printing what was stored.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from accelsim.cli.common import EXIT_INTERRUPTED, check_parent
from accelsim.study import table, tidy
from accelsim.study.executors import make_executor
from accelsim.study.spec import load_study
from accelsim.study.sweep import SweepInterrupted, results, run_sweep


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "study",
        help="run a design-space sweep from a TOML spec (resumable; local cores or a Dask cluster)",
        description="Run every point of a study spec not yet in the results store, in parallel.",
    )
    parser.add_argument("spec", help="study spec (TOML), see README: Sweeps")
    parser.add_argument("--out", metavar="STORE.jsonl", help="results store (default: the spec's path with .jsonl)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: every core)")
    where.add_argument("--in-process", action="store_true", help="run in this process, one point at a time")
    where.add_argument(
        "--dask", metavar="ADDRESS", help="Dask scheduler tcp://HOST:PORT, or local:N to start N workers"
    )
    parser.add_argument("--traces", metavar="DIR", help="also save each point's trace as DIR/<key>.npz")
    parser.add_argument("--retry-failed", action="store_true", help="run again the points stored with an error")
    parser.add_argument(
        "--csv", metavar="OUT.csv", help="export the spec's results as CSV (a column per grid dimension and figure)"
    )
    parser.add_argument(
        "--parquet", metavar="OUT.parquet", help="export them as Parquet, the CSV's columns typed (accelsim[data])"
    )
    parser.add_argument("--markdown", metavar="OUT.md", help="export the spec's results as Markdown tables")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=cmd_study)


def cmd_study(args: argparse.Namespace) -> int:
    study = load_study(args.spec)
    store = Path(args.out) if args.out else Path(args.spec).with_suffix(".jsonl")
    check_parent("--csv", args.csv)
    check_parent("--markdown", args.markdown)
    check_parent("--parquet", args.parquet)
    if args.parquet:
        tidy.require()
    with make_executor(args.workers, args.dask, in_process=args.in_process) as executor:
        try:
            summary = run_sweep(
                study.points,
                store,
                executor,
                trace_dir=args.traces,
                progress=not args.no_progress,
                retry_failed=args.retry_failed,
            )
        except SweepInterrupted as stop:
            print(stop.summary.describe())
            print("accelsim: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
    print(summary.describe())
    pairs = results(study.points, store)
    done = [result for _, result in pairs]
    if args.csv:
        table.write_csv(done, args.csv, [point for point, _ in pairs])
        print(f"wrote {args.csv} ({len(done):,} results)")
    if args.parquet:
        tidy.write_parquet(pairs, args.parquet)
        print(f"wrote {args.parquet} ({len(done):,} results)")
    if args.markdown:
        Path(args.markdown).write_text(f"# {study.name}\n\n" + table.markdown(done))
        print(f"wrote {args.markdown} ({len(done):,} results)")
    return 0
