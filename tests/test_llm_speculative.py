"""Speculative decoding in `accelsim llm`: draft steps and verification passes on one trace, the
rounds simulated, figures per accepted token and the closed form they follow."""

import json
import math
import re

import pytest
from test_llm import ROOMY, TINY

from accelsim.cli import main
from accelsim.compress.methods.speculative import (
    PassCost,
    enumerated_tokens,
    expected_tokens,
    per_token,
    split_generation,
)
from accelsim.compress.spec import parse_pipeline
from accelsim.errors import InputError
from accelsim.metrics.generation import step_spans
from accelsim.study.llm import generation_network, simulate_generation
from accelsim.study.speculative import speculative_plan
from accelsim.workload.decoder import decode_step, decoder, verify_step
from accelsim.workload.speculative import is_draft_layer, round_contexts, rounds_needed, speculative_layout

SPEC = "speculative(draft=distill(0.5), k=3, acceptance=0.6)"
SCALARS = [
    "time_to_first_token_s",
    "time_per_output_token_s",
    "tokens_per_s",
    "energy_per_token_j",
    "prefill_energy_j",
    "kv_cache_bytes",
]


def _plan(text: str, prompt: int = 8, generate: int = 6, config=TINY):
    layered, generation_level = split_generation(parse_pipeline(text))
    return speculative_plan(config, prompt, generate, generation_level[0], layered)


@pytest.fixture(scope="module")
def tiny_run():
    return simulate_generation(TINY, 8, 6, ROOMY, compress=SPEC)


# --- the workload: verification passes and the rounds simulated -------------------------------------


def test_verify_step_of_one_token_is_a_decode_step():
    assert verify_step(TINY, 11, 1).layers == decode_step(TINY, 11).layers
    net = verify_step(TINY, 11, 4, batch=2)
    scores = next(layer for layer in net.layers if layer.name == "layers.0.attn.scores")
    group = TINY.heads // TINY.kv_heads
    # 4 query rows per sequence over 11 cached + 4 keys; logits at each of the 4 tokens.
    assert (scores.batch, scores.m, scores.n) == (2 * TINY.kv_heads, 4 * group, 15)
    assert net.layers[-1].name == "lm_head" and net.layers[-1].tokens == 2 * 4
    with pytest.raises(InputError, match=r"context \+ verified tokens must be an integer in \[1, 64\]"):
        verify_step(TINY, 61, 4)


def test_rounds_cover_the_generation_at_the_expected_rate():
    e = expected_tokens(4, 0.7)  # 2.77310
    assert rounds_needed(16, e) == 6 == math.ceil(16 / e)
    # c_r = 64 + floor(r x 2.77310): 0, 2.77, 5.55, 8.32, 11.09, 13.87
    assert round_contexts(64, 16, e) == (64, 66, 69, 72, 75, 77)
    # acceptance 0: one token per round, as plain decoding; float noise never moves a boundary
    assert round_contexts(64, 5, expected_tokens(4, 0.0)) == (64, 65, 66, 67, 68)
    assert rounds_needed(6, 3.0000000000000004) == 2 and rounds_needed(0, 2.5) == 0


def test_layout_names_each_phase():
    layout = speculative_layout(TINY, TINY, 8, 6, 1, 3, expected_tokens(3, 0.6))
    assert layout.contexts == (8, 10, 12) and layout.phases == 1 + 3 * 4
    assert layout.phase_kinds == ("prefill", *(("draft",) * 3 + ("verify",)) * 3)
    assert layout.phase_contexts == (0, 8, 9, 10, 8, 10, 11, 12, 10, 12, 13, 14, 12)
    with pytest.raises(InputError, match=r"prompt \+ generate \+ k must be <= 64, the context of the target tiny"):
        speculative_layout(TINY, TINY, 50, 12, 1, 3, 2.0)


# --- the network: target and draft passes, transforms -----------------------------------------------


def test_network_interleaves_draft_steps_and_verifications():
    plan = _plan(SPEC)
    names = [layer.name for layer in plan.network.layers]
    prefill = [n for n in names if n.startswith("prefill/")]
    # phase 0: the target's prompt pass, then the draft's
    assert prefill[0] == "prefill/layers.0.input_norm" and prefill[-1] == "prefill/draft/lm_head"
    for phase, kind in enumerate(plan.layout.phase_kinds[1:], start=1):
        layers = [n for n in names if n.startswith(f"step{phase}/")]
        assert all(is_draft_layer(n) == (kind == "draft") for n in layers)
    verify = next(layer for layer in plan.network.layers if layer.name == "step4/lm_head")
    draft = next(layer for layer in plan.network.layers if layer.name == "step1/draft/layers.1.mlp.up_proj")
    assert verify.tokens == 4  # k + 1 logits
    assert draft.out_features == TINY.intermediate_size // 2  # the student: distill(0.5)
    assert [s.method for s in plan.network.provenance] == ["speculative"]


