"""Measured perplexity of tinylm under compression: the public entry points.

`TinyLMLab` holds what a measurement depends on (model shape, training, cache, calibration and
evaluation sizes); its methods train (or load) the model once per process and return
`Perplexity` figures measured on the held-out files. Steps are the frozen dataclasses of
`quant` (WeightQuant, KVQuant, W8A8) and `prune` (NMSparsity, HeadPrune, ChannelPrune), applied
in order; `tinylm_perplexity("wq(bits=4, group=128, method=gptq) -> kv(8)")` reads the same steps
from text. Every figure says "measured", the corpus and how many bytes it was measured on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from accelsim.compress.tinylm import lora as lr
from accelsim.compress.tinylm import model as tm
from accelsim.compress.tinylm import prune as pr
from accelsim.compress.tinylm import quant as qt
from accelsim.compress.tinylm import speculative as sp
from accelsim.compress.tinylm import train as tr
from accelsim.compress.tinylm.corpus import load_corpus
from accelsim.errors import InputError

Step = qt.WeightQuant | qt.KVQuant | qt.W8A8 | pr.NMSparsity | pr.HeadPrune | pr.ChannelPrune

#: The draft model of the speculative-decoding measurement: half the layers, half the width.
DRAFT = tm.TinyLMConfig(layers=2, width=64, heads=2, context=128)


@dataclass(frozen=True)
class Perplexity:
    """Per-byte perplexity and bits per byte on a corpus's held-out files."""

    perplexity: float
    bits_per_byte: float
    corpus: str
    bytes: int
    kind: str = "measured"
    detail: str = ""

    def label(self) -> str:
        extra = f", {self.detail}" if self.detail else ""
        return (
            f"perplexity {self.perplexity:.3f} per byte ({self.bits_per_byte:.3f} bits/byte; {self.kind} on "
            f"{self.bytes:,} held-out bytes of {self.corpus}{extra})"
        )


_MODELS: dict[tuple, tm.Params] = {}
_LORA = lr.LoRA()


