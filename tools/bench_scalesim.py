"""Wall time and peak memory of accelsim against SCALE-Sim v3 on the same topology and config.

Both run as users run them, in fresh processes, writing their traces: accelsim with
`accelsim run --topology T --scalesim-config C --precision int8 --trace OUT.npz`, SCALE-Sim with
`python -m scalesim.scale -c C -t T -l L -p DIR` (it always writes its traces). SCALE-Sim is
not a dependency: point --scalesim-python at a Python that has it (e.g. a scratch venv with
`pip install "numpy<2.4" scalesim==3.0.0`); without it only accelsim runs, and
--scalesim-seconds compares it with a SCALE-Sim time measured before (ResNet-18 on SCALE-Sim's
32x32 default configuration: 285.1 s, see the README).

    python tools/bench_scalesim.py --topology T.csv --config C.cfg --layout L.csv \\
        [--scalesim-python /path/to/venv/bin/python | --scalesim-seconds S] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure(command: list[str], cwd: Path) -> tuple[float, int, float]:
    """(wall seconds, peak resident kB, CPU seconds) of one child process; raises if it fails.
    Its output goes to a file: a pipe nobody reads while waiting would fill and stall the child.
    CPU time (user + system) is what the wall time would be on an idle machine, give or take."""
    log = cwd / "stderr.log"
    began = time.perf_counter()
    with log.open("wb") as err:
        child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - began
    if status:
        raise SystemExit(f"bench_scalesim: {' '.join(command)} failed:\n{log.read_text()[-2000:]}")
    return wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topology", required=True, type=Path)
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--layout", type=Path, help="SCALE-Sim layout CSV (it needs one even when unused)")
    parser.add_argument("--scalesim-python", help="a Python with scalesim installed")
    parser.add_argument("--scalesim-seconds", type=float, help="SCALE-Sim's wall time from an earlier run")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each (the best wall time is reported)")
    args = parser.parse_args()
    accelsim = shutil.which("accelsim") or sys.exit("bench_scalesim: accelsim is not on PATH")
    work = Path(tempfile.mkdtemp(prefix="bench_scalesim_"))
    runs = {
        "accelsim": [accelsim, "run", "--topology", str(args.topology.resolve()), "--scalesim-config"]
        + [str(args.config.resolve()), "--precision", "int8", "--trace", str(work / "trace.npz")],
    }
    if args.scalesim_python:
        if not args.layout:
            sys.exit("bench_scalesim: --layout is needed to run SCALE-Sim")
        runs["SCALE-Sim"] = [args.scalesim_python, "-m", "scalesim.scale", "-c", str(args.config.resolve())]
        runs["SCALE-Sim"] += [
            "-t",
            str(args.topology.resolve()),
            "-l",
            str(args.layout.resolve()),
            "-p",
            str(work / "scalesim"),
        ]
    print(f"topology {args.topology}  config {args.config}  on {os.cpu_count()} CPUs")
    best: dict[str, tuple[float, int, float]] = {}
    for name, command in runs.items():
        results = [measure(command, work) for _ in range(args.repeat)]
        best[name] = min(results)
        wall, rss, cpu = best[name]
        print(f"{name:10s} {wall:9.2f} s  {rss / 1024:9.1f} MB peak  {cpu:7.2f} s CPU  ({' '.join(command)})")
    if len(best) == 2:
        print(
            f"SCALE-Sim / accelsim: {best['SCALE-Sim'][0] / best['accelsim'][0]:.0f}x the wall time, "
            f"{best['SCALE-Sim'][1] / best['accelsim'][1]:.1f}x the memory"
        )
    elif args.scalesim_seconds:
        wall, _, cpu = best["accelsim"]
        print(
            f"SCALE-Sim ({args.scalesim_seconds:.1f} s, measured before) / accelsim: "
            f"{args.scalesim_seconds / wall:.0f}x the wall time ({args.scalesim_seconds / cpu:.0f}x its CPU time)"
        )
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
