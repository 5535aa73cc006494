"""The KV cache on chip while it fits (accelsim.sim.kv_residency): the region is the activation
buffer left by the decode steps' working set; step 1 reads the whole cache from DRAM, later steps
read only the positions beyond the resident ones, byte for byte as the analytical twin says."""

import dataclasses

import numpy as np
import pytest

from accelsim.hardware import Accelerator, Buffers, Dram, MacArray
from accelsim.metrics.generation import step_spans
from accelsim.precision import Precision
from accelsim.sim import kv_residency
from accelsim.study.llm import simulate_generation
from accelsim.trace.trace import TRANSFER_KINDS
from accelsim.workload.decoder import DecoderConfig
from accelsim.workload.fused import FusedAttention
from accelsim.workload.layers import LayerError, MatMul

TINY = DecoderConfig(
    "tiny", vocab_size=96, hidden_size=32, layers=2, heads=4, kv_heads=2, intermediate_size=64, context=64
)
FP16_BYTES = 2
WEIGHT = TRANSFER_KINDS.index("weight")


def _hw(activation_bytes: int) -> Accelerator:
    return Accelerator(
        name="kv",
        mac_array=MacArray(lanes=64),
        buffers=Buffers(weight_bytes=1 << 20, activation_bytes=activation_bytes, output_bytes=1 << 20),
        dram=Dram(bandwidth_bytes_per_s=10e9, latency_ns=0.0),
    )


def _per_token(batch: int) -> int:
    """K and V of one position over every layer, FP16: the twin's bytes per resident token."""
    return TINY.kv_cache_elements(1, batch) * FP16_BYTES


def _kv_reads_per_step(run) -> list[int]:
    """DRAM bytes each decode step's attention products read as their B operand (K, V)."""
    trace = run.trace
    meta = trace.meta["generation"]
    transfers = trace.transfers
    out = []
    for step in range(1, meta["generate"] + 1):
        rows = [
            i
            for i, (s, c) in enumerate(zip(meta["layer_steps"], meta["layer_classes"]))
            if s == step and c == "attention"
        ]
        mask = np.isin(transfers["layer"], rows) & (transfers["kind"] == WEIGHT)
        out.append(int(transfers["payload_bytes"][mask].sum()))
    return out


def _working_set() -> int:
    """What TINY's decode steps hold in a roomy activation buffer (the region is the rest)."""
    roomy = 1 << 20
    return roomy - simulate_generation(TINY, 5, 2, _hw(roomy), batch=2).trace.meta["kv_on_chip"]["budget_bytes"]


def test_kv_reads_are_zero_while_the_cache_fits():
    prompt, generate, batch = 5, 4, 2
    run = simulate_generation(TINY, prompt, generate, _hw(1 << 20), batch=batch)
    kv = run.trace.meta["kv_on_chip"]
    assert kv["bytes_per_token"] == _per_token(batch)
    assert kv["resident_tokens"] == prompt + generate  # every position the generation reaches
    # Step 1 fills the region from DRAM (the prefill's tiles held the buffer); then nothing.
    assert _kv_reads_per_step(run) == [(prompt + 1) * _per_token(batch), 0, 0, 0]
    # The same generation with the cache in DRAM reads it whole every step.
    dram = simulate_generation(TINY, prompt, generate, _hw(1 << 20), batch=batch, kv_on_chip=False)
    assert _kv_reads_per_step(dram) == [(prompt + k) * _per_token(batch) for k in range(1, generate + 1)]
    assert "kv_on_chip" not in dram.trace.meta
    # Everything else moves the same bytes; the saved reads are SRAM reads of the activation buffer.
    saved = sum(_kv_reads_per_step(dram)) - sum(_kv_reads_per_step(run))
    assert dram.figures.decode.dram_read_bytes - run.figures.decode.dram_read_bytes == saved
    assert dram.figures.decode.dram_write_bytes == run.figures.decode.dram_write_bytes
    assert run.figures.decode.energy.dram_j < dram.figures.decode.energy.dram_j
    counters = [run.trace.meta["counters"], dram.trace.meta["counters"]]
    sram = [sum(c["sram_activation_read_bytes"] for c in cs) for cs in counters]
    assert sram[0] - sram[1] == saved


@pytest.mark.parametrize("resident", [0, 3, 7])
def test_overflow_goes_to_dram_byte_for_byte(resident):
    prompt, generate, batch = 5, 5, 2
    per_token = _per_token(batch)
    activation = _working_set() + resident * per_token + per_token // 2  # room for `resident` positions
    run = simulate_generation(TINY, prompt, generate, _hw(activation), batch=batch)
    kv = run.trace.meta["kv_on_chip"]
    assert kv["budget_bytes"] == activation - _working_set()
    assert kv["resident_tokens"] == resident
    # The twin: step k attends over prompt + k positions; from step 2 the first `resident` are on chip.
    twin = [(prompt + 1) * per_token] + [(prompt + k - resident) * per_token for k in range(2, generate + 1)]
    assert _kv_reads_per_step(run) == twin
    # Past the overflow, KV reads grow by one position per step.
    assert np.diff(_kv_reads_per_step(run)[1:]).tolist() == [per_token] * (generate - 2)


