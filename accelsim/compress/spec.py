"""Compression pipelines written as text, for the command line and study files.

    prune(0.5) -> int8 -> distill(0.5)
    sparsify(0.8, csr) -> quantize(w=int4, a=int8)
    nm(2, 4) -> int8
    distill(0.5, depth=0.5) -> lowrank(0.25)
    quantize(w=int4, a=int8, layers=[conv1, layer1.0.conv1]) -> prune(0.5, layers=[conv2])

Steps are separated by `->`; `baseline` (or an empty text) is no step at all. Each step is a
name with optional arguments, positional or `key=value`. A value is a word or number (`0.5`,
`int8`, `layer1.0.conv1`), a list `[a, b]`, or a nested call `name(arguments)`, which is parsed
as a step itself (`speculative(draft=distill(0.25), k=4)`):

| step | transform | arguments |
| --- | --- | --- |
| `fp32` `fp16` `bf16` `int8` `int4` | Quantize | none: weights and activations |
| `quantize(w, a, layers)` | Quantize | weights, activations (default: the weights'), layers (default: all) |
| `prune(r, layers)` | StructuredPrune | ratio in [0, 1); layers (default: every prunable one) |
| `sparsify(s, format, layers)` | UnstructuredPrune | sparsity in [0, 1); dense, bitmask (default) or csr |
| `nm(n, m, layers)` | NMPrune | N < M (default 2:4) |
| `distill(w, depth)` | Distill | width in (0, 1]; depth in (0, 1] (default 1) |
| `lowrank(p)` | LowRank | rank ratio in (0, 1] |
| `wq(bits, group, sym, algo)` | WeightQuantize | weights to 8 or 4 bits, 16-bit scale per group (+ zero point when sym=false) |
| `w8a8(alpha)` | SmoothQuant | INT8 weights and activations; alpha in [0, 1] (default 0.5) |
| `kv(bits, scales)` | KVQuantize | KV cache at 8 or 4 bits; scales per token (default) or head |
| `heads(r)` `mlp(r)` | HeadPrune, MLPPrune | share of attention heads (whole KV groups) or MLP channels removed |
| `lora(rank, targets, mode, adapters)` | LoRA | targets [q, v] (default); unmerged (default) or merged; adapters per batch |
| `speculative(draft, k, acceptance)` | Speculative | generation-level: a network name or distill(w); k >= 1; a in [0, 1) |

The parser knows no method: each registers its name, parameters (positional order, converters,
aliases) and shorthands in `accelsim.compress.methods.registry`, and validates its own values.
Malformed text (an unclosed bracket, an empty list item, an argument given twice) is a one-line
error naming the step.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from accelsim.compress.methods import Parameter, Transform, registry
from accelsim.errors import InputError

#: A word: a name, a number, a layer name (`layer1.0.conv1`), never the step arrow `->`.
_WORD = re.compile(r"(?:[A-Za-z0-9_.+*/:]|-(?!>))+")
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)")
_STEP_NAME = re.compile(r"^[a-z0-9_-]+$", re.IGNORECASE)
_CLOSE = {"(": ")", "[": "]"}


@dataclass(frozen=True)
class Call:
    """`name(arguments)` as written; `arguments` None for a bare name (`int8`)."""

    name: str
    arguments: tuple[Argument, ...] | None = None


@dataclass(frozen=True)
class Argument:
    key: str | None
    value: Node


#: A parsed value: a word, a list of values, or a nested call.
Node = str | tuple["Node", ...] | Call


class _Reader:
    """Recursive descent over one step's text; errors name the step as written."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def fail(self, why: str) -> InputError:
        return InputError(f"compression step {self.text.strip()!r}: {why}")

    def peek(self) -> str:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.fail(f"expected {char!r} at column {self.pos + 1}, found {found}")
        self.pos += 1

    def word(self) -> str:
        self.peek()
        match = _WORD.match(self.text, self.pos)
        if not match:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.fail(f"expected a value at column {self.pos + 1}, found {found}")
        self.pos = match.end()
        return match.group(0)

    def call(self) -> Call:
        name = self.word()
        return Call(name, self.arguments() if self.peek() == "(" else None)

    def arguments(self) -> tuple[Argument, ...]:
        self.expect("(")
        items = self.items(")", self.argument)
        return tuple(items)

    def items(self, close: str, item: Any) -> list[Any]:
        """Comma-separated items up to `close`; an empty item is an error."""
        out: list[Any] = []
        if self.peek() == close:
            self.pos += 1
            return out
        while True:
            if self.peek() in (",", close):
                raise self.fail(f"empty {'argument' if close == ')' else 'list item'} at column {self.pos + 1}")
            out.append(item())
            if self.peek() == close:
                self.pos += 1
                return out
            self.expect(",")

    def argument(self) -> Argument:
        self.peek()
        match = _KEY.match(self.text, self.pos)
        key = None
        if match:
            key, self.pos = match.group(1), match.end()
        return Argument(key, self.value())

    def value(self) -> Node:
        if self.peek() == "[":
            self.pos += 1
            return tuple(self.items("]", self.value))
        word = self.word()
        return Call(word, self.arguments()) if self.peek() == "(" else word


