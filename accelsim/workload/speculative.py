"""Speculative decoding's generation as one network: the prompt passes, then rounds of draft steps
and verification passes, run back to back on one trace.

A round: the draft proposes k tokens (k decode steps of the draft, one token per sequence each),
then the target verifies them in one pass over k + 1 positions (`verify_step`: the last accepted
token and the k proposals, logits at each). A round yields E = (1 - a^(k+1)) / (1 - a) tokens in
expectation at acceptance rate a (the caller gives E: the closed form lives with the method).

Which rounds are simulated: R = ceil(G / E) of them, the fewest whose expected tokens cover the G
generated. Round r (from 0) starts with c_r = P + floor(r x E) positions cached by both models
(the prompt and the tokens expected to be accepted before it, rounded down to a whole position
since shapes are whole): draft step i (0..k-1) is a decode step of the draft at context c_r + i,
and the verification attends over c_r + k + 1 keys. Products are rounded to 9 decimals before the
ceiling and the floor, so float noise never moves a boundary (E = 1 at a = 0 gives c_r = P + r).
The context the last round reaches is at most P + G + k, which must fit both models.

Phases (the trace's `step` signal): 0 holds the prompt passes, the target's then the draft's (the
draft caches the prompt before its first proposal); round r is phases r(k+1)+1 .. r(k+1)+k, its
draft steps, then r(k+1)+k+1, its verification. Layer names start with the phase (`prefill/`,
`step<n>/`, as `generation.step_of` reads them); a draft layer's continues with `draft/`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from accelsim.errors import InputError
from accelsim.workload.decoder import DecoderConfig, decode_step, prefill, verify_step
from accelsim.workload.generation import PREFILL_STEP, check_generation, in_phase, phase_prefix, step_of
from accelsim.workload.layers import Layer, Network

#: Kinds of phase, as trace meta and the JSON name them.
PREFILL, DRAFT, VERIFY = "prefill", "draft", "verify"
#: What follows the phase prefix in a draft layer's name.
DRAFT_PREFIX = "draft/"
#: Most rounds one speculative generation may simulate (each is k + 1 forward passes).
MAX_ROUNDS = 1 << 16


def _whole(x: float) -> float:
    """`x` rounded to 9 decimals: a product that should be whole stays whole."""
    return round(x, 9)


def rounds_needed(generate: int, tokens_per_round: float) -> int:
    """The fewest rounds whose expected tokens cover `generate`: ceil(G / E)."""
    if not tokens_per_round >= 1:
        raise InputError(f"speculative: tokens per round must be >= 1 (got {tokens_per_round!r})")
    return math.ceil(_whole(generate / tokens_per_round))


def round_contexts(prompt: int, generate: int, tokens_per_round: float) -> tuple[int, ...]:
    """Positions cached when each simulated round starts: P + floor(r x E)."""
    return tuple(
        prompt + math.floor(_whole(r * tokens_per_round)) for r in range(rounds_needed(generate, tokens_per_round))
    )


@dataclass(frozen=True)
class SpeculativeLayout:
    """The rounds of a speculative generation and the phase each pass runs in."""

    prompt: int
    generate: int
    batch: int
    k: int
    tokens_per_round: float
    contexts: tuple[int, ...]  # positions cached at the start of each round

    @property
    def rounds(self) -> int:
        return len(self.contexts)

    @property
    def phases(self) -> int:
        """Phases on the trace: the prompt passes, then k + 1 per round."""
        return 1 + self.rounds * (self.k + 1)

    def draft_phase(self, r: int, i: int) -> int:
        """Phase of draft step i of round r."""
        return 1 + r * (self.k + 1) + i

    def verify_phase(self, r: int) -> int:
        return 1 + r * (self.k + 1) + self.k

    @property
    def phase_kinds(self) -> tuple[str, ...]:
        """`prefill`, then `draft` k times and `verify` once per round."""
        return (PREFILL, *((DRAFT,) * self.k + (VERIFY,)) * self.rounds)

    @property
    def phase_contexts(self) -> tuple[int, ...]:
        """Positions cached when each phase starts (the prompt pass: 0)."""
        return (0, *(x for c in self.contexts for x in (*range(c, c + self.k), c)))


def _check_context(c: DecoderConfig, role: str, prompt: int, generate: int, k: int) -> None:
    if prompt + generate + k > c.context:
        raise InputError(
            f"speculative: prompt + generate + k must be <= {c.context:,}, the context of the {role} {c.name} "
            f"(a round may draft k tokens past the last; got {prompt:,} + {generate:,} + {k} = "
            f"{prompt + generate + k:,})"
        )


def speculative_layout(
    target: DecoderConfig,
    draft: DecoderConfig,
    prompt: int,
    generate: int,
    batch: int,
    k: int,
    tokens_per_round: float,
) -> SpeculativeLayout:
    """The rounds simulated for `generate` tokens at E = `tokens_per_round` (module docstring)."""
    check_generation(target, prompt, generate, batch)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InputError(f"speculative: k must be an integer >= 1 (got {k!r})")
    if not 1 <= tokens_per_round <= k + 1:
        raise InputError(f"speculative: tokens per round must be in [1, k + 1] (got {tokens_per_round!r})")
    for config, role in ((target, "target"), (draft, "draft")):
        _check_context(config, role, prompt, generate, k)
    if rounds_needed(generate, tokens_per_round) > MAX_ROUNDS:
        raise InputError(f"speculative: at most {MAX_ROUNDS:,} rounds (generate / tokens per round)")
    return SpeculativeLayout(
        prompt, generate, batch, k, tokens_per_round, round_contexts(prompt, generate, tokens_per_round)
    )


def target_network(layout: SpeculativeLayout, target: DecoderConfig) -> Network:
    """The target's passes, in their phases: the prompt pass and each round's verification."""
    passes = [(PREFILL_STEP, prefill(target, layout.prompt, layout.batch))] + [
        (layout.verify_phase(r), verify_step(target, c, layout.k + 1, layout.batch))
        for r, c in enumerate(layout.contexts)
    ]
    layers = [in_phase(layer, phase_prefix(step)) for step, net in passes for layer in net.layers]
    text = (
        f"{target.name}: prefill of {layout.prompt} tokens then {layout.rounds} verifications of "
        f"{layout.k + 1} tokens, batch {layout.batch}"
    )
    return Network(f"{target.name}-target", tuple(layers), text)


def draft_passes(layout: SpeculativeLayout, draft: DecoderConfig) -> tuple[tuple[int, Network], ...]:
    """The draft's passes, each a whole network with the phase it runs in: its prompt pass, then
    k decode steps per round (one network each, so a transform sees one forward pass)."""
    steps = (
        (layout.draft_phase(r, i), decode_step(draft, c + i, layout.batch))
        for r, c in enumerate(layout.contexts)
        for i in range(layout.k)
    )
    return ((PREFILL_STEP, prefill(draft, layout.prompt, layout.batch)), *steps)


def merge(
    layout: SpeculativeLayout, target: Network, drafts: Sequence[tuple[int, Network]], name: str, description: str
) -> Network:
    """One network running every phase in order: in each, the target's layers (as `target_network`
    named them), then the draft pass's, named `<phase>/draft/...`."""
    by_phase: list[list[Layer]] = [[] for _ in range(layout.phases)]
    for layer in target.layers:
        by_phase[step_of(layer.name)].append(layer)
    for step, net in drafts:
        by_phase[step] += [in_phase(layer, phase_prefix(step) + DRAFT_PREFIX) for layer in net.layers]
    layers = tuple(layer for phase in by_phase for layer in phase)
    return Network(name, layers, description, provenance=target.provenance)


def is_draft_layer(name: str) -> bool:
    """Whether a layer of a merged network belongs to the draft."""
    return name.partition("/")[2].startswith(DRAFT_PREFIX)