def test_the_region_never_crowds_the_working_set():
    """The decode steps' activation buffer occupancy plus the resident cache fits the buffer."""
    per_token = _per_token(2)
    activation = _working_set() + 4 * per_token
    run = simulate_generation(TINY, 5, 4, _hw(activation), batch=2)
    trace = run.trace
    (_, decode_start, _), *_ = step_spans(trace)[1:]
    peak = int(trace.expand("buf.activation", decode_start, trace.end_cycle).max())
    resident = trace.meta["kv_on_chip"]["resident_tokens"] * per_token
    assert resident > 0 and peak + resident <= activation


def test_quantized_and_fused_caches_count_their_stored_bytes():
    """An 8-bit cache holds about twice the positions of an FP16 one; a fused attention's
    resident keys bring their values along."""
    hw = _hw(_working_set() + 6 * _per_token(2))
    fp16 = simulate_generation(TINY, 5, 8, hw, batch=2).trace.meta["kv_on_chip"]
    int8 = simulate_generation(TINY, 5, 8, hw, batch=2, compress="kv(8)").trace.meta["kv_on_chip"]
    assert fp16["resident_tokens"] == 6 and int8["resident_tokens"] > 6
    fused = simulate_generation(TINY, 5, 8, hw, batch=2, compress="fuse(attention)")
    assert fused.trace.meta["kv_on_chip"]["bytes_per_token"] == _per_token(2)
    reads = _kv_reads_per_step(fused)
    assert reads[1:] == [(5 + k - 6) * _per_token(2) if 5 + k > 6 else 0 for k in range(2, 9)]


def test_resident_keys_are_checked_and_split_tiles_exactly():
    with pytest.raises(LayerError, match="resident_keys must be in \\[0, 8\\]"):
        MatMul("s", batch=2, m=2, k=8, n=8, keys_axis="n", resident_keys=9)
    with pytest.raises(LayerError, match="resident_keys"):
        MatMul("s", batch=2, m=2, k=8, n=8, resident_keys=1)  # no keys axis
    with pytest.raises(LayerError, match="resident_keys"):
        FusedAttention("f", batch=1, m=1, d=8, keys=4, resident_keys=5)
    scores = MatMul("s", batch=2, m=2, k=8, n=10, keys_axis="n", resident_keys=4).with_precision(
        Precision.FP16, Precision.FP16
    )
    context = dataclasses.replace(scores, k=10, n=8, keys_axis="k")
    fused = FusedAttention("f", batch=2, m=2, d=8, keys=10, resident_keys=4).with_precision(
        Precision.FP16, Precision.FP16
    )
    for layer in (scores, context, fused):
        assert layer.b_on_chip_bytes == 2 * 8 * 4 * FP16_BYTES * (2 if layer is fused else 1)
    assert scores.b_on_chip_block_bytes(2, 0, 8, 2, 6) == 2 * 8 * 2 * FP16_BYTES  # keys 2, 3 of [2, 6)
    assert scores.b_on_chip_block_bytes(2, 0, 8, 4, 10) == 0
    assert context.b_on_chip_block_bytes(1, 3, 9, 0, 8) == 1 * 1 * 8 * FP16_BYTES  # key 3 of [3, 9)
    assert kv_residency.is_kv_product(scores) and not kv_residency.is_kv_product(MatMul("p", batch=2, m=2, k=8, n=8))


def test_report_and_json_state_the_cache_held_on_chip():
    from accelsim.cli.llm import format_generation

    run = simulate_generation(TINY, 5, 3, _hw(1 << 20), batch=2)
    assert run.figures.kv_on_chip == run.trace.meta["kv_on_chip"]
    assert run.figures.as_dict()["kv_on_chip"]["resident_tokens"] == 5 + 3
    line = f"first 8 positions ({_per_token(2):,} bytes each, region {run.figures.kv_on_chip['budget_bytes']:,} bytes)"
    assert line in format_generation(run.figures)
    dram = simulate_generation(TINY, 5, 3, _hw(1 << 20), batch=2, kv_on_chip=False).figures
    assert dram.kv_on_chip is None and dram.as_dict()["kv_on_chip"] is None
    assert "KV cache on chip" not in format_generation(dram)


# --- speculative generations: the target's and the draft's caches share the region -------------

#: A round of two proposals at acceptance 0 (one token a round: round r starts at context P + r);
#: the draft, distill(0.5) of TINY, halves the head dim and keeps the KV heads.
SPEC = "speculative(draft=distill(0.5), k=2, acceptance=0)"
SPEC_K = 2


def _draft_per_token(batch: int) -> int:
    return _per_token(batch) // 2


