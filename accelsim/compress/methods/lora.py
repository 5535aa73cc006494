"""Low-rank adapters: `lora(rank, targets=[q, v], mode=unmerged|merged, adapters=N)`.

An adapter adds x A B to a projection x W, with A of K x r and B of r x N (E. Hu et al., "LoRA:
low-rank adaptation of large language models", ICLR 2022). Merged (W + A B folded offline) it
costs nothing: the network is unchanged. Unmerged, every targeted projection gains two GEMMs per
token, x A (reading the projection's input again) then (x A) B, and their weights: r (K + N)
parameters per adapter. The delta is added to the projection's output element-wise, which, like
a residual add, is not modelled.

`adapters=N` serves N adapters in one batch, each request with its own (S-LoRA, Y. Sheng et al.,
MLSys 2024; Punica, L. Chen et al., MLSys 2024): the requests are grouped by adapter, the rows
split into N equal contiguous shares (the first rows % N one row larger), and each share's
gathered GEMMs read its own adapter's weights, so the MACs are those of one adapter and the
adapter bytes N times one's.

Targets name projections: q, k, v, o (attention), gate, up, down (MLP), as Llama's, GPT-2's and
BERT's layers are called; GPT-2's fused Q/K/V projection gets one adapter per targeted part,
writing that part's columns.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from accelsim.compress.decoder_graph import attention_blocks, query_columns
from accelsim.compress.methods.base import Parameter, Transform
from accelsim.compress.methods.registry import register
from accelsim.errors import InputError
from accelsim.workload.layers import Layer, Linear, Network
from accelsim.workload.provenance import Value

if TYPE_CHECKING:
    from accelsim.compress.accuracy import ParametricAccuracy

#: Target name -> the layer-name suffixes it names (Llama, GPT-2, BERT).
TARGETS: dict[str, tuple[str, ...]] = {
    "q": ("self_attn.q_proj", "attention.query"),
    "k": ("self_attn.k_proj", "attention.key"),
    "v": ("self_attn.v_proj", "attention.value"),
    "o": ("attn.o_proj", "attention.output"),
    "gate": ("mlp.gate_proj",),
    "up": ("mlp.up_proj", "mlp.c_fc", "intermediate"),
    "down": ("mlp.down_proj", "mlp.c_proj"),
}
MODES = ("unmerged", "merged")


def target_names(value: Any) -> tuple[str, ...]:
    """Targets from a pipeline value: a list `[q, v]` or one name `q`."""
    items = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    if not all(isinstance(item, str) for item in items):
        raise InputError(f"expected projection names, e.g. [q, v] (allowed: {', '.join(TARGETS)})")
    return tuple(item.strip().lower() for item in items)


def _ends(name: str, suffix: str) -> bool:
    return name == suffix or name.endswith("." + suffix)


@register
@dataclass(frozen=True)
class LoRA(Transform):
    """Rank-`rank` adapters on the `targets` projections, merged or unmerged, `adapters` per batch."""

    rank: int = 8
    targets: tuple[str, ...] = ("q", "v")
    mode: str = "unmerged"
    adapters: int = 1

    method = "lora"
    parameters = (
        Parameter("rank", int),
        Parameter("targets", target_names, structured=True),
        Parameter("mode", str),
        Parameter("adapters", int),
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", target_names(self.targets))
        if isinstance(self.rank, bool) or not isinstance(self.rank, int) or not 1 <= self.rank <= 65536:
            raise InputError(f"lora: rank must be an integer in [1, 65,536] (got {self.rank!r})")
        unknown = [t for t in self.targets if t not in TARGETS]
        if not self.targets or unknown:
            raise InputError(f"lora: targets must name some of {', '.join(TARGETS)} (got {list(self.targets)})")
        if self.mode not in MODES:
            raise InputError(f"lora: mode must be one of {', '.join(MODES)} (got {self.mode!r})")
        if isinstance(self.adapters, bool) or not isinstance(self.adapters, int) or not 1 <= self.adapters <= 4096:
            raise InputError(f"lora: adapters must be an integer in [1, 4,096] (got {self.adapters!r})")

    def apply(self, network: Network) -> Network:
        fused = {b.q: query_columns(network, b) for b in attention_blocks(network) if b.fused}
        parts = {i: p for i, layer in enumerate(network.layers) if (p := self._parts(layer, fused.get(i)))}
        if not parts:
            raise InputError(f"lora: {network.name} has no {', '.join(self.targets)} projections")
        if self.mode == "merged":
            return network  # W + A B is one matrix: the same layers
        layers: list[Layer] = []
        for i, layer in enumerate(network.layers):
            if i > 0 and layer.inputs is None and not layer.independent and i - 1 in parts:
                layer = dataclasses.replace(layer, inputs=(network.layers[i - 1].name,))  # still reads it
            layers.append(layer)
            for part, width in parts.get(i, ()):
                layers += self._adapter(layer, part, width, network.layers[i - 1].name if i else None)
        return dataclasses.replace(network, layers=tuple(layers))

    def _parts(self, layer: Layer, query: int | None) -> list[tuple[str, int]]:
        """(part name, output width) of each adapter this layer gets; `query`: the query columns
        of a fused Q/K/V projection."""
        if not isinstance(layer, Linear):
            return []
        if query is not None:
            widths = {"q": query, "k": (layer.out_features - query) // 2, "v": (layer.out_features - query) // 2}
            return [(t, widths[t]) for t in self.targets if t in widths]
        hit = any(_ends(layer.name, s) for t in self.targets for s in TARGETS[t])
        return [("", layer.out_features)] if hit else []

    def _adapter(self, layer: Linear, part: str, width: int, previous: str | None) -> list[Layer]:
        """The gathered A and B GEMMs of every adapter, on its share of the rows."""
        rows = layer.tokens
        if self.adapters > rows:
            raise InputError(
                f"lora: adapters {self.adapters} exceed the {rows} rows of layer {layer.name}: "
                "each adapter serves at least one request"
            )
        if layer.independent or layer.inputs is not None:
            source: dict[str, Any] = {"independent": layer.independent, "inputs": layer.inputs}
        else:
            source = {"inputs": (previous,) if previous else None, "independent": previous is None}
        out: list[Layer] = []
        for j in range(self.adapters):
            share = rows // self.adapters + (j < rows % self.adapters)
            tag = (f".{part}" if part else "") + (f".{j}" if self.adapters > 1 else "")
            common = dict(
                tokens=share,
                bias=False,
                weight_precision=layer.activation_precision,
                activation_precision=layer.activation_precision,
            )
            a = Linear(
                f"{layer.name}.lora_a{tag}", in_features=layer.in_features, out_features=self.rank, **common, **source
            )
            b = Linear(
                f"{layer.name}.lora_b{tag}", in_features=self.rank, out_features=width, inputs=(a.name,), **common
            )
            out += [a, b]
        return out

    def describe(self) -> str:
        served = f", {self.adapters} adapters" if self.adapters > 1 else ""
        return f"lora(rank={self.rank}, targets=[{', '.join(self.targets)}], {self.mode}{served})"

    def provenance_params(self) -> tuple[tuple[str, Value], ...]:
        return (("rank", self.rank), ("targets", self.targets), ("mode", self.mode), ("adapters", self.adapters))

    def perplexity_setting(self) -> str:
        """Merged or not, the adapted model computes one function: no change from the adapter's
        own (measured on tinylm by the LoRA fine-tune)."""
        return "lossless"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """1: an adapter specializes the model to a task; merged and unmerged compute the same
        function (measured perplexities on the adapted corpus: `accelsim.compress.tinylm`)."""
        return 1.0
