"""LLM compression on an edge NPU: energy per token, tokens/s and perplexity, per technique.

Each technique (and the combinations W4G128 + KV8, 2:4 + W8, speculative + W4, LoRA merged versus
unmerged) is simulated as one whole generation (prompt, then decode) on `edge-llm`, FP16 activations,
batch 1, for two decoders:

- tinylm (the byte-level model accelsim trains with numpy): the cost is simulated on its shape and
  the perplexity is MEASURED on its held-out bytes after the same steps (`MeasuredPerplexity`);
  speculative decoding uses the acceptance rate measured by real greedy speculative decoding with
  the 2-layer, width-64 draft tinylm (`tinylm_acceptance_rate`).
- llama-3.2-1b: the cost is simulated; the perplexity is the published figure (or a published
  ratio carried over: "modelled") with its source where a published row exists
  (`llm_perplexity`), else "not available". Nothing is invented.

    python scenarios/llm_efficiency.py                       # into out/llm_efficiency
    python scenarios/llm_efficiency.py --readme README.md    # and the README block
    python scenarios/llm_efficiency.py --quick               # tinylm only, a tiny tinylm, small sizes

Outputs: efficiency.csv, summary.md, pareto_energy.png (energy per token against perplexity),
pareto_throughput.png (tokens/s against perplexity).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from accelsim import (
    TINYLM_DRAFT,
    InputError,
    MeasuredPerplexity,
    TinyLMConfig,
    TinyLMLab,
    llm_perplexity,
    parse_pipeline,
    replace_block,
    simulate_generation,
    tinylm,
)

HARDWARE = "edge-llm"
K = 4  # proposals per speculative round
W4 = "wq(bits=4, group=128, sym=false, algo={algo})"
W8 = "wq(bits=8, group=32, algo=rtn)"
SPECULATIVE = "{speculative}"  # filled per model with its draft and acceptance rate
#: (label, pipeline text); SPECULATIVE stands for the model's speculative step.
TECHNIQUES: tuple[tuple[str, str], ...] = (
    ("FP16", ""),
    ("W8 g32 RTN", W8),
    ("W4 g128 RTN", W4.format(algo="rtn")),
    ("W4 g128 GPTQ", W4.format(algo="gptq")),
    ("KV8", "kv(8)"),
    ("KV4", "kv(4)"),
    ("W4 g128 GPTQ + KV8", W4.format(algo="gptq") + " -> kv(8)"),
    ("W8A8 SmoothQuant", "w8a8(0.5)"),
    ("2:4", "nm(2, 4)"),
    ("2:4 + W8", f"nm(2, 4) -> {W8}"),
    ("heads -25%", "heads(0.25)"),
    ("MLP -25%", "mlp(0.25)"),
    (f"speculative k={K}", SPECULATIVE),
    (f"speculative k={K} + W4", W4.format(algo="gptq") + " -> " + SPECULATIVE),
    ("LoRA r8 merged", "lora(rank=8, targets=[q, v], mode=merged)"),
    ("LoRA r8 unmerged", "lora(rank=8, targets=[q, v], mode=unmerged)"),
)


@dataclass(frozen=True)
class Model:
    """A decoder, its generation sizes and its speculative draft (a `distill` of itself)."""

    name: str
    prompt: int
    generate: int
    draft: str
    draft_note: str


#: tinylm's draft is the measured one's shape (half the layers, half the width); llama's
#: distill cannot drop layers (no identity shortcuts in its graph), so it halves the width.
MODELS = (
    Model("tinylm", 64, 32, "distill(width=0.5, depth=0.5)", "half the layers and width, as the measured draft"),
    Model("llama-3.2-1b", 64, 16, "distill(width=0.5)", "half the width"),
)
QUICK_MODELS = (Model("tinylm", 16, 8, MODELS[0].draft, MODELS[0].draft_note),)
#: A tiny tinylm for --quick (trains in seconds): the measurement path, not the figures.
QUICK_CONFIG = TinyLMConfig(layers=1, width=128, heads=4, context=32)  # width: a W4 group of 128
QUICK_DRAFT = TinyLMConfig(layers=1, width=64, heads=2, context=32)


@dataclass(frozen=True)
class Accuracy:
    """A perplexity, its ratio to the model's FP16 row, how it was obtained and from where."""

    perplexity: float | None
    relative: float | None
    kind: str  # measured, published, modelled, lossless, reference, not available
    source: str


@dataclass(frozen=True)
class Row:
    model: str
    technique: str
    compress: str
    energy_per_token_j: float
    tokens_per_s: float
    accuracy: Accuracy

    @property
    def quality(self) -> float | None:
        """What the Pareto figures plot: tinylm's measured perplexity, else the ratio to FP16."""
        return self.accuracy.perplexity if self.model == "tinylm" else self.accuracy.relative


