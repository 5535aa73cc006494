"""The KV cache on chip while it fits: which keys of a generation's decode steps are read from SRAM.

Rule (documented in the README's LLM section):

- The KV region is the activation buffer left over by the decode steps' activation working
  set (a speculative generation's: its draft steps' and verifications'):
  `buffers.activation_bytes` less the most any decode-step layer holds there (its input
  tile slots, or the input a previous layer left on chip, plus an output it keeps on chip; the
  scheduler never holds more). Weights stream through the weight buffer and never leave room.
- It holds the K and V of the first R positions of every sequence, for every layer: R is the
  largest number of positions whose K and V, summed over one decode step's attention products
  (as stored, quantized or not), fit the region.
- The prefill's tiles fill the activation buffer, so decode step 1 reads the whole cache from
  DRAM; those reads fill the region. From step 2 on, an attention product reads keys [0, R)
  from the region (no DRAM bytes: SRAM reads of the activation buffer) and only the overflow,
  keys R and beyond, from DRAM. New tokens' K and V are still written to DRAM (write-through:
  DRAM keeps the whole cache, so the overflow is always there).

The attention products affected: a MatMul whose B operand runs over the keys, and a fused
attention (`fuse(attention)`), whose B holds each key's K and V.

A speculative generation (`workload.speculative`) holds two caches, the target's and the
draft's (a layer named `<phase>/draft/...`), and both compete for the one region. Both models
cache the same tokens, so the region holds the same first R positions of each: R is the most
positions whose K and V, summed over one draft step's and one verification's attention products
(each model's products in the first decode phase it runs in), fit the region; a model's sum
stops at the most keys it ever reads. The region is thus split between the caches in
proportion to their bytes per position. Each model's first decode phase (the draft's first
step, the target's first verification) reads its whole cache from DRAM and fills its share;
its later phases read keys [0, R) on chip. A plain generation is the case of one cache.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from accelsim.hardware import Accelerator
from accelsim.sim.scheduler import LayerWork
from accelsim.sim.tiling import plan_steps, replaced
from accelsim.workload.fused import FusedAttention
from accelsim.workload.layers import Layer, MatMul, Network
from accelsim.workload.speculative import is_draft_layer

Product = MatMul | FusedAttention

__all__ = [
    "KvCache",
    "KvResidency",
    "held_activation_bytes",
    "kv_budget_bytes",
    "kv_caches",
    "resident_tokens",
    "with_kv_residency",
]


@dataclass(frozen=True)
class KvResidency:
    """The KV region's size and the positions it holds."""

    budget_bytes: int
    resident_tokens: int
    #: Bytes of K and V per position, summed over one decode phase's attention products of
    #: every cache (a speculative generation: the target's verification and a draft step).
    bytes_per_token: int
    #: A speculative generation's draft's share of `bytes_per_token` (None without a draft).
    draft_bytes_per_token: int | None = None

    def as_json(self) -> dict[str, int]:
        out = dataclasses.asdict(self)
        if self.draft_bytes_per_token is None:  # a plain generation's record, as it always was
            del out["draft_bytes_per_token"]
        return out


@dataclass(frozen=True)
class KvCache:
    """One model's KV cache in a generation: the decode phase that fills its share of the
    region, that phase's attention products, and the most keys any of its products reads."""

    first_phase: int
    products: tuple[Product, ...]
    most_keys: int

    def held_bytes(self, tokens: int) -> int:
        """Bytes of K and V of its first `tokens` positions (no more than it ever reads)."""
        return _held(self.products, min(tokens, self.most_keys))


def is_kv_product(layer: Layer) -> bool:
    """An attention product whose B operand is a K or V cache (or both: a fused attention)."""
    return isinstance(layer, FusedAttention) or (isinstance(layer, MatMul) and bool(layer.keys_axis))


