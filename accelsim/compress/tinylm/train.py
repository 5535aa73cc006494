"""Training and evaluating tinylm: Adam on random windows of the corpus, cached on disk.

Deterministic: windows and initialization come from seeded generators and BLAS runs on one thread
(`single_blas_thread`), so one machine gives the same weights every time. The trained weights are
cached under `ACCELSIM_CACHE` (default ~/.cache/accelsim), keyed by the configuration, the
training settings, the corpus digest and a code version; a second call loads them.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from accelsim.compress.measured import default_cache_dir
from accelsim.compress.threads import single_blas_thread
from accelsim.compress.tinylm import model as tm
from accelsim.compress.tinylm.corpus import load_corpus
from accelsim.errors import InputError

#: Bump when the model or the training code changes, so cached weights are not reused.
CODE_VERSION = 1


@dataclass(frozen=True)
class TrainSettings:
    """Adam with linear warm-up and cosine decay, on `batch` random windows per step."""

    steps: int = 200
    batch: int = 16
    learning_rate: float = 3e-3
    warmup_steps: int = 30
    clip_norm: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "batch"):
            if getattr(self, name) < 1:
                raise InputError(f"tinylm training: {name} must be >= 1 (got {getattr(self, name)!r})")
        if not self.learning_rate > 0:
            raise InputError(f"tinylm training: learning_rate must be > 0 (got {self.learning_rate!r})")


@dataclass(frozen=True)
class TrainedModel:
    """Weights with the configuration and corpus they came from; when trained now, `seconds` is
    the wall time and `cpu_seconds` the processor time it took on this machine (both 0.0 when
    loaded from the cache): on a shared machine the two differ."""

    config: tm.TinyLMConfig
    params: tm.Params
    corpus: str
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def windows(data: np.ndarray, length: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` random windows of `length` bytes [count, length]."""
    starts = rng.integers(0, len(data) - length, count)
    return data[starts[:, None] + np.arange(length)[None, :]]


def _learning_rate(s: TrainSettings, step: int) -> float:
    if step < s.warmup_steps:
        return s.learning_rate * (step + 1) / s.warmup_steps
    progress = (step - s.warmup_steps) / max(1, s.steps - s.warmup_steps)
    return s.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


class Adam:
    """Adam (beta 0.9 / 0.95) on a dict of arrays; `mask` entries keep pruned weights at zero."""

    def __init__(self, params: tm.Params, masks: dict[str, np.ndarray] | None = None) -> None:
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.masks = masks or {}
        self.step = 0

    def update(self, params: tm.Params, grads: tm.Params, lr: float, clip_norm: float) -> None:
        self.step += 1
        norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
        factor = min(1.0, clip_norm / (norm + 1e-12))
        b1, b2 = 0.9, 0.95
        for k, g in grads.items():
            g = g * factor
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            m_hat = self.m[k] / (1 - b1**self.step)
            v_hat = self.v[k] / (1 - b2**self.step)
            params[k] = (params[k] - lr * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(params[k].dtype)
            if k in self.masks:
                params[k] *= self.masks[k]


@single_blas_thread()
def train(
    config: tm.TinyLMConfig,
    data: np.ndarray,
    settings: TrainSettings,
    params: tm.Params | None = None,
    masks: dict[str, np.ndarray] | None = None,
) -> tm.Params:
    """Train from `params` (or a fresh seeded initialization) on byte array `data`."""
    rng = np.random.default_rng([settings.seed, 1])
    params = tm.init_params(config, np.random.default_rng([settings.seed, 0])) if params is None else dict(params)
    adam = Adam(params, masks)
    for step in range(settings.steps):
        batch = windows(data, config.context + 1, settings.batch, rng)
        _, grads = tm.loss_and_grads(params, batch, config.head_dim)
        adam.update(params, grads, _learning_rate(settings, step), settings.clip_norm)
    return params


@single_blas_thread()
def evaluate_nats(
    params: tm.Params, data: np.ndarray, head_dim: int, context: int, hooks: tm.Hooks | None = None, batch: int = 32
) -> float:
    """Mean next-byte cross-entropy (nats) over `data` cut into consecutive windows of `context`
    + 1 bytes (each window predicts its last `context` bytes from its own prefix)."""
    n = (len(data) - 1) // context
    total, count = 0.0, 0
    for start in range(0, n, batch):
        idx = np.arange(start, min(n, start + batch))
        chunk = data[idx[:, None] * context + np.arange(context + 1)[None, :]]
        logits, _ = tm.forward(params, chunk[:, :-1], head_dim, hooks)
        loss, _ = tm.cross_entropy(logits.astype(np.float64), chunk[:, 1:])
        total += loss * chunk[:, 1:].size
        count += chunk[:, 1:].size
    return total / count


def perplexity(nats: float) -> float:
    """Per-byte perplexity from a mean cross-entropy in nats."""
    return math.exp(nats)


def bits_per_byte(nats: float) -> float:
    return nats / math.log(2)


# --- cache ------------------------------------------------------------------------------------


def _cache_path(config: tm.TinyLMConfig, settings: TrainSettings, corpus: str, cache_dir: Path | None) -> Path:
    key = json.dumps(
        {
            "config": asdict(config),
            "settings": asdict(settings),
            "corpus": load_corpus(corpus).digest(),
            "code": CODE_VERSION,
        },
        sort_keys=True,
    )
    return (cache_dir or default_cache_dir()) / f"tinylm-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"


_DEFAULT = tm.TinyLMConfig()


def trained(
    config: tm.TinyLMConfig = _DEFAULT,
    settings: TrainSettings = TrainSettings(),
    corpus: str = "stdlib",
    cache_dir: Path | None = None,
) -> TrainedModel:
    """tinylm trained on `corpus`'s training files, from the disk cache when there."""
    path = _cache_path(config, settings, corpus, cache_dir)
    if path.exists():
        with np.load(path, allow_pickle=False) as data:
            return TrainedModel(config, {k: data[k] for k in data.files}, corpus)
    began, cpu = time.perf_counter(), time.process_time()
    params = train(config, load_corpus(corpus).train, settings)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp.npz")
    np.savez(temporary, **params)
    temporary.replace(path)
    return TrainedModel(config, params, corpus, seconds, cpu)
