"""Carbon per inference: operational (energy x grid intensity x PUE) and embodied (the chip's
manufacturing footprint amortized over its service life), following ACT.

ACT: U. Gupta et al., "ACT: Designing Sustainable Computer Systems with an Architectural Carbon
Modeling Tool", ISCA 2022; values from its repository (facebookresearch/ACT, `logic/epa.json` at
49c340cb, `logic/gpa_95.json`, `logic/gpa_99.json`, `logic/materials.json` and
`carbon_intensity/*.json` at 7cdffa3f, the packaging footprint of `exps/dellr740/dellr740.py`):

    embodied = area x (fab intensity x EPA + GPA + MPA) / yield + packaging
    per inference = energy x grid x PUE + embodied x latency / (lifetime x duty cycle)

The duty cycle is the share of its life the accelerator spends running this workload; 1.0 (the
default) charges each inference only its own time and is the most favourable case.
"""

from __future__ import annotations

from dataclasses import dataclass

from accelsim.errors import InputError

#: Grid carbon intensity by region, gCO2e per kWh (ACT carbon_intensity/location.json).
GRID_GCO2E_PER_KWH = {
    "world": 301.0,
    "india": 725.0,
    "australia": 597.0,
    "taiwan": 583.0,
    "singapore": 495.0,
    "usa": 380.0,
    "europe": 295.0,
    "brazil": 82.0,
    "iceland": 28.0,
}
#: Lifecycle intensity by energy source, gCO2e per kWh (ACT carbon_intensity/source.json).
SOURCE_GCO2E_PER_KWH = {
    "coal": 820.0,
    "gas": 490.0,
    "biomass": 230.0,
    "solar": 41.0,
    "geothermal": 38.0,
    "hydropower": 24.0,
    "nuclear": 12.0,
    "wind": 11.0,
}
#: Fab energy per wafer area, kWh per cm^2, by node in nm (ACT logic/epa.json).
FAB_KWH_PER_CM2 = {28: 0.90, 20: 1.200, 14: 1.200, 10: 1.475, 8: 1.520, 7: 2.150, 5: 2.750, 3: 3.250}
#: Fab gases per area, gCO2e per cm^2, at 95% and 99% abatement (ACT logic/gpa_95.json, gpa_99.json).
GAS_GCO2E_PER_CM2 = {
    95: {28: 175.0, 20: 190.0, 14: 200.0, 10: 240.0, 8: 240.0, 7: 350.0, 5: 430.0, 3: 470.0},
    99: {28: 100.0, 20: 110.0, 14: 125.0, 10: 150.0, 8: 150.0, 7: 200.0, 5: 225.0, 3: 275.0},
}
#: Raw materials per area, gCO2e per cm^2 (ACT logic/materials.json: 500 at every node).
MATERIALS_GCO2E_PER_CM2 = 500.0
#: Packaging of one integrated circuit, gCO2e (ACT exps/dellr740: 150 g per package).
PACKAGING_GCO2E = 150.0
_SECONDS_PER_YEAR = 365.25 * 24 * 3600
_J_PER_KWH = 3.6e6


def _intensity(region: str) -> float:
    table = {**GRID_GCO2E_PER_KWH, **SOURCE_GCO2E_PER_KWH}
    if region not in table:
        raise InputError(f"carbon: grid region {region!r} is unknown; allowed: {', '.join(table)}")
    return table[region]


def _positive(name: str, value: float, upper: float | None = None) -> None:
    if not (isinstance(value, (int, float)) and value > 0 and (upper is None or value <= upper)):
        bound = f" and <= {upper:g}" if upper is not None else ""
        raise InputError(f"carbon: {name} must be > 0{bound} (got {value!r})")