def test_formats_apply_to_the_draft_and_adapters_stay_with_the_target():
    plan = _plan(f"wq(bits=4, group=16) -> lora(rank=4) -> {SPEC}")
    layers = {layer.name: layer for layer in plan.network.layers}
    assert "step4/layers.0.self_attn.q_proj.lora_a" in layers
    assert not any(".lora_" in name for name in layers if is_draft_layer(name))
    plain = {layer.name: layer for layer in _plan(SPEC).network.layers}
    for name in ("step4/layers.1.mlp.down_proj", "step1/draft/layers.1.mlp.down_proj"):
        # FP16 (2 bytes a weight) -> 4 bits a weight and a 16-bit scale per 16: 5/16 of the bytes
        assert layers[name].weight_bytes * 16 == plain[name].weight_bytes * 5
    assert [s.method for s in plan.network.provenance] == ["wq", "lora", "speculative"]


def test_a_named_draft_is_that_decoder():
    plan = _plan("speculative(draft=gpt2, k=2, acceptance=0.5)", config=decoder("llama-3.2-1b"))
    assert plan.draft_parameters == 124_439_808
    draft = next(layer for layer in plan.network.layers if layer.name == "step1/draft/layers.0.attn.c_attn")
    assert draft.out_features == 3 * 768
    with pytest.raises(InputError, match="draft must be a decoder .* or distill"):
        _plan("speculative(draft=resnet20)")


# --- figures: closed form and simulated expectation -------------------------------------------------


def test_closed_form_equals_the_simulated_expectation(tiny_run):
    f = tiny_run.figures
    g = f.generation
    kinds = f.phase_kinds
    e = expected_tokens(3, 0.6)
    assert e == pytest.approx(enumerated_tokens(3, 0.6), rel=1e-12)
    assert (f.rounds, f.tokens_per_round) == (3, e)
    # the mean passes are the simulated phases' means
    drafts = [s for s, kind in zip(g.steps, kinds[1:]) if kind == "draft"]
    verifies = [s for s, kind in zip(g.steps, kinds[1:]) if kind == "verify"]
    assert len(drafts) == 9 and len(verifies) == 3
    assert f.draft_pass.time_s == pytest.approx(sum(s.time_s for s in drafts) / 9, rel=1e-12)
    assert f.verify_pass.energy_j == pytest.approx(sum(s.energy.total_j for s in verifies) / 3, rel=1e-12)
    # per accepted token: the closed form on the mean passes = every simulated round over R x E tokens
    assert f.time_per_output_token_s == pytest.approx(g.decode.time_s / (3 * e), rel=1e-12)
    assert f.energy_per_token_j == pytest.approx(g.decode.energy.total_j / (3 * e), rel=1e-12)
    # and = the enumerated expectation over every accept/reject outcome
    by_outcomes = (3 * f.draft_pass.time_s + f.verify_pass.time_s) / enumerated_tokens(3, 0.6)
    assert f.time_per_output_token_s == pytest.approx(by_outcomes, rel=1e-12)
    assert f.tokens_per_s == pytest.approx(1 / f.time_per_output_token_s, rel=1e-12)


def test_trace_marks_draft_and_verify_phases(tiny_run):
    trace = tiny_run.trace
    spans = step_spans(trace)
    assert [k for k, _, _ in spans] == list(range(13))
    info = trace.meta["generation"]
    assert info["phase_kinds"][4] == "verify" and info["speculative"]["rounds"] == 3
    figures = tiny_run.figures
    # KV caches at the last round: the target's over 12 + 4 positions, the draft's (half width) over 14 + 1
    assert figures.target_kv_cache_bytes == TINY.kv_cache_elements(16) * 2
    assert figures.draft_kv_cache_bytes == TINY.kv_cache_elements(15) * 2 // 2
    assert figures.kv_cache_bytes == figures.target_kv_cache_bytes + figures.draft_kv_cache_bytes


def test_acceptance_zero_is_one_token_per_round():
    f = simulate_generation(TINY, 8, 4, ROOMY, compress="speculative(draft=distill(0.5), k=2, acceptance=0)").figures
    assert f.rounds == 4 and f.tokens_per_round == 1.0
    assert [c for c, kind in zip(f.phase_contexts, f.phase_kinds) if kind == "verify"] == [8, 9, 10, 11]
    # every token costs the verification and k draft steps
    assert f.time_per_output_token_s == pytest.approx(2 * f.draft_pass.time_s + f.verify_pass.time_s, rel=1e-12)
    assert f.energy_per_token_j == pytest.approx(2 * f.draft_pass.energy_j + f.verify_pass.energy_j, rel=1e-12)
    assert f.time_per_output_token_s == pytest.approx(f.generation.decode.time_s / 4, rel=1e-12)