def _phase_kv_reads(run) -> list[tuple[str, int]]:
    """(kind, DRAM bytes of K and V read) of each phase after the prompt passes."""
    trace, meta = run.trace, run.trace.meta["generation"]
    transfers = trace.transfers
    out = []
    for phase in range(1, len(meta["phase_kinds"])):
        rows = [
            i
            for i, (s, c) in enumerate(zip(meta["layer_steps"], meta["layer_classes"]))
            if s == phase and c == "attention"
        ]
        mask = np.isin(transfers["layer"], rows) & (transfers["kind"] == WEIGHT)
        out.append((meta["phase_kinds"][phase], int(transfers["payload_bytes"][mask].sum())))
    return out


def _speculative_twin(prompt: int, generate: int, batch: int, resident: int | None) -> list[tuple[str, int]]:
    """The DRAM K and V each phase reads: a draft step at context c reads c + 1 positions, the
    verification of round r (context c) c + k + 1; each model's first phase reads its whole cache
    (it fills its share of the region), its later ones only the positions from `resident` on
    (None: the cache in DRAM)."""
    out = []
    for r in range(generate):
        c = prompt + r
        for kind, keys, per_token in [("draft", c + i + 1, _draft_per_token(batch)) for i in range(SPEC_K)] + [
            ("verify", c + SPEC_K + 1, _per_token(batch))
        ]:
            first = r == 0 and (kind == "verify" or keys == c + 1)
            held = 0 if resident is None or first else min(resident, keys)
            out.append((kind, (keys - held) * per_token))
    return out


def _speculative_working_set(prompt: int, generate: int, batch: int) -> int:
    roomy = 1 << 20
    run = simulate_generation(TINY, prompt, generate, _hw(roomy), batch=batch, compress=SPEC)
    return roomy - run.trace.meta["kv_on_chip"]["budget_bytes"]


@pytest.mark.parametrize("resident", [0, 3, 7])
def test_speculative_caches_share_the_region_byte_for_byte(resident):
    prompt, generate, batch = 5, 3, 2
    both = _per_token(batch) + _draft_per_token(batch)
    activation = _speculative_working_set(prompt, generate, batch) + resident * both + both // 2
    run = simulate_generation(TINY, prompt, generate, _hw(activation), batch=batch, compress=SPEC)
    kv = run.trace.meta["kv_on_chip"]
    assert (kv["resident_tokens"], kv["bytes_per_token"], kv["draft_bytes_per_token"]) == (
        resident,
        both,
        _draft_per_token(batch),
    )
    assert _phase_kv_reads(run) == _speculative_twin(prompt, generate, batch, resident)
    # With the caches in DRAM (the rule off) every phase reads its whole cache.
    dram = simulate_generation(TINY, prompt, generate, _hw(activation), batch=batch, compress=SPEC, kv_on_chip=False)
    assert _phase_kv_reads(dram) == _speculative_twin(prompt, generate, batch, None)
    assert "kv_on_chip" not in dram.trace.meta
    # Only K and V reads move: they become SRAM reads of the activation buffer.
    saved = sum(b for _, b in _phase_kv_reads(dram)) - sum(b for _, b in _phase_kv_reads(run))
    assert (saved > 0) == (resident > 0)
    decode = [x.figures.generation.decode for x in (dram, run)]
    assert decode[0].dram_read_bytes - decode[1].dram_read_bytes == saved
    assert decode[0].dram_write_bytes == decode[1].dram_write_bytes
    sram = [sum(c["sram_activation_read_bytes"] for c in x.trace.meta["counters"]) for x in (run, dram)]
    assert sram[0] - sram[1] == saved


def test_each_cache_counts_only_the_positions_it_reads():
    """The target's last verification reads P + G + k positions, the draft's last step one fewer:
    a region of exactly both caches whole holds every position; a byte less, one position fewer."""
    prompt, generate, batch = 5, 3, 2
    most = prompt + generate + SPEC_K
    whole = most * _per_token(batch) + (most - 1) * _draft_per_token(batch)
    base = _speculative_working_set(prompt, generate, batch)
    for extra, resident in ((0, most), (-1, most - 1)):
        hw = _hw(base + whole + extra)
        run = simulate_generation(TINY, prompt, generate, hw, batch=batch, compress=SPEC)
        assert run.trace.meta["kv_on_chip"]["resident_tokens"] == resident
        assert _phase_kv_reads(run) == _speculative_twin(prompt, generate, batch, resident)


def test_speculative_report_and_json_state_the_shared_region():
    from accelsim.cli.llm import format_speculative

    run = simulate_generation(TINY, 5, 3, _hw(1 << 20), batch=2, compress=SPEC)
    kv = run.figures.as_dict()["kv_on_chip"]
    assert kv == run.trace.meta["kv_on_chip"] and kv["resident_tokens"] == 5 + 3 + SPEC_K
    t, d = _per_token(2), _draft_per_token(2)
    line = f"first {5 + 3 + SPEC_K} positions of both caches ({t + d:,} bytes each: target {t:,}, draft {d:,};"
    assert line in format_speculative(run.figures)
    dram = simulate_generation(TINY, 5, 3, _hw(1 << 20), batch=2, compress=SPEC, kv_on_chip=False).figures
    assert dram.as_dict()["kv_on_chip"] is None and "KV cache on chip" not in format_speculative(dram)
