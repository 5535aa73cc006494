"""A whole generation as one network: the prompt pass, then one decode step per generated token.

`generation(config, prompt, generate, batch)` concatenates `prefill(config, prompt, batch)` and
`decode_step(config, prompt + k - 1, batch)` for k = 1..generate into one `Network`, so one run
on one trace covers it. Every layer's name starts with its phase, `prefill/` or `step<k>/`
(`step_of` reads it back, so a transform that renames a layer inside its phase, as a low-rank
split does, keeps the phase). Decode step k generates token k + 1 (the prefill's logits give the
first): it attends over the prompt and the k - 1 tokens generated before it, plus its own.

The KV cache is DRAM traffic: the prefill writes the K and V projections of the prompt, each
step writes its new token's K and V (the projection outputs, whose consumers are the attention
products) and reads the whole cache as the B operand of its attention products. A step's first
projections read its token's embedding, an input of the step as the prompt's is of the prefill
(not the previous phase's logits, whose width is the vocabulary's: a transform that narrows a
layer's outputs would otherwise narrow the next step's inputs); the array runs the phases in
order, so a step still starts after the logits before it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from accelsim.errors import InputError
from accelsim.workload.decoder import DecoderConfig, decode_step, prefill
from accelsim.workload.layers import Layer, Network

#: Phase index of the prompt pass; decode step k is phase k.
PREFILL_STEP = 0
_PREFILL_PREFIX = "prefill/"
_STEP_PREFIX = "step"
#: Most decode steps one generation may have (a step is a whole forward pass).
MAX_GENERATE = 1 << 20


def phase_prefix(step: int) -> str:
    """The name prefix of the layers of phase `step` (0: prefill)."""
    return _PREFILL_PREFIX if step == PREFILL_STEP else f"{_STEP_PREFIX}{step}/"


def step_of(name: str) -> int:
    """The phase of a layer of a generation network, from its name (0: prefill, k: step k)."""
    head, sep, _ = name.partition("/")
    if sep and head.startswith(_STEP_PREFIX) and head[len(_STEP_PREFIX) :].isdigit():
        return int(head[len(_STEP_PREFIX) :])
    if sep and head + "/" == _PREFILL_PREFIX:
        return PREFILL_STEP
    raise InputError(f"layer {name}: not a layer of a generation (names start with prefill/ or step<k>/)")


def check_generation(c: DecoderConfig, prompt: int, generate: int, batch: int) -> None:
    """Prompt and generated tokens must fit the model's context (one line naming the limit)."""
    for what, value, low in (("prompt", prompt, 1), ("generate", generate, 0), ("batch", batch, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise InputError(f"generation: {what} must be an integer >= {low} (got {value!r})")
    if generate > MAX_GENERATE:
        raise InputError(f"generation: generate must be <= {MAX_GENERATE:,} (got {generate:,})")
    if prompt + generate > c.context:
        raise InputError(
            f"generation: prompt + generate must be <= {c.context:,}, the context of {c.name} "
            f"(got {prompt:,} + {generate:,} = {prompt + generate:,})"
        )


def in_phase(layer: Layer, prefix: str) -> Layer:
    """`layer` inside its phase: its name and the names of its inputs prefixed."""
    inputs = None if layer.inputs is None else tuple(prefix + name for name in layer.inputs)
    return dataclasses.replace(layer, name=prefix + layer.name, inputs=inputs)


@dataclass(frozen=True)
class Generation:
    """A generation's network and what it is made of."""

    config: DecoderConfig
    prompt: int
    generate: int
    batch: int
    network: Network

    def kv_cache_bytes(self, precision_bits: int) -> int:
        """Bytes of the KV cache at the end of the generation: K and V of every prompt and
        generated position (the last step writes its own and reads all of them)."""
        return -(-self.config.kv_cache_elements(self.prompt + self.generate, self.batch) * precision_bits // 8)


def generation(c: DecoderConfig, prompt: int, generate: int, batch: int = 1) -> Generation:
    """The prefill of `prompt` tokens and `generate` decode steps of `batch` sequences, as one network."""
    check_generation(c, prompt, generate, batch)
    phases = [prefill(c, prompt, batch)] + [decode_step(c, prompt + k - 1, batch) for k in range(1, generate + 1)]
    layers = [in_phase(layer, phase_prefix(step)) for step, phase in enumerate(phases) for layer in phase.layers]
    text = f"{c.name}: prefill of {prompt} tokens then {generate} decode steps, batch {batch}"
    return Generation(c, prompt, generate, batch, Network(f"{c.name}-generation", tuple(layers), text))
