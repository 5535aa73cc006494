"""`accelsim advise`: the search finds the exact front of a space it can enumerate, resumes
after a kill as if uninterrupted, gives the same results for any worker count, never simulates
a pipeline twice, and its command line refuses bad input in one line."""

from __future__ import annotations

import dataclasses
import json

import pytest

pytest.importorskip("optuna")

from accelsim.cli import main  # noqa: E402
from accelsim.errors import InputError  # noqa: E402
from accelsim.study.advise import (  # noqa: E402
    OBJECTIVES,
    AdviseSettings,
    Constraints,
    advise,
    exhaustive,
    hypervolume_2d,
    pareto_front,
)
from accelsim.study.executors import InProcessExecutor, ProcessPoolExecutor  # noqa: E402
from accelsim.study.space import SearchSpace, SpaceOptions  # noqa: E402
from accelsim.study.store import read_records  # noqa: E402

#: A space small enough to enumerate: uniform INT8/INT4, prune 50%, distill 50%, in any order.
SMALL = SpaceOptions(
    weight_precisions=("int8", "int4"),
    activation_precisions=("int8",),
    quantize_modes=("off", "uniform"),
    prune_ratios=(0.5,),
    prune_modes=("off", "uniform"),
    sparsities=(),
    nm=False,
    distill_widths=(0.5,),
    distill_depths=(1.0,),
    lowrank_ratios=(),
    tucker_ratios=(),
)


def _settings(**kw) -> AdviseSettings:
    base = dict(network="resnet20", budget=24, batch_size=8, seed=3)
    return AdviseSettings(**{**base, **kw})


def _vectors(candidates, objectives=("accuracy", "energy")):
    return sorted(tuple(OBJECTIVES[n].get(c) for n in objectives) for c in candidates)


def test_small_space_decodes_to_every_ordered_pipeline():
    space = SearchSpace.build("resnet20", SMALL)
    texts = {space.decode(values) for values in space.combinations()}
    # baseline; 2 quantizations, prune, distill; pairs in both orders (4 + 4 + 2); triples in 6 orders (x2)
    assert len(texts) == 1 + 4 + 10 + 12
    assert "quantize(w=int4, a=int8) -> prune(0.5) -> distill(0.5)" in texts
    assert "distill(0.5) -> prune(0.5) -> int8" in texts


def test_search_finds_the_exact_front_of_an_enumerable_space(tmp_path):
    settings = _settings(budget=27, options=SMALL)
    truth = exhaustive(SearchSpace.build("resnet20", SMALL), settings, tmp_path / "all.jsonl")
    assert len(truth) == 27
    result = advise(settings, tmp_path / "store.jsonl", progress=False)
    assert _vectors(result.front) == _vectors(pareto_front(truth, ("accuracy", "energy")))
    # without the corners and pairs, the sampler alone finds the same front (converging, or
    # spending the budget when its path visits the whole space)
    alone = advise(dataclasses.replace(settings, corners=False, pairs=False), tmp_path / "alone.jsonl", progress=False)
    assert _vectors(alone.front) == _vectors(result.front)
    converged = alone.stopped.startswith("converged: 10 batches in a row") and len(alone.evaluated) < 27
    assert converged or (alone.stopped == "budget spent" and len(alone.evaluated) == 27)
    # every pipeline was simulated once, though the sampler proposed many again
    assert len(result.evaluated) < result.proposals
    assert result.stopped == "budget spent" or result.stopped.startswith("converged: 10 batches in a row")
    assert len(read_records(tmp_path / "store.jsonl")) == result.simulated == len(result.evaluated)


def test_a_pipeline_already_in_the_store_is_not_simulated_again(tmp_path):
    first = advise(_settings(), tmp_path / "store.jsonl", progress=False)
    again = advise(_settings(), tmp_path / "store.jsonl", progress=False)
    assert first.simulated == 24 and again.simulated == 0
    assert [c.pipeline for c in again.evaluated] == [c.pipeline for c in first.evaluated]


class _Stop(Exception):
    pass


