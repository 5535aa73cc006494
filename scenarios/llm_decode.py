"""LLM decode on a phone NPU and a datacenter accelerator: time and energy per token against batch and context.

Llama-3.2-1B on `edge-llm` and Llama-2-7B on `datacenter-llm`, FP16. One decode step is simulated
per point (one token per sequence attending over the KV cache): batch 1..512 at a 512-token
context, and context 128..the model's limit (edge: 16k) at batch 1. Decode is memory-bound while
the weights (read once per step whatever the batch) dominate: the step turns compute-bound where
the roofline bound's limiter flips, at about the batch where the array's FLOPs per DRAM byte
(peak FLOP/s over bandwidth) equal a step's (2 x batch per weight of 2 bytes, less the KV cache
each sequence adds). A whole generation per preset (prompt 512 + 16 tokens) compares prefill and
decode energy per token.

    python scenarios/llm_decode.py                       # into out/llm_decode
    python scenarios/llm_decode.py --readme README.md    # and the README block

Outputs: decode.csv, summary.md, per_token.png (time and energy per token against batch and
context), energy_split.png (prefill versus decode energy per token, by where it is spent).
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from accelsim import (
    EnergyBreakdown,
    Precision,
    decode_step,
    decoder,
    preset,
    replace_block,
    simulate,
    simulate_generation,
    summarize,
)

#: (preset, model, context sweep) per platform; batch sweep at CONTEXT tokens of context.
PLATFORMS = (
    ("edge-llm", "llama-3.2-1b", (128, 512, 2048, 8192, 16384)),
    ("datacenter-llm", "llama-2-7b", (128, 512, 1024, 2048, 4095)),
)
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
CONTEXT = 512
PROMPT, GENERATE = 512, 16
PRECISION = Precision.FP16
COLORS = {"edge-llm": "#1f77b4", "datacenter-llm": "#d62728"}


@dataclass(frozen=True)
class StepPoint:
    """One simulated decode step."""

    hardware: str
    model: str
    batch: int
    context: int
    time_s: float
    energy_j: float
    bound_s: float
    limiter: str
    dram_bytes: int

    @property
    def time_per_token_s(self) -> float:
        """Every sequence emits one token per step: the step's time is each token's latency."""
        return self.time_s

    @property
    def energy_per_token_j(self) -> float:
        return self.energy_j / self.batch

    @property
    def tokens_per_s(self) -> float:
        return self.batch / self.time_s


def step_point(hardware: str, model: str, batch: int, context: int) -> StepPoint:
    net = decode_step(decoder(model), context, batch).with_precision(PRECISION)
    total = summarize(simulate(net, preset(hardware))).total
    return StepPoint(
        hardware,
        model,
        batch,
        context,
        total.latency_s,
        total.energy.total_j,
        total.bound.cycles / total.clock_hz,
        total.bound.limiter,
        total.dram_read_bytes + total.dram_write_bytes,
    )


def _crossover(points: Sequence[StepPoint]) -> tuple[int | None, int | None]:
    """(last memory-bound batch, first compute-bound batch) of the roofline bound."""
    ordered = sorted(points, key=lambda p: p.batch)
    for before, after in zip(ordered, ordered[1:]):
        if before.limiter == "memory" and after.limiter == "compute":
            return before.batch, after.batch
    return (ordered[-1].batch, None) if ordered[-1].limiter == "memory" else (None, ordered[0].batch)


def ridge_batch(hardware: str) -> float:
    """Peak FLOP/s over bandwidth, in FLOPs per byte: the batch at which a step's weights alone
    (2 FLOPs per weight and batch row, 2 bytes per FP16 weight) make it compute-bound."""
    hw = preset(hardware)
    flops = 2 * hw.mac_array.macs_per_cycle(PRECISION) * hw.clock_hz
    return flops / hw.dram.bandwidth_bytes_per_s


def write_csv(points: Sequence[StepPoint], path: Path) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["hardware", "model", "batch", "context", "time_per_token_s", "energy_per_token_j", "tokens_per_s"]
            + ["bound_s", "limiter", "dram_bytes"]
        )
        for p in points:
            writer.writerow(
                [p.hardware, p.model, p.batch, p.context, f"{p.time_s:.6g}", f"{p.energy_per_token_j:.6g}"]
                + [f"{p.tokens_per_s:.6g}", f"{p.bound_s:.6g}", p.limiter, p.dram_bytes]
            )


def per_token_figure(batch_points: Sequence[StepPoint], context_points: Sequence[StepPoint], path: Path) -> None:
    fig = Figure(figsize=(13, 8.5), dpi=100)
    axes = fig.subplots(2, 2)
    for (hardware, model, _), color in zip(PLATFORMS, COLORS.values()):
        label = f"{model} on {hardware}"
        rows = [p for p in batch_points if p.hardware == hardware]
        b = [p.batch for p in rows]
        axes[0, 0].plot(b, [p.time_s * 1e3 for p in rows], "o-", color=color, label=label)
        axes[0, 0].plot(b, [p.bound_s * 1e3 for p in rows], ":", color=color, label=f"{hardware} roofline bound")
        axes[0, 1].plot(b, [p.energy_per_token_j * 1e3 for p in rows], "o-", color=color, label=label)
        last_memory, first_compute = _crossover(rows)
        if last_memory and first_compute:
            for ax in axes[0]:
                ax.axvspan(last_memory, first_compute, color=color, alpha=0.12)
        rows = [p for p in context_points if p.hardware == hardware]
        c = [p.context for p in rows]
        axes[1, 0].plot(c, [p.time_s * 1e3 for p in rows], "o-", color=color, label=label)
        axes[1, 0].plot(c, [p.bound_s * 1e3 for p in rows], ":", color=color, label=f"{hardware} roofline bound")
        axes[1, 1].plot(c, [p.energy_per_token_j * 1e3 for p in rows], "o-", color=color, label=label)
    titles = (
        (f"Time per output token vs batch (context {CONTEXT}); band: turns compute-bound", "ms per token"),
        (f"Energy per generated token vs batch (context {CONTEXT})", "mJ per token"),
        ("Time per output token vs context (batch 1)", "ms per token"),
        ("Energy per generated token vs context (batch 1)", "mJ per token"),
    )
    for ax, (title, ylabel) in zip(axes.flat, titles):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(title, loc="left", fontsize=10)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=8)
    for ax in axes[0]:
        ax.set_xlabel("batch (sequences decoded together)")
    for ax in axes[1]:
        ax.set_xlabel("context (tokens in the KV cache)")
    fig.suptitle("LLM decode, FP16: one decode step simulated per point", fontsize=13, fontweight="bold")
    fig.tight_layout()
    fig.savefig(path)


@dataclass(frozen=True)
class PhaseEnergy:
    hardware: str
    model: str
    prefill_per_token_j: dict[str, float]
    decode_per_token_j: dict[str, float]
    time_to_first_token_s: float
    time_per_output_token_s: float


def phase_energy(hardware: str, model: str) -> PhaseEnergy:
    f = simulate_generation(model, PROMPT, GENERATE, hardware, precision=PRECISION).figures

    def split(energy: EnergyBreakdown, tokens: int) -> dict[str, float]:
        parts = {
            "MAC": energy.mac_j,
            "vector": energy.vector_j,
            "SRAM": energy.sram_j,
            "DRAM": energy.dram_j,
            "static": energy.static_j,
        }
        return {k: v / tokens for k, v in parts.items()}

    return PhaseEnergy(
        hardware,
        model,
        split(f.prefill.energy, PROMPT),
        split(f.decode.energy, GENERATE),
        f.time_to_first_token_s,
        f.time_per_output_token_s,
    )


def energy_figure(phases: Sequence[PhaseEnergy], path: Path) -> None:
    fig = Figure(figsize=(10, 5), dpi=100)
    ax = fig.subplots()
    colors = {"MAC": "#2ca02c", "vector": "#17becf", "SRAM": "#ff7f0e", "DRAM": "#9467bd", "static": "#7f7f7f"}
    labels, x = [], 0
    for phase in phases:
        for name, split in (("prefill", phase.prefill_per_token_j), ("decode", phase.decode_per_token_j)):
            bottom = 0.0
            for part, value in split.items():
                ax.bar(x, value * 1e3, bottom=bottom, color=colors[part], label=part if x == 0 else None)
                bottom += value * 1e3
            ax.text(x, bottom, f"{bottom:.3g}", ha="center", va="bottom", fontsize=9)
            labels.append(f"{phase.model}\n{phase.hardware}\n{name}")
            x += 1
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("mJ per token")
    ax.set_title(
        f"Energy per token: prefill (per prompt token, {PROMPT}) vs decode (per generated token, {GENERATE})",
        loc="left",
        fontsize=10,
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def _num(value: float) -> str:
    """3 significant digits without an exponent."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def summary(
    batch_points: Sequence[StepPoint], context_points: Sequence[StepPoint], phases: Sequence[PhaseEnergy]
) -> str:
    lines = [
        "| platform | batch 1 (ms/token, mJ/token) | compute-bound from batch | ridge (FLOPs/byte) "
        "| largest batch: tokens/s | prefill vs decode mJ/token |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (hardware, model, _), phase in zip(PLATFORMS, phases):
        rows = sorted((p for p in batch_points if p.hardware == hardware), key=lambda p: p.batch)
        one, last = rows[0], rows[-1]
        memory, compute = _crossover(rows)
        where = f"{compute} (memory-bound at {memory})" if memory and compute else "not in 1..512"
        prefill = sum(phase.prefill_per_token_j.values()) * 1e3
        decode = sum(phase.decode_per_token_j.values()) * 1e3
        lines.append(
            f"| {model} on `{hardware}` | {_num(one.time_s * 1e3)}, {_num(one.energy_per_token_j * 1e3)} | {where} "
            f"| {ridge_batch(hardware):.0f} | {last.tokens_per_s:,.0f} at {last.batch} "
            f"| {_num(prefill)} vs {_num(decode)} |"
        )
    lines.append("")
    for hardware, model, _ in PLATFORMS:
        rows = sorted((p for p in context_points if p.hardware == hardware), key=lambda p: p.context)
        lines.append(
            f"- {model} on `{hardware}`, batch 1: {rows[0].time_s * 1e3:.3g} ms per token at context "
            f"{rows[0].context:,}, {rows[-1].time_s * 1e3:.3g} ms at {rows[-1].context:,} "
            f"({rows[-1].time_s / rows[0].time_s:.2f}x: the KV cache read every step)."
        )
    for _, model, _ in PLATFORMS:
        c = decoder(model)
        kv = c.kv_cache_elements(CONTEXT + 1) * 2
        weights = c.parameter_count * 2
        lines.append(
            f"- {model}: {kv / 1e6:.0f} MB of KV cache per sequence at context {CONTEXT} ({c.kv_heads} KV heads) "
            f"against {weights / 1e9:.2f} GB of weights: at batch {BATCHES[-1]} a step reads "
            f"{BATCHES[-1] * kv / weights:.1f}x the weights in KV cache (the KV traffic grows with the batch, "
            "the weights' does not)."
        )
    lines.append(
        "- Energy uses the energy table's DRAM figure (243.75 pJ/byte, DDR-class) on both presets, so the "
        "DRAM share of decode energy is an upper bound for LPDDR5 and HBM3."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="out/llm_decode", help="output folder (default: %(default)s)")
    parser.add_argument("--readme", help="also write the summary into this README between the markers")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    batch_points = [step_point(hw, model, b, CONTEXT) for hw, model, _ in PLATFORMS for b in BATCHES]
    context_points = [step_point(hw, model, 1, c) for hw, model, contexts in PLATFORMS for c in contexts]
    phases = [phase_energy(hw, model) for hw, model, _ in PLATFORMS]
    write_csv(batch_points + context_points, out / "decode.csv")
    per_token_figure(batch_points, context_points, out / "per_token.png")
    energy_figure(phases, out / "energy_split.png")
    text = summary(batch_points, context_points, phases)
    (out / "summary.md").write_text(text + "\n")
    print(text)
    print(
        f"\nwrote {out}/decode.csv, summary.md, per_token.png, energy_split.png in {time.perf_counter() - start:.0f} s"
    )
    if args.readme:
        replace_block(args.readme, "llm-decode", text)


if __name__ == "__main__":
    main()
