"""scenarios/dram_effects.py on resnet20 only (--quick): its tables, figures and summary."""

import csv
import importlib.util
import sys
from pathlib import Path

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "dram_effects.py"


def _scenario():
    spec = importlib.util.spec_from_file_location("dram_effects", SCENARIO)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_quick_run_writes_tables_figures_and_summary(tmp_path, capsys):
    scenario = _scenario()
    assert scenario.main(["--quick", "--out", str(tmp_path)]) == 0
    for name in ("effects.csv", "layout.csv", "ranking.csv", "summary.md", "dram_effects.png", "dram_energy.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    effects = list(csv.DictReader((tmp_path / "effects.csv").open()))
    assert [r["device"] for r in effects] == list(scenario.DEVICES)
    for row in effects:
        # The device never beats its own peak, and the banked run is never faster than the
        # simple model at that peak with the unloaded latency.
        assert float(row["banked_gb_s"]) <= float(row["peak_gb_s"])
        assert int(row["banked_cycles"]) >= int(row["simple_cycles"])
        assert 0.9 < float(row["row_hit_rate"]) <= 1.0
    layout = list(csv.DictReader((tmp_path / "layout.csv").open()))
    closed = [r for r in layout if r["page"] == "closed"]
    assert all(float(r["row_hit_rate"]) == 0.0 for r in closed)
    assert "Ranking of compression strategies" in (tmp_path / "summary.md").read_text()
    assert scenario.main(["--quick", "--readme", "README.md"]) == 2
    assert "needs the full run" in capsys.readouterr().err
