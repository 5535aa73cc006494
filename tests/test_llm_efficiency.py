"""scenarios/llm_efficiency.py: --quick on a tiny tinylm (trained in seconds into tmp_path), and
the accuracy labels of llama-3.2-1b's rows (published, modelled, or not available)."""

import csv
import importlib.util
import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "llm_efficiency.py"


@pytest.fixture(scope="module")
def scenario():
    spec = importlib.util.spec_from_file_location("llm_efficiency", SCENARIO)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_quick_run_writes_the_table_figures_and_summary(scenario, tmp_path, capsys):
    out = tmp_path / "out"
    assert scenario.main(["--quick", "--out", str(out), "--cache-dir", str(tmp_path / "cache")]) == 0
    for name in ("efficiency.csv", "summary.md", "pareto_energy.png", "pareto_throughput.png"):
        assert (out / name).stat().st_size > 0, name
    with (out / "efficiency.csv").open() as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == scenario.COLUMNS
        rows = {r["technique"]: r for r in reader}
    assert list(rows) == [label for label, _ in scenario.TECHNIQUES]
    assert {r["model"] for r in rows.values()} == {"tinylm"}
    energy = {name: float(r["energy_per_token_mj"]) for name, r in rows.items()}
    assert energy["W4 g128 GPTQ + KV8"] < energy["FP16"]
    assert energy["LoRA r8 merged"] == energy["FP16"]  # merged adapters cost nothing
    assert energy["LoRA r8 unmerged"] > energy["FP16"]
    # Every tinylm perplexity is measured; the FP16 row is the ratios' reference.
    assert {r["perplexity_kind"] for r in rows.values()} == {"measured"}
    assert all("measured on" in r["perplexity_source"] for r in rows.values())
    assert float(rows["FP16"]["perplexity_vs_fp16"]) == 1.0
    # Speculative decoding and LoRA change no output: FP16's measured perplexity.
    for name in ("speculative k=4", "LoRA r8 merged", "LoRA r8 unmerged"):
        assert rows[name]["perplexity"] == rows["FP16"]["perplexity"]
    assert rows["speculative k=4 + W4"]["perplexity"] == rows["W4 g128 GPTQ"]["perplexity"]
    summary = (out / "summary.md").read_text()
    assert "fewest joules per token" in summary and "Pareto frontier" in summary
    assert scenario.main(["--quick", "--readme", "README.md"]) == 2
    assert "needs the full run" in capsys.readouterr().err


def test_llama_accuracy_is_published_modelled_or_not_available(scenario):
    accuracy = scenario.published_accuracy("llama-3.2-1b")
    fp16 = accuracy("")
    assert (fp16.kind, fp16.relative, fp16.perplexity) == ("reference", 1.0, None)
    gptq = accuracy("wq(bits=4, group=128, sym=false, algo=gptq)")
    # AWQ's Table 4 (llama-2-7b): GPTQ 5.69 over FP16 5.47, carried over to llama-3.2-1b.
    assert gptq.kind == "modelled" and gptq.relative == pytest.approx(5.69 / 5.47)
    assert "AWQ" in gptq.source and "llama-2-7b" in gptq.source
    for text in ("kv(8)", "wq(bits=4, group=128, sym=false, algo=gptq) -> kv(8)", "wq(bits=8, group=32, algo=rtn)"):
        missing = accuracy(text)
        assert (missing.kind, missing.relative, missing.perplexity) == ("not available", None, None), text
    assert accuracy("lora(rank=8, targets=[q, v], mode=unmerged)").kind == "lossless"
    # A model with a published baseline gets the paper's own figure.
    own = scenario.published_accuracy("llama-2-7b")("wq(bits=4, group=128, sym=false, algo=rtn)")
    assert (own.kind, own.perplexity) == ("published", 5.73)


def test_the_pareto_frontier_keeps_rows_no_other_beats(scenario):
    def row(name, energy, perplexity):
        acc = scenario.Accuracy(perplexity, None if perplexity is None else perplexity / 10, "measured", "")
        return scenario.Row("tinylm", name, "", energy, 1.0, acc)

    rows = [row("a", 1.0, 12.0), row("b", 2.0, 11.0), row("c", 3.0, 11.5), row("d", 4.0, 10.0), row("e", 0.5, None)]
    front = scenario.pareto(rows, lambda r: r.energy_per_token_j)
    assert [r.technique for r in front] == ["a", "b", "d"]