def _split_steps(text: str) -> list[str]:
    """The text cut at each `->` outside brackets; unbalanced brackets are one-line errors."""
    parts, start, opened = [], 0, []
    for i, char in enumerate(text):
        if char in _CLOSE:
            opened.append((char, i))
        elif char in (")", "]"):
            if not opened or _CLOSE[opened[-1][0]] != char:
                raise InputError(f"compression pipeline {text.strip()!r}: unbalanced {char!r} at column {i + 1}")
            opened.pop()
        elif text.startswith("->", i) and not opened:
            parts.append(text[start:i])
            start = i + 2
    if opened:
        char, i = opened[-1]
        raise InputError(f"compression pipeline {text.strip()!r}: {char!r} at column {i + 1} is never closed")
    return [*parts, text[start:]]


def parse_call(text: str) -> Call:
    """One step's syntax tree: `name` or `name(arguments)`, nothing after it."""
    reader = _Reader(text)
    reader.peek()
    name = _WORD.match(text, reader.pos)
    if name is None or not _STEP_NAME.match(name.group(0)):
        raise InputError(f"compression step {text.strip()!r}: expected name or name(arguments)")
    call = reader.call()
    if reader.peek():
        raise reader.fail(f"unexpected {reader.peek()!r} at column {reader.pos + 1}")
    return call


def build(call: Call) -> Transform:
    """The transform a parsed step stands for (nested calls become transforms too)."""
    name = call.name.lower()
    if call.arguments is None and (step := registry.shorthand(name)) is not None:
        return step
    method = registry.lookup(name)
    if method is None:
        raise InputError(f"compression step {name!r}: unknown; allowed: {', '.join(registry.names())}")
    kwargs = _arguments(name, call.arguments or (), method.parameters)
    required = [f.name for f in dataclasses.fields(method) if f.default is dataclasses.MISSING and f.init]
    missing = [field for field in required if field not in kwargs]
    if missing:
        raise InputError(
            f"compression step {name}: {', '.join(missing)} required, e.g. {name}({', '.join(missing)}=...)"
        )
    return method(**kwargs)


def parse_step(text: str) -> Transform:
    """One step, e.g. `prune(0.5)` or `int8`; a one-line error names the step and what is allowed."""
    return build(parse_call(text))


def _arguments(name: str, arguments: tuple[Argument, ...], params: tuple[Parameter, ...]) -> dict[str, Any]:
    names = tuple(p.name for p in params)
    positional = tuple(p.name for p in params if not p.keyword)
    aliases = {p.alias: p.name for p in params if p.alias}
    kwargs: dict[str, Any] = {}
    for position, argument in enumerate(arguments):
        key = aliases.get(argument.key, argument.key) if argument.key is not None else None
        if key is None:
            if position >= len(positional):
                raise InputError(
                    f"compression step {name}: at most {len(positional)} arguments ({', '.join(positional)})"
                )
            key = positional[position]
        if key not in names:
            raise InputError(f"compression step {name}: unknown argument {key!r}; allowed: {', '.join(names)}")
        if key in kwargs:
            raise InputError(f"compression step {name}: argument {key!r} given twice")
        kwargs[key] = _convert(name, params[names.index(key)], argument.value)
    return kwargs


def _convert(name: str, param: Parameter, value: Node) -> Any:
    """A parsed value through the parameter's converter: lists and nested steps only where the
    parameter takes them (`Parameter.structured`)."""
    if not isinstance(value, str) and not param.structured:
        raise InputError(f"compression step {name}: {param.name} takes one value (got {render(value)})")
    value = _built(value)
    try:
        return param.convert(value)
    except InputError as exc:  # an InputError is a ValueError: this clause comes first
        raise InputError(f"compression step {name}: {param.name}: {exc}") from None
    except ValueError:
        raise InputError(f"compression step {name}: {param.name} must be a number (got {value!r})") from None


def _built(value: Node) -> Any:
    """Nested calls, in lists too, as the transforms they stand for."""
    if isinstance(value, Call):
        return build(value)
    return tuple(_built(item) for item in value) if isinstance(value, tuple) else value


def parse_calls(text: str) -> tuple[Call, ...]:
    """The syntax tree of every step (empty for `baseline`)."""
    if text.strip().lower() in ("", "baseline", "none"):
        return ()
    return tuple(parse_call(part) for part in _split_steps(text))


def parse_pipeline(text: str) -> tuple[Transform, ...]:
    """Steps of a pipeline text, in order (empty for `baseline`)."""
    return tuple(build(call) for call in parse_calls(text))


def render(node: Node) -> str:
    """A parsed value or step spelled one way: lower-case step names, `key=value`, `a, b`."""
    if isinstance(node, str):
        return node
    if isinstance(node, tuple):
        return f"[{', '.join(render(item) for item in node)}]"
    if node.arguments is None:
        return node.name.lower()
    args = (f"{a.key}={render(a.value)}" if a.key is not None else render(a.value) for a in node.arguments)
    return f"{node.name.lower()}({', '.join(args)})"


def canonical(text: str) -> str:
    """A pipeline text spelled one way: lower-case step names, `a, b` arguments, `key=value`,
    `[a, b]` lists, ` -> ` between steps, "baseline" for no step (checked by parsing it first).
    Transform descriptions do not parse back, so studies store and compare this spelling;
    `canonical(canonical(t)) == canonical(t)` and both parse to the same steps."""
    calls = parse_calls(text)
    for call in calls:
        build(call)
    return " -> ".join(render(call) for call in calls) if calls else "baseline"
