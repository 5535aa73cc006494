"""`accelsim advise`: the best compression pipeline for a network on an accelerator, by search.

    accelsim advise --network digits-cnn --hardware seed --min-accuracy 0.97 --budget 100
    accelsim advise --network resnet20 --objective accuracy energy latency --storage advise.journal

Prints the Pareto front (each point's pipeline text pastes into `accelsim run --compress`), the
recommended point and why; `--json` prints {"front": [...], "recommended": {...}}. A search
killed (Ctrl-C, a lost machine) resumes from `--storage` with the same command.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from accelsim.cli.common import EXIT_INTERRUPTED, accuracy_fraction, add_carbon_options, carbon_model_of, check_parent
from accelsim.study.advise import OBJECTIVES, SAMPLERS, AdviseResult, AdviseSettings, Constraints, advise
from accelsim.study.executors import make_executor
from accelsim.study.space import SpaceOptions


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1 (got {text})")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 (got {text})")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "advise",
        help="search ordered compression pipelines for the best accuracy per joule (Pareto front, carbon)",
        description="Search ordered compression pipelines (per-layer bit widths and pruning ratios included) "
        "with Optuna; every point simulated, its accuracy measured where the network has a measured provider.",
    )
    parser.add_argument("--network", required=True, help="built-in network (see `accelsim networks`)")
    parser.add_argument("--hardware", help="hardware preset (default: seed; edge-llm for a decoder LLM)")
    parser.add_argument("--min-accuracy", type=accuracy_fraction, metavar="A", help="accuracy floor, a fraction")
    parser.add_argument("--max-latency-ms", type=_positive_float, metavar="L", help="latency limit per inference")
    parser.add_argument("--max-size-bytes", type=_positive_int, metavar="B", help="model size limit")
    parser.add_argument("--max-energy-j", type=_positive_float, metavar="E", help="energy limit per inference (token)")
    parser.add_argument("--max-perplexity", type=_positive_float, metavar="P", help="perplexity limit (decoder LLMs)")
    parser.add_argument(
        "--objective",
        nargs="+",
        choices=list(OBJECTIVES),
        help="one objective, or several for a Pareto front; default: accuracy energy (perplexity energy for a "
        "decoder LLM, whose energy and latency are per token)",
    )
    parser.add_argument("--budget", type=_positive_int, default=200, help="distinct pipelines to evaluate (200)")
    parser.add_argument("--batch", type=_positive_int, default=16, help="proposals per synchronous batch (16)")
    parser.add_argument("--seed", type=int, default=0, help="the search's seed (0)")
    parser.add_argument(
        "--sampler", choices=SAMPLERS, default="auto", help="auto: TPE (multi-objective TPE for several objectives)"
    )
    parser.add_argument(
        "--accuracy",
        metavar="SPEC",
        help='"measured" or "parametric:<baseline>" (default: measured where the network has it, else parametric)',
    )
    parser.add_argument("--no-per-layer", action="store_true", help="uniform steps only (no per-layer bit widths)")
    parser.add_argument(
        "--speculative-acceptance",
        type=float,
        metavar="A",
        help="decoder LLMs: offer speculative decoding (draft distill(0.5), k=4) at this acceptance rate in [0, 1)",
    )
    parser.add_argument("--prompt", type=_positive_int, default=64, help="decoder LLMs: prompt tokens (64)")
    parser.add_argument("--generate", type=_positive_int, default=32, help="decoder LLMs: generated tokens (32)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="K", help="local worker processes (default: this process)")
    where.add_argument("--dask", metavar="ADDRESS", help="Dask scheduler tcp://HOST:PORT, or local:N")
    parser.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna storage to resume from: a journal file path or sqlite:///FILE (default: in memory)",
    )
    parser.add_argument(
        "--store", metavar="STORE.jsonl", default="advise.jsonl", help="results store (default: advise.jsonl)"
    )
    parser.add_argument("--figure", metavar="OUT.png", help="write the front as a figure (PNG, SVG and PDF)")
    parser.add_argument("--json", action="store_true", help="print {front, recommended} as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_carbon_options(parser)
    parser.set_defaults(func=cmd_advise)


def settings_of(args: argparse.Namespace) -> AdviseSettings:
    constraints = Constraints(
        min_accuracy=args.min_accuracy,
        max_latency_s=None if args.max_latency_ms is None else args.max_latency_ms / 1e3,
        max_size_bytes=args.max_size_bytes,
        max_energy_j=args.max_energy_j,
        max_perplexity=args.max_perplexity,
    )
    uniform = {"quantize_modes": ("off", "uniform"), "prune_modes": ("off", "uniform"), "sparsity_per_layer": False}
    options = SpaceOptions(**(uniform if args.no_per_layer else {}), speculative_acceptance=args.speculative_acceptance)
    return AdviseSettings(
        network=args.network,
        hardware=args.hardware,
        objectives=None if args.objective is None else tuple(args.objective),
        constraints=constraints,
        budget=args.budget,
        batch_size=args.batch,
        seed=args.seed,
        sampler=args.sampler,
        accuracy=args.accuracy,
        options=options,
        carbon=carbon_model_of(args),
        prompt=args.prompt,
        generate=args.generate,
    )


def cmd_advise(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    check_parent("--store", args.store)
    check_parent("--figure", args.figure)
    if args.storage is not None and "://" not in args.storage:
        check_parent("--storage", args.storage)
    workers = 0 if args.workers is None and args.dask is None else None
    with make_executor(args.workers, args.dask, in_process=workers == 0) as executor:
        try:
            result = advise(
                settings, args.store, executor=executor, storage=args.storage, progress=not args.no_progress
            )
        except KeyboardInterrupt:
            where = f"rerun the same command to resume from {args.storage}" if args.storage else "no --storage given"
            print(f"accelsim: interrupted; {where}", file=sys.stderr)
            return EXIT_INTERRUPTED
    if args.figure:
        figure(result, args.figure)
    if args.json:
        print(json.dumps(result.as_json(), indent=2))
    else:
        print(report(result))
        if args.figure:
            print(f"wrote {args.figure}")
    return 0


def figure(result: AdviseResult, path: str) -> None:
    """The front as a figure: accuracy or, for a decoder, perplexity against energy."""
    from accelsim import plots

    s = result.settings
    title = f"advise: {s.network} on {s.hardware}, {len(result.evaluated)} pipelines evaluated"
    if s.decoder:
        title += f" (prompt {s.prompt}, {s.generate} generated tokens)"
        plots.advise_decoder_front(
            result.evaluated, result.front, result.recommended, title, path, s.constraints.max_perplexity
        )
    else:
        plots.advise_front(result.evaluated, result.front, result.recommended, title, path, s.constraints.min_accuracy)


def report(result: AdviseResult) -> str:
    """The front as a table, each row with its pasteable pipeline, then the recommendation."""
    s = result.settings
    lines = [
        f"advise: {s.network} on {s.hardware}: {len(result.evaluated)} distinct pipelines evaluated "
        f"({result.proposals} proposals, {result.simulated} simulated now; {result.stopped}), "
        f"sampler {s.sampler_name}, seed {s.seed}, objectives {', '.join(s.objectives)}",
        "",
        f"{'#':>3}  {'perplexity' if s.decoder else 'accuracy':>9}  {'source':<9} {'energy':>10}  {'latency':>10}  "
        f"{'size':>11}  {'gCO2e/1M':>9}  pipeline" + ("  (energy, latency and carbon per token)" if s.decoder else ""),
    ]
    for i, c in enumerate(result.front, start=1):
        mark = "*" if c == result.recommended else " "
        # a decoder's perplexity to 6 digits: W4 and KV-cache steps move tinylm's by 1e-4
        quality = f"{c.perplexity:>9.6g}" if c.accuracy is None else f"{c.accuracy:>9.2%}"
        lines.append(
            f"{i:>2}{mark}  {quality}  {c.accuracy_source:<9} {c.energy_j * 1e6:>8.3f}uJ  "
            f"{c.latency_s * 1e3:>8.3f}ms  {c.size_bytes:>9,}B  {c.carbon_gco2e_per_million:>9.3g}  {c.pipeline}"
        )
    lines += ["", f"recommended: {result.reason}"]
    if result.recommended is not None:
        lines.append(
            f'run it: accelsim run --network {s.network} --hardware {s.hardware} --compress "{result.recommended.pipeline}"'
        )
    return "\n".join(lines)