@dataclass(frozen=True)
class TinyLMLab:
    """Where tinylm measurements come from; `eval_bytes` 0 evaluates every held-out byte."""

    config: tm.TinyLMConfig = tm.TinyLMConfig()
    settings: tr.TrainSettings = tr.TrainSettings()
    cache_dir: Path | None = None
    calibration_windows: int = 32
    eval_bytes: int = 0
    finetune_learning_rate: float = 1e-3

    # --- the model and its data ---------------------------------------------------------------

    def model(self, config: tm.TinyLMConfig | None = None) -> tm.Params:
        """The trained model (`config` for another shape, e.g. the draft), from the cache."""
        config = config or self.config
        key = (config, self.settings, self.cache_dir)
        if key not in _MODELS:
            _MODELS[key] = tr.trained(config, self.settings, "stdlib", self.cache_dir).params
        return _MODELS[key]

    def heldout(self, corpus: str = "stdlib") -> np.ndarray:
        data = load_corpus(corpus).heldout
        return data[: self.eval_bytes + 1] if self.eval_bytes else data

    def calibration(self) -> np.ndarray:
        """Calibration windows [n, context] drawn from the training files with a fixed seed."""
        rng = np.random.default_rng([self.settings.seed, 7])
        return tr.windows(load_corpus("stdlib").train, self.config.context, self.calibration_windows, rng)

    def evaluate(
        self, params: tm.Params, hooks: tm.Hooks | None = None, corpus: str = "stdlib", detail: str = ""
    ) -> Perplexity:
        data = self.heldout(corpus)
        nats = tr.evaluate_nats(params, data, self.config.head_dim, self.config.context, hooks)
        counted = (len(data) - 1) // self.config.context * self.config.context
        return Perplexity(tr.perplexity(nats), tr.bits_per_byte(nats), corpus, counted, detail=detail)

    # --- compression ----------------------------------------------------------------------------

    def finetune(self, params: tm.Params, steps: int, masks: dict[str, np.ndarray] | None = None) -> tm.Params:
        """`steps` more training steps on the training files at `finetune_learning_rate` (masked
        weights held at zero): the follow-up of pruning, and, on the dense model, its control."""
        if steps == 0:
            return params
        settings = replace(
            self.settings, steps=steps, learning_rate=self.finetune_learning_rate, warmup_steps=min(10, steps)
        )
        return tr.train(self.config, load_corpus("stdlib").train, settings, params, masks)

    def apply(self, steps: Sequence[Step]) -> tuple[tm.Params, tm.Hooks]:
        """The model after `steps` in order, and the hooks its forward pass needs."""
        params, hooks = self.model(), tm.Hooks()
        h = self.config.head_dim
        for step in steps:
            if isinstance(step, qt.WeightQuant):
                params = qt.quantize_weights(params, step, self.calibration(), h)
            elif isinstance(step, qt.KVQuant):
                hooks.kv = qt.kv_hooks(params, step, self.calibration(), h).kv
            elif isinstance(step, qt.W8A8):
                params, extra = qt.w8a8(params, step, self.calibration(), h)
                hooks.linear = extra.linear
            elif isinstance(step, pr.NMSparsity):
                masks = pr.nm_masks(params, step)
                params = self.finetune(pr.apply_masks(params, masks), step.finetune_steps, masks)
            elif isinstance(step, pr.HeadPrune):
                params = self.finetune(pr.prune_heads(params, step, h), step.finetune_steps)
            elif isinstance(step, pr.ChannelPrune):
                params = self.finetune(pr.prune_channels(params, step), step.finetune_steps)
            else:
                raise InputError(f"tinylm: no measurement for step {type(step).__name__}")
        return params, hooks

    def measure(self, steps: Sequence[Step] = (), corpus: str = "stdlib") -> Perplexity:
        """Held-out perplexity after `steps` (none: the trained model)."""
        params, hooks = self.apply(steps)
        detail = " -> ".join(describe(s) for s in steps) or "uncompressed FP32"
        return self.evaluate(params, hooks, corpus, detail)

    # --- speculative decoding and LoRA ------------------------------------------------------------

    def speculative(
        self, k: int = 4, draft: tm.TinyLMConfig = DRAFT, prompts: int = 4, prompt_bytes: int = 0, new_tokens: int = 0
    ) -> tuple[sp.SpeculativeResult, bool]:
        """Speculative decoding of `prompts` held-out prompts (evenly spaced; `prompt_bytes`
        default a quarter of the context, `new_tokens` half of it) with a draft trained like the
        target; the rounds summed over the prompts, and whether every output equalled greedy."""
        prompt_bytes = prompt_bytes or self.config.context // 4
        new_tokens = new_tokens or self.config.context // 2
        target = sp.Decoder(self.model(), self.config.head_dim)
        small = sp.Decoder(self.model(draft), draft.head_dim)
        data = load_corpus("stdlib").heldout
        starts = np.linspace(0, len(data) - prompt_bytes - 1, prompts).astype(int)
        results, same = [], True
        for start in starts:
            prompt = [int(b) for b in data[start : start + prompt_bytes]]
            result = sp.speculative(target, small, prompt, new_tokens, k)
            same &= result.tokens == sp.greedy(target, prompt, new_tokens)
            results.append(result)
        total = sp.SpeculativeResult(
            tuple(t for r in results for t in r.tokens),
            k,
            *(sum(getattr(r, f) for r in results) for f in sp.SUMMED),
        )
        return total, same

    def lora_experiment(self, spec: lr.LoRA = _LORA, full_steps: int | None = None) -> dict[str, Perplexity]:
        """tinylm adapted to the `docs` corpus with LoRA and by full fine-tuning (`full_steps`,
        default the LoRA's steps), each measured on both corpora's held-out files."""
        base, h = self.model(), self.config.head_dim
        docs = load_corpus("docs").train
        adapters = lr.finetune(base, docs, spec, h)
        settings = replace(
            self.settings,
            steps=full_steps or spec.steps,
            batch=spec.batch,
            learning_rate=self.finetune_learning_rate,
            warmup_steps=10,
        )
        full = tr.train(self.config, docs, settings, base)
        out = {}
        for corpus in ("stdlib", "docs"):
            out[f"base/{corpus}"] = self.evaluate(base, corpus=corpus, detail="before adaptation")
            out[f"lora/{corpus}"] = self.evaluate(
                base, tm.Hooks(adapters=adapters), corpus, f"LoRA rank {spec.rank} on docs, unmerged"
            )
            out[f"full/{corpus}"] = self.evaluate(full, corpus=corpus, detail="fully fine-tuned on docs")
        return out


