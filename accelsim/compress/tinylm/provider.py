"""The measured perplexity provider: tinylm's perplexity after a compression pipeline.

`MeasuredPerplexity().estimate(network, steps)` answers for the decoder `tinylm` (the network the
simulator runs is the model measured here) by applying the steps to the trained model for real.
Steps may be this package's frozen dataclasses, their text form (`measure.parse_steps`), or
accelsim transforms recognised by their `method` name: `wq` (bits, group, sym, algo rtn or gptq),
`kv` (bits, scales), `w8a8` (alpha), `nm` (n, m), `heads` and `mlp` (ratio, kept as the simulated
shape keeps: round(count x (1 - ratio))). `speculative` and `lora` change no perplexity as served:
speculative decoding outputs the target's greedy bytes (tested) and merged and unmerged adapters
give the same logits (tested); adapting to a corpus is measured by `TinyLMLab.lora_experiment`.
Other networks get a one-line error: their perplexities are published, not measured
(`accelsim.compress.llm_perplexity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from accelsim.compress.tinylm import model as tm
from accelsim.compress.tinylm import prune as pr
from accelsim.compress.tinylm import quant as qt
from accelsim.compress.tinylm.measure import Perplexity, Step, TinyLMLab, parse_steps
from accelsim.errors import InputError
from accelsim.workload.layers import Network

#: Steps that leave the served model's outputs unchanged.
SERVING_ONLY = ("speculative", "lora")


def _translate(step: object, config: tm.TinyLMConfig) -> list[Step]:
    """This package's step for an accelsim transform (by its `method` name)."""
    if isinstance(step, (qt.WeightQuant, qt.KVQuant, qt.W8A8, pr.NMSparsity, pr.HeadPrune, pr.ChannelPrune)):
        return [step]
    if isinstance(step, str):
        return list(parse_steps(step))
    method = getattr(step, "method", type(step).__name__)
    get = lambda name, default=None: getattr(step, name, default)  # noqa: E731
    if get("layers") is not None:
        raise InputError(f"tinylm perplexity: {method} on named layers is not measured; apply it to every layer")
    if method == "wq":
        return [qt.WeightQuant(get("bits"), get("group"), get("sym", True), get("algo", "rtn"))]
    if method == "kv":
        return [qt.KVQuant(get("bits"), get("scales", "token"))]
    if method == "w8a8":
        return [qt.W8A8(get("alpha", 0.5))]
    if method == "nm":
        return [pr.NMSparsity(get("n"), get("m"))]
    if method == "heads":
        removed = config.heads - round(config.heads * (1 - get("ratio")))
        return [pr.HeadPrune(removed)] if removed else []
    if method == "mlp":
        return [pr.ChannelPrune(get("ratio"))] if get("ratio") else []
    if method in SERVING_ONLY:
        return []
    raise InputError(
        f"tinylm perplexity: no measurement for {method}; measured: wq, kv, w8a8, nm, heads, mlp "
        f"(and {', '.join(SERVING_ONLY)}, which change no output)"
    )


@dataclass(frozen=True)
class MeasuredPerplexity:
    """Held-out perplexity of tinylm after the steps, measured; `lab` says how."""

    lab: TinyLMLab = field(default_factory=TinyLMLab)

    def steps(self, steps: Sequence[object] | str) -> list[Step]:
        if isinstance(steps, str):
            return parse_steps(steps)
        return [s for step in steps for s in _translate(step, self.lab.config)]

    def estimate(
        self, network: Network | str, steps: Sequence[object] | str = (), configuration: str = ""
    ) -> Perplexity:
        name = network if isinstance(network, str) else network.name
        if not name.startswith("tinylm"):
            raise InputError(
                f"tinylm perplexity: {name} is not measured here (only tinylm is); "
                "published perplexities of other LLMs: accelsim.compress.llm_perplexity"
            )
        return self.lab.measure(self.steps(steps))
