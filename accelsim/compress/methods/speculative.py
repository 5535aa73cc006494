"""Speculative decoding: `speculative(draft, k, acceptance)`, e.g.
`speculative(draft=distill(0.25), k=4, acceptance=0.7)`.

A generation-level step: the layers do not change. Each round a draft model (a built-in network,
or `distill(width)` of the target) proposes `k` tokens in k passes, then the target verifies
them and adds one of its own in a single pass over k + 1 positions. With each draft token
accepted independently with probability a, the tokens a round yields (the accepted prefix plus
the target's one) have the expectation (1 - a^(k+1)) / (1 - a) (Y. Leviathan, M. Kalman,
Y. Matias, "Fast inference from transformers via speculative decoding", ICML 2023, eq. 1).
Rejection sampling keeps the target's output distribution, so accuracy is unchanged.

`accelsim run` simulates one pass and refuses the step; `per_token` turns the simulated costs
of a draft pass and a verification pass into time and energy per accepted token.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accelsim.compress.methods.base import Followup, Parameter, Transform
from accelsim.compress.methods.distill import Distill
from accelsim.compress.methods.registry import register
from accelsim.errors import InputError
from accelsim.workload.layers import Network
from accelsim.workload.networks import NETWORKS
from accelsim.workload.provenance import Value

if TYPE_CHECKING:
    from accelsim.compress.accuracy import ParametricAccuracy
    from accelsim.compress.measured import MeasurementSettings

#: Most draft tokens per round: beyond a few tens every acceptance rate has flattened out.
MAX_K = 64


def draft_argument(value: object) -> str | Transform:
    """A draft as written in a pipeline: a network name, or a nested `distill(width)` call (the
    parser builds nested calls into transforms)."""
    if isinstance(value, (str, Transform)):
        return value
    raise InputError("expected a network name or distill(width)")


@dataclass(frozen=True)
class PassCost:
    """Time and energy of one simulated pass (or their value per token)."""

    time_s: float
    energy_j: float


@register
@dataclass(frozen=True)
class Speculative(Transform):
    """Draft `k` tokens per round with `draft`, verify with the target; acceptance a in [0, 1)."""

    draft: str | Transform
    k: int = 4
    acceptance: float = 0.7

    method = "speculative"
    parameters = (
        Parameter("draft", draft_argument, structured=True),
        Parameter("k", int),
        Parameter("acceptance", float),
    )
    #: Changes how tokens are generated, not the network: `split_generation` sets it apart.
    generation_level = True

    def __post_init__(self) -> None:
        if isinstance(self.draft, Transform):
            if not isinstance(self.draft, Distill):
                raise InputError(
                    f"speculative: draft must be a network name or distill(width) (got {self.draft.describe()})"
                )
        elif not isinstance(self.draft, str) or self.draft not in NETWORKS:
            raise InputError(
                f"speculative: draft must be a network name or distill(width) (got {self.draft!r}); "
                f"networks: {', '.join(NETWORKS)}"
            )
        if isinstance(self.k, bool) or not isinstance(self.k, int) or not 1 <= self.k <= MAX_K:
            raise InputError(f"speculative: k must be an integer in [1, {MAX_K}] (got {self.k!r})")
        a = self.acceptance
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not 0 <= a < 1:
            raise InputError(f"speculative: acceptance must be in [0, 1) (got {a!r})")

    def apply(self, network: Network) -> Network:
        raise InputError(
            "speculative: a generation-level step (draft and verify passes); `accelsim llm` runs it, "
            "`accelsim run` simulates one pass and cannot"
        )

    @property
    def draft_text(self) -> str:
        return self.draft.describe() if isinstance(self.draft, Transform) else self.draft

    def describe(self) -> str:
        return f"speculative(draft={self.draft_text}, k={self.k}, acceptance={self.acceptance:g})"

    def provenance_params(self) -> tuple[tuple[str, Value], ...]:
        return (("draft", self.draft_text), ("k", self.k), ("acceptance", float(self.acceptance)))

    @property
    def tokens_per_round(self) -> float:
        return expected_tokens(self.k, self.acceptance)

    def draft_network(self, target: Network) -> Network:
        """The draft: `distill(width)` applied to the target, or the built-in network so named."""
        if isinstance(self.draft, Transform):
            return self.draft(target)
        return NETWORKS[self.draft]()

    def per_token(self, draft_pass: PassCost, verify_pass: PassCost) -> PassCost:
        return per_token(draft_pass, verify_pass, self.k, self.acceptance)

    def perplexity_setting(self) -> str:
        """Speculative sampling reproduces the target's distribution: no change."""
        return "lossless"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """1: speculative sampling reproduces the target's distribution (Leviathan et al., 2023)."""
        return 1.0

    def followup(self, settings: MeasurementSettings) -> Followup:
        return Followup(0, settings.finetune_learning_rate)


def expected_tokens(k: int, acceptance: float) -> float:
    """Expected tokens per round: (1 - a^(k+1)) / (1 - a) (k + 1 when a = 1)."""
    a = acceptance
    return float(k + 1) if a == 1 else (1 - a ** (k + 1)) / (1 - a)


def enumerated_tokens(k: int, acceptance: float) -> float:
    """The same expectation by brute force: every accept/reject outcome of the k draft tokens,
    weighted by its probability; a round yields its accepted prefix plus the target's token."""
    total = 0.0
    for outcome in itertools.product((True, False), repeat=k):
        accepted = next((i for i, ok in enumerate(outcome) if not ok), k)
        hits = sum(outcome)
        total += acceptance**hits * (1 - acceptance) ** (k - hits) * (accepted + 1)
    return total


def per_token(draft_pass: PassCost, verify_pass: PassCost, k: int, acceptance: float) -> PassCost:
    """Time and energy per accepted token: k draft passes and one verification pass (of k + 1
    positions) per round, over the round's expected tokens."""
    tokens = expected_tokens(k, acceptance)
    return PassCost(
        (k * draft_pass.time_s + verify_pass.time_s) / tokens,
        (k * draft_pass.energy_j + verify_pass.energy_j) / tokens,
    )


def split_generation(steps: Sequence[Transform]) -> tuple[tuple[Transform, ...], tuple[Transform, ...]]:
    """(steps that change the network, generation-level steps such as `speculative`), in order."""
    network = tuple(s for s in steps if not getattr(s, "generation_level", False))
    generation = tuple(s for s in steps if getattr(s, "generation_level", False))
    return network, generation
