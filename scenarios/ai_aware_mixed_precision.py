"""Seed study 001: a per-layer 8/4-bit search that maximises arithmetic intensity under an
accuracy floor, against the same search maximising simulated inferences per joule and
minimising simulated latency.

On ResNet-20 (modelled accuracy) and the digits CNN (measured accuracy: trained with numpy,
quantized for real, tested on held-out images), on the seed accelerator and on the same one with
a 100 GB/s DRAM (compute-bound), in two search spaces: weights only (activations stay FP32, as
seed 001) and weights with activations (each layer W8A8 or W4A4).

    python scenarios/ai_aware_mixed_precision.py        # into out/ai_aware_mixed_precision

Writes policies.csv and policies.md (the chosen bit-width per layer for each objective, with
accuracy, intensity, inferences per joule and latency, against uniform FP32, INT8 and INT4),
one Pareto figure per network and accelerator (accuracy against each objective) and a figure of
the chosen bit-widths, and summary.md (where the objectives' policies agree and disagree).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from tqdm import tqdm

from accelsim import (
    AccuracyProvider,
    BitwidthSearch,
    InputError,
    Network,
    ParametricAccuracy,
    SearchResult,
    hardware,
    network,
    network_intensity,
    plots,
    replace_block,
    simulated_summary,
)
from accelsim import SearchPoint as Point

FLOOR_POINTS = 1.0  # seed 001: "<1% accuracy degradation" from FP32
OBJECTIVES = ("intensity", "inferences/J", "latency")
SPACES = (("weights", True), ("weights+activations", False))


def accelerators() -> dict[str, hardware.Accelerator]:
    seed = hardware.seed()
    fast = seed.replace(name="seed-100GBps", dram=dataclasses.replace(seed.dram, bandwidth_bytes_per_s=100e9))
    return {"seed": seed, "seed-100GBps": fast}


def accuracy_provider(net: str) -> AccuracyProvider:
    if net == "resnet20":
        return ParametricAccuracy(0.9125)  # He et al. 2016: ResNet-20 on CIFAR-10
    from accelsim import MeasuredAccuracy

    return MeasuredAccuracy(net)


def objectives(hw: hardware.Accelerator) -> dict[str, Callable[[Network], float]]:
    """Each objective as a number to maximise."""
    return {
        "intensity": lambda n: network_intensity(n)[1].flops_per_byte,
        "inferences/J": lambda n: 1.0 / simulated_summary(n, hw).total.energy.total_j,
        "latency": lambda n: -simulated_summary(n, hw).total.latency_s,
    }


@dataclass(frozen=True)
class Row:
    """One policy of one search: a chosen one or a uniform reference."""

    network: str
    hardware: str
    space: str
    policy_name: str  # an objective, or "uniform INT8" etc.
    bits: tuple[int, ...]  # weight bits per searchable layer
    accuracy: float
    accuracy_kind: str
    intensity: float  # seed 001's FLOPs/byte
    simulated_intensity: float
    inferences_per_j: float
    latency_s: float
    cycles: int


def _row(net: str, hw: hardware.Accelerator, space: str, name: str, point: Point, kind: str) -> Row:
    summary = simulated_summary(point.network, hw)
    intensity = network_intensity(point.network)[1]
    moved = summary.total.dram_read_bytes + summary.total.dram_write_bytes
    bits = tuple(8 if precision == "int8" else 4 if precision == "int4" else 32 for _, precision in point.policy)
    return Row(
        net,
        hw.name,
        space,
        name,
        bits,
        point.accuracy,
        kind,
        intensity.flops_per_byte,
        intensity.flops / moved,
        1.0 / summary.total.energy.total_j,
        summary.total.latency_s,
        summary.total.cycles,
    )


@dataclass
class Study:
    """All searches of one network on one accelerator."""

    network: str
    hardware: str
    floor: float
    baseline_accuracy: float
    results: dict[tuple[str, str], SearchResult]  # (space, objective) -> result
    rows: list[Row]
    clouds: dict[str, list[Point]]  # space -> every point evaluated (for the figure)


def run_one(net: str, hw: hardware.Accelerator, provider: AccuracyProvider, floor_points: float) -> Study:
    base = network(net)

    def accuracy(n: Network, steps: tuple) -> float:
        return provider.estimate(n, steps).value

    kind = provider.estimate(base).kind
    baseline = accuracy(base, ())
    floor = baseline - floor_points / 100
    results, rows, clouds = {}, [], {}
    for space, weights_only in SPACES:
        search = BitwidthSearch(base, accuracy, weights_only=weights_only)
        fp32 = Point(search.uniform("fp32"), (), base, baseline, 0.0)
        rows.append(_row(net, hw, space, "FP32", fp32, kind))
        for name, objective in objectives(hw).items():
            result = search.greedy(name, objective, floor)
            results[(space, name)] = result
            rows.append(_row(net, hw, space, f"best {name}", result.chosen, kind))
        for precision in ("int8", "int4"):
            point = search.point(search.uniform(precision), lambda n: 0.0)
            rows.append(_row(net, hw, space, f"uniform {precision.upper()}", point, kind))
        clouds[space] = search.evaluated()
    return Study(net, hw.name, floor, baseline, results, rows, clouds)


# --- outputs ------------------------------------------------------------------------------------


def _bits_text(bits: Sequence[int]) -> str:
    return " ".join(str(b) for b in bits)


def write_tables(studies: Sequence[Study], out: Path) -> list[Path]:
    csv_path, md_path = out / "policies.csv", out / "policies.md"
    fields = [f.name for f in dataclasses.fields(Row)]
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(fields)
        for study in studies:
            for r in study.rows:
                writer.writerow(
                    [
                        _bits_text(v) if k == "bits" else getattr(r, k)
                        for k, v in zip(fields, (getattr(r, f) for f in fields))
                    ]
                )
    lines = ["# Per-layer bit-width policies (seed 001's search)", ""]
    for study in studies:
        names = [layer.name for layer in network(study.network).layers if layer.b_is_weight]
        lines += [
            f"## {study.network} on {study.hardware}",
            "",
            f"Accuracy floor {100 * study.floor:.2f}% (FP32 {100 * study.baseline_accuracy:.2f}% minus {FLOOR_POINTS:g} point); "
            f"bits per layer in order: {', '.join(names)}.",
            "",
            "| space | policy | weight bits per layer | accuracy | FLOPs/B (seed 001) | FLOPs/B (simulated) | inferences/J | latency |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in study.rows:
            lines.append(
                f"| {r.space} | {r.policy_name} | `{_bits_text(r.bits)}` | {100 * r.accuracy:.2f}% ({r.accuracy_kind}) "
                f"| {r.intensity:.2f} | {r.simulated_intensity:.2f} | {r.inferences_per_j:,.0f} | {r.latency_s * 1e6:,.1f} us |"
            )
        lines.append("")
    md_path.write_text("\n".join(lines))
    return [csv_path, md_path]


@plots.styled
def pareto_figure(study: Study, path: Path) -> Path:
    """Rows: search spaces; columns: objectives. Grey: every policy evaluated; coloured: the
    greedy trajectory for that column's objective; markers: uniform FP32, INT8, INT4."""
    fig = Figure(figsize=(15, 4.4 * len(SPACES) + 0.6), dpi=110, layout="constrained")
    axes = fig.subplots(len(SPACES), len(OBJECTIVES), squeeze=False)
    hw = accelerators()[study.hardware]
    units = {
        "intensity": ("FLOPs per byte (seed 001)", 1.0),
        "inferences/J": ("inferences per joule", 1.0),
        "latency": ("latency (us)", -1e6),
    }
    references = {r.policy_name: r for r in study.rows}
    for row_axes, (space, _) in zip(axes, SPACES):
        cloud = study.clouds[space]
        for ax, name in zip(row_axes, OBJECTIVES):
            label, scale = units[name]
            objective = objectives(hw)[name]
            xs = [objective(p.network) * scale for p in cloud]
            ax.scatter(xs, [100 * p.accuracy for p in cloud], s=10, color="0.75", label="policies evaluated")
            trajectory = study.results[(space, name)].trajectory
            ax.plot(
                [objective(p.network) * scale for p in trajectory],
                [100 * p.accuracy for p in trajectory],
                marker="o",
                color="C3",
                lw=1.2,
                ms=4,
                label="greedy trajectory",
            )
            chosen = trajectory[-1]
            ax.scatter(
                [objective(chosen.network) * scale],
                [100 * chosen.accuracy],
                s=90,
                marker="*",
                color="C3",
                zorder=5,
                label="chosen",
            )
            for policy, marker in (("FP32", "s"), ("uniform INT8", "^"), ("uniform INT4", "v")):
                r = next(x for x in study.rows if x.space == space and x.policy_name == policy)
                value = {"intensity": r.intensity, "inferences/J": r.inferences_per_j, "latency": r.latency_s * 1e6}[
                    name
                ]
                ax.scatter([value], [100 * r.accuracy], marker=marker, s=60, color="black", zorder=4, label=policy)
            ax.axhline(100 * study.floor, color="C0", ls="--", lw=1, label="accuracy floor")
            ax.set_xlabel(label)
            ax.set_ylabel("accuracy (%)")
            goal = f"minimise {name} (left is better)" if name == "latency" else f"maximise {name} (right is better)"
            ax.set_title(f"{space}: {goal}", loc="left", fontsize=10)
            ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8)
    kind = next(iter(references.values())).accuracy_kind
    fig.suptitle(f"{study.network} on {study.hardware}: per-layer 8/4-bit search ({kind} accuracy)", fontweight="bold")
    return plots.save_figure(fig, path)