def test_a_killed_search_resumes_as_if_uninterrupted(tmp_path):
    whole = advise(_settings(), tmp_path / "a.jsonl", storage=str(tmp_path / "a.journal"), progress=False)

    def kill(batch: int) -> None:
        if batch == 1:
            raise _Stop

    journal = str(tmp_path / "b.journal")
    with pytest.raises(_Stop):
        advise(_settings(), tmp_path / "b.jsonl", storage=journal, progress=False, after_batch=kill)
    resumed = advise(_settings(), tmp_path / "b.jsonl", storage=journal, progress=False)
    assert [c.pipeline for c in resumed.evaluated] == [c.pipeline for c in whole.evaluated]
    assert resumed.front == whole.front and resumed.proposals == whole.proposals


class _DiesAfter(InProcessExecutor):
    """Evaluates `count` points, then the process 'dies' in the middle of a batch."""

    def __init__(self, count: int) -> None:
        self.count = count

    def map_unordered(self, fn, items):
        for item in items:
            if self.count == 0:
                raise KeyboardInterrupt
            self.count -= 1
            yield fn(item)


def test_a_search_killed_inside_a_batch_resumes_as_if_uninterrupted(tmp_path):
    whole = advise(_settings(), tmp_path / "a.jsonl", storage=f"sqlite:///{tmp_path}/a.db", progress=False)
    storage = f"sqlite:///{tmp_path}/b.db"
    with pytest.raises(KeyboardInterrupt):
        advise(_settings(), tmp_path / "b.jsonl", executor=_DiesAfter(11), storage=storage, progress=False)
    resumed = advise(_settings(), tmp_path / "b.jsonl", storage=storage, progress=False)
    assert [c.pipeline for c in resumed.evaluated] == [c.pipeline for c in whole.evaluated]
    assert resumed.front == whole.front and resumed.proposals == whole.proposals
    assert resumed.simulated == 24 - 11  # the 11 stored before the kill are not simulated again


@pytest.mark.parametrize("sampler", ["tpe", "nsga2"])
def test_same_results_for_one_and_two_workers(tmp_path, sampler):
    settings = _settings(budget=16, sampler=sampler)
    one = advise(settings, tmp_path / "one.jsonl", progress=False)
    with ProcessPoolExecutor(2) as pool:
        two = advise(settings, tmp_path / "two.jsonl", executor=pool, progress=False)
    assert [c.as_dict() for c in two.evaluated] == [c.as_dict() for c in one.evaluated]
    assert two.front == one.front and two.recommended == one.recommended


def test_constraints_pick_the_recommendation_and_say_why(tmp_path):
    settings = _settings(constraints=Constraints(min_accuracy=0.85), budget=25)
    result = advise(settings, tmp_path / "store.jsonl", progress=False)
    assert all(c.accuracy >= 0.85 for c in result.front)
    best = max(result.front, key=lambda c: c.accuracy_per_joule)
    assert result.recommended == best
    assert result.reason.startswith(f"{best.pipeline} wins: on the Pareto front of the ")
    assert "that meet accuracy >= 0.85, it has the highest accuracy per joule" in result.reason
    impossible = advise(
        _settings(constraints=Constraints(min_accuracy=0.99), budget=8), tmp_path / "s2.jsonl", progress=False
    )
    assert impossible.recommended is None and impossible.front == ()
    assert impossible.reason.startswith("no evaluated configuration meets accuracy >= 0.99")


def test_hypervolume_2d_of_a_known_staircase():
    from accelsim.study.advise import Candidate

    points = [Candidate("a", 0.9, "modelled", 2.0, 1, 1, 1), Candidate("b", 0.5, "modelled", 1.0, 1, 1, 1)]
    # accuracy (max) against energy (min), reference accuracy 0, energy 3: 0.9 x 1 + 0.5 x 1
    assert hypervolume_2d(points, ("accuracy", "energy"), (0.0, 3.0)) == pytest.approx(1.4)


