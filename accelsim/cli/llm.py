"""`accelsim llm`: a decoder LLM's prefill and decode steps on one accelerator, as one run."""

from __future__ import annotations

import argparse
import json
from typing import Any

from accelsim.cli.common import check_parent
from accelsim.cli.run import warn_if_long
from accelsim.compress.methods.speculative import split_generation
from accelsim.compress.spec import parse_pipeline
from accelsim.errors import InputError
from accelsim.hardware import Accelerator, load_toml, preset
from accelsim.metrics.generation import CLASSES, GenerationFigures, PhaseFigures
from accelsim.metrics.report import format_si, format_table
from accelsim.metrics.speculative import SpeculativeFigures
from accelsim.precision import Precision
from accelsim.study.llm import (
    DEFAULT_HARDWARE,
    DEFAULT_PRECISION,
    GenerationRun,
    generation_network,
    run_generation,
)
from accelsim.study.speculative import SpeculativeRun, run_speculative, speculative_plan, speculative_step
from accelsim.trace import store
from accelsim.workload.decoder import DECODERS, DecoderConfig, decoder, read_hf_config


def _count(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer (got {text!r})") from None


def register(subparsers: Any) -> None:
    llm = subparsers.add_parser(
        "llm", help="a decoder LLM's prompt pass and generated tokens: time to first token, per token, energy"
    )
    source = llm.add_mutually_exclusive_group(required=True)
    source.add_argument("--network", help=f"built-in decoder: {', '.join(DECODERS)}")
    source.add_argument("--network-file", metavar="CONFIG.json", help="a decoder's Hugging Face config.json")
    llm.add_argument("--prompt", type=_count, required=True, help="prompt tokens (the prefill)")
    llm.add_argument("--generate", type=_count, required=True, help="tokens generated (decode steps)")
    llm.add_argument("--batch", type=_count, default=1, help="sequences generated together (default 1)")
    llm.add_argument(
        "--precision",
        choices=[p.value for p in Precision],
        default=DEFAULT_PRECISION.value,
        help=f"weights, activations and KV cache (default {DEFAULT_PRECISION.value})",
    )
    llm.add_argument("--hardware", default=DEFAULT_HARDWARE, help=f"hardware preset (default {DEFAULT_HARDWARE})")
    llm.add_argument("--hardware-file", help="hardware TOML file (overrides --hardware)")
    llm.add_argument("--compress", metavar="PIPELINE", help="compression steps (see README: Compression)")
    llm.add_argument("--trace", help="write the whole generation's per-cycle trace to this file (.npz)")
    llm.add_argument("--json", action="store_true", help="print the figures as JSON")
    llm.set_defaults(func=cmd_llm)


def _config(args: argparse.Namespace) -> DecoderConfig:
    if args.network_file:
        return read_hf_config(args.network_file)
    return decoder(args.network)


def _hardware(args: argparse.Namespace) -> Accelerator:
    return load_toml(args.hardware_file) if args.hardware_file else preset(args.hardware)


def cmd_llm(args: argparse.Namespace) -> int:
    config, hw = _config(args), _hardware(args)
    check_parent("--trace", args.trace)
    if args.prompt + args.generate > config.context:  # before any work: one line, exit 2
        raise InputError(
            f"--prompt + --generate: must be <= {config.context:,}, the context of {config.name} "
            f"(got {args.prompt:,} + {args.generate:,})"
        )
    layered, generation_level = split_generation(parse_pipeline(args.compress) if args.compress else ())
    run: GenerationRun | SpeculativeRun
    if generation_level:
        step = speculative_step(generation_level)
        plan = speculative_plan(
            config, args.prompt, args.generate, step, layered, batch=args.batch, precision=args.precision
        )
        warn_if_long(plan.network, hw)
        run = run_speculative(plan, hw, progress=not args.json)
    else:
        net = generation_network(
            config, args.prompt, args.generate, batch=args.batch, precision=args.precision, compress=args.compress
        )
        warn_if_long(net, hw)
        run = run_generation(net, config.name, args.prompt, args.generate, args.batch, hw, progress=not args.json)
    if args.trace:
        store.save(run.trace, args.trace)
    if args.json:
        print(json.dumps(run.figures.as_dict(), indent=2))
        return 0
    if isinstance(run.figures, SpeculativeFigures):
        print(format_speculative(run.figures))
    else:
        print(format_generation(run.figures))
    if args.trace:
        print(f"trace written to {args.trace} ({run.trace.interval_count:,} intervals)")
    return 0


def _phase_row(phase: PhaseFigures, tokens: float) -> list[str]:
    split = [f"{phase.class_cycles.get(c, 0) / max(phase.cycles, 1):.1%}" for c in CLASSES]
    return [
        phase.name,
        format_si(phase.time_s, "s"),
        format_si(phase.energy.total_j, "J"),
        format_si(phase.energy.total_j / tokens, "J") if tokens else "-",
        f"{phase.dram_read_bytes + phase.dram_write_bytes:,}",
        *split,
        f"{phase.bound.limiter} ({phase.cycles / phase.bound.cycles:.3f}x)" if phase.bound.cycles else "-",
    ]


def format_generation(f: GenerationFigures) -> str:
    """The report of `accelsim llm`: headline figures, then one row per phase."""
    lines = [
        f"{f.model} on {f.hardware}: prompt {f.prompt:,} tokens, {f.generate:,} generated, batch {f.batch}",
        f"time to first token   {format_si(f.time_to_first_token_s, 's')}",
    ]
    if f.decode is not None:
        steps = [s.time_s for s in f.steps]
        lines += [
            f"time per output token {format_si(f.time_per_output_token_s or 0.0, 's')} mean "
            f"(first {format_si(steps[0], 's')}, last {format_si(steps[-1], 's')})",
            f"tokens per second     {f.tokens_per_s:,.2f} (batch / time per output token)",
            f"energy per token      {format_si(f.energy_per_token_j or 0.0, 'J')} (decode energy / generated tokens)",
        ]
    lines += [
        f"prefill energy        {format_si(f.prefill.energy.total_j, 'J')}",
        f"KV cache              {f.kv_cache_bytes:,} bytes",
        *([_kv_on_chip_line(f.kv_on_chip)] if f.kv_on_chip is not None else []),
        "",
    ]
    phases = [(f.prefill, f.prompt * f.batch)]
    if f.decode is not None:
        phases.append((f.decode, f.generate * f.batch))
    headers = ["phase", "time", "energy", "per token", "DRAM bytes", *(f"{c} time" for c in CLASSES), "bound"]
    lines.append(format_table([_phase_row(p, n) for p, n in phases], headers, text_columns=(0, 8)))
    return "\n".join(lines)


def _kv_on_chip_line(kv: dict[str, int]) -> str:
    return (
        f"KV cache on chip      first {kv['resident_tokens']:,} positions ({kv['bytes_per_token']:,} bytes each, "
        f"region {kv['budget_bytes']:,} bytes), read from SRAM from decode step 2"
    )


def _shared_kv_line(kv: dict[str, int]) -> str:
    draft = kv.get("draft_bytes_per_token") or 0
    return (
        f"KV cache on chip      first {kv['resident_tokens']:,} positions of both caches ({kv['bytes_per_token']:,} "
        f"bytes each: target {kv['bytes_per_token'] - draft:,}, draft {draft:,}; region {kv['budget_bytes']:,} "
        "bytes), read from SRAM after each model's first decode phase"
    )


def format_speculative(f: SpeculativeFigures) -> str:
    """The report of `accelsim llm` with `speculative`: figures per accepted token, the rounds."""
    g = f.generation
    lines = [
        f"{g.model} on {g.hardware}: prompt {g.prompt:,} tokens, {g.generate:,} generated, batch {g.batch}",
        f"speculative           draft {f.draft} ({f.draft_parameters:,} parameters), k={f.k}, "
        f"acceptance {f.acceptance:g}: {f.tokens_per_round:.4f} tokens per round, "
        f"{f.rounds} rounds simulated ({f.expected_tokens:.2f} tokens expected)",
        f"time to first token   {format_si(f.time_to_first_token_s, 's')} (target and draft prompt passes)",
    ]
    if f.per_token is not None:
        lines += [
            f"draft step            {format_si(f.draft_pass.time_s, 's')}, {format_si(f.draft_pass.energy_j, 'J')} "
            f"(mean); verification {format_si(f.verify_pass.time_s, 's')}, "
            f"{format_si(f.verify_pass.energy_j, 'J')} (mean)",
            f"time per output token {format_si(f.time_per_output_token_s or 0.0, 's')} per accepted token "
            f"((k x draft + verification) / tokens per round)",
            f"tokens per second     {f.tokens_per_s or 0.0:,.2f} (batch / time per output token)",
            f"energy per token      {format_si(f.energy_per_token_j or 0.0, 'J')} per accepted token",
        ]
    lines += [
        f"prefill energy        {format_si(f.prefill_energy_j, 'J')} (draft's {format_si(f.draft_prefill.energy_j, 'J')})",
        f"KV cache              {f.kv_cache_bytes:,} bytes (target {f.target_kv_cache_bytes:,}, "
        f"draft {f.draft_kv_cache_bytes:,})",
        *([_shared_kv_line(g.kv_on_chip)] if g.kv_on_chip is not None else []),
        "",
    ]
    phases = [(g.prefill, g.prompt * g.batch)]
    if g.decode is not None:
        phases.append((g.decode, f.expected_tokens * g.batch))
    headers = ["phase", "time", "energy", "per token", "DRAM bytes", *(f"{c} time" for c in CLASSES), "bound"]
    lines.append(format_table([_phase_row(p, n) for p, n in phases], headers, text_columns=(0, 8)))
    return "\n".join(lines)