def held_activation_bytes(work: LayerWork, hw: Accelerator) -> int:
    """The most a layer holds in the activation buffer: its input (left on chip by the layer
    before) or its tile slots, plus the output tiles it keeps on chip."""
    slots = hw.buffers.slots * max((s.a_resident_bytes for s in work.steps), default=0)
    output = sum(s.out_bytes for s in work.steps if s.out_last) if work.output_on_chip else 0
    return (work.input_bytes_on_chip or slots) + output


def kv_budget_bytes(works: Sequence[LayerWork], layer_steps: Sequence[int], hw: Accelerator) -> int:
    """The KV region: the activation buffer less the decode steps' activation working set."""
    decode = [held_activation_bytes(w, hw) for w, step in zip(works, layer_steps) if step >= 1]
    return max(0, hw.buffers.activation_bytes - max(decode, default=hw.buffers.activation_bytes))


def _keys(layer: Product) -> int:
    if isinstance(layer, FusedAttention):
        return layer.keys
    return layer.n if layer.keys_axis == "n" else layer.k


def _held(products: Sequence[Product], tokens: int) -> int:
    """Bytes of K and V of `tokens` positions over these attention products, as stored."""
    total = 0
    for p in products:
        if isinstance(p, FusedAttention):  # B: each key's K and V side by side
            k, n = p.d, 2 * tokens
        else:
            k, n = (p.k, tokens) if p.keys_axis == "n" else (tokens, p.n)
        total += p.weight_block_bytes(p.groups, k, n)
    return total


def resident_tokens(caches: Sequence[KvCache], budget_bytes: int) -> int:
    """The most positions whose K and V over every cache fit the budget (bytes grow with
    positions, so a binary search up to the most keys any product reads)."""
    lo, hi = 0, max((c.most_keys for c in caches), default=0)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(c.held_bytes(mid) for c in caches) <= budget_bytes:
            lo = mid
        else:
            hi = mid - 1
    return lo


def kv_caches(network: Network, layer_steps: Sequence[int]) -> dict[bool, KvCache]:
    """The generation's caches by whether they are the draft's: each from its model's attention
    products in the decode phases (module docstring)."""
    by_model: dict[bool, list[tuple[int, Product]]] = {}
    for layer, step in zip(network.layers, layer_steps):
        if step >= 1 and is_kv_product(layer):
            by_model.setdefault(is_draft_layer(layer.name), []).append((step, layer))  # type: ignore[arg-type]
    out: dict[bool, KvCache] = {}
    for draft, kv in by_model.items():
        first = min(step for step, _ in kv)
        products = tuple(p for step, p in kv if step == first)
        out[draft] = KvCache(first, products, max(_keys(p) for _, p in kv))
    return out


def with_kv_residency(
    network: Network, works: list[LayerWork], layer_steps: Sequence[int], hw: Accelerator
) -> tuple[Network, list[LayerWork], KvResidency]:
    """The network and its schedule with each cache's attention products, after the decode
    phase that fills its share, reading their resident keys on chip. Plans are kept (residency
    changes which bytes a tile fetches, not its shape); the step lists are rebuilt."""
    budget = kv_budget_bytes(works, layer_steps, hw)
    caches = kv_caches(network, layer_steps)
    tokens = resident_tokens(list(caches.values()), budget)
    per_token = sum(_held(c.products, 1) for c in caches.values())
    draft = _held(caches[True].products, 1) if True in caches else None
    residency = KvResidency(budget, tokens, per_token, draft)
    if not tokens:
        return network, works, residency
    layers, out = list(network.layers), list(works)
    for i, (layer, step) in enumerate(zip(network.layers, layer_steps)):
        if step >= 1 and is_kv_product(layer) and step > caches[is_draft_layer(layer.name)].first_phase:
            layers[i] = replaced(layer, resident_keys=min(tokens, _keys(layer)))  # type: ignore[arg-type]
            plan = replaced(works[i].plan, layer=layers[i])
            out[i] = replaced(works[i], plan=plan, steps=plan_steps(plan))
    return dataclasses.replace(network, layers=tuple(layers)), out, residency
