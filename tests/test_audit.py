"""Hostile input (tools/audit.py): no traceback, no hang, every refusal one line."""

import pytest
from audit import audit

from accelsim import hardware
from accelsim.hardware import ConfigError
from accelsim.sim.tiling import MAX_TILE_STEPS, minimum_tile_steps, plan_layer
from accelsim.workload.layers import Gemm


def test_a_sample_of_hostile_cases_is_refused_cleanly():
    outcomes = audit(sample=60, limit_s=30, seed=1)
    failures = [(o.kind, o.case.name, o.detail) for o in outcomes if o.kind not in ("ok", "refused")]
    assert failures == []
    assert sum(o.kind == "refused" for o in outcomes) > 40


def test_a_layer_of_days_is_refused_before_planning():
    huge = Gemm("huge", m=2**31, k=8, n=2**31)
    assert minimum_tile_steps(huge, hardware.seed()) > MAX_TILE_STEPS
    with pytest.raises(ConfigError, match=r"layer huge: needs at least [\d,]+ tile steps .* days of simulation"):
        plan_layer(huge, hardware.seed())


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--network", "mlp", "--compress", "prune()"], "prune: ratio required"),
        (["run", "--network", "mlp", "--compress", "quantize()"], "quantize: weights required"),
    ],
)
def test_regressions_found_by_the_audit(argv, message, capsys):
    from accelsim.cli import main

    assert main(argv) == 2
    assert message in capsys.readouterr().err
