"""Perplexities of compressed LLMs from published tables: labelled with their source, never
called measured (measured perplexities come from the real model in `accelsim.compress.tinylm`).

Each LLM compression method names the published setting it corresponds to with a
`perplexity_setting()` hook (`wq(int4, g128, gptq)`, `w8a8(smoothquant)`, or `lossless` for steps
that keep the model's function: merged or unmerged LoRA, speculative decoding). A table row gives
the baseline and compressed perplexity of one model on one dataset as its paper reports them:

- Llama-2-7B, WikiText-2, 2,048-token context, FP16 5.47; INT4 weights with groups of 128:
  round-to-nearest 5.73, GPTQ 5.69, AWQ 5.60 (J. Lin et al., "AWQ: activation-aware weight
  quantization for LLM compression and acceleration", MLSys 2024, Table 4; zero points per
  group, as `wq(4, 128, sym=false)` stores them).
- Llama-2-7B, WikiText-2: FP16 5.474, SmoothQuant W8A8 5.515 (G. Xiao et al., "SmoothQuant",
  ICML 2023, arXiv:2211.10438v7, Llama-2 table).

`llm_perplexity(model, steps)` multiplies the baseline by each step's ratio compressed /
baseline. It is `published` for one step on the table's own model, `modelled` otherwise (a ratio
carried over to another model, or several steps composed as independent); a step without a row
is a one-line error naming it, never a guess.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from accelsim.compress.methods import Transform
from accelsim.errors import InputError


@dataclass(frozen=True)
class PublishedPerplexity:
    """One row: `model`'s perplexity on `dataset` before (`baseline`) and after (`value`)."""

    model: str
    dataset: str
    baseline: float
    value: float
    source: str

    @property
    def ratio(self) -> float:
        return self.value / self.baseline


_AWQ = "Lin et al., AWQ, MLSys 2024, Table 4"
_SQ = "Xiao et al., SmoothQuant, ICML 2023 (arXiv:2211.10438v7)"
_WIKI = "WikiText-2 (2,048-token context)"

#: Published rows by the setting a method names (`perplexity_setting`).
PUBLISHED: dict[str, PublishedPerplexity] = {
    "wq(int4, g128, rtn)": PublishedPerplexity("llama-2-7b", _WIKI, 5.47, 5.73, _AWQ),
    "wq(int4, g128, gptq)": PublishedPerplexity("llama-2-7b", _WIKI, 5.47, 5.69, _AWQ),
    "wq(int4, g128, awq)": PublishedPerplexity("llama-2-7b", _WIKI, 5.47, 5.60, _AWQ),
    "w8a8(smoothquant)": PublishedPerplexity("llama-2-7b", "WikiText-2", 5.474, 5.515, _SQ),
}
#: Baselines (FP16) of the models the table covers.
BASELINES: dict[str, PublishedPerplexity] = {
    "llama-2-7b": PublishedPerplexity("llama-2-7b", _WIKI, 5.47, 5.47, _AWQ),
}
LOSSLESS = "lossless"


@dataclass(frozen=True)
class PerplexityEstimate:
    """A perplexity and how it was obtained: `published` or `modelled`, with its sources."""

    value: float
    kind: str
    detail: str

    def label(self) -> str:
        return f"{self.value:.3f} ({self.kind}, {self.detail})"


def setting_of(step: Transform) -> str:
    """The published setting a step names; a one-line error for a step without one."""
    hook = getattr(step, "perplexity_setting", None)
    setting = hook() if hook is not None else None
    if setting is None or (setting != LOSSLESS and setting not in PUBLISHED):
        raise InputError(
            f"llm perplexity: no published value for {step.describe()}; "
            f"published: {', '.join(PUBLISHED)} (others are measured on tinylm)"
        )
    return setting


def llm_perplexity(model: str, steps: Sequence[Transform] = (), baseline: float | None = None) -> PerplexityEstimate:
    """`model`'s perplexity after `steps`: its baseline (from `BASELINES`, or given) times each
    step's published ratio (see the module doc for when it is published or modelled)."""
    if baseline is None:
        if model not in BASELINES:
            raise InputError(f"llm perplexity: no published baseline for {model}; give baseline= (known: llama-2-7b)")
        baseline = BASELINES[model].value
    if not (isinstance(baseline, (int, float)) and math.isfinite(baseline) and baseline >= 1):
        raise InputError(f"llm perplexity: baseline must be a perplexity >= 1 (got {baseline!r})")
    rows = [PUBLISHED[s] for s in map(setting_of, steps) if s != LOSSLESS]
    exact = len(rows) <= 1 and all(row.model == model for row in rows) and model in BASELINES
    given = baseline != BASELINES[model].value if model in BASELINES else True
    # One published row on its own model is the paper's figure, not a ratio of it.
    value = rows[0].value if exact and rows and not given else baseline * math.prod(row.ratio for row in rows)
    exact = exact and not given
    sources = sorted({row.source for row in rows} | ({BASELINES[model].source} if model in BASELINES else set()))
    detail = "; ".join(sources) or "given baseline"
    if not exact:
        carried = sorted({row.model for row in rows if row.model != model})
        detail += f"; ratios of {', '.join(carried)}" if carried else ""
    return PerplexityEstimate(value, "published" if exact else "modelled", detail)
