"""Greedy speculative decoding of tinylm with a smaller draft tinylm, for real.

Each round the draft proposes k bytes greedily; the target scores the sequence with all k
proposals in one pass and keeps the longest prefix of proposals that equal its own greedy
choices, then adds its own choice at the first disagreement (or after the last proposal, when
all were accepted). The output is the target's greedy output, token for token (Leviathan et al.,
"Fast Inference from Transformers via Speculative Decoding", ICML 2023; Chen et al. 2023).

The acceptance rate fed to the simulation's closed form, expected tokens per round
(1 - a^(k+1)) / (1 - a), is the per-proposal acceptance probability a that form assumes: its
maximum-likelihood estimate from the rounds is accepted / (accepted + rejected), a rejection
being a round that stopped before its last proposal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.compress.threads import single_blas_thread
from accelsim.compress.tinylm import model as tm
from accelsim.errors import InputError


@dataclass(frozen=True)
class Decoder:
    """A model to decode with: its parameters and head size."""

    params: tm.Params
    head_dim: int

    @property
    def context(self) -> int:
        return int(self.params["wpe"].shape[0])

    def next_tokens(self, sequence: list[int]) -> np.ndarray:
        """The greedy next byte after every prefix of `sequence` (one forward pass)."""
        logits, _ = tm.forward(self.params, np.asarray([sequence]), self.head_dim)
        return np.argmax(logits[0], axis=-1)


@dataclass(frozen=True)
class SpeculativeResult:
    """The bytes generated and how the rounds went."""

    tokens: tuple[int, ...]
    k: int
    rounds: int
    proposed: int
    accepted: int
    rejected: int  # rounds that stopped before their last proposal
    target_passes: int
    draft_passes: int

    @property
    def acceptance_rate(self) -> float:
        """Per-proposal acceptance probability (the closed form's a)."""
        return self.accepted / max(1, self.accepted + self.rejected)

    @property
    def tokens_per_round(self) -> float:
        return len(self.tokens) / max(1, self.rounds)


#: The counters a sum over several prompts adds up, in field order after `k`.
SUMMED = ("rounds", "proposed", "accepted", "rejected", "target_passes", "draft_passes")


def _check(target: Decoder, prompt: list[int], new_tokens: int) -> None:
    if not prompt:
        raise InputError("speculative decoding: the prompt must hold at least one byte")
    if new_tokens < 1 or len(prompt) + new_tokens > target.context:
        raise InputError(
            f"speculative decoding: prompt + new tokens must be in [2, {target.context}] "
            f"(got {len(prompt)} + {new_tokens})"
        )


@single_blas_thread()
def greedy(model: Decoder, prompt: list[int], new_tokens: int) -> tuple[int, ...]:
    """`new_tokens` bytes by greedy decoding, one full forward pass per byte."""
    _check(model, prompt, new_tokens)
    sequence = list(prompt)
    for _ in range(new_tokens):
        sequence.append(int(model.next_tokens(sequence)[-1]))
    return tuple(sequence[len(prompt) :])


@single_blas_thread()
def speculative(target: Decoder, draft: Decoder, prompt: list[int], new_tokens: int, k: int) -> SpeculativeResult:
    """Greedy speculative decoding of `new_tokens` bytes with `k` proposals per round."""
    _check(target, prompt, new_tokens)
    if not isinstance(k, int) or k < 1:
        raise InputError(f"speculative decoding: k must be an integer >= 1 (got {k!r})")
    sequence = list(prompt)
    end = len(prompt) + new_tokens
    rounds = proposed = accepted = rejected = target_passes = draft_passes = 0
    while len(sequence) < end:
        # The last byte of the round is the target's own, so at most end - len - 1 proposals.
        width = min(k, end - len(sequence) - 1)
        proposals: list[int] = []
        for _ in range(width):
            proposals.append(int(draft.next_tokens(sequence + proposals)[-1]))
            draft_passes += 1
        choices = target.next_tokens(sequence + proposals)[len(sequence) - 1 :]
        target_passes += 1
        n = 0
        while n < width and proposals[n] == int(choices[n]):
            n += 1
        sequence += proposals[:n] + [int(choices[n])]
        rounds, proposed, accepted = rounds + 1, proposed + width, accepted + n
        rejected += n < width
    return SpeculativeResult(
        tuple(sequence[len(prompt) :]), k, rounds, proposed, accepted, rejected, target_passes, draft_passes
    )


def expected_tokens_per_round(acceptance: float, k: int) -> float:
    """(1 - a^(k+1)) / (1 - a): bytes per target pass when each proposal is accepted with
    probability a independently (k + 1 when a = 1)."""
    if acceptance >= 1.0:
        return float(k + 1)
    return (1 - acceptance ** (k + 1)) / (1 - acceptance)
