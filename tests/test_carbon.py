"""Carbon per inference: ACT's embodied model by hand, operational carbon, the run command."""

import json

import pytest

from accelsim.cli import main
from accelsim.errors import InputError
from accelsim.metrics.carbon import PACKAGING_GCO2E, CarbonModel


def test_embodied_carbon_is_acts_logic_model_by_hand():
    # 28 nm made in Taiwan: (583 g/kWh x 0.90 kWh/cm2 + 175 g/cm2 gases + 500 g/cm2 materials) / 0.875.
    model = CarbonModel(die_area_mm2=550.0)
    per_cm2 = (583 * 0.90 + 175 + 500) / 0.875
    assert model.carbon_per_cm2_g == pytest.approx(per_cm2)
    assert model.embodied_gco2e == pytest.approx(5.5 * per_cm2 + PACKAGING_GCO2E)
    assert CarbonModel(embodied_kgco2e=2.0).embodied_gco2e == 2000.0
    assert CarbonModel().embodied_gco2e == 0.0


def test_per_million_inferences():
    model = CarbonModel(grid="usa", pue=1.5, embodied_kgco2e=1.0, lifetime_years=1.0, duty_cycle=0.5)
    carbon = model.per_million(energy_j=3.6e3, latency_s=1.0)  # 1 Wh each
    assert carbon.operational_gco2e_per_million == pytest.approx(1e6 * 1e-3 * 380 * 1.5)
    assert carbon.embodied_gco2e_per_million == pytest.approx(1e6 * 1000 / (365.25 * 24 * 3600 * 0.5))
    assert carbon.total_gco2e_per_million == pytest.approx(
        carbon.operational_gco2e_per_million + carbon.embodied_gco2e_per_million
    )
    assert CarbonModel(grid="usa", grid_gco2e_per_kwh=100).use_gco2e_per_kwh == 100


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"grid": "mars"}, "grid region 'mars' is unknown"),
        ({"pue": 0.9}, "pue must be in"),
        ({"process_node_nm": 45}, "process_node_nm must be one of"),
        ({"duty_cycle": 0}, "duty_cycle must be > 0"),
        ({"die_area_mm2": float("nan")}, "die_area_mm2 must be > 0"),
    ],
)
def test_bad_models_are_one_line_errors(fields, message):
    with pytest.raises(InputError, match=message):
        CarbonModel(**fields)


def test_run_reports_carbon(capsys):
    assert main(["run", "--network", "mlp", "--json", "--grid", "europe", "--die-area-mm2", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    energy, latency = out["total"]["energy_j"]["total"], out["total"]["latency_s"]
    model = CarbonModel(grid="europe", die_area_mm2=2.0)
    assert out["carbon"]["carbon_gco2e_per_million"] == pytest.approx(
        model.per_million(energy, latency).total_gco2e_per_million
    )
    assert main(["run", "--network", "mlp", "--pue", "7"]) == 2
    assert "pue must be in [1, 3]" in capsys.readouterr().err
