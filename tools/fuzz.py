"""Random hardware x workload x compression, every run held to the simulator's invariants.

    python tools/fuzz.py --runs 10000            # the full campaign (minutes)
    python tools/fuzz.py --runs 200 --seed 3     # a quick look

Each run draws an accelerator (vector or systolic, lanes, buffers down to a few hundred bytes,
prefetch depth, bandwidth, latency, burst, zero-skipping), a chain of layers (convolutions with
any kernel, stride and padding, linear layers, GEMMs, activation MatMuls) at random precisions,
and a compression pipeline; simulates it under a time limit; and checks conservation of MACs
and bytes, one state per unit per cycle, buffer occupancy within capacity, cycles between the
roofline bound and serial execution (`tests/invariants.py`). Refused configurations (a buffer
too small for any tile: a clean ConfigError) count apart. Prints violations and timeouts with
a reproducer each; exits 1 if there are any.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import traceback
from collections import Counter
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from audit import Timeout, time_limit  # noqa: E402
from invariants import check_invariants  # noqa: E402

from accelsim import hardware  # noqa: E402
from accelsim.compress.spec import parse_pipeline  # noqa: E402
from accelsim.compress.transforms import pipeline  # noqa: E402
from accelsim.errors import InputError  # noqa: E402
from accelsim.precision import Precision  # noqa: E402
from accelsim.sim.engine import simulate  # noqa: E402
from accelsim.workload.layers import Conv2d, Gemm, Layer, Linear, MatMul, Network  # noqa: E402

PIPELINES = ("baseline", "int8", "int4", "quantize(w=int4, a=int8)", "prune(0.5)", "sparsify(0.7)", "nm(2, 4)")
PIPELINES += ("distill(0.5)", "lowrank(0.5)", "prune(0.25) -> int8", "sparsify(0.5, csr) -> int4")


def random_hardware(rng: random.Random) -> hardware.Accelerator:
    base = hardware.seed()
    systolic = rng.random() < 0.3
    rows, cols = rng.choice([1, 2, 4, 8, 16]), rng.choice([1, 3, 8, 16])
    mac = dataclasses.replace(
        base.mac_array,
        geometry="systolic" if systolic else "vector",
        lanes=rows * cols if systolic else rng.choice([1, 3, 16, 64, 256]),
        rows=rows,
        cols=cols,
        dataflow=rng.choice(["os", "ws", "is"]),
        tile_overhead_cycles=rng.choice([0, 0, 3]),
        zero_skipping=not systolic and rng.random() < 0.3,
    )
    buffers = dataclasses.replace(
        base.buffers,
        weight_bytes=rng.choice([128, 300, 1024, 4096, 65536]),
        activation_bytes=rng.choice([128, 285, 1024, 4096, 65536]),
        output_bytes=rng.choice([132, 512, 4096, 32768]),
        prefetch_depth_tiles=rng.choice([1, 1, 2, 4]),
        retain_activations=rng.random() < 0.5,
    )
    dram = dataclasses.replace(
        base.dram,
        bandwidth_bytes_per_s=rng.choice([1e6, 2e8, 3e9, 1e11]),
        latency_ns=rng.choice([0.0, 13.0, 100.0, 2000.0]),
        burst_bytes=rng.choice([1, 4, 64, 256]),
        queue_depth=rng.choice([1, 2, 8]),
    )
    return dataclasses.replace(base, name="fuzz", mac_array=mac, buffers=buffers, dram=dram)


def _conv(rng: random.Random, name: str, channels: int, size: int, first: bool) -> tuple[Conv2d, int, int]:
    kernel, stride = rng.choice([1, 2, 3, 5]), rng.choice([1, 1, 2, 3, 4])
    padding = rng.choice([0, kernel // 2, 2])
    out = rng.choice([1, 3, 8, 16])
    groups = rng.choice([g for g in (1, channels) if out % g == 0 and channels % g == 0])
    while size + 2 * padding < kernel:
        padding += 1
    layer = Conv2d(
        name,
        in_channels=channels,
        out_channels=out,
        in_height=size,
        in_width=size,
        kernel=(kernel, kernel),
        stride=stride,
        padding=padding,
        groups=groups,
        independent=first,
    )
    return layer, out, layer.out_height


def random_network(rng: random.Random) -> Network:
    precision = rng.choice(list(Precision))
    layers: list[Layer] = []
    if rng.random() < 0.6:
        channels, size = rng.choice([1, 2, 3, 8]), rng.randint(1, 40)
        for i in range(rng.randint(1, 3)):
            conv, channels, size = _conv(rng, f"conv{i}", channels, size, not layers)
            layers.append(conv)
        layers.append(Linear("fc", in_features=channels * size * size, out_features=rng.randint(1, 20)))
    else:
        kind = rng.choice(["linear", "gemm", "matmul"])
        if kind == "linear":
            layers.append(
                Linear(
                    "fc",
                    in_features=rng.randint(1, 300),
                    out_features=rng.randint(1, 300),
                    tokens=rng.randint(1, 16),
                    independent=True,
                )
            )
        elif kind == "gemm":
            layers.append(Gemm("g", m=rng.randint(1, 200), k=rng.randint(1, 200), n=rng.randint(1, 200)))
        else:
            layers.append(
                MatMul(
                    "mm",
                    batch=rng.randint(1, 4),
                    m=rng.randint(1, 64),
                    k=rng.randint(1, 64),
                    n=rng.randint(1, 64),
                    independent=True,
                )
            )
    return Network("fuzz", tuple(layers)).with_precision(precision, precision)


def one_run(seed: int, limit_s: int) -> tuple[str, str]:
    """('ok' | 'refused' | 'violation' | 'timeout', detail) of the run drawn from `seed`."""
    rng = random.Random(seed)
    hw, net, text = random_hardware(rng), random_network(rng), rng.choice(PIPELINES)
    try:
        with time_limit(limit_s):
            net = pipeline(*parse_pipeline(text))(net)
            check_invariants(simulate(net, hw), net, hw)
        return "ok", ""
    except Timeout:
        return "timeout", f"seed {seed}: over {limit_s} s"
    except InputError as exc:
        return "refused", str(exc)
    except Exception:  # noqa: BLE001 - an invariant failing or any crash is what we look for
        return "violation", f"seed {seed}: {traceback.format_exc(limit=-1).strip().splitlines()[-1]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0, help="first seed (run i uses seed + i)")
    parser.add_argument("--limit-s", type=int, default=30, help="time limit of one run")
    args = parser.parse_args(argv)
    counts: Counter[str] = Counter()
    bad: list[str] = []
    for i in tqdm(range(args.runs), unit="run", disable=args.runs < 50):
        kind, detail = one_run(args.seed + i, args.limit_s)
        counts[kind] += 1
        if kind in ("violation", "timeout"):
            bad.append(f"{kind}: {detail}")
    print(f"{args.runs} runs: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    print("\n".join(bad))
    print(
        "reproduce one with: python -c 'import sys; sys.path.insert(0, \"tools\"); import fuzz; print(fuzz.one_run(SEED, 60))'"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