@dataclass(frozen=True)
class CarbonModel:
    """Where and how long the accelerator runs, and what its silicon cost to make.

    The embodied part needs either `die_area_mm2` (ACT's logic model at `process_node_nm`, made in
    `fab_region`) or `embodied_kgco2e` per chip; with neither, only operational carbon counts."""

    grid: str = "world"
    grid_gco2e_per_kwh: float | None = None  # overrides `grid`
    pue: float = 1.0
    die_area_mm2: float | None = None
    process_node_nm: int = 28
    fab_region: str = "taiwan"
    fab_yield: float = 0.875
    gas_abatement_percent: int = 95
    embodied_kgco2e: float | None = None
    lifetime_years: float = 4.0
    duty_cycle: float = 1.0

    def __post_init__(self) -> None:
        _intensity(self.grid)
        _intensity(self.fab_region)
        if self.grid_gco2e_per_kwh is not None:
            _positive("grid_gco2e_per_kwh", self.grid_gco2e_per_kwh, 2000)
        if not (isinstance(self.pue, (int, float)) and 1.0 <= self.pue <= 3.0):
            raise InputError(f"carbon: pue must be in [1, 3] (got {self.pue!r})")
        if self.process_node_nm not in FAB_KWH_PER_CM2:
            raise InputError(
                f"carbon: process_node_nm must be one of {sorted(FAB_KWH_PER_CM2)} (got {self.process_node_nm!r})"
            )
        if self.gas_abatement_percent not in GAS_GCO2E_PER_CM2:
            raise InputError(f"carbon: gas_abatement_percent must be 95 or 99 (got {self.gas_abatement_percent!r})")
        for name, upper in (("fab_yield", 1.0), ("lifetime_years", 50.0), ("duty_cycle", 1.0)):
            _positive(name, getattr(self, name), upper)
        if self.die_area_mm2 is not None:
            _positive("die_area_mm2", self.die_area_mm2, 1e5)
        if self.embodied_kgco2e is not None:
            _positive("embodied_kgco2e", self.embodied_kgco2e, 1e6)

    @property
    def use_gco2e_per_kwh(self) -> float:
        return self.grid_gco2e_per_kwh if self.grid_gco2e_per_kwh is not None else _intensity(self.grid)

    @property
    def carbon_per_cm2_g(self) -> float:
        """ACT's carbon per die area at this node and fab: energy, gases and materials over yield."""
        node = self.process_node_nm
        fab = _intensity(self.fab_region) * FAB_KWH_PER_CM2[node]
        return (fab + GAS_GCO2E_PER_CM2[self.gas_abatement_percent][node] + MATERIALS_GCO2E_PER_CM2) / self.fab_yield

    @property
    def embodied_gco2e(self) -> float:
        """The chip's manufacturing footprint (0 when neither area nor a figure is given)."""
        if self.embodied_kgco2e is not None:
            return self.embodied_kgco2e * 1e3
        if self.die_area_mm2 is None:
            return 0.0
        return self.die_area_mm2 / 100 * self.carbon_per_cm2_g + PACKAGING_GCO2E

    def operational_gco2e(self, energy_j: float) -> float:
        return energy_j / _J_PER_KWH * self.use_gco2e_per_kwh * self.pue

    def amortized_gco2e(self, latency_s: float) -> float:
        return self.embodied_gco2e * latency_s / (self.lifetime_years * _SECONDS_PER_YEAR * self.duty_cycle)

    def per_million(self, energy_j: float, latency_s: float) -> Carbon:
        """gCO2e per million inferences (or tokens) of one that takes `energy_j` and `latency_s`."""
        return Carbon(1e6 * self.operational_gco2e(energy_j), 1e6 * self.amortized_gco2e(latency_s))


@dataclass(frozen=True)
class Carbon:
    """gCO2e per million inferences: operational and embodied."""

    operational_gco2e_per_million: float
    embodied_gco2e_per_million: float

    @property
    def total_gco2e_per_million(self) -> float:
        return self.operational_gco2e_per_million + self.embodied_gco2e_per_million


def format_carbon(carbon: Carbon, model: CarbonModel) -> str:
    """One line: the total and its two parts, with the assumptions they rest on."""
    grid = f"{model.use_gco2e_per_kwh:g} gCO2e/kWh" + ("" if model.grid_gco2e_per_kwh else f" ({model.grid})")
    if model.embodied_kgco2e is not None:
        chip = f"{model.embodied_kgco2e:g} kgCO2e chip"
    elif model.die_area_mm2 is not None:
        chip = f"{model.die_area_mm2:g} mm2 at {model.process_node_nm} nm ({model.embodied_gco2e / 1e3:.3g} kgCO2e)"
    else:
        chip = "no die area given (--die-area-mm2)"
    return (
        f"carbon      {carbon.total_gco2e_per_million:.4g} gCO2e per million inferences: "
        f"operational {carbon.operational_gco2e_per_million:.4g} ({grid}, PUE {model.pue:g}), "
        f"embodied {carbon.embodied_gco2e_per_million:.4g} ({chip}, {model.lifetime_years:g} years "
        f"at duty cycle {model.duty_cycle:g})"
    )
