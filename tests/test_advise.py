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
