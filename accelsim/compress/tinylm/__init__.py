"""tinylm: a real byte-level language model, trained here with numpy, measured under compression.

- `corpus`: Python 3.11.7 standard-library text shipped with accelsim (SHA-256 checked);
- `model`: the decoder's forward and backward passes (the built-in decoder `tinylm` is its shape);
- `train`: Adam training, cached on disk, and held-out perplexity / bits per byte;
- `quant`: weight-only RTN and GPTQ, KV-cache quantization, SmoothQuant W8A8;
- `prune`: N:M sparsity, attention-head and MLP-channel pruning;
- `speculative`: greedy speculative decoding with a draft tinylm, its acceptance rate;
- `lora`: low-rank adapters, merged and unmerged;
- `measure`: `TinyLMLab` and `tinylm_perplexity(text)`, the entry points; `provider`: the
  measured-perplexity provider.
"""

from accelsim.compress.tinylm.measure import (
    Perplexity,
    TinyLMLab,
    parse_steps,
    tinylm_acceptance_rate,
    tinylm_perplexity,
)
from accelsim.compress.tinylm.model import TinyLMConfig
from accelsim.compress.tinylm.provider import MeasuredPerplexity
from accelsim.compress.tinylm.train import TrainSettings

__all__ = [
    "MeasuredPerplexity",
    "Perplexity",
    "TinyLMConfig",
    "TinyLMLab",
    "TrainSettings",
    "parse_steps",
    "tinylm_acceptance_rate",
    "tinylm_perplexity",
]
