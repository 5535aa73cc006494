"""Greedy per-layer bit-width search under an accuracy floor (seed 001's search).

Every searchable layer starts at the high precision (INT8). Each round tries lowering every
layer still high to the low precision (INT4), one at a time, keeps the move with the best
objective among those whose accuracy stays at or above the floor, and stops when no move is
allowed or none improves the objective. The objective is any function of the quantized network
(higher is better): arithmetic intensity, simulated inferences per joule, minus latency.

The search space is weights only (activations at the network's precision, as seed 001) or
weights and activations together (a layer runs W8A8 or W4A4).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from accelsim.compress.methods import Quantize, Transform
from accelsim.workload.layers import Network

Policy = tuple[tuple[str, str], ...]  # (layer, precision) for every searchable layer, in order


@dataclass(frozen=True)
class Point:
    """One evaluated policy."""

    policy: Policy
    steps: tuple[Transform, ...]
    network: Network
    accuracy: float
    objective: float

    def low_layers(self, low: str) -> tuple[str, ...]:
        return tuple(name for name, precision in self.policy if precision == low)


@dataclass(frozen=True)
class SearchResult:
    objective: str
    floor: float
    chosen: Point
    trajectory: tuple[Point, ...]  # the accepted policy after each round, the start first
    evaluated: int  # distinct policies evaluated


@dataclass
class BitwidthSearch:
    """The search space: which layers, which two precisions, weights only or also activations.
    Evaluations are cached by policy, so several objectives over one space share them."""

    network: Network
    accuracy: Callable[[Network, tuple[Transform, ...]], float]
    high: str = "int8"
    low: str = "int4"
    weights_only: bool = True
    layers: tuple[str, ...] | None = None
    _accuracy_cache: dict[Policy, float] = field(default_factory=dict, repr=False)

    @property
    def searchable(self) -> tuple[str, ...]:
        if self.layers is not None:
            return self.layers
        return tuple(layer.name for layer in self.network.layers if layer.b_is_weight)

    def steps(self, policy: Policy) -> tuple[Transform, ...]:
        """Quantize everything searchable to the high precision, then the low layers."""
        act = (lambda p: None) if not self.weights_only else (lambda p: self.network.layers[0].activation_precision)
        low = tuple(name for name, precision in policy if precision == self.low)
        steps: list[Transform] = [Quantize(self.high, act(self.high), layers=self.layers)]
        if low:
            steps.append(Quantize(self.low, act(self.low), layers=low))
        return tuple(steps)

    def uniform(self, precision: str) -> Policy:
        return tuple((name, precision) for name in self.searchable)

    def point(self, policy: Policy, objective: Callable[[Network], float]) -> Point:
        steps = self.steps(policy)
        network = _apply(self.network, steps)
        if policy not in self._accuracy_cache:
            self._accuracy_cache[policy] = self.accuracy(network, steps)
        return Point(policy, steps, network, self._accuracy_cache[policy], objective(network))

    def evaluated(self) -> list[Point]:
        """Every policy whose accuracy has been measured so far (objective left at 0)."""
        return [self.point(policy, lambda n: 0.0) for policy in self._accuracy_cache]

    def greedy(self, name: str, objective: Callable[[Network], float], floor: float) -> SearchResult:
        current = self.point(self.uniform(self.high), objective)
        trajectory = [current]
        seen = {current.policy}
        while True:
            moves = []
            for i, (layer, precision) in enumerate(current.policy):
                if precision != self.high:
                    continue
                policy = current.policy[:i] + ((layer, self.low),) + current.policy[i + 1 :]
                seen.add(policy)
                candidate = self.point(policy, objective)
                if candidate.accuracy >= floor:
                    moves.append(candidate)
            best = max(moves, key=lambda p: p.objective, default=None)
            if best is None or best.objective <= current.objective:
                break
            current = best
            trajectory.append(current)
        return SearchResult(name, floor, current, tuple(trajectory), len(seen))


def _apply(network: Network, steps: Sequence[Transform]) -> Network:
    for step in steps:
        network = step(network)
    return network