# --- accuracy ------------------------------------------------------------------------------------


def measured_accuracy(provider: MeasuredPerplexity) -> Callable[[str], Accuracy]:
    """tinylm's measured perplexity after a pipeline, measured once per distinct step list."""
    cache: dict[tuple, float] = {}
    label: dict[tuple, str] = {}

    def accuracy(compress: str) -> Accuracy:
        steps = tuple(provider.steps(parse_pipeline(compress) if compress else ()))
        if steps not in cache:
            figure = provider.lab.measure(list(steps))
            cache[steps], label[steps] = figure.perplexity, figure.label()
        base = cache.get(()) or accuracy("").perplexity
        return Accuracy(cache[steps], cache[steps] / base, "measured", label[steps])

    return accuracy


def _lossless(step: object) -> bool:
    hook = getattr(step, "perplexity_setting", None)
    return hook is not None and hook() == "lossless"


def published_accuracy(model: str) -> Callable[[str], Accuracy]:
    """`model`'s published (or modelled) perplexity after a pipeline, else "not available"."""

    def accuracy(compress: str) -> Accuracy:
        steps = parse_pipeline(compress) if compress else ()
        if not steps:
            return Accuracy(None, 1.0, "reference", "FP16: the reference of the ratios")
        if all(_lossless(s) for s in steps):
            return Accuracy(None, 1.0, "lossless", "computes the FP16 model's function (no published change)")
        try:
            value, baseline = llm_perplexity(model, steps), llm_perplexity(model).value
            return Accuracy(value.value, value.value / baseline, value.kind, value.detail)
        except InputError:
            pass  # no published baseline for this model: its ratio only, or no row at all
        try:
            ratio = llm_perplexity(model, steps, baseline=1.0)
        except InputError as error:
            return Accuracy(None, None, "not available", str(error).split(";")[0])
        return Accuracy(None, ratio.value, ratio.kind, ratio.detail)

    return accuracy


# --- cost ----------------------------------------------------------------------------------------


#: The simulated step takes acceptance in [0, 1): a measured 1 (every proposal accepted, as a
#: barely trained --quick model may do) is simulated just below it.
MAX_ACCEPTANCE = 0.999


def speculative_step(model: Model, acceptance: float) -> str:
    return f"speculative(draft={model.draft}, k={K}, acceptance={min(acceptance, MAX_ACCEPTANCE):.4f})"


def row(model: Model, label: str, compress: str, accuracy: Callable[[str], Accuracy]) -> Row:
    figures = simulate_generation(model.name, model.prompt, model.generate, HARDWARE, compress=compress or None).figures
    return Row(model.name, label, compress, figures.energy_per_token_j, figures.tokens_per_s, accuracy(compress))


def run(models: Sequence[Model], lab: TinyLMLab, draft: TinyLMConfig) -> tuple[list[Row], float, bool]:
    """Every technique on every model; tinylm's measured acceptance rate with `draft`, and
    whether speculative decoding's output equalled greedy decoding's."""
    result, same = lab.speculative(k=K, draft=draft)
    acceptance = result.acceptance_rate
    rows = []
    for model in models:
        accuracy = (
            measured_accuracy(MeasuredPerplexity(lab)) if model.name == "tinylm" else published_accuracy(model.name)
        )
        for label, template in TECHNIQUES:
            compress = template.replace(SPECULATIVE, speculative_step(model, acceptance))
            rows.append(row(model, label, compress, accuracy))
    return rows, acceptance, same


# --- outputs -------------------------------------------------------------------------------------

COLUMNS = (
    "model",
    "technique",
    "compress",
    "energy_per_token_mj",
    "tokens_per_s",
    "perplexity",
    "perplexity_vs_fp16",
    "perplexity_kind",
    "perplexity_source",
)


def _opt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def write_csv(rows: Sequence[Row], path: Path) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for r in rows:
            a = r.accuracy
            writer.writerow(
                [r.model, r.technique, r.compress, f"{r.energy_per_token_j * 1e3:.6g}", f"{r.tokens_per_s:.6g}"]
                + [_opt(a.perplexity), _opt(a.relative), a.kind, a.source]
            )


def pareto(rows: Sequence[Row], cost: Callable[[Row], float]) -> list[Row]:
    """Rows no other row beats on both cost (lower is better) and perplexity."""
    known = sorted((r for r in rows if r.quality is not None), key=lambda r: (cost(r), r.quality))
    front: list[Row] = []
    for r in known:
        if not front or r.quality < front[-1].quality:
            front.append(r)
    return front