@plots.styled
def bitwidth_figure(studies: Sequence[Study], path: Path) -> Path:
    """The chosen weight bits of every layer, one row per (network, accelerator, space, objective)."""
    groups = {}
    for s in studies:
        groups.setdefault(s.network, []).append(s)
    fig = Figure(
        figsize=(14, 1.2 + 0.28 * sum(len(v) * len(SPACES) * len(OBJECTIVES) for v in groups.values())),
        dpi=110,
        layout="constrained",
    )
    axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
    colors = {8: "#9ecae1", 4: "#d62728"}
    for ax, (net, group) in zip(axes, groups.items()):
        names = [layer.name for layer in network(net).layers if layer.b_is_weight]
        labels, grid = [], []
        for s in group:
            for space, _ in SPACES:
                for name in OBJECTIVES:
                    labels.append(f"{s.hardware}, {space}, {name}")
                    grid.append([8 if p == "int8" else 4 for _, p in s.results[(space, name)].chosen.policy])
        image = np.array([[0 if b == 8 else 1 for b in row] for row in grid])
        ax.imshow(image, cmap=_two_colors(colors), aspect="auto", vmin=0, vmax=1)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_xticks(range(len(names)), names, fontsize=7, rotation=60, ha="right", rotation_mode="anchor")
        ax.set_title(f"{net}: chosen weight bits per layer", loc="left", fontsize=10)
    fig.legend(
        handles=[Patch(color=colors[8], label="8 bits"), Patch(color=colors[4], label="4 bits")],
        loc="outside lower center",
        ncols=2,
    )
    fig.suptitle("Which layers each objective lowers to 4 bits", fontweight="bold")
    return plots.save_figure(fig, path)


