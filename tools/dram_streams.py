"""Request streams in DRAMsim3's trace format, and a small runner for them.

    python tools/dram_streams.py write DIR [--requests N] [--seed S]   # the validation streams
    python tools/dram_streams.py run FILE [--dram ddr4-3200] [--json]  # replay one on the banked model
    python tools/dram_streams.py compare [--dram ddr4-3200]            # ours against DRAMsim3's figures

Each line is `<hex address> <READ|WRITE> <cycle>`; request i is offered at cycle i (the trace CPU
accepts at most one per cycle anyway), so every stream but `random_paced` (one request every 40 cycles)
saturates the controller.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

from accelsim.dram_devices import DramControllerConfig, dram_device
from accelsim.sim.dram_stream import format_stream, run_stream

REQUEST_BYTES = 64
SPAN_BYTES = 16 << 30  # ddr4-3200's 2 ranks x 8 GB
COPY_OFFSET = 1 << 30  # destination array of the copy-like mixes


def sequential(n: int, rng: random.Random) -> list[tuple[int, bool]]:
    return [(i * REQUEST_BYTES, False) for i in range(n)]


def random_reads(n: int, rng: random.Random) -> list[tuple[int, bool]]:
    return [(rng.randrange(SPAN_BYTES // REQUEST_BYTES) * REQUEST_BYTES, False) for _ in range(n)]


def stride_8k(n: int, rng: random.Random) -> list[tuple[int, bool]]:
    return [(i * 8192, False) for i in range(n)]


def random_mix(reads_per_write: int) -> Callable[[int, random.Random], list[tuple[int, bool]]]:
    def gen(n: int, rng: random.Random) -> list[tuple[int, bool]]:
        return [
            (addr, i % (reads_per_write + 1) == reads_per_write) for i, (addr, _) in enumerate(random_reads(n, rng))
        ]

    return gen


def sequential_mix(reads_per_write: int) -> Callable[[int, random.Random], list[tuple[int, bool]]]:
    """Stream reads from one array and writes to another (a copy for 1:1), each sequential."""

    def gen(n: int, rng: random.Random) -> list[tuple[int, bool]]:
        out, r, w = [], 0, 0
        for i in range(n):
            if i % (reads_per_write + 1) == reads_per_write:
                out.append((COPY_OFFSET + w * REQUEST_BYTES, True))
                w += 1
            else:
                out.append((r * REQUEST_BYTES, False))
                r += 1
        return out

    return gen


def stride_mix(n: int, rng: random.Random) -> list[tuple[int, bool]]:
    return [(i * 8192, i % 3 == 2) for i in range(n)]


STREAMS: dict[str, Callable[[int, random.Random], list[tuple[int, bool]]]] = {
    "seq_read": sequential,
    "random_read": random_reads,
    "stride8k_read": stride_8k,
    "seq_mix21": sequential_mix(2),
    "seq_mix11": sequential_mix(1),
    "random_mix21": random_mix(2),
    "random_mix11": random_mix(1),
    "stride8k_mix21": stride_mix,
    "random_paced": random_mix(2),
}
# Cycles between offered requests: 1 saturates the controller; the paced stream leaves it mostly idle,
# so its latency is the unloaded one.
GAPS = {"random_paced": 40}


def stream_lines(name: str, requests: int, seed: int) -> list[str]:
    """The trace lines of stream `name`."""
    rng = random.Random(seed)
    gap = GAPS.get(name, 1)
    pairs = STREAMS[name](requests, rng)
    return [f"0x{addr:x} {'WRITE' if w else 'READ'} {i * gap}" for i, (addr, w) in enumerate(pairs)]


DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "dramsim3"


def compare(dram: str) -> str:
    """Table of ours against DRAMsim3's committed figures on every committed stream (no DRAMsim3 needed)."""
    closed = dram.endswith("-closed")
    device = dram_device(dram.removesuffix("-closed"))
    config = DramControllerConfig(page_policy="closed" if closed else "open")
    file = dram.removesuffix("-closed").replace("-", "_") + ("_closepage" if closed else "")
    doc = json.loads((DATA / f"dramsim3_{file}.json").read_text())
    head = f"{'stream':15} {'GB/s ours':>9} {'DRAMsim3':>9} {'diff':>7} {'hits ours':>9} {'DRAMsim3':>9} "
    head += f"{'diff/req':>8} {'lat ours':>8} {'DRAMsim3':>8} {'ACT ours':>8} {'DRAMsim3':>8} {'wall s':>6}"
    rows = [f"{dram} against DRAMsim3 {doc['dramsim3_commit'][:10]} ({doc['config']})", head]
    delay = device.read_latency_cycles + device.burst_cycles
    for name, ref in sorted(doc["streams"].items()):
        start = time.perf_counter()
        r = run_stream(DATA / f"{name}.trace", device, config)
        wall = time.perf_counter() - start
        ref_bw = ref["data_commands"] * device.request_bytes
        ref_bw /= (ref["cycles_to_last_data_command"] - 1 + delay) * device.tck_ns * 1e-9
        ref_hits = ref["num_read_row_hits"] + ref["num_write_row_hits"]
        rows.append(
            f"{name:15} {r.bandwidth_bytes_per_s / 1e9:9.3f} {ref_bw / 1e9:9.3f} "
            f"{100 * (r.bandwidth_bytes_per_s / ref_bw - 1):+6.2f}% {r.row_hits:9d} {ref_hits:9d} "
            f"{100 * (r.row_hits - ref_hits) / ref['requests']:+7.2f}% {r.avg_read_latency_cycles:8.1f} "
            f"{ref['average_read_latency']:8.1f} {r.acts:8d} {ref['num_act_cmds']:8d} {wall:6.2f}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write", help="write every validation stream into DIR")
    w.add_argument("dir", type=Path)
    w.add_argument("--requests", type=int, default=4000)
    w.add_argument("--seed", type=int, default=13)
    r = sub.add_parser("run", help="replay a trace on the banked model")
    r.add_argument("file", nargs="+", type=Path)
    r.add_argument("--dram", default="ddr4-3200")
    r.add_argument("--json", action="store_true")
    r.add_argument("--requests-per-cycle", type=int, default=1, help="1 as DRAMsim3's trace CPU; more for HBM2")
    c = sub.add_parser("compare", help="ours against DRAMsim3's committed figures")
    c.add_argument("--dram", default="ddr4-3200", choices=["ddr4-3200", "lpddr4-2400", "hbm2", "ddr4-3200-closed"])
    args = parser.parse_args(argv)
    if args.cmd == "compare":
        print(compare(args.dram))
        return 0
    if args.cmd == "write":
        args.dir.mkdir(parents=True, exist_ok=True)
        for name in STREAMS:
            (args.dir / f"{name}.trace").write_text("\n".join(stream_lines(name, args.requests, args.seed)) + "\n")
        return 0
    device = dram_device(args.dram)
    for path in args.file:
        start = time.perf_counter()
        result = run_stream(path, device, requests_per_cycle=args.requests_per_cycle)
        wall = time.perf_counter() - start
        if args.json:
            print(json.dumps({"file": str(path), "wall_s": wall, **result.to_json()}))
        else:
            print(f"== {path} ({wall:.2f} s)\n{format_stream(result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
