"""Regenerate the example trace in traces/: the seed GEMMs at INT8 on the seed hardware.

python tools/example_trace.py
"""

from __future__ import annotations

from pathlib import Path

from accelsim import hardware
from accelsim.precision import Precision
from accelsim.sim.engine import simulate
from accelsim.trace import store
from accelsim.workload.networks import network

OUTPUT = Path(__file__).resolve().parent.parent / "traces" / "seed-gemms-int8.npz"


def main() -> None:
    trace = simulate(network("seed-gemms").with_precision(Precision.INT8), hardware.seed())
    store.save(trace, OUTPUT)
    print(
        f"wrote {OUTPUT} ({OUTPUT.stat().st_size:,} bytes, {trace.end_cycle:,} cycles, {trace.interval_count:,} intervals)"
    )


if __name__ == "__main__":
    main()
