"""The KV cache on chip while it fits: which keys of a generation's decode steps are read from SRAM.

Rule (documented in the README's LLM section):

- The KV region is the activation buffer left over by the decode steps' activation working
  set: `buffers.activation_bytes` less the most any decode-step layer holds there (its input
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
attention (`fuse(attention)`), whose B holds each key's K and V. Speculative decoding's runs
(`study.speculative`) read their K and V from DRAM.
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

Product = MatMul | FusedAttention

__all__ = ["KvResidency", "held_activation_bytes", "kv_budget_bytes", "resident_tokens", "with_kv_residency"]

#: Decode steps from this one on read their resident keys from the region (step 1 fills it).
FIRST_RESIDENT_STEP = 2


@dataclass(frozen=True)
class KvResidency:
    """The KV region's size and the positions it holds."""

    budget_bytes: int
    resident_tokens: int
    #: Bytes of K and V per position, summed over one decode step's attention products.
    bytes_per_token: int

    def as_json(self) -> dict[str, int]:
        return dataclasses.asdict(self)


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


def resident_tokens(products: Sequence[Product], budget_bytes: int, most: int) -> int:
    """The most positions (up to `most`) whose K and V over one step's attention products fit
    the budget (bytes grow with positions, so a binary search)."""
    lo, hi = 0, most
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _held(products, mid) <= budget_bytes:
            lo = mid
        else:
            hi = mid - 1
    return lo


def with_kv_residency(
    network: Network, works: list[LayerWork], layer_steps: Sequence[int], hw: Accelerator
) -> tuple[Network, list[LayerWork], KvResidency]:
    """The network and its schedule with each decode step's attention products (from step 2 on)
    reading their resident keys on chip. Plans are kept (residency changes which bytes a tile
    fetches, not its shape); the step lists are rebuilt."""
    budget = kv_budget_bytes(works, layer_steps, hw)
    first = min((s for s in layer_steps if s >= 1), default=0)
    products = [x for x, s in zip(network.layers, layer_steps) if s == first and first and is_kv_product(x)]
    most = max((_keys(x) for x, s in zip(network.layers, layer_steps) if s >= 1 and is_kv_product(x)), default=0)
    tokens = resident_tokens(products, budget, most)  # type: ignore[arg-type]
    residency = KvResidency(budget, tokens, _held(products, 1))  # type: ignore[arg-type]
    if not tokens:
        return network, works, residency
    layers, out = list(network.layers), list(works)
    for i, (layer, step) in enumerate(zip(network.layers, layer_steps)):
        if step >= FIRST_RESIDENT_STEP and is_kv_product(layer):
            layers[i] = replaced(layer, resident_keys=min(tokens, _keys(layer)))  # type: ignore[arg-type]
            plan = replaced(works[i].plan, layer=layers[i])
            out[i] = replaced(works[i], plan=plan, steps=plan_steps(plan))
    return dataclasses.replace(network, layers=tuple(layers)), out, residency
