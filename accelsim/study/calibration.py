"""Calibration of a device family's two sustained fractions on one named measurement (issue 19).

Measured LLM speed includes software: kernels reach a share of the spec sheet's bandwidth and
MAC rate. A device family (Apple GPUs, NVIDIA datacenter GPUs) gets at most two constants,
`dram.sustained_fraction` and `mac_array.sustained_fraction`, each fitted here on ONE named
measurement and then applied unchanged to every chip and format of the family: every other
figure is a prediction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from accelsim.errors import InputError
from accelsim.hardware import Accelerator
from accelsim.sim.engine import simulate
from accelsim.workload.layers import Network

#: Fixed-point iterations of the fit; the fraction is rounded to this many decimals so the
#: committed figures are reproducible.
FIT_ITERATIONS = 4
FIT_DECIMALS = 4


@dataclass(frozen=True)
class Calibration:
    """A family's constants and the measurements they were fitted on (empty: left at 1)."""

    family: str
    dram_fraction: float = 1.0
    mac_fraction: float = 1.0
    dram_measurement: str = ""
    mac_measurement: str = ""

    def apply(self, hw: Accelerator) -> Accelerator:
        """`hw` with this family's sustained fractions."""
        return hw.replace(
            dram=dataclasses.replace(hw.dram, sustained_fraction=self.dram_fraction),
            mac_array=dataclasses.replace(hw.mac_array, sustained_fraction=self.mac_fraction),
        )


def seconds(network: Network, hw: Accelerator) -> float:
    """Simulated wall time of `network` on `hw`."""
    return simulate(network, hw).end_cycle / hw.clock_hz


def _fit(seconds_at: Callable[[float], float], measured_s: float) -> float:
    """The fraction f in (0, 1] at which the simulated time matches `measured_s`: a fixed point of
    f <- f x T(f) / measured, exact when the time is a + b / f with a small a."""
    if not measured_s > 0:
        raise InputError(f"calibration: measured seconds must be > 0 (got {measured_s!r})")
    f = 1.0
    for _ in range(FIT_ITERATIONS):
        f = min(1.0, f * seconds_at(f) / measured_s)
    return round(f, FIT_DECIMALS)


def fit_dram_fraction(network: Network, hw: Accelerator, measured_s: float) -> float:
    """The sustained-bandwidth fraction that makes `network` (a memory-bound run, e.g. a decode
    step) take `measured_s` on `hw` (its MAC fraction as given)."""
    return _fit(
        lambda f: seconds(network, hw.replace(dram=dataclasses.replace(hw.dram, sustained_fraction=f))), measured_s
    )


def fit_mac_fraction(network: Network, hw: Accelerator, measured_s: float) -> float:
    """The sustained-compute fraction that makes `network` (a compute-bound run, e.g. a prefill)
    take `measured_s` on `hw` (its bandwidth fraction as given)."""
    return _fit(
        lambda f: seconds(network, hw.replace(mac_array=dataclasses.replace(hw.mac_array, sustained_fraction=f))),
        measured_s,
    )
