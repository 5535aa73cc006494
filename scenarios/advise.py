"""Does the search beat the hand-written studies? `accelsim advise` against seed 000 and
`compression_study.py`, and against random search at the same budget.

For ResNet-20 (accuracy modelled: parametric, labelled so) and the digits CNN (accuracy measured:
trained and compressed for real), on the seed accelerator, the search (TPE on accuracy and
energy per inference, per-layer bit widths and pruning ratios, steps in any order) runs with a
budget of 200 distinct pipelines for several seeds, and random search runs with the same budget
and seeds. It checks that every configuration of seed 000 and of the compression study is weakly
dominated by the search's front (some front point at least as accurate and at most as costly)
and compares the hypervolume of the two searches (reference: accuracy 0 and the largest energy
any run saw).

    python scenarios/advise.py                      # both networks, 3 seeds, budget 200
    python scenarios/advise.py --quick              # resnet20, 2 seeds, budget 48
    python scenarios/advise.py --readme README.md   # also write the summary block

Writes out/advise/<network>.png (each network's fronts), hypervolume.png and summary.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import matplotlib
from compression_study import CONFIGURATIONS
from matplotlib.figure import Figure

from accelsim import (
    AdviseSettings,
    evaluate_pipelines,
    hypervolume_2d,
    make_executor,
    replace_block,
    weakly_dominates,
)
from accelsim import advise as search

#: Seed study 000's five configurations as pipelines (scenarios/seed000_model.py).
SEED_000 = ("fp16", "int8", "int4", "distill(0.5) -> int4", "prune(0.5) -> fp16")
NETWORKS = ("resnet20", "digits-cnn")
OBJECTIVES = ("accuracy", "energy")
README_BLOCK = "advise"


def run(network: str, seeds: list[int], budget: int, out: Path, workers: int) -> dict:
    """Both searches for every seed, and the studies' configurations, on one network."""
    store = out / f"{network}.jsonl"
    found: dict[str, list] = {"tpe": [], "random": []}
    seconds: dict[str, float] = {"tpe": 0.0, "random": 0.0}
    with make_executor(workers) as executor:
        for sampler in found:
            for seed in seeds:
                settings = AdviseSettings(network, budget=budget, seed=seed, sampler=sampler, objectives=OBJECTIVES)
                began = time.perf_counter()
                found[sampler].append(search(settings, store, executor=executor, progress=False))
                seconds[sampler] += time.perf_counter() - began
                print(f"{network}: {sampler} seed {seed}: {len(found[sampler][-1].evaluated)} pipelines", flush=True)
        studies = evaluate_pipelines(
            AdviseSettings(network), [*SEED_000, *(text for _, text in CONFIGURATIONS)], store, executor
        )
    return {"found": found, "studies": studies, "seconds": seconds}


def dominance(run_: dict) -> list[tuple[int, int]]:
    """Per TPE seed: (study configurations weakly dominated by its front, how many there are)."""
    studies = run_["studies"]
    return [
        (sum(any(weakly_dominates(f, c, OBJECTIVES) for f in r.front) for c in studies), len(studies))
        for r in run_["found"]["tpe"]
    ]


def hypervolumes(run_: dict) -> dict[str, list[float]]:
    everything = [c for runs in run_["found"].values() for r in runs for c in r.evaluated]
    reference = (0.0, max(c.energy_j for c in everything))
    return {
        sampler: [hypervolume_2d(r.evaluated, OBJECTIVES, reference) / reference[1] for r in runs]
        for sampler, runs in run_["found"].items()
    }


def figure(network: str, run_: dict, path: Path) -> None:
    """The first seed's TPE front, with the studies' configurations marked."""
    first = run_["found"]["tpe"][0]
    with matplotlib.rc_context({"figure.dpi": 110}):
        fig = Figure(figsize=(7.5, 5.2), layout="constrained")
        ax = fig.add_subplot()
        ax.scatter(
            [c.energy_j * 1e6 for c in first.evaluated],
            [100 * c.accuracy for c in first.evaluated],
            s=12,
            color="0.8",
            label="evaluated by the search",
        )
        ordered = sorted(first.front, key=lambda c: c.energy_j)
        ax.plot(
            [c.energy_j * 1e6 for c in ordered],
            [100 * c.accuracy for c in ordered],
            "o--",
            color="#1f77b4",
            ms=4,
            drawstyle="steps-post",
            label="search front (TPE)",
        )
        studies = run_["studies"]
        ax.scatter(
            [c.energy_j * 1e6 for c in studies],
            [100 * c.accuracy for c in studies],
            marker="x",
            s=40,
            color="#d62728",
            label="seed 000 + compression study",
        )
        random_first = run_["found"]["random"][0]
        rnd = sorted(random_first.front, key=lambda c: c.energy_j)
        ax.plot(
            [c.energy_j * 1e6 for c in rnd],
            [100 * c.accuracy for c in rnd],
            "s:",
            color="#ff7f0e",
            ms=3,
            drawstyle="steps-post",
            label="random search front",
        )
        ax.set_xscale("log")
        ax.set_xlabel("energy per inference (uJ, log scale)")
        ax.set_ylabel(f"accuracy (%, {first.evaluated[0].accuracy_source})")
        ax.grid(alpha=0.3, which="both")
        ax.legend(loc="lower right", fontsize=8)
        ax.set_title(f"{network} on seed: search against the hand-written studies", loc="left", fontsize=10)
        fig.savefig(path)


