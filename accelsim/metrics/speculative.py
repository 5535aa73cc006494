"""Figures of a speculative generation: draft steps and verification passes on one trace, turned
into time and energy per accepted token.

The trace is a generation trace (`metrics.generation`) whose `meta["generation"]` also carries
`phase_kinds` (`prefill`, `draft`, `verify` per phase), `phase_contexts` and `speculative` (k,
acceptance, tokens per round E, rounds R, the draft's name and parameter count). Definitions:

- the draft pass and the verification pass: the mean time and energy of the R x k draft steps and
  of the R verifications simulated;
- per accepted token: the caller's `per_token(draft pass, verify pass)`, the method's closed form
  (k draft passes and one verification per round over E tokens), which equals the simulated
  rounds' total over their R x E expected tokens;
- time to first token: the prompt passes, the target's and the draft's (the draft must cache the
  prompt before its first proposal);
- time per output token: the per-token time (each round emits E tokens per sequence in
  expectation); tokens per second: batch over it; energy per token: the per-token energy over
  the batch;
- prefill energy: both prompt passes; KV-cache bytes: the target's plus the draft's, as the last
  round reads them (both caches are held); `kv_on_chip`: the region both caches share
  (`accelsim.sim.kv_residency`), with the draft's bytes per position.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from accelsim.metrics.counts import hardware_of
from accelsim.metrics.generation import GenerationFigures, LayerFigures, generation_figures, layer_figures
from accelsim.trace.trace import Trace
from accelsim.workload.speculative import DRAFT, VERIFY, is_draft_layer


class Cost(Protocol):
    """Time and energy of a pass, or per token."""

    @property
    def time_s(self) -> float: ...

    @property
    def energy_j(self) -> float: ...


@dataclass(frozen=True)
class PassFigures:
    """Time and energy of a pass (a mean over the passes simulated) or of a token."""

    time_s: float
    energy_j: float

    def as_dict(self) -> dict[str, float]:
        return {"time_s": self.time_s, "energy_j": self.energy_j}


@dataclass(frozen=True)
class SpeculativeFigures:
    """Every figure of a speculative generation run."""

    generation: GenerationFigures  # prefill (both prompt passes), decode (every round), phases
    k: int
    acceptance: float
    tokens_per_round: float
    rounds: int
    draft: str
    draft_parameters: int
    phase_kinds: tuple[str, ...]
    phase_contexts: tuple[int, ...]
    draft_prefill: PassFigures
    draft_pass: PassFigures
    verify_pass: PassFigures
    per_token: PassFigures | None  # None when nothing is generated
    target_kv_cache_bytes: int
    draft_kv_cache_bytes: int

    @property
    def batch(self) -> int:
        return self.generation.batch

    @property
    def expected_tokens(self) -> float:
        """Tokens per sequence the simulated rounds yield in expectation: R x E (>= generated)."""
        return self.rounds * self.tokens_per_round

    @property
    def time_to_first_token_s(self) -> float:
        return self.generation.time_to_first_token_s

    @property
    def time_per_output_token_s(self) -> float | None:
        return self.per_token.time_s if self.per_token else None

    @property
    def tokens_per_s(self) -> float | None:
        return self.batch / self.per_token.time_s if self.per_token and self.per_token.time_s else None

    @property
    def energy_per_token_j(self) -> float | None:
        return self.per_token.energy_j / self.batch if self.per_token else None

    @property
    def prefill_energy_j(self) -> float:
        return self.generation.prefill.energy.total_j

    @property
    def kv_cache_bytes(self) -> int:
        return self.target_kv_cache_bytes + self.draft_kv_cache_bytes

    def speculative_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "acceptance": self.acceptance,
            "tokens_per_round": self.tokens_per_round,
            "rounds": self.rounds,
            "expected_tokens": self.expected_tokens,
            "draft": self.draft,
            "draft_parameters": self.draft_parameters,
            "draft_pass": self.draft_pass.as_dict(),
            "verify_pass": self.verify_pass.as_dict(),
            "draft_prefill": self.draft_prefill.as_dict(),
            "target_kv_cache_bytes": self.target_kv_cache_bytes,
            "draft_kv_cache_bytes": self.draft_kv_cache_bytes,
            "round_contexts": [c for c, kind in zip(self.phase_contexts, self.phase_kinds) if kind == VERIFY],
        }

    def as_dict(self) -> dict[str, Any]:
        """The JSON of `accelsim llm` with `speculative`: the same headline scalars, per accepted
        token, then the round structure and the detail."""
        g = self.generation
        return {
            "time_to_first_token_s": self.time_to_first_token_s,
            "time_per_output_token_s": self.time_per_output_token_s,
            "tokens_per_s": self.tokens_per_s,
            "energy_per_token_j": self.energy_per_token_j,
            "prefill_energy_j": self.prefill_energy_j,
            "kv_cache_bytes": self.kv_cache_bytes,
            "model": g.model,
            "hardware": g.hardware,
            "prompt": g.prompt,
            "generate": g.generate,
            "batch": g.batch,
            "kv_on_chip": g.kv_on_chip,
            "speculative": self.speculative_dict(),
            "phases": [phase.as_dict() for phase in (g.prefill, g.decode) if phase is not None],
            "steps": [
                {
                    "step": n,
                    "kind": self.phase_kinds[n],
                    "context": self.phase_contexts[n],
                    "start_cycle": s.start_cycle,
                    **s.as_dict(),
                }
                for n, s in enumerate(g.steps, start=1)
            ],
        }


def _total(layers: list[LayerFigures], clock_hz: float, passes: int) -> PassFigures:
    """The mean time and energy of `passes` passes made of `layers`."""
    if not passes:
        return PassFigures(0.0, 0.0)
    cycles = sum(layer.cycles for layer in layers)
    energy = sum(layer.energy.total_j for layer in layers)
    return PassFigures(cycles / clock_hz / passes, energy / passes)


def speculative_figures(trace: Trace, per_token: Callable[[PassFigures, PassFigures], Cost]) -> SpeculativeFigures:
    """The figures of a speculative generation from its trace; `per_token(draft pass, verify
    pass)` is the method's closed form (module docstring)."""
    info = trace.meta["generation"]
    spec = info["speculative"]
    kinds, contexts = tuple(info["phase_kinds"]), tuple(info["phase_contexts"])
    hw = hardware_of(trace)
    layers = layer_figures(trace, hw, info["layer_steps"], info["layer_classes"])
    draft = [is_draft_layer(meta["name"]) for meta in trace.meta["layers"]]
    rounds, k = spec["rounds"], spec["k"]
    draft_pass = _total([x for x in layers if kinds[x.phase] == DRAFT], hw.clock_hz, rounds * k)
    verify_pass = _total([x for x in layers if kinds[x.phase] == VERIFY], hw.clock_hz, rounds)
    last_draft = max((n for n, kind in enumerate(kinds) if kind == DRAFT), default=0)
    cost = per_token(draft_pass, verify_pass) if rounds else None
    return SpeculativeFigures(
        generation=generation_figures(trace),
        k=k,
        acceptance=spec["acceptance"],
        tokens_per_round=spec["tokens_per_round"],
        rounds=rounds,
        draft=spec["draft"],
        draft_parameters=spec["draft_parameters"],
        phase_kinds=kinds,
        phase_contexts=contexts,
        draft_prefill=_total([x for x, d in zip(layers, draft) if d and x.phase == 0], hw.clock_hz, 1),
        draft_pass=draft_pass,
        verify_pass=verify_pass,
        per_token=None if cost is None else PassFigures(cost.time_s, cost.energy_j),
        target_kv_cache_bytes=sum(x.kv_bytes for x, d in zip(layers, draft) if x.phase == len(kinds) - 1 and not d),
        draft_kv_cache_bytes=sum(x.kv_bytes for x, d in zip(layers, draft) if x.phase == last_draft and d),
    )
