"""tinylm measured: corpus, training, quantization, pruning, speculative decoding, LoRA.

A tiny configuration trained in about a second stands in for the full model (trained only by the
scenario and the CLI); the directions asserted are the ones the full model shows too."""

import numpy as np
import pytest

from accelsim.compress.tinylm import corpus as cp
from accelsim.compress.tinylm import lora as lr
from accelsim.compress.tinylm import model as tm
from accelsim.compress.tinylm import prune as pr
from accelsim.compress.tinylm import quant as qt
from accelsim.compress.tinylm import speculative as sp
from accelsim.compress.tinylm import train as tr
from accelsim.compress.tinylm.measure import TinyLMLab, describe, parse_steps
from accelsim.errors import InputError

TINY = tm.TinyLMConfig(layers=2, width=32, heads=2, context=32)
DRAFT = tm.TinyLMConfig(layers=1, width=16, heads=1, context=32)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    settings = tr.TrainSettings(steps=300, batch=8, learning_rate=1e-2, warmup_steps=10)
    return TinyLMLab(TINY, settings, tmp_path_factory.mktemp("cache"), calibration_windows=16, eval_bytes=6000)


def test_corpus_is_split_by_file_and_checked():
    stdlib = cp.load_corpus("stdlib")
    assert not set(stdlib.train_files) & set(stdlib.heldout_files)
    assert (len(stdlib.train), len(stdlib.heldout)) == (625_191, 90_099)
    docs = cp.load_corpus("docs")
    assert (len(docs.train), len(docs.heldout)) == (160_539, 43_459)


def test_a_changed_corpus_is_refused_naming_the_python_version(monkeypatch):
    monkeypatch.setitem(cp.DIGESTS, "docs", "0" * 64)
    with pytest.raises(InputError, match=r"differs from the shipped text of Python 3\.11\.7"):
        cp.load_corpus("docs")


def test_training_is_deterministic():
    data = cp.load_corpus().train[:20_000]
    settings = tr.TrainSettings(steps=3, batch=2)
    a, b = (tr.train(TINY, data, settings) for _ in range(2))
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_training_learns_and_is_cached(lab):
    trained = lab.model()
    untrained = tm.init_params(TINY, np.random.default_rng(0))
    assert lab.evaluate(trained).bits_per_byte < lab.evaluate(untrained).bits_per_byte - 2.5
    again = tr.trained(lab.config, lab.settings, "stdlib", lab.cache_dir)
    assert again.seconds == 0.0 and all(np.array_equal(again.params[k], trained[k]) for k in trained)


def test_round_to_nearest_lands_on_the_grid():
    w = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    for spec in (qt.WeightQuant(4, 32), qt.WeightQuant(4, 32, sym=False), qt.WeightQuant(8, 16)):
        q = qt.rtn(w, spec)
        for start in range(0, 64, spec.group):
            for column in q[start : start + spec.group].T:
                assert len(np.unique(column)) <= 2**spec.bits - (1 if spec.sym else 0)
    sym4 = qt.rtn(w, qt.WeightQuant(4, 64))
    scale = np.abs(w).max(axis=0).astype(np.float64) / 7
    steps = sym4 / scale.astype(np.float16).astype(np.float64)
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-4)


def test_gptq_beats_round_to_nearest_at_w4(lab):
    rtn = lab.measure([qt.WeightQuant(4, 32, method="rtn")])
    gptq = lab.measure([qt.WeightQuant(4, 32, method="gptq")])
    base = lab.measure()
    assert gptq.perplexity <= rtn.perplexity
    assert rtn.perplexity > base.perplexity
    assert lab.measure([qt.WeightQuant(8, 32)]).perplexity == pytest.approx(base.perplexity, rel=2e-3)


def test_kv_cache_quantization(lab):
    base = lab.measure().perplexity
    kv8, kv4 = (lab.measure([qt.KVQuant(bits)]).perplexity for bits in (8, 4))
    assert kv8 == pytest.approx(base, rel=2e-3)
    assert abs(kv4 - base) > abs(kv8 - base)
    assert lab.measure([qt.KVQuant(8, "head")]).perplexity == pytest.approx(base, rel=5e-3)


def test_kv_hooks_cache_at_most_the_levels_of_their_bits():
    x = np.random.default_rng(0).normal(size=(1, 2, 5, 16))
    hooks = qt.kv_hooks({}, qt.KVQuant(4), np.zeros((1, 1), int), 16)
    k, v = hooks.kv(0, x, 2 * x)
    for token in k.reshape(-1, 16):
        assert len(np.unique(token)) <= 15
    np.testing.assert_allclose(v, 2 * k, rtol=1e-3)


def test_w8a8_smoothquant_stays_close(lab):
    base = lab.measure().perplexity
    for alpha in (0.0, 0.5):
        assert lab.measure([qt.W8A8(alpha)]).perplexity == pytest.approx(base, rel=0.02)