def test_json_output_has_the_documented_keys(tmp_path, capsys):
    code = main(
        [
            "advise",
            "--network",
            "resnet20",
            "--budget",
            "8",
            "--batch",
            "8",
            "--no-per-layer",
            "--store",
            str(tmp_path / "s.jsonl"),
            "--json",
            "--no-progress",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    keys = {
        "pipeline",
        "accuracy",
        "accuracy_source",
        "energy_j",
        "latency_s",
        "size_bytes",
        "carbon_gco2e_per_million",
    }
    assert set(data["recommended"]) == keys and all(set(p) == keys for p in data["front"])
    assert data["recommended"]["accuracy_source"] == "modelled"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--network", "nope"], "accelsim: error: network: unknown 'nope'"),
        (["--network", "resnet20", "--min-accuracy", "1.5"], "accelsim: error: argument --min-accuracy"),
        (["--network", "resnet20", "--objective", "speed"], "accelsim: error: argument --objective"),
        (["--network", "resnet20", "--budget", "0"], "accelsim: error: argument --budget"),
        (["--network", "resnet20", "--storage", "/no/such/dir/a.journal"], "accelsim: error: --storage: directory"),
        (["--network", "resnet20", "--accuracy", "magic"], "accelsim: error: accuracy: must be"),
        (["--network", "resnet20", "--hardware", "nope"], "accelsim: error:"),
        (["--network", "tinylm", "--min-accuracy", "0.9"], "accelsim: error: --objective: tinylm is a decoder"),
        (
            ["--network", "gpt2", "--speculative-acceptance", "1"],
            "accelsim: error: advise space: speculative_acceptance",
        ),
    ],
)
def test_cli_errors_exit_2_with_one_line(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) if "argument" in message else _no_exit():
        code = main(["advise", *args, "--store", str(tmp_path / "s.jsonl"), "--no-progress"])
        assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


class _no_exit:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_bad_settings_are_one_line_errors():
    with pytest.raises(InputError, match="--objective: unknown 'speed'"):
        AdviseSettings("resnet20", objectives=("speed",))
    with pytest.raises(InputError, match="--budget: must be an integer >= 1"):
        AdviseSettings("resnet20", budget=0)


