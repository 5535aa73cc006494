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

The parser knows no method: each registers its name, parameters (positional order, converters,
aliases) and shorthands in `accelsim.compress.methods.registry`, and validates its own values.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from accelsim.compress.methods import Parameter, Transform, registry
from accelsim.errors import InputError

_STEP = re.compile(r"^\s*([a-z0-9_-]+)\s*(?:\((.*)\))?\s*$", re.IGNORECASE)


def parse_step(text: str) -> Transform:
    """One step, e.g. `prune(0.5)` or `int8`; a one-line error names the step and what is allowed."""
    match = _STEP.match(text)
    if not match:
        raise InputError(f"compression step {text.strip()!r}: expected name or name(arguments)")
    name, args = match.group(1).lower(), match.group(2)
    if args is None and (step := registry.shorthand(name)) is not None:
        return step
    method = registry.lookup(name)
    if method is None:
        raise InputError(f"compression step {name!r}: unknown; allowed: {', '.join(registry.names())}")
    kwargs = _arguments(name, args or "", method.parameters)
    required = [f.name for f in dataclasses.fields(method) if f.default is dataclasses.MISSING and f.init]
    missing = [field for field in required if field not in kwargs]
    if missing:
        raise InputError(
            f"compression step {name}: {', '.join(missing)} required, e.g. {name}({', '.join(missing)}=...)"
        )
    return method(**kwargs)


def _arguments(name: str, text: str, params: tuple[Parameter, ...]) -> dict[str, Any]:
    names = tuple(p.name for p in params)
    aliases = {p.alias: p.name for p in params if p.alias}
    kwargs: dict[str, Any] = {}
    parts = [p.strip() for p in text.split(",")] if text.strip() else []
    for position, part in enumerate(parts):
        key, sep, value = part.partition("=")
        key = aliases.get(key.strip(), key.strip()) if sep else None
        if key is None:
            if position >= len(names):
                raise InputError(f"compression step {name}: at most {len(names)} arguments ({', '.join(names)})")
            key, value = names[position], part
        if key not in names:
            raise InputError(f"compression step {name}: unknown argument {key!r}; allowed: {', '.join(names)}")
        try:
            kwargs[key] = params[names.index(key)].convert(value.strip())
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