def _two_colors(colors: dict[int, str]):  # noqa: ANN202
    from matplotlib.colors import ListedColormap

    return ListedColormap([colors[8], colors[4]])


def summary_markdown(studies: Sequence[Study]) -> str:
    """Where the intensity-optimal policy and the simulated objectives' policies differ."""
    lines = []
    for s in studies:
        for space, _ in SPACES:
            ai = s.results[(space, "intensity")].chosen
            rows = {r.policy_name: r for r in s.rows if r.space == space}
            head = f"- **{s.network} on {s.hardware}, {space}**:"
            others = [(name, s.results[(space, name)].chosen) for name in OBJECTIVES[1:]]
            if all(other.policy == ai.policy for _, other in others):
                lines.append(
                    f"{head} all three objectives choose the same {len(ai.low_layers('int4'))} layers at 4 bits."
                )
                continue
            parts = [_difference(name, other, ai, rows) for name, other in others]
            lines.append(f"{head} " + "; ".join(parts) + ".")
    return "\n".join(lines) + "\n"


def _difference(name: str, other: Point, ai: Point, rows: dict[str, Row]) -> str:
    if other.policy == ai.policy:
        return f"the {name}-optimal policy is the intensity-optimal one"
    only_ai = [n for n in ai.low_layers("int4") if n not in other.low_layers("int4")]
    only_other = [n for n in other.low_layers("int4") if n not in ai.low_layers("int4")]
    if not only_other:
        change = f"keeps {', '.join(only_ai)} at 8 bits"
    elif not only_ai:
        change = f"also lowers {', '.join(only_other)}"
    else:
        change = f"lowers {', '.join(only_other)} instead of {', '.join(only_ai)}"
    mine, theirs = rows[f"best {name}"], rows["best intensity"]
    figures = (
        f"{mine.inferences_per_j:,.0f} against {theirs.inferences_per_j:,.0f} inferences/J, "
        f"{mine.cycles:,} against {theirs.cycles:,} cycles"
    )
    return f"the {name}-optimal policy {change} ({figures})"


