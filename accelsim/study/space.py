"""The search space of `accelsim advise`: ordered compression pipelines, written as choices.

A configuration is one value per `Dimension` (every dimension categorical, so the space is a
finite grid that a test can enumerate). It decodes to one pipeline text, the exact text
`accelsim run --compress` takes:

- `order.<slot>`: each method slot's rank; steps run in rank order (ties: the slot order), so
  the order of the steps is itself a variable (seed 002);
- `quantize.mode` off, uniform or per-layer; `quantize.w` and `quantize.a` (uniform), or
  `quantize.w.<layer>` and `quantize.a.<layer>` per layer with weights;
- `prune.mode` off, uniform or per-layer; `prune.ratio` or `prune.r.<layer>` per prunable layer;
- `sparsity.kind` off, sparsify, per-layer or nm (2:4); `sparsity.ratio` (sparsify) or
  `sparsity.r.<layer>` per layer with weights (per-layer unstructured pruning), and
  `sparsity.format`;
- `distill.width` (off or a width), `distill.depth` (networks with residual blocks);
- `lowrank.ratio`, `tucker.ratio` (off or a rank ratio).

A decoder LLM (`gpt2`, `llama-3.2-1b`, `llama-2-7b`, `tinylm`) has the LLM transforms instead,
in a fixed order that every method accepts (structure first, then weights, adapters, fusion, the
KV cache, and speculative decoding around the whole): `heads.ratio`, `mlp.ratio` (structured pruning), `nm` (2:4), `weights`
(weight-only group quantization `wq` or SmoothQuant `w8a8`), `kv.bits` (KV cache), `lora.mode`
(merged or unmerged adapters), `fuse` (attention, elementwise or both) and `speculative.k`
(offered only with a given acceptance rate: accelsim does not guess one). A quantized KV cache and
fused attention do not combine (the fused kernel keeps no cache to quantize): such a
configuration is refused like any that cannot be built.

Per-layer steps name the layers of the network as it is when the step runs: after a low-rank
step a layer `conv1` is the factors `conv1.u`, `conv1.v` (or `conv1.a`, `.b`, `.c`), and a
layer a shallower student dropped is no longer named. Decoding applies the steps as it goes, so
a configuration that no step sequence can build is refused with a one-line InputError.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from accelsim.compress.graph import prunable_layers, residual_stages
from accelsim.compress.methods import registry
from accelsim.compress.spec import canonical, parse_step
from accelsim.errors import InputError
from accelsim.workload.decoder import DECODERS
from accelsim.workload.layers import Network
from accelsim.workload.networks import network as builtin

Choice = str | float | int
SLOTS = ("quantize", "prune", "sparsity", "distill", "lowrank", "tucker")
#: A decoder's slots, in the order they apply.
LLM_SLOTS = ("heads", "mlp", "nm", "weights", "lora", "fuse", "kv", "speculative")
OFF = "off"
#: Weight quantizations of a decoder: Q8_0-like W8 g32, W4 g128 (zero points) RTN and GPTQ, W8A8.
LLM_WEIGHTS = (
    "wq(bits=8, group=32, algo=rtn)",
    "wq(bits=4, group=128, sym=false, algo=rtn)",
    "wq(bits=4, group=128, sym=false, algo=gptq)",
    "w8a8(0.5)",
)
FUSIONS = {
    "attention": "fuse(attention)",
    "elementwise": "fuse(elementwise)",
    "both": "fuse(attention) -> fuse(elementwise)",
}


@dataclass(frozen=True)
class Dimension:
    name: str
    choices: tuple[Choice, ...]


@dataclass(frozen=True)
class SpaceOptions:
    """What the search may choose from; an empty tuple leaves a method out."""

    weight_precisions: tuple[str, ...] = ("fp32", "fp16", "int8", "int4")
    activation_precisions: tuple[str, ...] = ("fp32", "fp16", "int8", "int4")
    quantize_modes: tuple[str, ...] = (OFF, "uniform", "per-layer")
    prune_ratios: tuple[float, ...] = (0.25, 0.5, 0.75)
    prune_modes: tuple[str, ...] = (OFF, "uniform", "per-layer")
    sparsities: tuple[float, ...] = (0.5, 0.8, 0.9)
    sparse_formats: tuple[str, ...] = ("bitmask", "csr")
    nm: bool = True
    sparsity_per_layer: bool = True  # per-layer unstructured pruning ratios (`sparsity.r.<layer>`)
    distill_widths: tuple[float, ...] = (0.75, 0.5, 0.25)
    distill_depths: tuple[float, ...] = (1.0, 0.5)
    lowrank_ratios: tuple[float, ...] = (0.5, 0.25)
    tucker_ratios: tuple[float, ...] = (0.5, 0.25)
    ordered: bool = True  # False: the slot order, no order dimensions
    # decoders (LLMs)
    llm_weights: tuple[str, ...] = LLM_WEIGHTS
    kv_bits: tuple[int, ...] = (8, 4)
    head_ratios: tuple[float, ...] = (0.25, 0.5)
    mlp_ratios: tuple[float, ...] = (0.25, 0.5)
    lora_modes: tuple[str, ...] = ("merged", "unmerged")
    lora_rank: int = 8
    fusions: tuple[str, ...] = tuple(FUSIONS)
    speculative_acceptance: float | None = None  # None: no speculative decoding in the space
    speculative_k: tuple[int, ...] = (4,)
    speculative_draft: str = "distill(0.5)"

    def __post_init__(self) -> None:
        if self.speculative_acceptance is not None and not 0 <= self.speculative_acceptance < 1:
            raise InputError("advise space: speculative_acceptance must lie in [0, 1)")
        if any(f not in FUSIONS for f in self.fusions):
            raise InputError(f"advise space: fusions must be among {', '.join(FUSIONS)}")
        for name in ("head_ratios", "mlp_ratios"):
            if any(not 0 < r < 1 for r in getattr(self, name)):
                raise InputError(f"advise space: {name} must lie in (0, 1)")
        for name in ("prune_ratios", "sparsities"):
            if any(not 0 < r < 1 for r in getattr(self, name)):
                raise InputError(f"advise space: {name} must lie in (0, 1)")
        for name in ("distill_widths", "distill_depths", "lowrank_ratios", "tucker_ratios"):
            if any(not 0 < r <= 1 for r in getattr(self, name)):
                raise InputError(f"advise space: {name} must lie in (0, 1]")


@dataclass(frozen=True)
class SearchSpace:
    """The dimensions for one network and the decoder from values to a pipeline text."""

    network_name: str
    options: SpaceOptions
    dimensions: tuple[Dimension, ...]
    slots: tuple[str, ...]

    @classmethod
    def build(cls, network_name: str, options: SpaceOptions = SpaceOptions()) -> SearchSpace:
        net = builtin(network_name)
        dims: dict[str, tuple[Choice, ...]] = {}
        if network_name in DECODERS:
            slots = [slot for slot in LLM_SLOTS if _llm_dimensions(slot, options, dims)]
            dimensions = tuple(Dimension(name, choices) for name, choices in dims.items() if len(choices) > 1)
            return cls(network_name, options, dimensions, tuple(slots))
        slots = [slot for slot in SLOTS if _slot_dimensions(slot, net, options, dims)]
        if options.ordered and len(slots) > 1:
            dims.update({f"order.{slot}": tuple(range(len(slots))) for slot in slots})
        dimensions = tuple(Dimension(name, choices) for name, choices in dims.items() if len(choices) > 1)
        return cls(network_name, options, dimensions, tuple(slots))

    @property
    def size(self) -> int:
        """Value combinations (several may decode to one pipeline)."""
        return math.prod(len(d.choices) for d in self.dimensions)

    def combinations(self) -> Iterator[dict[str, Choice]]:
        """Every combination of values, in a fixed order (for enumerating small spaces)."""
        names = [d.name for d in self.dimensions]
        for values in itertools.product(*(d.choices for d in self.dimensions)):
            yield dict(zip(names, values))

    def corners(self) -> list[dict[str, Choice]]:
        """The baseline and every method alone at each of its uniform values (weights and
        activations quantized alike, or weights only): where a search starts, so that it sees
        each method before combining them."""
        changes = [{}, *self._quantizations(weights_only=True), *self._methods()]
        return self._configurations(changes)

    @property
    def decoder(self) -> bool:
        return self.network_name in DECODERS

    def pairs(self) -> list[dict[str, Choice]]:
        """Every method alone at each uniform value, then each uniform quantization (weights and
        activations alike): the recipe of the hand-written studies (compress, then quantize, as
        Han et al.'s deep compression, ICLR 2016), searched next after the corners."""
        last = {"order.quantize": max(self._choices("order.quantize"))} if self._has("order.quantize") else {}
        changes = [{**m, **q, **last} for m in self._methods() for q in self._quantizations(weights_only=False)]
        corners = self.corners()
        return [c for c in self._configurations(changes) if c not in corners]

    def _has(self, name: str) -> bool:
        return any(d.name == name for d in self.dimensions)

    def _quantizations(self, *, weights_only: bool) -> list[dict[str, Choice]]:
        o = self.options
        if self.decoder:
            return [{"weights": w} for w in o.llm_weights] if self._has("weights") else []
        if not self._has("quantize.mode") or "uniform" not in o.quantize_modes:
            return []
        out = []
        for w in o.weight_precisions:
            others = ("fp32",) if weights_only else ()
            for a in dict.fromkeys(x for x in (w, *others) if x in o.activation_precisions):
                if (w, a) != ("fp32", "fp32"):
                    out.append({"quantize.mode": "uniform", "quantize.w": w, "quantize.a": a})
        return out

    def _methods(self) -> list[dict[str, Choice]]:
        """Each method but quantization alone, at each of its uniform values."""
        o, changes = self.options, []
        if self.decoder:
            other = [d for d in self.dimensions if d.name != "weights"]
            return [{d.name: v} for d in other for v in d.choices if v != OFF]
        if self._has("prune.mode") and "uniform" in o.prune_modes:
            changes += [{"prune.mode": "uniform", "prune.ratio": r} for r in o.prune_ratios]
        if self._has("sparsity.kind"):
            kinds = self._choices("sparsity.kind")
            if "sparsify" in kinds:
                for r in o.sparsities:
                    changes += [
                        {"sparsity.kind": "sparsify", "sparsity.ratio": r, "sparsity.format": f}
                        for f in o.sparse_formats or ("bitmask",)
                    ]
            if "nm" in kinds:
                changes.append({"sparsity.kind": "nm"})
        for slot in ("distill.width", "lowrank.ratio", "tucker.ratio"):
            if self._has(slot):
                changes += [{slot: v} for v in self._choices(slot) if v != OFF]
        return changes

    def _configurations(self, changes: list[dict[str, Choice]]) -> list[dict[str, Choice]]:
        """Each change applied to the baseline (every method off), without repeats."""
        base = {d.name: d.choices[0] for d in self.dimensions}
        names = set(base)
        off = {name: OFF for name in names if OFF in self._choices(name)}
        off |= {name: OFF for name in ("quantize.mode", "prune.mode", "sparsity.kind") if name in names}
        base |= off
        out: list[dict[str, Choice]] = []
        for change in changes:
            values = {**base, **{k: v for k, v in change.items() if k in names}}
            if values not in out:
                out.append(values)
        return out

    def _choices(self, name: str) -> tuple[Choice, ...]:
        return next(d.choices for d in self.dimensions if d.name == name)

    def decode(self, values: Mapping[str, Any]) -> str:
        """The canonical pipeline text of a configuration; InputError when it cannot be built."""
        return _decode(self, tuple(sorted(values.items())))

    @property
    def network(self) -> Network:
        return builtin(self.network_name)


@functools.lru_cache(maxsize=65536)
def _decode(space: SearchSpace, items: tuple[tuple[str, Any], ...]) -> str:
    values = dict(items)
    fixed = {d.name: d.choices[0] for d in _all_dimensions(space)}
    values = {**fixed, **values}
    rank = {slot: values.get(f"order.{slot}", 0) for slot in space.slots}
    order = sorted(space.slots, key=lambda slot: (rank[slot], space.slots.index(slot)))
    net, texts = space.network, []
    for slot in order:
        for text in _STEPS[slot](values, net, space.network):
            step = parse_step(text)
            if not getattr(step, "generation_level", False):  # speculative: a generation, not a network
                net = step(net)
            texts.append(text)
    return canonical(" -> ".join(texts)) if texts else "baseline"


@functools.lru_cache(maxsize=64)
def _all_dimensions(space: SearchSpace) -> tuple[Dimension, ...]:
    """Every dimension, single-choice ones included (their value is fixed)."""
    dims: dict[str, tuple[Choice, ...]] = {}
    if space.decoder:
        for slot in LLM_SLOTS:
            _llm_dimensions(slot, space.options, dims)
    else:
        for slot in SLOTS:
            _slot_dimensions(slot, space.network, space.options, dims)
    return tuple(Dimension(name, choices) for name, choices in dims.items())


def _weighted(net: Network) -> list[str]:
    return [layer.name for layer in net.layers if layer.b_is_weight]


def _prunable(net: Network) -> list[str]:
    return [net.layers[i].name for i in prunable_layers(net)]


def _slot_dimensions(slot: str, net: Network, o: SpaceOptions, dims: dict[str, tuple[Choice, ...]]) -> bool:
    """Add the slot's dimensions; False when the slot offers nothing on this network."""
    if slot == "quantize" and o.quantize_modes != (OFF,) and o.weight_precisions:
        dims["quantize.mode"] = o.quantize_modes
        dims["quantize.w"], dims["quantize.a"] = o.weight_precisions, o.activation_precisions or ("fp32",)
        if "per-layer" in o.quantize_modes:
            for name in _weighted(net):
                dims[f"quantize.w.{name}"] = o.weight_precisions
                dims[f"quantize.a.{name}"] = o.activation_precisions or ("fp32",)
        return True
    if slot == "prune" and o.prune_ratios and o.prune_modes != (OFF,) and _prunable(net):
        dims["prune.mode"], dims["prune.ratio"] = o.prune_modes, o.prune_ratios
        if "per-layer" in o.prune_modes:
            for name in _prunable(net):
                dims[f"prune.r.{name}"] = (0.0, *o.prune_ratios)
        return True
    if slot == "sparsity" and (o.sparsities or o.nm):
        per_layer = o.sparsity_per_layer and bool(o.sparsities) and bool(_weighted(net))
        kinds = (OFF, *(("sparsify",) if o.sparsities else ()), *(("nm",) if o.nm else ()))
        dims["sparsity.kind"] = (*kinds, "per-layer") if per_layer else kinds
        dims["sparsity.ratio"], dims["sparsity.format"] = o.sparsities or (0.5,), o.sparse_formats or ("bitmask",)
        if per_layer:
            for name in _weighted(net):
                dims[f"sparsity.r.{name}"] = (0.0, *o.sparsities)
        return True
    if slot == "distill" and o.distill_widths:
        dims["distill.width"] = (OFF, *o.distill_widths)
        dims["distill.depth"] = o.distill_depths if residual_stages(net) else (1.0,)
        return True
    if slot in ("lowrank", "tucker"):
        ratios = o.lowrank_ratios if slot == "lowrank" else o.tucker_ratios
        if ratios and registry.lookup(slot) is not None:
            dims[f"{slot}.ratio"] = (OFF, *ratios)
            return True
    return False


def _llm_dimensions(slot: str, o: SpaceOptions, dims: dict[str, tuple[Choice, ...]]) -> bool:
    """Add a decoder slot's dimension; False when the options leave it out."""
    choices: tuple[Choice, ...] = {
        "heads": o.head_ratios,
        "mlp": o.mlp_ratios,
        "nm": ("2:4",) if o.nm else (),
        "weights": o.llm_weights,
        "kv": o.kv_bits,
        "lora": o.lora_modes,
        "fuse": o.fusions,
        "speculative": o.speculative_k if o.speculative_acceptance is not None else (),
    }[slot]
    if not choices:
        return False
    name = {
        "heads": "heads.ratio",
        "mlp": "mlp.ratio",
        "kv": "kv.bits",
        "lora": "lora.mode",
        "speculative": "speculative.k",
    }
    dims[name.get(slot, slot)] = (OFF, *choices)
    if slot == "lora":
        dims["lora.rank"] = (o.lora_rank,)
    if slot == "speculative":
        dims["speculative.draft"], dims["speculative.acceptance"] = (o.speculative_draft,), (o.speculative_acceptance,)
    return True


def _llm_step(slot: str) -> Any:
    def steps(values: Mapping[str, Any], net: Network, original: Network) -> list[str]:
        value = values[_LLM_NAMES[slot]]
        return [] if value == OFF else _llm_text(slot, value, values).split(" -> ")

    return steps


_LLM_NAMES = {"heads": "heads.ratio", "mlp": "mlp.ratio", "nm": "nm", "weights": "weights", "kv": "kv.bits"}
_LLM_NAMES |= {"lora": "lora.mode", "fuse": "fuse", "speculative": "speculative.k"}


def _llm_text(slot: str, value: Any, values: Mapping[str, Any]) -> str:
    if slot in ("heads", "mlp"):
        return f"{slot}({value:g})"
    if slot == "nm":
        return "nm(2, 4)"
    if slot == "kv":
        return f"kv({value})"
    if slot == "lora":
        return f"lora(rank={values['lora.rank']}, targets=[q, v], mode={value})"
    if slot == "fuse":
        return FUSIONS[value]
    if slot == "speculative":
        return (
            f"speculative(draft={values['speculative.draft']}, k={value}, "
            f"acceptance={values['speculative.acceptance']:g})"
        )
    return str(value)  # weights: the step's text


def _current(name: str, net: Network, among: list[str]) -> list[str]:
    """The layers an original layer is now: itself, its factors, or none (dropped)."""
    return [n for n in among if n == name or n.startswith(name + ".")]


def _layer_list(names: list[str]) -> str:
    return f"[{', '.join(names)}]"


def _quantize(values: Mapping[str, Any], net: Network, original: Network) -> list[str]:
    mode = values["quantize.mode"]
    if mode == OFF:
        return []
    if mode == "uniform":
        w, a = values["quantize.w"], values["quantize.a"]
        if (w, a) == ("fp32", "fp32"):
            return []
        return [w if w == a else f"quantize(w={w}, a={a})"]
    groups: dict[tuple[str, str], list[str]] = {}
    now = [layer.name for layer in net.layers]
    for name in _weighted(original):
        pair = (values[f"quantize.w.{name}"], values[f"quantize.a.{name}"])
        groups.setdefault(pair, []).extend(_current(name, net, now))
    groups = {pair: names for pair, names in groups.items() if names and pair != ("fp32", "fp32")}
    return [f"quantize(w={w}, a={a}, layers={_layer_list(names)})" for (w, a), names in groups.items()]


def _prune(values: Mapping[str, Any], net: Network, original: Network) -> list[str]:
    mode = values["prune.mode"]
    if mode == OFF:
        return []
    if mode == "uniform":
        return [f"prune({values['prune.ratio']:g})"]
    groups = _ratio_groups(values, "prune.r", _prunable(original), net, _prunable(net))
    return [f"prune({r:g}, layers={_layer_list(names)})" for r, names in groups.items() if names]


def _ratio_groups(
    values: Mapping[str, Any], key: str, original_names: Any, net: Network, now: Any
) -> dict[float, list[str]]:
    """The current layers grouped by their nonzero per-layer ratio `<key>.<original name>`."""
    groups: dict[float, list[str]] = {}
    for name in original_names:
        ratio = values[f"{key}.{name}"]
        if ratio:
            groups.setdefault(ratio, []).extend(_current(name, net, now))
    return groups


def _sparsity(values: Mapping[str, Any], net: Network, original: Network) -> list[str]:
    kind, fmt = values["sparsity.kind"], values["sparsity.format"]
    spelled = "" if fmt == "bitmask" else f", {fmt}"
    if kind == "nm":
        return ["nm(2, 4)"]
    if kind == "sparsify":
        return [f"sparsify({values['sparsity.ratio']:g}{spelled})"]
    if kind != "per-layer":
        return []
    groups = _ratio_groups(values, "sparsity.r", _weighted(original), net, _weighted(net))
    return [f"sparsify({r:g}{spelled}, layers={_layer_list(names)})" for r, names in groups.items() if names]


def _distill(values: Mapping[str, Any], net: Network, original: Network) -> list[str]:
    width, depth = values["distill.width"], values["distill.depth"]
    if width == OFF:
        return []
    return [f"distill({width:g})" if depth == 1 else f"distill({width:g}, depth={depth:g})"]


def _factor(slot: str) -> Any:
    def steps(values: Mapping[str, Any], net: Network, original: Network) -> list[str]:
        ratio = values[f"{slot}.ratio"]
        return [] if ratio == OFF else [f"{slot}({ratio:g})"]

    return steps


_STEPS = {
    "quantize": _quantize,
    "prune": _prune,
    "sparsity": _sparsity,
    "distill": _distill,
    "lowrank": _factor("lowrank"),
    "tucker": _factor("tucker"),
    **{slot: _llm_step(slot) for slot in LLM_SLOTS},
}
