"""The points `accelsim advise` evaluates for a decoder LLM: one whole generation each.

A `GenerationPoint` is (decoder, pipeline, hardware, prompt and generated tokens, perplexity
provider) as plain data with a `key`, like a sweep `Point`, so it goes through the same executors
into the same kind of results store, and a pipeline already evaluated is read back, never
simulated again. Its record holds the figures per token the search compares:

- `energy_per_token_j` and `time_per_output_token_s` from `study.llm.simulate_generation` (the
  prompt's prefill, then the decode steps, on the accelerator; speculative decoding as its draft
  and verification passes);
- `weight_bytes`: the target's weights as stored after the steps, at the generation's FP16;
- `perplexity` and its kind: `measured` on tinylm's held-out bytes after the same steps
  (`compress.tinylm.MeasuredPerplexity`), or from the published tables (`published` for one
  step on the table's own model, `modelled` for a ratio carried over or composed;
  `compress.llm_perplexity`). A decoder without a published baseline (gpt2, llama-3.2-1b) gets
  the published ratio to its FP16 perplexity instead, labelled `ratio to FP16` (as
  `scenarios/llm_efficiency.py` reports it). A pipeline with no published figure fails with that
  reason. Fusion steps are left out of the perplexity: they change no weight and no value, only
  what goes through DRAM (`compress.methods.fuse`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelsim.compress.methods.speculative import split_generation
from accelsim.compress.spec import canonical, parse_pipeline
from accelsim.compress.transforms import pipeline
from accelsim.errors import InputError
from accelsim.precision import Precision
from accelsim.study.executors import Executor
from accelsim.study.llm import DEFAULT_PRECISION
from accelsim.study.points import MODEL_VERSION
from accelsim.study.store import ResultStore, read_records
from accelsim.workload.decoder import DECODERS
from accelsim.workload.networks import network as builtin

PERPLEXITIES = ("measured", "published")
#: The generation each point simulates, as `scenarios/llm_efficiency.py` runs tinylm.
DEFAULT_PROMPT, DEFAULT_GENERATE = 64, 32


@dataclass(frozen=True)
class GenerationPoint:
    """A decoder compressed by `compression`, generating `generate` tokens after `prompt`."""

    network: str
    compression: str = "baseline"
    hardware: str = "edge-llm"
    prompt: int = DEFAULT_PROMPT
    generate: int = DEFAULT_GENERATE
    perplexity: str = "published"  # "measured" (tinylm only) or "published"

    def __post_init__(self) -> None:
        if self.network not in DECODERS:
            raise InputError(f"network: {self.network!r} is not a decoder; decoders: {', '.join(DECODERS)}")
        object.__setattr__(self, "compression", canonical(self.compression))
        if self.perplexity not in PERPLEXITIES:
            raise InputError(
                f'accuracy: must be "measured" (tinylm) or "published" for a decoder (got {self.perplexity!r})'
            )
        if self.perplexity == "measured" and self.network != "tinylm":
            raise InputError(f'accuracy: "measured" only for tinylm; {self.network} has "published"')
        for name in ("prompt", "generate"):
            if getattr(self, name) < 1:
                raise InputError(f"{name}: must be an integer >= 1 (got {getattr(self, name)!r})")

    def as_dict(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "compression": self.compression,
            "hardware": self.hardware,
            "prompt": self.prompt,
            "generate": self.generate,
            "perplexity": self.perplexity,
        }

    @functools.cached_property
    def key(self) -> str:
        text = json.dumps({**self.as_dict(), "model_version": MODEL_VERSION, "kind": "generation"}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def weight_bytes(network: str, compression: str) -> int:
    """The decoder's weights as stored after the pipeline's network steps, at FP16."""
    steps = parse_pipeline(compression) if compression != "baseline" else ()
    layered, _ = split_generation(steps)
    net = builtin(network).with_precision(DEFAULT_PRECISION)
    return pipeline(*layered)(net).weight_bytes if layered else net.weight_bytes


def perplexity_of(point: GenerationPoint, lab: Any = None) -> tuple[float, str, str]:
    """(perplexity, kind, detail) of the point's pipeline; InputError where there is none."""
    steps = parse_pipeline(point.compression) if point.compression != "baseline" else ()
    steps = tuple(step for step in steps if step.method != "fuse")
    if point.perplexity == "measured":
        from accelsim.compress.tinylm import MeasuredPerplexity, TinyLMLab  # numpy training: only when asked

        figure = MeasuredPerplexity(lab or TinyLMLab()).estimate(point.network, steps)
        return figure.perplexity, figure.kind, figure.label()
    from accelsim.compress.llm_perplexity import BASELINES, llm_perplexity

    if point.network not in BASELINES:
        ratio = llm_perplexity(point.network, steps, baseline=1.0)
        return ratio.value, f"{ratio.kind}, ratio to FP16", ratio.detail
    estimate = llm_perplexity(point.network, steps)
    return estimate.value, estimate.kind, estimate.detail


def evaluate_generation_point(point: GenerationPoint, lab: Any = None) -> dict[str, Any]:
    """The record of one point, as `study.points.evaluate_point` writes one: never raises."""
    from accelsim.study.llm import simulate_generation

    record: dict[str, Any] = {"key": point.key, "point": point.as_dict(), "result": None, "error": None}
    try:
        perplexity, kind, detail = perplexity_of(point, lab)
        compress = None if point.compression == "baseline" else point.compression
        figures = simulate_generation(
            point.network, point.prompt, point.generate, point.hardware, compress=compress, precision=Precision.FP16
        ).figures
        record["result"] = {
            "perplexity": perplexity,
            "perplexity_kind": kind,
            "perplexity_detail": detail,
            "energy_per_token_j": figures.energy_per_token_j,
            "time_per_output_token_s": figures.time_per_output_token_s,
            "weight_bytes": weight_bytes(point.network, point.compression),
        }
    except Exception as exc:  # noqa: BLE001 - a failing point is data, as in a sweep
        record["error"] = f"{type(exc).__name__}: {' '.join(str(exc).splitlines())}"
    return record


def run_generation_points(
    points: Sequence[GenerationPoint], store_path: str | Path, executor: Executor, lab: Any = None
) -> tuple[dict[str, dict[str, Any]], int]:
    """Every point's record (from the store, or evaluated now and appended): (records by key,
    how many were evaluated now)."""
    function: Callable[[GenerationPoint], dict[str, Any]] = (
        evaluate_generation_point if lab is None else functools.partial(evaluate_generation_point, lab=lab)
    )
    with ResultStore(store_path) as store:
        todo = list({p.key: p for p in points if p.key not in store}.values())
        ran = 0
        results = executor.map_unordered(function, todo)
        try:
            for record in results:
                store.append(record)
                ran += 1
        finally:
            results.close()
    return read_records(store_path), ran