# --- text form of the steps ------------------------------------------------------------------------

_STEPS = {
    "wq": (qt.WeightQuant, ("bits", "group", "sym", "method")),
    "kv": (qt.KVQuant, ("bits", "granularity")),
    "w8a8": (qt.W8A8, ("alpha",)),
    "nm": (pr.NMSparsity, ("n", "m", "finetune_steps")),
    "heads": (pr.HeadPrune, ("heads", "finetune_steps")),
    "channels": (pr.ChannelPrune, ("fraction", "finetune_steps")),
}


def _value(text: str) -> object:
    text = text.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_steps(description: str) -> list[Step]:
    """Steps from text: `wq(bits=4, group=128, sym=false, method=gptq) -> kv(8, granularity=head)`."""
    steps: list[Step] = []
    for part in filter(None, (p.strip() for p in description.split("->"))):
        match = re.fullmatch(r"([a-z0-9]+)\s*\((.*)\)|([a-z0-9]+)", part)
        name = match and (match.group(1) or match.group(3))
        if not match or name not in _STEPS:
            raise InputError(f"tinylm pipeline: cannot read {part!r}; steps: {', '.join(_STEPS)}")
        cls, fields = _STEPS[name]
        args, kwargs = [], {}
        for item in filter(None, (a.strip() for a in (match.group(2) or "").split(","))):
            if "=" in item:
                key, value = item.split("=", 1)
                if key.strip() not in fields:
                    raise InputError(
                        f"tinylm pipeline: {name} has no argument {key.strip()!r}; has {', '.join(fields)}"
                    )
                kwargs[key.strip()] = _value(value)
            else:
                args.append(_value(item))
        if len(args) > len(fields):
            raise InputError(f"tinylm pipeline: {name} takes at most {len(fields)} arguments ({', '.join(fields)})")
        steps.append(cls(**dict(zip(fields, args)), **kwargs))
    return steps


def describe(step: Step) -> str:
    """The text form `parse_steps` reads back."""
    name = next(n for n, (cls, _) in _STEPS.items() if isinstance(step, cls))
    fields = _STEPS[name][1]
    args = ", ".join(
        f"{f}={str(getattr(step, f)).lower() if isinstance(getattr(step, f), bool) else getattr(step, f)}"
        for f in fields
    )
    return f"{name}({args})"


def tinylm_perplexity(description: str = "", lab: TinyLMLab | None = None) -> Perplexity:
    """Measured held-out perplexity of tinylm after the pipeline `description` (text form)."""
    return (lab or TinyLMLab()).measure(parse_steps(description))


def tinylm_acceptance_rate(k: int = 4, lab: TinyLMLab | None = None, draft: tm.TinyLMConfig = DRAFT) -> float:
    """Measured per-proposal acceptance rate of greedy speculative decoding of tinylm with the
    `draft` tinylm and `k` proposals per round: the `acceptance` the simulated
    `speculative(draft, k, acceptance)` step takes."""
    return (lab or TinyLMLab()).speculative(k=k, draft=draft)[0].acceptance_rate
