"""A speculative generation (`speculative(draft, k, acceptance)` in `accelsim llm --compress`):
the target's and the draft's passes built, compressed and simulated on one trace.

Which layer steps of the pipeline apply to which model: every one applies to the target (its
prompt pass and verification passes), as without `speculative`. The draft runs in the target's
deployment format: the steps that choose a number or storage format (quantize, wq, w8a8, kv,
sparsify, nm) apply to each draft pass too, after the draft is built (the target's student for
`distill(w)`, else the named decoder), in pipeline order. The steps that make the target a
different model stay with it: LoRA adapters, pruned heads, channels or MLP widths, low-rank
factors and a distilled target are fitted to its weights, not to the draft's (`DRAFT_SKIPS`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from accelsim.compress.methods.base import Transform
from accelsim.compress.methods.speculative import PassCost, Speculative
from accelsim.compress.transforms import pipeline
from accelsim.errors import InputError
from accelsim.hardware import Accelerator, preset
from accelsim.metrics.generation import layer_class
from accelsim.metrics.speculative import PassFigures, SpeculativeFigures, speculative_figures
from accelsim.precision import Precision
from accelsim.sim.engine import simulate
from accelsim.trace.trace import Trace
from accelsim.workload.decoder import DECODERS, DecoderConfig, decoder
from accelsim.workload.generation import step_of
from accelsim.workload.layers import Network
from accelsim.workload.speculative import SpeculativeLayout, draft_passes, merge, speculative_layout, target_network

#: Layer steps that stay with the target (module docstring).
DRAFT_SKIPS = ("lora", "heads", "mlp", "prune", "lowrank", "distill")


@dataclass(frozen=True)
class SpeculativePlan:
    """A speculative generation's network (every phase, in order) and what it is made of."""

    model: str
    network: Network
    layout: SpeculativeLayout
    step: Speculative
    draft_parameters: int


@dataclass(frozen=True)
class SpeculativeRun:
    """A simulated speculative generation: its figures and its trace."""

    figures: SpeculativeFigures
    trace: Trace


def speculative_step(steps: Sequence[Transform]) -> Speculative:
    """The one `speculative` step among a pipeline's generation-level steps."""
    if len(steps) != 1 or not isinstance(steps[0], Speculative):
        names = ", ".join(step.describe() for step in steps)
        raise InputError(f"--compress: at most one generation-level step, speculative(...) (got {names})")
    return steps[0]


def _draft_config(step: Speculative, target: DecoderConfig) -> DecoderConfig:
    if isinstance(step.draft, Transform):
        return target  # its student: each pass of the target's shape, distilled
    if step.draft not in DECODERS:
        raise InputError(
            f"speculative: draft must be a decoder ({', '.join(DECODERS)}) or distill(width) for a generation "
            f"(got {step.draft})"
        )
    return decoder(step.draft)


def _precision(precision: Precision | str) -> Precision:
    return precision if isinstance(precision, Precision) else Precision.parse(precision)


def _draft_pass(step: Speculative, net: Network, formats: Sequence[Transform]) -> Network:
    """One draft pass: the student of the target's pass or the named decoder's, in the target's formats."""
    if isinstance(step.draft, Transform):
        net = step.draft(net)
    return pipeline(*formats)(net) if formats else net


def speculative_plan(
    config: DecoderConfig,
    prompt: int,
    generate: int,
    step: Speculative,
    layer_steps: Sequence[Transform] = (),
    *,
    batch: int = 1,
    precision: Precision | str = Precision.FP16,
) -> SpeculativePlan:
    """The network of a speculative generation of `generate` tokens after a `prompt`-token prompt
    (`workload.speculative`), the pipeline's layer steps applied (module docstring)."""
    bits = _precision(precision)
    draft = _draft_config(step, config)
    layout = speculative_layout(config, draft, prompt, generate, batch, step.k, step.tokens_per_round)
    target = target_network(layout, config).with_precision(bits)
    if layer_steps:
        target = pipeline(*layer_steps)(target)
    formats = [s for s in layer_steps if s.method not in DRAFT_SKIPS]
    passes = [(n, _draft_pass(step, net.with_precision(bits), formats)) for n, net in draft_passes(layout, draft)]
    text = (
        f"{config.name}: speculative generation with draft {step.draft_text}, k={step.k}, "
        f"acceptance {step.acceptance:g}: prefill of {prompt} tokens then {layout.rounds} rounds, batch {batch}"
    )
    net = merge(layout, target, passes, f"{config.name}-speculative-generation", text)
    net = dataclasses.replace(net, provenance=(*net.provenance, step.provenance()))
    return SpeculativePlan(config.name, net, layout, step, passes[0][1].parameter_count)


def run_speculative(
    plan: SpeculativePlan, hw: Accelerator | str, *, progress: bool = False, kv_on_chip: bool = True
) -> SpeculativeRun:
    """Simulate a plan's network on one trace and figure time and energy per accepted token with
    the method's closed form (`Speculative.per_token`). Both KV caches share the on-chip region
    while they fit (`accelsim.sim.kv_residency`) unless `kv_on_chip` is False."""
    accelerator = preset(hw) if isinstance(hw, str) else hw
    net, layout, step = plan.network, plan.layout, plan.step
    steps = [step_of(layer.name) for layer in net.layers]
    trace = simulate(net, accelerator, progress=progress, layer_steps=steps, kv_on_chip=kv_on_chip)
    trace.meta["generation"] = {
        "model": plan.model,
        "prompt": layout.prompt,
        "generate": layout.generate,
        "batch": layout.batch,
        "layer_steps": steps,
        "layer_classes": [layer_class(layer) for layer in net.layers],
        "phase_kinds": list(layout.phase_kinds),
        "phase_contexts": list(layout.phase_contexts),
        "speculative": {
            "k": step.k,
            "acceptance": float(step.acceptance),
            "tokens_per_round": step.tokens_per_round,
            "rounds": layout.rounds,
            "draft": step.draft_text,
            "draft_parameters": plan.draft_parameters,
        },
    }
    return SpeculativeRun(speculative_figures(trace, _per_token(step)), trace)


def _per_token(step: Speculative) -> Callable[[PassFigures, PassFigures], PassCost]:
    """The step's closed form on the metrics' pass figures."""

    def cost(draft: PassFigures, verify: PassFigures) -> PassCost:
        return step.per_token(PassCost(draft.time_s, draft.energy_j), PassCost(verify.time_s, verify.energy_j))

    return cost