def _quality_axis(model: str) -> str:
    if model == "tinylm":
        return "perplexity per byte (measured, held-out stdlib)"
    return "perplexity / FP16's (published or modelled)"


def pareto_figure(rows: Sequence[Row], models: Sequence[Model], path: Path, throughput: bool) -> None:
    fig = Figure(figsize=(6.5 * len(models) + 2.2, 6), dpi=100)
    axes = fig.subplots(1, len(models), squeeze=False)[0]
    colors = dict(zip((t for t, _ in TECHNIQUES), _palette(len(TECHNIQUES))))
    markers = "os^Dv<>pPXh*H8d1"
    value = (lambda r: r.tokens_per_s) if throughput else (lambda r: r.energy_per_token_j * 1e3)
    cost = (lambda r: -r.tokens_per_s) if throughput else (lambda r: r.energy_per_token_j)
    for ax, model in zip(axes, models):
        mine = [r for r in rows if r.model == model.name]
        for i, r in enumerate(mine):
            if r.quality is not None:
                ax.scatter(
                    r.quality,
                    value(r),
                    s=70,
                    color=colors[r.technique],
                    marker=markers[i % len(markers)],
                    label=r.technique,
                    zorder=3,
                )
        front = pareto(mine, cost)
        ax.plot(
            [r.quality for r in front],
            [value(r) for r in front],
            "--",
            color="black",
            lw=1,
            zorder=2,
            label="Pareto frontier",
        )
        missing = [r.technique for r in mine if r.quality is None]
        if missing:
            ax.text(
                0.99,
                0.01 if throughput else 0.99,  # the corner the points leave empty
                "perplexity not available (not plotted):\n"
                + "\n".join(", ".join(missing[i : i + 4]) for i in range(0, len(missing), 4)),
                fontsize=7,
                transform=ax.transAxes,
                ha="right",
                va="bottom" if throughput else "top",
            )
        ax.set_yscale("log")
        ax.set_xlabel(_quality_axis(model.name))
        ax.set_ylabel("tokens/s (decode, batch 1)" if throughput else "mJ per generated token (decode)")
        ax.set_title(f"{model.name} on {HARDWARE}, prompt {model.prompt}, generate {model.generate}", fontsize=10)
        ax.grid(True, which="both", alpha=0.25)
    handles = {}
    for ax in axes:  # one legend for every panel: a technique keeps its color and marker
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(handles.values(), handles.keys(), loc="center right", fontsize=8, title="technique")
    what, better = ("Tokens/s", "upper left") if throughput else ("Energy per token", "lower left")
    fig.suptitle(
        f"{what} against perplexity per compression technique\n(cost simulated; better: {better})",
        fontsize=11,
        fontweight="bold",
    )
    fig.tight_layout(rect=(0, 0, 1 - 2.1 / (6.5 * len(models) + 2.2), 1))
    fig.savefig(path)


def _palette(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]


def _accuracy_text(a: Accuracy) -> str:
    if a.kind == "measured":
        return f"{a.perplexity:.3f} (measured)"
    if a.kind == "not available":
        return "not available"
    if a.perplexity is not None:
        return f"{a.perplexity:.3f} ({a.kind})"
    return f"x{a.relative:.3f} of FP16 ({a.kind})"


