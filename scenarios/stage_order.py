"""Seed study 002: does the order prune -> quantize -> distill matter, and does it win?

The three stages of seed 002 on the digits CNN, with measured accuracy: unstructured magnitude
pruning (bitmask storage), quantization-aware training, and knowledge distillation from the
uncompressed teacher into the same architecture (the deployment format unchanged). A fixed
fine-tuning budget is split 20/40/40 between them, whatever their order; all six orders run, and
each stage alone with the whole budget, on several training seeds; in seed 002's setting (50%
sparsity, INT8) and in a harder one (90%, INT4). Accuracy comes from the real model; size,
latency and energy from simulating the very same network on the seed accelerator and on the
zero-skipping `seed-sparse`, where pruning also saves MACs.

    python scenarios/stage_order.py                 # into out/stage_order

Writes orders.csv, orders.md, summary.md (per setting: the ranking, and whether prune ->
quantize -> distill wins beyond the spread between seeds) and stage_order_<n>.png (accuracy
against size and latency, and accuracy per order with its spread).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from tqdm import tqdm

from accelsim import (
    Distill,
    InputError,
    MeasuredAccuracy,
    MeasurementSettings,
    Quantize,
    Transform,
    UnstructuredPrune,
    hardware,
    plots,
    replace_block,
    simulated_summary,
)

NETWORK = "digits-cnn"
#: (title, sparsity, precision): seed 002's setting, and a harder one where the stages hurt.
SETTINGS = (("seed 002: 50% sparse, INT8", 0.5, "int8"), ("harder: 90% sparse, INT4", 0.9, "int4"))
SPLIT = {"prune": 0.2, "quantize": 0.4, "distill": 0.4}
PQD = "prune -> quantize -> distill"
README_BLOCK = "stage-order"


@dataclass(frozen=True)
class Outcome:
    """One pipeline: its measured accuracy per seed and its simulated cost."""

    name: str
    accuracies: tuple[float, ...]
    weight_bytes: int
    cycles: dict[str, int]  # per accelerator
    energy_j: dict[str, float]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.accuracies)

    @property
    def spread(self) -> float:
        return statistics.stdev(self.accuracies) if len(self.accuracies) > 1 else 0.0


def stages(sparsity: float, precision: str) -> dict[str, Transform]:
    return {"prune": UnstructuredPrune(sparsity, "bitmask"), "quantize": Quantize(precision), "distill": Distill(1.0)}


def settings(seed: int, budget_epochs: int, order: Sequence[str]) -> MeasurementSettings:
    """The budget split 20/40/40 between the stages present; one stage alone gets all of it."""
    total = sum(SPLIT[s] for s in order) or 1.0
    epochs = {name: max(1, round(budget_epochs * SPLIT[name] / total)) for name in SPLIT}
    return MeasurementSettings(
        seed=seed, finetune_epochs=epochs["prune"], qat_epochs=epochs["quantize"], distill_epochs=epochs["distill"]
    )


def pipelines() -> list[tuple[str, tuple[str, ...]]]:
    orders = [(" -> ".join(order), order) for order in itertools.permutations(SPLIT)]
    return [("baseline", ()), *orders, *((f"{name} alone", (name,)) for name in SPLIT)]


def run(seeds: Sequence[int], budget: int, sparsity: float, precision: str, progress: bool = True) -> list[Outcome]:
    machines = {name: hardware.preset(name) for name in ("seed", "seed-sparse")}
    transforms = stages(sparsity, precision)
    accuracies: dict[str, list[float]] = {}
    networks = {}
    runs = [(name, order, seed) for name, order in pipelines() for seed in seeds]
    for name, order, seed in tqdm(runs, desc=f"stage order ({precision})", unit="run", disable=not progress):
        provider = MeasuredAccuracy(NETWORK, settings(seed, budget, order))
        model = provider.model_for(tuple(transforms[s] for s in order))
        accuracies.setdefault(name, []).append(provider.test_accuracy(model))
        networks[name] = model.network
    out = []
    for name, _ in pipelines():
        summaries = {m: simulated_summary(networks[name], hw) for m, hw in machines.items()}
        cycles = {m: s.total.cycles for m, s in summaries.items()}
        energy = {m: s.total.energy.total_j for m, s in summaries.items()}
        out.append(Outcome(name, tuple(accuracies[name]), networks[name].weight_bytes, cycles, energy))
    return out


# --- outputs ------------------------------------------------------------------------------------


def write_tables(results: dict[str, list[Outcome]], out: Path, seeds: Sequence[int]) -> list[Path]:
    csv_path, md_path = out / "orders.csv", out / "orders.md"
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["setting", "pipeline", "mean_accuracy", "std_accuracy", "accuracies", "weight_bytes"]
            + ["cycles_seed", "energy_j_seed", "cycles_seed_sparse", "energy_j_seed_sparse"]
        )
        for title, outcomes in results.items():
            for o in outcomes:
                accs = " ".join(f"{a:.4f}" for a in o.accuracies)
                writer.writerow(
                    [title, o.name, o.mean, o.spread, accs, o.weight_bytes, o.cycles["seed"], o.energy_j["seed"]]
                    + [o.cycles["seed-sparse"], o.energy_j["seed-sparse"]]
                )
    lines = [f"# Stage order on {NETWORK} (seeds {', '.join(map(str, seeds))})"]
    for title, outcomes in results.items():
        lines += ["", f"## {title}", "", *_table(outcomes)]
    md_path.write_text("\n".join(lines) + "\n")
    return [csv_path, md_path]


def _table(outcomes: Sequence[Outcome]) -> list[str]:
    lines = [
        "| pipeline | accuracy (measured, mean ± std over seeds) | size | cycles on seed | energy on seed "
        "| cycles on seed-sparse | energy on seed-sparse |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for o in sorted(outcomes, key=lambda o: -o.mean):
        lines.append(
            f"| {o.name} | {100 * o.mean:.2f}% ± {100 * o.spread:.2f} | {o.weight_bytes:,} B | {o.cycles['seed']:,} "
            f"| {o.energy_j['seed'] * 1e6:.2f} uJ | {o.cycles['seed-sparse']:,} | {o.energy_j['seed-sparse'] * 1e6:.2f} uJ |"
        )
    return lines


def _verdict(orders: Sequence[Outcome]) -> tuple[str, float]:
    """Where prune -> quantize -> distill ranks among the orders (ties named), and its gap."""
    pqd = next(o for o in orders if o.name == PQD)
    best = max(o.mean for o in orders)
    if pqd.mean == best:
        tied = [o.name for o in orders if o.mean == best and o is not pqd]
        below = max((o.mean for o in orders if o.mean < best), default=best)
        text = "ranks first" + (f", tied with {', '.join(tied)}" if tied else "")
        return f"{text}, {100 * (best - below):.2f} points above the next order", best - below
    leader = next(o for o in orders if o.mean == best)
    place = 1 + sum(o.mean > pqd.mean for o in orders)
    return f"ranks {place} of 6, {100 * (best - pqd.mean):.2f} points below {leader.name}", best - pqd.mean


def summary_markdown(title: str, outcomes: Sequence[Outcome]) -> str:
    by_name = {o.name: o for o in outcomes}
    orders = sorted((o for o in outcomes if "->" in o.name), key=lambda o: -o.mean)
    verdict, gap = _verdict(orders)
    noise = max(o.spread for o in orders)
    single = max((o for o in outcomes if o.name.endswith("alone")), key=lambda o: o.mean)
    base, pqd = by_name["baseline"], by_name[PQD]
    costs = {(o.weight_bytes, o.cycles["seed"], o.energy_j["seed"]) for o in orders}
    return (
        f"- **{title}** (baseline {100 * base.mean:.2f}%): {PQD} {verdict}; the largest seed-to-seed spread of an "
        f"order is {100 * noise:.2f} points, so the gap is {'larger' if gap > noise else 'not larger'} than the noise. "
        "Orders by mean accuracy: " + ", ".join(f"{o.name} {100 * o.mean:.2f}%" for o in orders) + ". "
        f"Best single stage with the whole budget: {single.name}, {100 * single.mean:.2f}%. "
        f"Cost does not depend on the order ({len(costs)} distinct size/latency/energy among the six): "
        f"{pqd.weight_bytes:,} bytes against {base.weight_bytes:,}, {pqd.cycles['seed']:,} cycles against "
        f"{base.cycles['seed']:,} on `seed`, {pqd.energy_j['seed'] * 1e6:.1f} uJ against "
        f"{base.energy_j['seed'] * 1e6:.1f} uJ ({pqd.energy_j['seed-sparse'] * 1e6:.1f} uJ on `seed-sparse`)."
    )


@plots.styled
def figure(title: str, outcomes: Sequence[Outcome], path: Path) -> Path:
    fig = Figure(figsize=(16, 5), dpi=110, layout="constrained")
    ax_size, ax_latency, ax_bars = fig.subplots(1, 3)
    labelled: dict[int, int] = {}  # labels already placed at a size: the next one goes lower
    for o in outcomes:
        color = "C3" if o.name == PQD else ("C0" if "->" in o.name else "0.3")
        stack = labelled.get(o.weight_bytes, 0)
        if "->" not in o.name:
            labelled[o.weight_bytes] = stack + 1
        for ax, x in ((ax_size, o.weight_bytes / 1024), (ax_latency, o.cycles["seed"] / 1e3)):
            ax.errorbar(x, 100 * o.mean, yerr=100 * o.spread, fmt="o", color=color, capsize=3)
            if "->" not in o.name:
                offset = (6, 2 - 10 * stack)
                ax.annotate(o.name, (x, 100 * o.mean), xytext=offset, textcoords="offset points", fontsize=8)
    ax_size.set_xlabel("model size (KiB, weights as stored)")
    ax_latency.set_xlabel("simulated latency on seed (thousands of cycles = us)")
    for ax in (ax_size, ax_latency):
        ax.set_ylabel("measured accuracy (%)")
        ax.grid(alpha=0.3)
    ax_size.set_title("accuracy against size (blue: the six orders, same size)", loc="left", fontsize=10)
    ax_latency.set_title("accuracy against latency", loc="left", fontsize=10)
    orders = sorted((o for o in outcomes if "->" in o.name), key=lambda o: -o.mean)
    y = np.arange(len(orders))
    colors = ["C3" if o.name == PQD else "C0" for o in orders]
    means, spreads = [100 * o.mean for o in orders], [100 * o.spread for o in orders]
    ax_bars.barh(y, means, xerr=spreads, color=colors, capsize=3)
    ax_bars.set_yticks(y, [o.name for o in orders], fontsize=8)
    ax_bars.invert_yaxis()
    ax_bars.set_xlim(min(m - s for m, s in zip(means, spreads)) - 1, 100)
    ax_bars.set_xlabel("measured accuracy (%), mean ± std over seeds")
    ax_bars.set_title(f"the six orders (red: {PQD})", loc="left", fontsize=10)
    fig.suptitle(f"Stage order on {NETWORK}, {title}; fine-tuning budget 20/40/40", fontweight="bold")
    return plots.save_figure(fig, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="out/stage_order", help="output folder (default: %(default)s)")
    parser.add_argument("--seeds", help="training seeds, comma-separated (default: 0,1,2; --quick: 0)")
    parser.add_argument("--budget", type=int, help="fine-tuning epochs split 20/40/40 (default: 20; --quick: 3)")
    parser.add_argument("--quick", action="store_true", help="one seed and a budget of 3 epochs (for tests)")
    parser.add_argument("--readme", help="also write the summary into this README between the markers")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    args.seeds = args.seeds or ("0" if args.quick else "0,1,2")
    args.budget = args.budget if args.budget is not None else 3 if args.quick else 20
    try:
        if args.quick and args.readme:
            raise InputError("--readme: needs the full run (drop --quick)")
        if not all(part.strip().isdigit() for part in args.seeds.split(",")):
            raise InputError(f"--seeds: must be comma-separated integers (got {args.seeds!r})")
        if args.budget < 3:
            raise InputError(f"--budget: must be >= 3 epochs (got {args.budget})")
        seeds = [int(s) for s in args.seeds.split(",")]
        results = {title: run(seeds, args.budget, sparsity, precision) for title, sparsity, precision in SETTINGS}
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        written = write_tables(results, out, seeds)
        written += [figure(t, o, out / f"stage_order_{i}.png") for i, (t, o) in enumerate(results.items(), start=1)]
        head = f"Measured on {NETWORK} over seeds {', '.join(map(str, seeds))}, a budget of {args.budget} epochs split 20/40/40:"
        summary = "\n".join([head, "", *(summary_markdown(t, o) for t, o in results.items())]) + "\n"
        (out / "summary.md").write_text(summary)
        if args.readme:
            replace_block(args.readme, README_BLOCK, summary)
    except InputError as exc:
        print(f"stage_order: error: {exc}", file=sys.stderr)
        return 2
    print(summary)
    print(
        f"{sum(map(len, results.values()))} pipelines in {time.perf_counter() - began:.1f} s; wrote {', '.join(p.name for p in written)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
