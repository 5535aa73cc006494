"""Compression pipelines written as text, for the command line and study files.

    prune(0.5) -> int8 -> distill(0.5)
    sparsify(0.8, csr) -> quantize(w=int4, a=int8)
    nm(2, 4) -> int8
    distill(0.5, depth=0.5) -> lowrank(0.25)

Steps are separated by `->`; `baseline` (or an empty text) is no step at all. Each step is a
name with optional arguments, positional or `key=value`:

| step | transform | arguments |
| --- | --- | --- |
| `fp32` `fp16` `bf16` `int8` `int4` | Quantize | none: weights and activations |
| `quantize(w, a)` | Quantize | weights, activations (default: the weights') |
| `prune(r)` | StructuredPrune | ratio in [0, 1) |
| `sparsify(s, format)` | UnstructuredPrune | sparsity in [0, 1); dense, bitmask (default) or csr |
| `nm(n, m)` | NMPrune | N < M (default 2:4) |
| `distill(w, depth)` | Distill | width in (0, 1]; depth in (0, 1] (default 1) |
| `lowrank(p)` | LowRank | rank ratio in (0, 1] |
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from accelsim.compress.transforms import (
    Distill,
    LowRank,
    NMPrune,
    Quantize,
    StructuredPrune,
    Transform,
    UnstructuredPrune,
)
from accelsim.errors import InputError
from accelsim.precision import Precision

_STEP = re.compile(r"^\s*([a-z0-9_-]+)\s*(?:\((.*)\))?\s*$", re.IGNORECASE)

# name -> (transform, parameter names in positional order, converters)
_STEPS: dict[str, tuple[Callable[..., Transform], tuple[str, ...], tuple[Callable[[str], Any], ...]]] = {
    "quantize": (Quantize, ("weights", "activations"), (str, str)),
    "prune": (StructuredPrune, ("ratio",), (float,)),
    "sparsify": (UnstructuredPrune, ("sparsity", "format"), (float, str)),
    "nm": (NMPrune, ("n", "m"), (int, int)),
    "distill": (Distill, ("width", "depth"), (float, float)),
    "lowrank": (LowRank, ("rank_ratio",), (float,)),
}
_ALIASES = {"w": "weights", "a": "activations"}


def parse_step(text: str) -> Transform:
    """One step, e.g. `prune(0.5)` or `int8`; a one-line error names the step and what is allowed."""
    match = _STEP.match(text)
    if not match:
        raise InputError(f"compression step {text.strip()!r}: expected name or name(arguments)")
    name, args = match.group(1).lower(), match.group(2)
    if name in {p.value for p in Precision} and args is None:
        return Quantize(name)
    if name not in _STEPS:
        allowed = ", ".join([*_STEPS, *(p.value for p in Precision)])
        raise InputError(f"compression step {name!r}: unknown; allowed: {allowed}")
    make, params, converters = _STEPS[name]
    kwargs = _arguments(name, args or "", params, converters)
    return make(**kwargs)


def _arguments(
    name: str, text: str, params: tuple[str, ...], converters: tuple[Callable[[str], Any], ...]
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    for position, part in enumerate(parts):
        key, sep, value = part.partition("=")
        key = _ALIASES.get(key.strip(), key.strip()) if sep else None
        if key is None:
            if position >= len(params):
                raise InputError(f"compression step {name}: at most {len(params)} arguments ({', '.join(params)})")
            key, value = params[position], part
        if key not in params:
            raise InputError(f"compression step {name}: unknown argument {key!r}; allowed: {', '.join(params)}")
        try:
            kwargs[key] = converters[params.index(key)](value.strip())
        except ValueError:
            raise InputError(f"compression step {name}: {key} must be a number (got {value.strip()!r})") from None
    return kwargs


def parse_pipeline(text: str) -> tuple[Transform, ...]:
    """Steps of a pipeline text, in order (empty for `baseline`)."""
    if text.strip().lower() in ("", "baseline", "none"):
        return ()
    return tuple(parse_step(part) for part in text.split("->"))


def canonical(text: str) -> str:
    """A pipeline text spelled one way: lower-case step names, `a, b` arguments, ` -> ` between
    steps, "baseline" for no step (checked by parsing it first). Transform descriptions do not
    parse back, so studies store and compare this spelling."""
    if not parse_pipeline(text):
        return "baseline"
    parts = []
    for part in text.split("->"):
        match = _STEP.match(part)
        assert match is not None  # parse_pipeline accepted it
        name, args = match.group(1).lower(), match.group(2)
        parts.append(name if args is None else f"{name}({', '.join(a.strip() for a in args.split(','))})")
    return " -> ".join(parts)