def table(rows: Sequence[Row]) -> list[str]:
    lines = [
        "| model | technique | mJ/token | vs FP16 | tokens/s | perplexity | source |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        fp16 = _fp16(rows, r.model)
        source = "" if r.accuracy.kind in ("measured", "reference") else r.accuracy.source
        lines.append(
            f"| {r.model} | {r.technique} | {r.energy_per_token_j * 1e3:.3g} | "
            f"{r.energy_per_token_j / fp16.energy_per_token_j:.2f}x | {r.tokens_per_s:,.0f} | "
            f"{_accuracy_text(r.accuracy)} | {source} |"
        )
    return lines


def _fp16(rows: Sequence[Row], model: str) -> Row:
    return next(r for r in rows if r.model == model and r.technique == "FP16")


def verdict(rows: Sequence[Row], model: Model, tolerance: float = 0.01) -> list[str]:
    """Which technique wins per joule on `model`, and at what perplexity (from the rows)."""
    mine = [r for r in rows if r.model == model.name]
    fp16 = _fp16(rows, model.name)
    cheapest = min(mine, key=lambda r: r.energy_per_token_j)
    close = [r for r in mine if r.accuracy.relative is not None and r.accuracy.relative <= 1 + tolerance]
    best_close = min(close, key=lambda r: r.energy_per_token_j)
    fastest = max(mine, key=lambda r: r.tokens_per_s)
    front = pareto(mine, lambda r: r.energy_per_token_j)

    def said(r: Row) -> str:
        return (
            f"**{r.technique}** at {r.energy_per_token_j * 1e3:.3g} mJ/token "
            f"({r.energy_per_token_j / fp16.energy_per_token_j:.2f}x FP16's {fp16.energy_per_token_j * 1e3:.3g}), "
            f"{r.tokens_per_s:,.0f} tokens/s, perplexity {_accuracy_text(r.accuracy)}"
        )

    lines = [f"- {model.name}: fewest joules per token: {said(cheapest)}."]
    if best_close is not cheapest:
        lines.append(f"  Within {tolerance:.0%} of FP16's perplexity: {said(best_close)}.")
    else:
        lines.append(f"  It is within {tolerance:.0%} of FP16's perplexity.")
    if fastest is not cheapest:
        lines.append(f"  Most tokens/s: {said(fastest)}.")
    lines.append("  Energy-perplexity Pareto frontier: " + ", ".join(r.technique for r in front) + ".")
    return lines


def summary(
    rows: Sequence[Row],
    models: Sequence[Model],
    acceptance: float,
    same: bool,
    draft: TinyLMConfig,
    seconds: float,
    cpu_seconds: float,
) -> str:
    sizes = "; ".join(f"{m.name}: prompt {m.prompt}, generate {m.generate}" for m in models)
    lines = table(rows) + [""]
    for model in models:
        lines += verdict(rows, model)
    others = [m.name for m in models if m.name != "tinylm"]
    carried = f"; the rows of {', '.join(others)} carry tinylm's rate over (not measured there)" if others else ""
    lines += [
        f"- Speculative decoding: k = {K}, acceptance {acceptance:.3f} per proposal, measured by greedy "
        f"speculative decoding of tinylm with a {draft.layers}-layer, width-{draft.width} draft tinylm "
        f"(output equal to greedy decoding's: {same}), simulated with or without W4 (W4's own effect on the rate is "
        f"not measured){carried}. Simulated drafts: "
        + "; ".join(f"{m.name} `{m.draft}` ({m.draft_note})" for m in models)
        + ".",
        f"- Cost: whole generations simulated on `{HARDWARE}`, FP16 activations, batch 1 ({sizes}); energy "
        "and tokens/s per generated token of the decode phase. tinylm's perplexity is measured per byte on "
        "the held-out standard-library bytes (its FP32 numpy model: the FP16 row); LoRA rows compare the "
        "cost of serving one adapter merged or unmerged (same logits, tested), so their perplexity is the "
        "served model's without adaptation."
        + (
            f" {', '.join(others)}: no published baseline here, so the column is the published ratio to "
            "FP16 (of llama-2-7b: modelled) where a row exists, else not available."
            if others
            else ""
        ),
        f"- Scenario runtime: {seconds:.0f} s wall, {cpu_seconds:.0f} s of CPU (this process).",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="out/llm_efficiency", help="output folder (default: %(default)s)")
    parser.add_argument("--readme", help="also write the summary into this README between the markers")
    parser.add_argument("--quick", action="store_true", help="tinylm only, a tiny tinylm, small generations")
    parser.add_argument("--cache-dir", help="where tinylm's trained weights are cached (default: ~/.cache/accelsim)")
    args = parser.parse_args(argv)
    if args.quick and args.readme:
        print("--readme needs the full run (drop --quick)", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(args.cache_dir) if args.cache_dir else None
    start, cpu = time.perf_counter(), time.process_time()
    if args.quick:
        settings = tinylm.TrainSettings(steps=5, batch=4, warmup_steps=1)
        lab = TinyLMLab(QUICK_CONFIG, settings, cache, calibration_windows=4, eval_bytes=1024)
        models, draft = QUICK_MODELS, QUICK_DRAFT
    else:
        lab, models, draft = TinyLMLab(cache_dir=cache), MODELS, TINYLM_DRAFT
    rows, acceptance, same = run(models, lab, draft)
    write_csv(rows, out / "efficiency.csv")
    pareto_figure(rows, models, out / "pareto_energy.png", throughput=False)
    pareto_figure(rows, models, out / "pareto_throughput.png", throughput=True)
    text = summary(rows, models, acceptance, same, draft, time.perf_counter() - start, time.process_time() - cpu)
    (out / "summary.md").write_text(text + "\n")
    print(text)
    print(f"\nwrote {out}/efficiency.csv, summary.md, pareto_energy.png, pareto_throughput.png")
    if args.readme:
        replace_block(args.readme, "llm-efficiency", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
