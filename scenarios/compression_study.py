"""Seed study 000: which compression strategy gives the most accuracy per joule on one accelerator?

Every configuration (quantization, structured and unstructured pruning, distillation, low rank,
and ordered combinations) is applied to the seed's five GEMMs and to ResNet-20, simulated on the
seed accelerator with a precision-scalable array (`seed`), a fixed-width array (`seed-fixed`)
and a zero-skipping one (`seed-sparse`), and ranked by accuracy per joule. Accuracy is modelled
(`ParametricAccuracy`, labelled so everywhere) unless `--accuracy-table` gives measured values.

    python scenarios/compression_study.py                       # everything, into out/compression_study
    python scenarios/compression_study.py --networks resnet20 --hardware seed --out /tmp/study

Writes the comparison table (results.csv, results.md), six figures (efficiency.png,
energy_vs_accuracy.png, roofline.png, energy_breakdown.png, utilization.png, stalls.png) and
summary.md (the ranking and the comparison with the seed's published result).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from seed000_model import SeedResult, seed_table
from tqdm import tqdm

from accelsim import (
    AccuracyProvider,
    Configuration,
    Evaluation,
    InputError,
    ParametricAccuracy,
    Result,
    TableAccuracy,
    best,
    evaluate,
    hardware,
    network,
    plots,
    tables,
)

#: (name, pipeline): the seed's configurations first, then what accelsim adds.
CONFIGURATIONS = (
    ("FP32 baseline", "baseline"),
    ("FP16", "fp16"),
    ("INT8", "int8"),
    ("INT4", "int4"),
    ("prune 25%", "prune(0.25)"),
    ("prune 50%", "prune(0.5)"),
    ("prune 75%", "prune(0.75)"),
    ("KD 75%", "distill(0.75)"),
    ("KD 50%", "distill(0.5)"),
    ("KD 25%", "distill(0.25)"),
    ("KD 50% + INT4", "distill(0.5) -> int4"),
    ("prune 50% + FP16", "prune(0.5) -> fp16"),
    ("prune 50% + INT8", "prune(0.5) -> int8"),
    ("prune 50% > INT8 > KD 50%", "prune(0.5) -> int8 -> distill(0.5)"),
    ("sparse 80% CSR + INT8", "sparsify(0.8, csr) -> int8"),
    ("2:4 sparse + INT8", "nm(2, 4) -> int8"),
    ("low-rank 50% + INT8", "lowrank(0.5) -> int8"),
)
NETWORKS = ("seed-gemms", "resnet20")
HARDWARE = ("seed", "seed-fixed", "seed-sparse")
#: `--quick`: the seed's GEMMs on two arrays, seven configurations (14 points, a few seconds).
QUICK = {
    "networks": ("seed-gemms",),
    "hardware": ("seed", "seed-fixed"),
    "configs": ("FP32 baseline", "FP16", "INT8", "INT4", "KD 50% + INT4", "prune 50% + FP16", "2:4 sparse + INT8"),
}
#: Modelled baseline accuracy: ResNet-20 on CIFAR-10, 91.25% (He et al., CVPR 2016, Table 6);
#: the seed's GEMMs carry the seed's own "accuracy factor" of 1.0.
BASELINE_ACCURACY = {"resnet20": 0.9125, "seed-gemms": 1.0}
#: The summary also names the best configuration losing at most this much accuracy.
ACCURACY_FLOOR_POINTS = 1.0


def configurations(names: Sequence[str] | None = None) -> list[Configuration]:
    chosen = [Configuration.parse(name, text) for name, text in CONFIGURATIONS]
    if names is None:
        return chosen
    known = {c.name: c for c in chosen}
    for name in names:
        if name not in known:
            raise InputError(f"--configs: unknown {name!r}; allowed: {', '.join(known)}")
    return [known[name] for name in names]


def provider(net: str, table_path: str | None) -> AccuracyProvider:
    if table_path:
        return TableAccuracy.from_csv(table_path)
    return ParametricAccuracy(BASELINE_ACCURACY.get(net, 1.0))


def run(
    networks: Sequence[str],
    hardware_names: Sequence[str],
    configs: Sequence[Configuration],
    accuracy_table: str | None = None,
    progress: bool = True,
) -> list[Evaluation]:
    """Every (network, hardware, configuration), in that order, traces kept for the figures."""
    points = [(n, h, c) for n in networks for h in hardware_names for c in configs]
    out = []
    for net, hw, config in tqdm(points, desc="compression study", unit="point", disable=not progress):
        out.append(evaluate(network(net), config, hardware.preset(hw), provider(net, accuracy_table), keep_trace=True))
    return out


# --- summary ------------------------------------------------------------------------------------


def _ranking_lines(results: Sequence[Result]) -> list[str]:
    lines = []
    for (net, hw), group in _grouped(results).items():
        baseline = next((r for r in group if r.configuration == "FP32 baseline"), None)
        ordered = sorted(group, key=lambda r: -(r.accuracy_per_j or 0.0))
        top = ", ".join(f"{r.configuration} ({r.accuracy_per_j:,.0f}/J)" for r in ordered[:3])
        line = f"- **{net} on {hw}**: {top}"
        if baseline is not None and baseline.accuracy is not None:
            floor = baseline.accuracy - ACCURACY_FLOOR_POINTS / 100
            kept = [r for r in ordered if r.accuracy is not None and r.accuracy >= floor - 1e-12]
            if kept:
                pick = kept[0]
                line += (
                    f"; losing at most {ACCURACY_FLOOR_POINTS:g} point: {pick.configuration}"
                    f" ({pick.accuracy_per_j:,.0f}/J, {100 * pick.accuracy:.2f}%)"
                )
        lines.append(line)
    return lines


def _grouped(results: Sequence[Result]) -> dict[tuple[str, str], list[Result]]:
    out: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        out.setdefault(tables.group_key(r), []).append(r)
    return out


#: The seed's five configurations and accelsim's names for them.
SEED_NAMES = {
    "Default FP16": "FP16",
    "Quant INT8": "INT8",
    "Quant INT4": "INT4",
    "KD 50% + INT4": "KD 50% + INT4",
    "Prune 50% FP16": "prune 50% + FP16",
}


def seed_comparison(results: Sequence[Result]) -> list[str]:
    """The seed's five configurations: its published model (re-derived) beside accelsim on the
    same GEMMs and the precision-scalable seed accelerator."""
    ours = {r.configuration: r for r in results if (r.network, r.hardware) == ("seed-gemms", "seed")}
    if not all(name in ours for name in SEED_NAMES.values()):
        return []
    seed, alone = seed_table(leak=True), {r.name: r for r in seed_table(leak=False)}

    def rank_of(values: dict[str, float]) -> dict[str, int]:
        return {name: i for i, name in enumerate(sorted(values, key=lambda n: -values[n]), start=1)}

    seed_rank = rank_of({r.name: r.score for r in seed})
    alone_rank = rank_of({name: r.score for name, r in alone.items()})
    our_rank = rank_of({s: ours[a].accuracy_per_j or 0.0 for s, a in SEED_NAMES.items()})
    lines = [
        "| seed configuration | seed cycles | seed bytes | seed accuracy | seed score | seed rank (leak fixed) "
        "| accelsim configuration | accelsim cycles | accelsim DRAM bytes | accelsim accuracy (modelled) "
        "| accelsim energy | accelsim accuracy/J | accelsim rank |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in seed:
        mine = ours[SEED_NAMES[r.name]]
        lines.append(
            f"| {r.name} | {r.cycles:,} | {r.bytes:,} | {r.accuracy:.3f} | {r.score:.4f} "
            f"| {seed_rank[r.name]} ({alone_rank[r.name]}) | {mine.configuration} | {mine.cycles:,} "
            f"| {mine.dram_bytes:,} | {100 * (mine.accuracy or 0):.2f}% | {mine.energy_j * 1e6:.1f} uJ "
            f"| {mine.accuracy_per_j:,.0f} | {our_rank[r.name]} |"
        )
    fixed: SeedResult = alone["Prune 50% FP16"]
    note = (
        'The seed\'s "Prune 50% FP16" row is computed on half-size GEMMs (its distillation scale leaks from '
        f"the run before); run alone, its model gives {fixed.cycles:,} cycles, {fixed.bytes:,} bytes and score "
        f"{fixed.score:.4f}, and the ranks in parentheses."
    )
    return [*lines, "", note]


def summary_markdown(results: Sequence[Result]) -> str:
    lines = ["Best accuracy per joule (top three; accuracy modelled unless stated):", "", *_ranking_lines(results)]
    comparison = seed_comparison(results)
    if comparison:
        lines += ["", "Seed 000's five configurations, its model against accelsim (seed-gemms on `seed`):", ""]
        lines += comparison
    return "\n".join(lines) + "\n"


# --- outputs ------------------------------------------------------------------------------------


def write_outputs(evaluations: Sequence[Evaluation], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    results = [e.result for e in evaluations]
    used = {r.hardware: hardware.preset(r.hardware) for r in results}
    title = "# Compression study: accuracy per joule on the seed accelerator\n\n"
    written = [
        tables.write_csv(results, out / "results.csv"),
        _write(out / "results.md", title + tables.markdown(results)),
        _write(out / "summary.md", summary_markdown(results)),
        plots.efficiency_bars(results, out / "efficiency.png"),
        plots.energy_vs_accuracy(results, out / "energy_vs_accuracy.png"),
        plots.roofline(results, used, out / "roofline.png"),
        plots.energy_breakdown(results, out / "energy_breakdown.png"),
        plots.utilization_over_time(_best_and_baseline(evaluations), out / "utilization.png"),
        plots.stall_breakdown(results, out / "stalls.png"),
    ]
    return written


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _best_and_baseline(evaluations: Sequence[Evaluation]) -> list[tuple[str, object]]:
    """Per network, on the first hardware: the baseline run and the most efficient one."""
    runs = []
    first_hw = evaluations[0].result.hardware
    for net in dict.fromkeys(e.result.network for e in evaluations):
        mine = [e for e in evaluations if e.result.network == net and e.result.hardware == first_hw]
        base = next((e for e in mine if not e.network.provenance), mine[0])
        top = next(e for e in mine if e.result is best([m.result for m in mine]))
        for label, e in (("baseline", base), ("best", top)):
            r = e.result
            runs.append(
                (
                    f"{net} on {first_hw}, {label}: {r.configuration} ({r.cycles:,} cycles,"
                    f" {r.energy_j * 1e6:,.1f} uJ, {r.accuracy_per_j or 0:,.0f} accuracy/J)",
                    e.trace,
                )
            )
    return runs


README_BLOCK = "compression-study"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="out/compression_study", help="output folder (default: %(default)s)")
    parser.add_argument("--networks", help=f"comma-separated (default: {','.join(NETWORKS)})")
    parser.add_argument("--hardware", help=f"comma-separated presets (default: {','.join(HARDWARE)})")
    parser.add_argument("--configs", help="comma-separated configuration names (default: all)")
    parser.add_argument("--quick", action="store_true", help="seed-gemms on seed and seed-fixed, 7 configurations")
    parser.add_argument("--accuracy-table", help="CSV of measured accuracies: configuration,accuracy")
    parser.add_argument("--readme", help="also write the summary into this README between the study markers")
    args = parser.parse_args(argv)
    grid = QUICK if args.quick else {"networks": NETWORKS, "hardware": HARDWARE, "configs": None}
    args.networks = args.networks or ",".join(grid["networks"])
    args.hardware = args.hardware or ",".join(grid["hardware"])
    args.configs = args.configs or (",".join(grid["configs"]) if grid["configs"] else None)
    try:
        if args.quick and args.readme:
            raise InputError("--readme: needs the full run (drop --quick)")
        began = time.perf_counter()
        configs = configurations(args.configs.split(",") if args.configs else None)
        evaluations = run(args.networks.split(","), args.hardware.split(","), configs, args.accuracy_table)
        written = write_outputs(evaluations, Path(args.out))
        if args.readme:
            tables.replace_block(args.readme, README_BLOCK, Path(args.out, "summary.md").read_text())
    except InputError as exc:
        print(f"compression_study: error: {exc}", file=sys.stderr)
        return 2
    print(Path(args.out, "summary.md").read_text())
    print(
        f"{len(evaluations)} points in {time.perf_counter() - began:.1f} s; wrote {', '.join(p.name for p in written)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