README_BLOCK = "ai-search"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="out/ai_aware_mixed_precision", help="output folder (default: %(default)s)")
    parser.add_argument("--networks", help="comma-separated (default: resnet20,digits-cnn; --quick: digits-cnn)")
    parser.add_argument("--hardware", help="comma-separated, from: seed, seed-100GBps (default: both; --quick: seed)")
    parser.add_argument("--quick", action="store_true", help="digits-cnn on seed only (for tests)")
    parser.add_argument(
        "--floor-points", type=float, default=FLOOR_POINTS, help="accuracy the search may lose, in points"
    )
    parser.add_argument("--readme", help="also write the summary into this README between the markers")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    args.networks = args.networks or ("digits-cnn" if args.quick else "resnet20,digits-cnn")
    args.hardware = args.hardware or ("seed" if args.quick else "seed,seed-100GBps")
    try:
        if args.quick and args.readme:
            raise InputError("--readme: needs the full run (drop --quick)")
        hws = accelerators()
        chosen = [(n, h) for n in args.networks.split(",") for h in args.hardware.split(",")]
        for _, h in chosen:
            if h not in hws:
                raise InputError(f"--hardware: unknown {h!r}; allowed: {', '.join(hws)}")
        providers = {n: accuracy_provider(n) for n in dict.fromkeys(n for n, _ in chosen)}
        studies = [
            run_one(n, hws[h], providers[n], args.floor_points)
            for n, h in tqdm(chosen, desc="searches", unit="network")
        ]
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        written = write_tables(studies, out)
        written += [pareto_figure(s, out / f"pareto_{s.network}_{s.hardware}.png") for s in studies]
        written.append(bitwidth_figure(studies, out / "bitwidths.png"))
        summary = summary_markdown(studies)
        (out / "summary.md").write_text(summary)
        if args.readme:
            replace_block(args.readme, README_BLOCK, summary)
    except InputError as exc:
        print(f"ai_aware_mixed_precision: error: {exc}", file=sys.stderr)
        return 2
    print(summary)
    print(f"{len(studies)} searches in {time.perf_counter() - began:.1f} s; wrote {', '.join(p.name for p in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
