"""`simulate_generation`: a decoder LLM's prefill and decode steps as one run on one trace."""

from __future__ import annotations

from dataclasses import dataclass

from accelsim.compress.methods.speculative import split_generation
from accelsim.compress.spec import parse_pipeline
from accelsim.compress.transforms import pipeline
from accelsim.errors import InputError
from accelsim.hardware import Accelerator, preset
from accelsim.metrics.generation import GenerationFigures, generation_figures, layer_class
from accelsim.precision import Precision
from accelsim.sim.engine import simulate
from accelsim.study.speculative import SpeculativeRun, run_speculative, speculative_plan, speculative_step
from accelsim.trace.trace import Trace
from accelsim.workload.decoder import DecoderConfig, decoder
from accelsim.workload.generation import generation, step_of
from accelsim.workload.layers import Network

#: The way such models are deployed on such devices (issue 11): FP16 on a phone-class NPU.
DEFAULT_PRECISION = Precision.FP16
DEFAULT_HARDWARE = "edge-llm"


@dataclass(frozen=True)
class GenerationRun:
    """A simulated generation: its figures and its trace (one for the whole generation)."""

    figures: GenerationFigures
    trace: Trace


def generation_network(
    config: DecoderConfig | str,
    prompt: int,
    generate: int,
    *,
    batch: int = 1,
    precision: Precision | str = DEFAULT_PRECISION,
    compress: str | None = None,
) -> Network:
    """The generation's network at `precision`, compressed by the `compress` pipeline if given."""
    c = decoder(config) if isinstance(config, str) else config
    net = generation(c, prompt, generate, batch).network.with_precision(
        precision if isinstance(precision, Precision) else Precision.parse(precision)
    )
    if compress:
        layered, generation_level = split_generation(parse_pipeline(compress))
        if generation_level:
            raise InputError(
                f"{generation_level[0].method}: a generation-level step; simulate_generation runs it "
                "(study.speculative builds its network)"
            )
        net = pipeline(*layered)(net)
    return net


def simulate_generation(
    config: DecoderConfig | str,
    prompt: int,
    generate: int,
    hw: Accelerator | str = DEFAULT_HARDWARE,
    *,
    batch: int = 1,
    precision: Precision | str = DEFAULT_PRECISION,
    compress: str | None = None,
    progress: bool = False,
    kv_on_chip: bool = True,
) -> GenerationRun | SpeculativeRun:
    """Prefill `prompt` tokens, then generate `generate` tokens, for `batch` sequences of the
    decoder `config` (a DecoderConfig or a built-in's name) on `hw` (an Accelerator or a preset's
    name); InputError if prompt + generate exceeds the model's context. A `speculative` step in
    `compress` makes it a speculative generation (`study.speculative`). `kv_on_chip=False`
    reads the whole KV cache (both caches of a speculative generation) from DRAM every step
    (`accelsim.sim.kv_residency` otherwise)."""
    c = decoder(config) if isinstance(config, str) else config
    layered, generation_level = split_generation(parse_pipeline(compress) if compress else ())
    if generation_level:
        plan = speculative_plan(
            c, prompt, generate, speculative_step(generation_level), layered, batch=batch, precision=precision
        )
        return run_speculative(plan, hw, progress=progress, kv_on_chip=kv_on_chip)
    net = generation_network(c, prompt, generate, batch=batch, precision=precision, compress=compress)
    return run_generation(net, c.name, prompt, generate, batch, hw, progress=progress, kv_on_chip=kv_on_chip)


def run_generation(
    net: Network,
    model: str,
    prompt: int,
    generate: int,
    batch: int,
    hw: Accelerator | str,
    *,
    progress: bool = False,
    kv_on_chip: bool = True,
) -> GenerationRun:
    """Simulate a network built by `generation_network` (`simulate_generation` in two parts, so a
    caller may look at the network first); the KV cache on chip while it fits unless
    `kv_on_chip` is False."""
    accelerator = preset(hw) if isinstance(hw, str) else hw
    steps = [step_of(layer.name) for layer in net.layers]
    trace = simulate(net, accelerator, progress=progress, layer_steps=steps, kv_on_chip=kv_on_chip)
    trace.meta["generation"] = {
        "model": model,
        "prompt": prompt,
        "generate": generate,
        "batch": batch,
        "layer_steps": steps,
        "layer_classes": [layer_class(layer) for layer in net.layers],
    }
    return GenerationRun(generation_figures(trace), trace)