def test_two_of_four_masks_keep_exactly_two_of_every_four(lab):
    params, _ = lab.apply([pr.NMSparsity(2, 4, finetune_steps=5)])
    for name in qt.linear_names(params):
        w = params[name + ".weight"]
        nonzero = (w.reshape(w.shape[0] // 4, 4, w.shape[1]) != 0).sum(axis=1)
        assert (nonzero == 2).all(), name
    pruned = lab.measure([pr.NMSparsity(2, 4)]).perplexity
    tuned = lab.measure([pr.NMSparsity(2, 4, finetune_steps=40)]).perplexity
    # The tiny model is undertrained, so the fine-tune may even beat the dense model.
    assert lab.measure().perplexity < pruned and tuned < pruned


def test_structured_pruning_gives_a_smaller_dense_decoder(lab):
    params, _ = lab.apply([pr.HeadPrune(1), pr.ChannelPrune(0.25)])
    shape = pr.decoder_of(params, TINY.head_dim)
    assert (shape.heads, shape.intermediate_size) == (1, 96)
    assert shape.parameter_count == tm.parameter_count(params)
    assert lab.evaluate(params).perplexity > lab.measure().perplexity


def test_speculative_decoding_equals_greedy_decoding(lab):
    target = sp.Decoder({k: v.astype(np.float64) for k, v in lab.model().items()}, TINY.head_dim)
    draft = sp.Decoder({k: v.astype(np.float64) for k, v in lab.model(DRAFT).items()}, DRAFT.head_dim)
    prompt = [int(b) for b in cp.load_corpus().heldout[:8]]
    result = sp.speculative(target, draft, prompt, 24, k=3)
    assert result.tokens == sp.greedy(target, prompt, 24)
    assert result.target_passes == result.rounds and result.accepted + result.rounds == 24
    assert 0.0 <= result.acceptance_rate <= 1.0
    # A draft that is the target itself is always accepted: k + 1 bytes per pass.
    same = sp.speculative(target, target, prompt, 24, k=3)
    assert (same.acceptance_rate, same.tokens_per_round) == (1.0, 4.0)
    assert sp.expected_tokens_per_round(1.0, 3) == 4.0


def test_speculative_measurement_reports_acceptance(lab):
    result, same = lab.speculative(k=3, draft=DRAFT, prompts=2, prompt_bytes=8, new_tokens=24)
    assert len(result.tokens) == 48 and result.accepted + result.rounds == 48
    assert isinstance(same, bool)
    from accelsim.compress.tinylm import tinylm_acceptance_rate

    assert tinylm_acceptance_rate(3, lab, DRAFT) == pytest.approx(lab.speculative(k=3, draft=DRAFT)[0].acceptance_rate)


def test_merged_and_unmerged_lora_give_the_same_logits(lab):
    base = {k: v.astype(np.float64) for k, v in lab.model().items()}
    spec = lr.LoRA(rank=4, steps=5, batch=4)
    adapters = lr.finetune(base, cp.load_corpus("docs").train, spec, TINY.head_dim)
    assert any(np.abs(b).max() > 0 for _, b, _ in adapters.values())
    tokens = cp.load_corpus("docs").heldout[:32][None, :]
    unmerged = tm.forward(base, tokens, TINY.head_dim, tm.Hooks(adapters=adapters))[0]
    merged = tm.forward(lr.merge(base, adapters), tokens, TINY.head_dim)[0]
    np.testing.assert_allclose(unmerged, merged, rtol=1e-10, atol=1e-10)
    assert lr.adapter_parameters(adapters) == 2 * 4 * ((32 + 96) + (32 + 32) + (32 + 128) + (128 + 32))


def test_lora_adapts_to_the_second_corpus(lab):
    out = lab.lora_experiment(lr.LoRA(rank=4, steps=40, batch=8, learning_rate=5e-3))
    assert out["lora/docs"].perplexity < out["base/docs"].perplexity
    assert out["full/docs"].perplexity < out["base/docs"].perplexity


def test_pipeline_text_round_trips():
    steps = parse_steps("wq(bits=4, group=128, sym=false, method=gptq) -> kv(8, granularity=head) -> nm(2, 4)")
    assert steps == [qt.WeightQuant(4, 128, False, "gptq"), qt.KVQuant(8, "head"), pr.NMSparsity(2, 4)]
    assert parse_steps(" -> ".join(describe(s) for s in steps)) == steps
    with pytest.raises(InputError, match="steps: wq, kv"):
        parse_steps("quantize(4)")
    with pytest.raises(InputError, match="wq: bits must be"):
        parse_steps("wq(bits=5)")


def test_the_provider_measures_transforms_named_like_accelsim_methods(lab):
    from types import SimpleNamespace

    from accelsim.compress.tinylm.provider import MeasuredPerplexity

    provider = MeasuredPerplexity(lab)
    wq = SimpleNamespace(method="wq", bits=4, group=32, sym=False, algo="gptq", layers=None)
    heads = SimpleNamespace(method="heads", ratio=0.5, layers=None)
    speculative = SimpleNamespace(method="speculative", k=4, acceptance=0.7)
    got = provider.estimate("tinylm", [wq, heads, speculative])
    want = lab.measure([qt.WeightQuant(4, 32, False, "gptq"), pr.HeadPrune(1)])
    assert got == want and got.kind == "measured"
    assert provider.estimate("tinylm", "kv(4)") == lab.measure([qt.KVQuant(4)])
    nothing = [SimpleNamespace(method="heads", ratio=0.1, layers=None), SimpleNamespace(method="mlp", ratio=0.0)]
    assert provider.steps(nothing) == []
    with pytest.raises(InputError, match="llama-2-7b is not measured here"):
        provider.estimate("llama-2-7b", [wq])
    with pytest.raises(InputError, match="no measurement for lowrank"):
        provider.estimate("tinylm", [SimpleNamespace(method="lowrank")])
