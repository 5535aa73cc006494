"""tinylm's measured figures: train (or load from the cache) and measure every technique.

    python tools/tinylm_figures.py [--eval-bytes N] [--json]

Trains tinylm (4 layers, width 128, 4 heads, context 128) on the standard-library corpus, or loads
it from ACCELSIM_CACHE, then measures held-out perplexity per byte and bits per byte after each
technique: weight-only RTN and GPTQ, KV-cache quantization, SmoothQuant W8A8, 2:4 sparsity with
and without a short fine-tune, head and MLP-channel pruning; the acceptance rate of greedy
speculative decoding with a 2-layer, width-64 draft; LoRA versus full fine-tuning on the docs
corpus. Prints one row per figure with the seconds it took on this machine.
"""

from __future__ import annotations

import argparse
import json
import time

from accelsim.compress.tinylm import lora as lr
from accelsim.compress.tinylm import prune as pr
from accelsim.compress.tinylm import quant as qt
from accelsim.compress.tinylm import train as tr
from accelsim.compress.tinylm.measure import DRAFT, TinyLMLab

ROWS = [
    ("FP32", []),
    ("W8 g32 RTN (sym)", [qt.WeightQuant(8, 32)]),
    ("W4 g128 RTN (asym)", [qt.WeightQuant(4, 128, sym=False)]),
    ("W4 g128 GPTQ (asym)", [qt.WeightQuant(4, 128, sym=False, method="gptq")]),
    ("W3 g128 RTN (asym)", [qt.WeightQuant(3, 128, sym=False)]),
    ("W3 g128 GPTQ (asym)", [qt.WeightQuant(3, 128, sym=False, method="gptq")]),
    ("W2 g32 RTN (asym)", [qt.WeightQuant(2, 32, sym=False)]),
    ("W2 g32 GPTQ (asym)", [qt.WeightQuant(2, 32, sym=False, method="gptq")]),
    ("KV8 per token", [qt.KVQuant(8)]),
    ("KV4 per token", [qt.KVQuant(4)]),
    ("KV4 per head", [qt.KVQuant(4, "head")]),
    ("W8A8 plain (alpha 0)", [qt.W8A8(0.0)]),
    ("W8A8 SmoothQuant alpha 0.5", [qt.W8A8(0.5)]),
    ("W4 g128 GPTQ + KV8", [qt.WeightQuant(4, 128, sym=False, method="gptq"), qt.KVQuant(8)]),
    ("2:4", [pr.NMSparsity(2, 4)]),
    ("2:4 + 50 fine-tune steps", [pr.NMSparsity(2, 4, finetune_steps=50)]),
    ("1 of 4 heads pruned", [pr.HeadPrune(1)]),
    ("1 of 4 heads pruned + 50 steps", [pr.HeadPrune(1, finetune_steps=50)]),
    ("25% MLP channels pruned", [pr.ChannelPrune(0.25)]),
    ("25% MLP channels pruned + 50 steps", [pr.ChannelPrune(0.25, finetune_steps=50)]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-bytes", type=int, default=0, help="held-out bytes to evaluate (0: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    lab = TinyLMLab(eval_bytes=args.eval_bytes)
    began = time.perf_counter()
    trained = tr.trained(lab.config, lab.settings, "stdlib", lab.cache_dir)
    origin = (
        f"trained in {trained.seconds:.1f} s wall, {trained.cpu_seconds:.1f} s of CPU"
        if trained.seconds
        else "loaded from the cache"
    )
    print(f"tinylm: {origin}")
    rows = []
    for label, steps in ROWS:
        start = time.perf_counter()
        p = lab.measure(steps)
        rows.append({"technique": label, "perplexity": p.perplexity, "bits_per_byte": p.bits_per_byte})
        print(
            f"{label:36s} ppl {p.perplexity:7.3f}  bpb {p.bits_per_byte:6.3f}  ({time.perf_counter() - start:5.1f} s)"
        )
    # The fine-tunes train 50 more steps: the dense model given the same steps is their control.
    start = time.perf_counter()
    p = lab.evaluate(lab.finetune(lab.model(), 50))
    rows.append(
        {"technique": "FP32 + 50 steps (control)", "perplexity": p.perplexity, "bits_per_byte": p.bits_per_byte}
    )
    label = "FP32 + 50 steps (control)"
    print(f"{label:36s} ppl {p.perplexity:7.3f}  bpb {p.bits_per_byte:6.3f}  ({time.perf_counter() - start:5.1f} s)")
    start = time.perf_counter()
    result, same = lab.speculative(k=4, draft=DRAFT)
    print(
        f"speculative k=4, draft {DRAFT.layers}x{DRAFT.width}: acceptance {result.acceptance_rate:.3f}, "
        f"{result.tokens_per_round:.2f} bytes per target pass, equal to greedy: {same} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    start = time.perf_counter()
    lora = lab.lora_experiment(lr.LoRA(rank=8, steps=100))
    for key, p in lora.items():
        print(f"{key:36s} ppl {p.perplexity:7.3f}  bpb {p.bits_per_byte:6.3f}")
    print(f"LoRA experiment: {time.perf_counter() - start:.1f} s; all: {time.perf_counter() - began:.1f} s")
    if args.json:
        summary = {
            "rows": rows,
            "speculative": {"k": 4, "acceptance_rate": result.acceptance_rate, "equal_to_greedy": same},
            "lora": {k: v.perplexity for k, v in lora.items()},
        }
        print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