def hypervolume_figure(results: dict, path: Path) -> None:
    fig = Figure(figsize=(7.5, 3.6), layout="constrained", dpi=110)
    axes = [fig.add_subplot(1, len(results), i + 1) for i in range(len(results))]
    for ax, (network, run_) in zip(axes, results.items()):
        volumes = hypervolumes(run_)
        for x, values in enumerate(volumes.values()):
            ax.scatter([x] * len(values), values, color=("#1f77b4", "#ff7f0e")[x], zorder=3)
            ax.hlines(statistics.mean(values), x - 0.2, x + 0.2, color="black")
        ax.set_xticks(range(len(volumes)), ["TPE", "random"])
        ax.set_xlim(-0.6, len(volumes) - 0.4)
        ax.set_title(network, loc="left", fontsize=10)
        ax.set_ylabel("hypervolume (accuracy x energy, normalized)")
        ax.grid(alpha=0.3)
    fig.suptitle("Hypervolume of each seed's evaluated points (bars: means)", fontsize=10)
    fig.savefig(path)


def summary(results: dict, budget: int, seeds: list[int]) -> str:
    lines = [
        f"`python scenarios/advise.py` (budget {budget} distinct pipelines, seeds {', '.join(map(str, seeds))}, "
        "objectives accuracy and energy per inference, hardware `seed`):",
        "",
        "| network | accuracy | studies' configurations dominated (per seed) | hypervolume TPE | random | wall (TPE, random) | recommended (seed 0) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for network, run_ in results.items():
        dom = dominance(run_)
        vol = hypervolumes(run_)
        first = run_["found"]["tpe"][0]
        source = first.evaluated[0].accuracy_source
        rec = first.recommended
        rec_text = "none" if rec is None else f"`{rec.pipeline}` ({rec.accuracy:.2%}, {rec.energy_j * 1e6:.3g} uJ)"
        lines.append(
            f"| {network} | {source} | {', '.join(f'{d}/{n}' for d, n in dom)} | "
            f"{statistics.mean(vol['tpe']):.4f} | {statistics.mean(vol['random']):.4f} | "
            f"{run_['seconds']['tpe']:.0f} s, {run_['seconds']['random']:.0f} s | {rec_text} |"
        )
    lines.append("")
    for network, run_ in results.items():
        vol = hypervolumes(run_)
        wins = sum(a > b for a, b in zip(vol["tpe"], vol["random"]))
        all_dominated = all(d == n for d, n in dominance(run_))
        lines.append(
            f"- {network}: the search's front weakly dominates "
            f"{'every' if all_dominated else 'not every'} configuration of seed 000 and the compression study; "
            f"its hypervolume beats random search's for {wins} of {len(seeds)} seeds."
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="resnet20, 2 seeds, budget 48")
    parser.add_argument("--out", default="out/advise")
    parser.add_argument("--readme", help="also write the summary into this README between the advise markers")
    args = parser.parse_args(argv)
    if args.quick and args.readme:
        parser.error("--readme takes the full run, not --quick")
    if args.quick:
        args.networks, args.seeds, args.budget = ["resnet20"], [0, 1], 48
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {net: run(net, args.seeds, args.budget, out, args.workers) for net in args.networks}
    for network, run_ in results.items():
        figure(network, run_, out / f"{network}.png")
    hypervolume_figure(results, out / "hypervolume.png")
    text = summary(results, args.budget, args.seeds)
    (out / "summary.md").write_text(text)
    print(text)
    if args.readme:
        replace_block(args.readme, README_BLOCK, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