def test_the_advise_scenario_on_its_quick_grid(tmp_path):
    import importlib

    scenario = importlib.import_module("advise")  # scenarios/advise.py
    assert scenario.main(["--quick", "--workers", "1", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "summary.md").read_text()
    assert "| resnet20 | modelled |" in text and "budget 48 distinct pipelines, seeds 0, 1" in text
    assert (tmp_path / "resnet20.png").exists() and (tmp_path / "hypervolume.png").exists()


def test_the_digits_cnn_is_searched_with_measured_accuracy(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.setenv("ACCELSIM_CACHE", str(tmp_path / "cache"))
    settings = AdviseSettings("digits-cnn", budget=4, batch_size=4)
    assert settings.accuracy_spec == "measured"
    result = advise(settings, tmp_path / "store.jsonl", progress=False)
    # the first batch is the corners: the baseline, then FP16 alike and FP16 weights only, INT8
    assert [c.pipeline for c in result.evaluated] == ["baseline", "fp16", "quantize(w=fp16, a=fp32)", "int8"]
    assert {c.accuracy_source for c in result.evaluated} == {"measured"}
    assert AdviseSettings("resnet20").accuracy_spec == "parametric:0.9125"


def _random_values(space: SearchSpace, seed: int, **fixed):
    import random

    rng = random.Random(seed)
    return {**{d.name: rng.choice(d.choices) for d in space.dimensions}, **fixed}


@pytest.mark.parametrize("network", ["resnet20", "digits-cnn", "tinylm", "gpt2"])
def test_pipeline_texts_of_the_space_parse_and_round_trip(network):
    from accelsim.compress.spec import canonical, parse_pipeline

    space = SearchSpace.build(network, SpaceOptions(speculative_acceptance=0.6))
    texts = set()
    for seed in range(40):
        try:
            texts.add(space.decode(_random_values(space, seed)))
        except InputError:
            continue
    assert len(texts) > 10
    for text in texts:
        steps = 0 if text == "baseline" else text.count("->") + 1
        assert canonical(text) == text and len(parse_pipeline(text)) == steps


def test_per_layer_unstructured_pruning_ratios():
    space = SearchSpace.build("resnet20")
    names = [d.name for d in space.dimensions if d.name.startswith("sparsity.r.")]
    assert "per-layer" in next(d.choices for d in space.dimensions if d.name == "sparsity.kind")
    assert names[:2] == ["sparsity.r.conv1", "sparsity.r.layer1.0.conv1"] and len(names) == 22  # 19 + 2 + fc
    values = {d.name: d.choices[0] for d in space.dimensions}
    values |= {"quantize.mode": "off", "prune.mode": "off", "sparsity.kind": "per-layer", "sparsity.format": "csr"}
    values |= {name: 0.0 for name in names} | {
        "sparsity.r.conv1": 0.9,
        "sparsity.r.fc": 0.9,
        "sparsity.r.layer2.0.conv1": 0.5,
    }
    assert (
        space.decode(values) == "sparsify(0.9, csr, layers=[conv1, fc]) -> sparsify(0.5, csr, layers=[layer2.0.conv1])"
    )
    # after a low-rank step the ratios name its factors
    values |= {"lowrank.ratio": 0.5, "order.lowrank": 0, "order.sparsity": 1, "order.quantize": 1}
    assert space.decode(values) == (
        "lowrank(0.5) -> sparsify(0.9, csr, layers=[conv1.u, conv1.v, fc.u, fc.v]) -> "
        "sparsify(0.5, csr, layers=[layer2.0.conv1.u, layer2.0.conv1.v])"
    )
    assert not any(
        d.name.startswith("sparsity.r.")
        for d in SearchSpace.build("resnet20", SpaceOptions(sparsity_per_layer=False)).dimensions
    )


def test_the_search_starts_from_the_corners_then_the_pairs():
    space = SearchSpace.build("resnet20")
    corners = [space.decode(v) for v in space.corners()]
    pairs = [space.decode(v) for v in space.pairs()]
    assert corners[:4] == ["baseline", "fp16", "quantize(w=fp16, a=fp32)", "int8"] and len(corners) == 24
    # each method alone at each uniform value (17), then FP16, INT8 or INT4
    assert len(pairs) == 17 * 3 and pairs[:3] == ["prune(0.25) -> fp16", "prune(0.25) -> int8", "prune(0.25) -> int4"]
    assert "nm(2, 4) -> int8" in pairs and "tucker(0.25) -> int4" == pairs[-1]


def test_decoder_space_has_the_llm_transforms_in_a_working_order():
    space = SearchSpace.build("tinylm")
    assert [d.name for d in space.dimensions] == [
        "heads.ratio",
        "mlp.ratio",
        "nm",
        "weights",
        "lora.mode",
        "fuse",
        "kv.bits",
    ]
    with_speculative = SearchSpace.build("tinylm", SpaceOptions(speculative_acceptance=0.6))
    values = {d.name: d.choices[-1] for d in with_speculative.dimensions} | {"fuse": "elementwise"}
    assert with_speculative.decode(values) == (
        "heads(0.5) -> mlp(0.5) -> nm(2, 4) -> w8a8(0.5) -> lora(rank=8, targets=[q, v], mode=unmerged) -> "
        "fuse(elementwise) -> kv(4) -> speculative(draft=distill(0.5), k=4, acceptance=0.6)"
    )
    with pytest.raises(InputError, match="kv: tinylm has no attention products"):  # fused attention keeps no cache
        with_speculative.decode(values | {"fuse": "attention"})
    corners = [space.decode(v) for v in space.corners()]
    assert corners[:3] == ["baseline", "wq(bits=8, group=32, algo=rtn)", "wq(bits=4, group=128, sym=false, algo=rtn)"]
    assert len(corners) == 17 and len(space.pairs()) == 12 * 4  # 12 other steps alone, then each weight format


def test_a_decoder_is_searched_per_token_with_measured_perplexity(tmp_path):
    from accelsim.compress.tinylm import TinyLMConfig, TinyLMLab, TrainSettings

    lab = TinyLMLab(
        TinyLMConfig(layers=1, width=128, heads=4, context=32),  # the measurement path, not tinylm's figures
        TrainSettings(steps=20, batch=4),
        tmp_path / "cache",
        calibration_windows=4,
        eval_bytes=2000,
    )
    settings = AdviseSettings("tinylm", budget=6, batch_size=6, prompt=8, generate=4)
    assert settings.objectives == ("perplexity", "energy") and settings.hardware == "edge-llm"
    result = advise(settings, tmp_path / "store.jsonl", progress=False, lab=lab)
    texts = [c.pipeline for c in result.evaluated]
    assert texts[:2] == ["baseline", "wq(bits=8, group=32, algo=rtn)"] and len(texts) == 6
    assert {c.accuracy_source for c in result.evaluated} == {"measured"} and {c.per for c in result.evaluated} == {
        "token"
    }
    base, w4 = result.evaluated[0], result.evaluated[2]
    assert w4.energy_j < base.energy_j and w4.size_bytes < base.size_bytes and w4.latency_s < base.latency_s
    # tinylm's 842,496 parameters but its 128 x 128 position table (a lookup, no layer), at FP16
    assert base.size_bytes == (842_496 - 128 * 128) * 2
    assert result.recommended == min(result.front, key=lambda c: c.energy_j)
    assert "lowest energy per token (J)" in result.reason and "perplexity" in result.reason
    assert set(result.as_json()["recommended"]) >= {"perplexity", "per", "energy_j", "latency_s"}
    again = advise(settings, tmp_path / "store.jsonl", progress=False, lab=lab)
    assert again.simulated == 0 and again.front == result.front


def test_published_perplexity_of_a_decoder_point():
    from accelsim.study.advise_llm import GenerationPoint, perplexity_of

    point = GenerationPoint("llama-2-7b", "wq(bits=4, group=128, sym=false, algo=gptq)")
    assert perplexity_of(point)[:2] == (5.69, "published")
    with pytest.raises(InputError, match="no published value for"):
        perplexity_of(GenerationPoint("llama-2-7b", "heads(0.25)"))
    # fusion changes no value; a decoder without a published baseline gets the published ratio
    assert perplexity_of(GenerationPoint("llama-2-7b", "fuse(attention) -> lora(rank=8, targets=[q, v])"))[0] == 5.47
    value, kind, _ = perplexity_of(GenerationPoint("gpt2", "w8a8(0.5)"))
    assert value == pytest.approx(5.515 / 5.474) and kind == "modelled, ratio to FP16"


def test_decoder_settings_refuse_accuracy_and_others_refuse_perplexity():
    with pytest.raises(InputError, match="tinylm is a decoder: its quality is the perplexity"):
        AdviseSettings("tinylm", objectives=("accuracy", "energy"))
    with pytest.raises(InputError, match="not --min-accuracy"):
        AdviseSettings("gpt2", constraints=Constraints(min_accuracy=0.5))
    with pytest.raises(InputError, match="perplexity is for decoders"):
        AdviseSettings("resnet20", objectives=("perplexity", "energy"))
    assert AdviseSettings("gpt2").accuracy_spec == "published"


@pytest.mark.parametrize("kind", ["journal", "rdb"])
def test_a_search_killed_between_batches_resumes_from_either_storage(tmp_path, kind):
    from optuna.storages import RDBStorage

    from accelsim.study.advise import open_storage

    def url(name: str) -> str:
        return str(tmp_path / f"{name}.journal") if kind == "journal" else f"sqlite:///{tmp_path}/{name}.db"

    if kind == "rdb":  # an SQLAlchemy URL: the code path of a database server
        assert isinstance(open_storage(url("x")), RDBStorage)
    whole = advise(_settings(), tmp_path / "a.jsonl", storage=url("a"), progress=False)

    def kill(batch: int) -> None:
        if batch == 0:
            raise _Stop

    with pytest.raises(_Stop):
        advise(_settings(), tmp_path / "b.jsonl", storage=url("b"), progress=False, after_batch=kill)
    resumed = advise(_settings(), tmp_path / "b.jsonl", storage=url("b"), progress=False)
    assert [c.pipeline for c in resumed.evaluated] == [c.pipeline for c in whole.evaluated]
    assert resumed.front == whole.front and resumed.proposals == whole.proposals
    assert resumed.simulated == 24 - 8  # the first batch was stored before the kill


def test_a_dask_cluster_gives_the_front_of_the_local_executor(tmp_path):
    distributed = pytest.importorskip("distributed")
    from accelsim.study.executors import DaskExecutor

    settings = _settings(budget=16)
    local = advise(settings, tmp_path / "local.jsonl", progress=False)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with DaskExecutor(cluster.scheduler_address) as executor:
            assert executor.workers == 2
            remote = advise(settings, tmp_path / "dask.jsonl", executor=executor, progress=False)
    assert [c.as_dict() for c in remote.evaluated] == [c.as_dict() for c in local.evaluated]
    assert remote.front == local.front and remote.recommended == local.recommended


def test_cli_searches_a_decoder_per_token(tmp_path, capsys):
    args = ["advise", "--network", "gpt2", "--budget", "4", "--batch", "4", "--prompt", "8", "--generate", "2"]
    code = main([*args, "--store", str(tmp_path / "s.jsonl"), "--json", "--no-progress"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    # gpt2 has no published baseline: perplexities are published ratios to FP16; W8 g32 has no row
    assert [p["pipeline"] for p in data["front"]] == ["baseline", "wq(bits=4, group=128, sym=false, algo=gptq)"]
    assert data["front"][0]["perplexity"] == 1.0 and data["front"][1]["perplexity"] == pytest.approx(5.69 / 5.47)
    assert {p["per"] for p in data["front"]} == {"token"} and data["evaluated"] == 3
    assert data["recommended"]["pipeline"] == "wq(bits=4, group=128, sym=false, algo=gptq)"
    assert main([*args, "--store", str(tmp_path / "s.jsonl"), "--no-progress", "--max-perplexity", "1.01"]) == 0
    table = capsys.readouterr().out
    assert "perplexity" in table and "(energy, latency and carbon per token)" in table
    assert "recommended: baseline wins" in table


@pytest.mark.parametrize(
    "network, args, texts",
    [
        (
            "resnet20",
            ["--no-per-layer", "--min-accuracy", "0.85"],
            ["energy per inference (uJ, log scale)", "accuracy (%, modelled)", "accuracy floor"],
        ),
        (
            "gpt2",
            ["--prompt", "8", "--generate", "2", "--max-perplexity", "1.05"],
            [
                "energy per token (mJ, log scale)",
                "perplexity (modelled, ratio to FP16; lower is better)",
                "time per output token (ms), Pareto-front points",
                "perplexity limit",
                "(prompt 8, 2 generated tokens)",
            ],
        ),
    ],
)
def test_cli_writes_the_front_figure_for_a_cnn_and_a_decoder(tmp_path, capsys, network, args, texts):
    out = tmp_path / "front.png"
    argv = ["advise", "--network", network, "--budget", "4", "--batch", "4", *args, "--figure", str(out)]
    assert main([*argv, "--store", str(tmp_path / "s.jsonl"), "--no-progress"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert out.read_bytes().startswith(b"\x89PNG") and out.with_suffix(".pdf").exists()
    svg = out.with_suffix(".svg").read_text()  # the house style keeps text as text
    for text in texts:
        assert text in svg, text
    assert ("perplexity" in svg) == (network == "gpt2")


def test_si_scale_puts_the_largest_value_under_a_thousand():
    from accelsim.plots import _si_scale

    assert _si_scale([3e-7, 2e-6], "J") == (1e6, "uJ")
    assert _si_scale([5e-10], "J") == (1e9, "nJ")
    assert _si_scale([0.02, 0.5], "s") == (1e3, "ms")
    assert _si_scale([2.0], "J") == (1.0, "J")