def test_a_free_draft_and_the_k1_limit(tiny_run):
    verify = PassCost(tiny_run.figures.verify_pass.time_s, tiny_run.figures.verify_pass.energy_j)
    free = per_token(PassCost(0.0, 0.0), verify, 3, 0.6)
    # a draft that costs nothing: only the verification, over the round's expected tokens
    assert free.time_s == pytest.approx(verify.time_s / expected_tokens(3, 0.6), rel=1e-15)
    assert free.energy_j < tiny_run.figures.per_token.energy_j
    # k = 1 as a -> 1: two tokens per round, each half a draft step and half a verification
    f = simulate_generation(TINY, 8, 4, ROOMY, compress="speculative(draft=distill(0.5), k=1, acceptance=0.999999)")
    f = f.figures
    assert f.tokens_per_round == pytest.approx(2.0, abs=1e-6) and f.rounds == 3  # ceil(4 / 1.999999)
    assert f.time_per_output_token_s == pytest.approx((f.draft_pass.time_s + f.verify_pass.time_s) / 2, rel=1e-6)


def test_nothing_generated_has_no_rounds():
    f = simulate_generation(TINY, 8, 0, ROOMY, compress=SPEC).figures
    assert f.rounds == 0 and f.time_per_output_token_s is None and f.tokens_per_s is None
    assert f.draft_prefill.energy_j > 0 and f.generation.decode is None


def test_generation_network_points_to_the_speculative_path():
    with pytest.raises(InputError, match="speculative: a generation-level step"):
        generation_network(TINY, 8, 4, compress=SPEC)


# --- command line ------------------------------------------------------------------------------------


def test_cli_json_keys(capsys, tmp_path):
    path = tmp_path / "spec.npz"
    argv = ["llm", "--network", "gpt2", "--prompt", "8", "--generate", "3", "--trace", str(path)]
    assert main([*argv, "--compress", "speculative(draft=distill(0.25), k=2, acceptance=0.5)", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data)[:6] == SCALARS and all(data[key] for key in SCALARS)
    spec = data["speculative"]
    assert spec["k"] == 2 and spec["acceptance"] == 0.5 and spec["tokens_per_round"] == 1.75
    assert spec["rounds"] == 2 and spec["draft"] == "distill(width=0.25)" and spec["round_contexts"] == [8, 9]
    assert {"draft_pass", "verify_pass", "draft_parameters", "expected_tokens"} <= set(spec)
    assert [s["kind"] for s in data["steps"]] == ["draft", "draft", "verify"] * 2
    assert data["tokens_per_s"] == pytest.approx(1 / data["time_per_output_token_s"], rel=1e-12)
    assert main(["trace", "info", str(path)]) == 0
    info = capsys.readouterr().out
    assert "speculative draft distill(width=0.25), k=2, acceptance 0.5: 2 rounds" in info
    assert "verify" in info.splitlines()[-1]


def test_cli_report(capsys):
    argv = ["llm", "--network", "gpt2", "--prompt", "8", "--generate", "2"]
    assert main([*argv, "--compress", "wq(bits=4, group=128) -> speculative(draft=distill(0.25), k=2)"]) == 0
    out = capsys.readouterr().out
    assert "per accepted token" in out and "draft distill(width=0.25)" in out


def test_run_refuses_speculative(capsys):
    assert (
        main(["run", "--network", "gpt2", "--compress", "speculative(draft=distill(0.25), k=4, acceptance=0.7)"]) == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "generation-level step" in err


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("speculative(draft=distill(0.25), k=0)", r"k must be an integer in \[1, 64\]"),
        ("speculative(draft=distill(0.25), k=65)", r"k must be an integer in \[1, 64\]"),
        ("speculative(draft=distill(0.25), acceptance=1)", r"acceptance must be in \[0, 1\)"),
        ("speculative(draft=distill(0.25), acceptance=-0.1)", r"acceptance must be in \[0, 1\)"),
        ("speculative(draft=resnet20)", "draft must be a decoder"),
        ("speculative(draft=gpt2) -> speculative(draft=gpt2)", "at most one generation-level step"),
        ("speculative(draft=distill(0.25), k=8)", r"prompt \+ generate \+ k must be <= 1,024"),
    ],
)
def test_bad_speculative_input_exits_2_with_one_line(spec, message, capsys):
    argv = ["llm", "--network", "gpt2", "--prompt", "1000", "--generate", "20", "--compress", spec]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert re.search(message, err)


def test_distill_narrows_the_head_size_not_the_keys():
    distill = parse_pipeline("distill(0.5)")[0]
    for net, keys in (
        (decode_step(TINY, 11), 12),
        (verify_step(TINY, 11, 4), 15),
        (decode_step(decoder("gpt2"), 63), 64),
    ):
        student = {layer.name: layer for layer in distill(net).layers}
        scores, context = student["layers.1.attn.scores"], student["layers.1.attn.context"]
        assert scores.n == context.k == keys
        head = {layer.name: layer for layer in net.layers}["layers.1.attn.scores"].k
        assert scores.k == context.n == head // 2  # the head size, halved
