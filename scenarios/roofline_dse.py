"""Roofline design-space exploration: MAC lanes x DRAM bandwidth x precision on ResNet-18 and ResNet-50.

A sweep (accelsim.study) over the seed accelerator with its precision-scalable array: MAC lanes
16..1024 (vector lanes a quarter of them, the seed's ratio), DRAM bandwidth 0.2..100 GB/s, FP32 / INT8 / INT4, 378 points, stored resumably in
`results.jsonl` (rerun to continue a killed run). It writes heatmaps of latency and energy per
inference, a roofline with every point, and the crossover bandwidth at which each network turns
from memory-bound to compute-bound, per precision and lane count (table and figure).

    python scenarios/roofline_dse.py                  # 378 points into out/roofline_dse
    python scenarios/roofline_dse.py --quick --out /tmp/dse --in-process

Outputs: results.jsonl (the store), results.csv, crossover.csv, crossover.md, summary.md,
latency_heatmap.png, energy_heatmap.png, roofline.png, crossover.png.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patheffects import withStroke

from accelsim import (
    InputError,
    Point,
    Precision,
    Result,
    SweepInterrupted,
    make_executor,
    plots,
    results,
    run_sweep,
    tables,
)

LANES = (16, 32, 64, 128, 256, 512, 1024)
BANDWIDTHS_GBPS = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
#: Display name -> pipeline text; the seed's array packs 1 FP32, 4 INT8 or 8 INT4 MACs per lane.
PRECISIONS = {"FP32": "baseline", "INT8": "int8", "INT4": "int4"}
NETWORKS = ("resnet18", "resnet50")
HARDWARE = "seed"
QUICK = {"networks": ("resnet18",), "precisions": ("INT8",), "lanes": (16, 128, 1024), "bandwidths": (0.2, 2.0, 100.0)}

PRECISION_COLORS = {"FP32": "#1f77b4", "INT8": "#2ca02c", "INT4": "#d62728"}
PRECISION_MARKERS = {"FP32": "o", "INT8": "s", "INT4": "^"}
NETWORK_STYLES = {"resnet18": "-", "resnet50": "--"}
#: Heatmap panels with more cells than this are not annotated (the numbers would not fit).
MAX_ANNOTATED_CELLS = 150


@dataclass(frozen=True)
class Grid:
    networks: tuple[str, ...] = NETWORKS
    precisions: tuple[str, ...] = tuple(PRECISIONS)
    lanes: tuple[int, ...] = LANES
    bandwidths: tuple[float, ...] = BANDWIDTHS_GBPS

    def points(self) -> list[Point]:
        """networks x precisions x lanes x bandwidths, in that order."""
        return [
            Point(
                net,
                PRECISIONS[p],
                p,
                HARDWARE,
                (
                    ("mac_array.lanes", n),
                    # the vector unit grows with the array, at the seed's one lane per four MACs
                    ("vector_unit.lanes", max(1, n // 4)),
                    ("dram.bandwidth_bytes_per_s", bw * 1e9),
                ),
            )
            for net in self.networks
            for p in self.precisions
            for n in self.lanes
            for bw in self.bandwidths
        ]


@dataclass(frozen=True)
class Cell:
    """One simulated point with its grid coordinates."""

    network: str
    precision: str
    lanes: int
    bandwidth_gbps: float
    peak_ops_per_s: float  # 2 x lanes x MACs per lane per cycle at the run's precision x clock
    result: Result


def cells(grid: Grid, store: Path) -> list[Cell]:
    out = []
    for point, result in results(grid.points(), store):
        hw = point.accelerator()
        peak = 2 * hw.mac_array.macs_per_cycle(Precision(result.mac_precision)) * hw.clock_hz
        bandwidth = hw.dram.bandwidth_bytes_per_s / 1e9
        out.append(Cell(point.network, point.configuration, hw.mac_array.lanes, bandwidth, peak, result))
    return out


# --- crossover ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Crossover:
    """Bandwidths (GB/s) at which one (network, precision, lanes) turns from memory- to compute-bound.

    - `bound_gbps`: where the simulated run's roofline bound flips (`limiter`: compute cycles vs
      memory cycles of the compulsory bytes), interpolated in log bandwidth between the two grid
      points around the flip, on log(memory / compute cycles), which is linear in log bandwidth.
    - `analytical_gbps`: the same crossover in closed form, compulsory bytes x clock / compute
      cycles, with compulsory bytes = memory cycles x bytes per cycle (from the results' fields).
    - `traffic_gbps`: where the DRAM bus is busy as many cycles as the MAC array: the crossover
      of the bytes the schedule really moves (tiles fetched more than once included).
    None: outside the grid (`below`: compute-bound everywhere, `above`: memory-bound everywhere).
    """

    network: str
    precision: str
    lanes: int
    bound_gbps: float | None
    analytical_gbps: float
    traffic_gbps: float | None
    bound_side: str  # "", "below" or "above" the grid
    traffic_side: str
    compulsory_bytes: float
    moved_bytes: int


def _log_crossing(xs: Sequence[float], ys: Sequence[float]) -> tuple[float | None, str]:
    """Where ys (log of memory over compute, falling with x) crosses 0, interpolated in log x."""
    if ys[0] <= 0:
        return None, "below"
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if y0 > 0 >= y1:
            t = y0 / (y0 - y1)
            return math.exp(math.log(x0) + t * (math.log(x1) - math.log(x0))), ""
    return None, "above"


def crossovers(all_cells: Sequence[Cell]) -> list[Crossover]:
    groups: dict[tuple[str, str, int], list[Cell]] = {}
    for c in all_cells:
        groups.setdefault((c.network, c.precision, c.lanes), []).append(c)
    out = []
    for (net, precision, lanes), row in groups.items():
        row.sort(key=lambda c: c.bandwidth_gbps)
        xs = [c.bandwidth_gbps for c in row]
        bound = [math.log(c.result.memory_bound_cycles / c.result.compute_bound_cycles) for c in row]
        traffic = [math.log(c.result.dram_busy_cycles / c.result.state_cycles["BUSY"]) for c in row]
        lowest = row[0].result  # most memory cycles: the least rounding in the closed form
        compulsory = lowest.memory_bound_cycles * row[0].bandwidth_gbps * 1e9 / lowest.clock_hz
        analytical = compulsory * lowest.clock_hz / lowest.compute_bound_cycles / 1e9
        bound_x, bound_side = _log_crossing(xs, bound)
        traffic_x, traffic_side = _log_crossing(xs, traffic)
        out.append(
            Crossover(
                net,
                precision,
                lanes,
                bound_x,
                analytical,
                traffic_x,
                bound_side,
                traffic_side,
                compulsory,
                lowest.dram_bytes,
            )
        )
    return out


def _gbps(value: float | None, side: str, grid: Grid) -> str:
    if value is None:
        return f"< {min(grid.bandwidths):g}" if side == "below" else f"> {max(grid.bandwidths):g}"
    return f"{value:.3g}"


def crossover_markdown(rows: Sequence[Crossover], grid: Grid) -> str:
    lines = [
        "| network | precision | MAC lanes | crossover GB/s (bound, interpolated) | analytical GB/s "
        "| crossover GB/s (simulated traffic) | compulsory MB | moved MB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r.network} | {r.precision} | {r.lanes:,} | {_gbps(r.bound_gbps, r.bound_side, grid)} "
            f"| {r.analytical_gbps:.3g} | {_gbps(r.traffic_gbps, r.traffic_side, grid)} "
            f"| {r.compulsory_bytes / 1e6:,.1f} | {r.moved_bytes / 1e6:,.1f} |"
        )
    return "\n".join(lines) + "\n"


def write_crossover_csv(rows: Sequence[Crossover], path: Path) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "network",
                "precision",
                "lanes",
                "bound_crossover_gbps",
                "bound_side",
                "analytical_crossover_gbps",
                "traffic_crossover_gbps",
                "traffic_side",
                "compulsory_bytes",
                "moved_bytes",
            ]
        )
        for r in rows:
            writer.writerow(
                [
                    r.network,
                    r.precision,
                    r.lanes,
                    "" if r.bound_gbps is None else repr(r.bound_gbps),
                    r.bound_side,
                    repr(r.analytical_gbps),
                    "" if r.traffic_gbps is None else repr(r.traffic_gbps),
                    r.traffic_side,
                    repr(r.compulsory_bytes),
                    r.moved_bytes,
                ]
            )
    return path


# --- figures ------------------------------------------------------------------------------------


def _cell_text(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


@plots.styled
def heatmap(all_cells: Sequence[Cell], grid: Grid, metric: str, path: Path) -> Path:
    """Latency ("latency", ms) or energy ("energy", mJ) per inference: one panel per network and
    precision, MAC lanes up, bandwidth across; the line separates memory-bound cells (left) from
    compute-bound ones by the roofline bound."""
    scale, unit, what = {"latency": (1e3, "ms", "latency"), "energy": (1e3, "mJ", "energy")}[metric]
    field = "latency_s" if metric == "latency" else "energy_j"
    panels = [(n, p) for n in grid.networks for p in grid.precisions]
    cols = len(grid.precisions)
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(max(9.0, 1.0 + 5.4 * cols), 1.2 + 4.3 * rows), dpi=110, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    values = {(c.network, c.precision, c.lanes, c.bandwidth_gbps): getattr(c.result, field) * scale for c in all_cells}
    limiter = {(c.network, c.precision, c.lanes, c.bandwidth_gbps): c.result.limiter for c in all_cells}
    norm = LogNorm(vmin=min(values.values()), vmax=max(values.values()))
    image = None
    for ax, (net, precision) in zip(axes, panels):
        data = np.full((len(grid.lanes), len(grid.bandwidths)), np.nan)
        for i, n in enumerate(grid.lanes):
            for j, bw in enumerate(grid.bandwidths):
                data[i, j] = values.get((net, precision, n, bw), np.nan)
        image = ax.imshow(data, origin="lower", aspect="auto", cmap="viridis", norm=norm)
        readable = data.size <= MAX_ANNOTATED_CELLS
        for (i, j), value in np.ndenumerate(data):
            if readable and np.isfinite(value):
                light = norm(value) > 0.55  # dark text on the bright end of viridis
                ax.text(
                    j, i, _cell_text(value), ha="center", va="center", fontsize=7, color="black" if light else "white"
                )
        _bound_edge(
            ax, grid, {(n, bw): limiter.get((net, precision, n, bw)) for n in grid.lanes for bw in grid.bandwidths}
        )
        ax.set_xticks(range(len(grid.bandwidths)), [f"{bw:g}" for bw in grid.bandwidths])
        ax.set_yticks(range(len(grid.lanes)), [str(n) for n in grid.lanes])
        ax.set_xlabel("DRAM bandwidth (GB/s)")
        ax.set_ylabel("MAC lanes")
        ax.set_title(f"{net}, {precision}", loc="left", fontsize=10)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    assert image is not None
    bar = fig.colorbar(
        image, ax=list(axes[: len(panels)]), label=f"{what} per inference ({unit}, log scale)", shrink=0.9
    )
    _plain_log_ticks(bar.ax.yaxis, norm.vmin, norm.vmax)
    fig.suptitle(
        f"{what.capitalize()} per inference ({unit}) on the {HARDWARE} accelerator (1 GHz)\n"
        "red line: where the roofline bound turns from memory-bound (left) to compute-bound (right)",
        fontweight="bold",
    )
    return plots.save_figure(fig, path)


def _plain_log_ticks(axis: object, lo: float, hi: float) -> None:
    """Ticks at 1-2-5 steps written as plain numbers (0.5, 20, 1000) on a log axis."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    steps = [m * 10.0**e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1) for m in (1, 2, 5)]
    axis.set_major_locator(FixedLocator([t for t in steps if lo <= t <= hi]))  # type: ignore[attr-defined]
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # type: ignore[attr-defined]
    axis.set_minor_locator(NullLocator())  # type: ignore[attr-defined]


def _bound_edge(ax: object, grid: Grid, limiter: dict[tuple[int, float], str | None]) -> None:
    """A red step line between each row's last memory-bound cell and its first compute-bound one."""
    xs, ys = [], []
    for i, n in enumerate(grid.lanes):
        memory = [j for j, bw in enumerate(grid.bandwidths) if limiter.get((n, bw)) == "memory"]
        edge = (max(memory) + 0.5) if memory else -0.5
        xs += [edge, edge]
        ys += [i - 0.5, i + 0.5]
    ax.plot(xs, ys, color="red", lw=2.2)  # type: ignore[attr-defined]


@plots.styled
def roofline(all_cells: Sequence[Cell], grid: Grid, path: Path) -> Path:
    """Attained GOPS against operations per DRAM byte moved; one panel per network, every point,
    a compute roof per distinct peak and a memory roof per bandwidth."""
    fig = Figure(figsize=(7.2 * len(grid.networks) + 1.2, 6.2), dpi=110, layout="constrained")
    axes = fig.subplots(1, len(grid.networks), squeeze=False).ravel()
    norm = LogNorm(vmin=min(grid.bandwidths), vmax=max(grid.bandwidths))
    scatter = None
    for ax, net in zip(axes, grid.networks):
        mine = [c for c in all_cells if c.network == net]
        if not mine:
            continue
        x = np.array([c.result.intensity_ops_per_byte for c in mine])
        lo, hi = float(x.min()) / 6, float(x.max()) * 10
        span = np.geomspace(lo, hi, 100)
        peaks = sorted({c.peak_ops_per_s for c in mine})
        bottom, top = min(c.result.ops_per_s for c in mine) / 1e9 / 3, max(peaks) / 1e9 * 1.8
        for peak in peaks:
            ax.axhline(peak / 1e9, color="0.55", lw=0.7, ls=":", zorder=1)
            ax.annotate(
                f"{peak / 1e9:,.0f} GOPS", (hi / 1.05, peak / 1e9), ha="right", va="bottom", fontsize=6.5, color="0.3"
            )
        for bw in grid.bandwidths:
            top_gops = max(peaks) / 1e9  # a memory roof rises until it meets the highest compute roof
            rising = span[span * bw <= top_gops]
            x_roof, y_roof = [*rising, top_gops / bw], [*(bw * rising), top_gops]
            ax.plot(x_roof, y_roof, color=_bw_color(norm, bw), lw=0.9, alpha=0.8, zorder=1)
            # Each memory roof is labelled where it enters the panel, on the left or at the bottom.
            x_label = max(lo, bottom / bw) * 1.08
            ax.annotate(
                f"{bw:g} GB/s",
                (x_label, bw * x_label),
                fontsize=6.5,
                ha="left",
                va="bottom",
                rotation=0,
                color=_bw_color(norm, bw),
                path_effects=[withStroke(linewidth=2, foreground="white")],
            )
        for precision in grid.precisions:
            group = [c for c in mine if c.precision == precision]
            scatter = ax.scatter(
                [c.result.intensity_ops_per_byte for c in group],
                [c.result.ops_per_s / 1e9 for c in group],
                c=[c.bandwidth_gbps for c in group],
                s=[10 + 6 * math.log2(c.lanes / 8) ** 1.5 for c in group],
                marker=PRECISION_MARKERS[precision],
                cmap="viridis",
                norm=norm,
                edgecolor="black",
                lw=0.4,
                zorder=3,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(bottom, top)
        ax.set_xlabel("operational intensity (operations per DRAM byte moved)")
        ax.set_ylabel("attained throughput (GOPS)")
        ax.set_title(net, loc="left", fontsize=10)
        ax.grid(alpha=0.25, which="major")
        handles = [
            Line2D([], [], ls="", marker=PRECISION_MARKERS[p], color="0.5", markeredgecolor="black", label=p)
            for p in grid.precisions
        ]
        handles.append(Line2D([], [], ls="", marker="o", color="white", label="marker size: MAC lanes"))
        ax.legend(handles=handles, fontsize=8, loc="upper left")
    assert scatter is not None
    bar = fig.colorbar(scatter, ax=list(axes), label="DRAM bandwidth (GB/s; memory roofs in the same colours)")
    _plain_log_ticks(bar.ax.yaxis, norm.vmin, norm.vmax)
    fig.suptitle(
        "Roofline of every point: MAC lanes x DRAM bandwidth x precision\n"
        "memory roofs coloured by bandwidth; dotted: compute roofs\n(2 x lanes x MACs per lane per cycle x 1 GHz)",
        fontweight="bold",
    )
    return plots.save_figure(fig, path)


def _bw_color(norm: LogNorm, bandwidth: float) -> tuple[float, float, float, float]:
    from matplotlib import colormaps

    return colormaps["viridis"](norm(bandwidth))


@plots.styled
def crossover_plot(rows: Sequence[Crossover], grid: Grid, path: Path) -> Path:
    """Crossover bandwidth against MAC lanes: the bound's (left) and the simulated traffic's (right)."""
    fig = Figure(figsize=(13.5, 5.8), dpi=110, layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    lo, hi = min(grid.bandwidths), max(grid.bandwidths)
    # Lines that coincide stay visible: the first precision is drawn widest, the last narrowest.
    widths = {p: 1.0 + 1.1 * (len(grid.precisions) - 1 - i) for i, p in enumerate(grid.precisions)}
    sizes = {p: 16 + 26 * (len(grid.precisions) - 1 - i) for i, p in enumerate(grid.precisions)}
    panels = (
        ("bound_gbps", "bound_side", "roofline bound: compute cycles = memory cycles of the compulsory bytes"),
        ("traffic_gbps", "traffic_side", "simulated: DRAM bus busy cycles = MAC array busy cycles"),
    )
    for ax, (attr, side_attr, title) in zip(axes, panels):
        for net in grid.networks:
            for precision in grid.precisions:
                mine = sorted((r for r in rows if (r.network, r.precision) == (net, precision)), key=lambda r: r.lanes)
                if not mine:
                    continue
                color, style = PRECISION_COLORS[precision], NETWORK_STYLES.get(net, "-.")
                inside = [(r.lanes, getattr(r, attr)) for r in mine if getattr(r, attr) is not None]
                if inside:
                    width, size = (widths[precision], sizes[precision]) if attr == "bound_gbps" else (1.5, 24)
                    ax.plot(*zip(*inside), color=color, ls=style, lw=width)
                    ax.scatter(*zip(*inside), color=color, marker=PRECISION_MARKERS[precision], s=size, zorder=3)
                for r in mine:  # beyond the grid: an open marker on the edge it lies past
                    side = getattr(r, side_attr)
                    if side:
                        edge, marker = (hi, "^") if side == "above" else (lo, "v")
                        ax.scatter([r.lanes], [edge], facecolor="none", edgecolor=color, marker=marker, s=40, zorder=3)
        for edge in (lo, hi):
            ax.axhline(edge, color="0.6", lw=0.8, ls="--", zorder=0)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_ylim(lo / 1.6, hi * 1.6)
        ax.set_xticks(grid.lanes, [str(n) for n in grid.lanes])
        _plain_log_ticks(ax.yaxis, lo, hi)
        ax.set_xlabel("MAC lanes")
        ax.set_title(title, loc="left", fontsize=9)
        ax.grid(alpha=0.3)
    if len(grid.precisions) > 1:
        axes[0].text(
            0.02,
            0.97,
            "the precisions coincide: the array packs 4 INT8 or 8 INT4 MACs per lane,\n"
            "so compute cycles and compulsory bytes fall together",
            transform=axes[0].transAxes,
            ha="left",
            va="top",
            fontsize=8,
            color="0.25",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.9},
        )
    axes[0].set_ylabel("crossover DRAM bandwidth (GB/s)\nbelow: memory-bound, above: compute-bound")
    handles = [
        Line2D([], [], color=PRECISION_COLORS[p], marker=PRECISION_MARKERS[p], lw=1.5, label=p) for p in grid.precisions
    ]
    handles += [Line2D([], [], color="0.3", ls=NETWORK_STYLES.get(n, "-."), label=n) for n in grid.networks]
    handles.append(Line2D([], [], color="0.6", ls="--", lw=0.8, label="swept bandwidth range"))
    handles.append(Line2D([], [], ls="", marker="^", markerfacecolor="none", color="0.3", label="beyond the range"))
    axes[1].legend(handles=handles, fontsize=8, loc="upper left")
    fig.suptitle("DRAM bandwidth at which each network turns from memory-bound to compute-bound", fontweight="bold")
    return plots.save_figure(fig, path)


# --- summary ------------------------------------------------------------------------------------


def summary_markdown(rows: Sequence[Crossover], all_cells: Sequence[Cell], grid: Grid) -> str:
    lines = ["Crossover bandwidth (GB/s) from memory- to compute-bound, smallest and largest array:", ""]
    for net in grid.networks:
        for precision in grid.precisions:
            mine = sorted((r for r in rows if (r.network, r.precision) == (net, precision)), key=lambda r: r.lanes)
            if not mine:
                continue
            first, last = mine[0], mine[-1]
            lines.append(
                f"- **{net} {precision}**: bound {_gbps(first.bound_gbps, first.bound_side, grid)} GB/s at "
                f"{first.lanes} lanes to {_gbps(last.bound_gbps, last.bound_side, grid)} GB/s at {last.lanes} "
                f"(analytical {first.analytical_gbps:.3g} to {last.analytical_gbps:.3g}, "
                f"{first.analytical_gbps / first.lanes * 1e3:.1f} MB/s per lane); simulated traffic "
                f"{_gbps(first.traffic_gbps, first.traffic_side, grid)} to {_gbps(last.traffic_gbps, last.traffic_side, grid)} "
                f"GB/s (the schedule moves {first.moved_bytes / first.compulsory_bytes:.2f}x the compulsory bytes)"
            )
    fastest = min(all_cells, key=lambda c: c.result.latency_s)
    thriftiest = min(all_cells, key=lambda c: c.result.energy_j)
    lines += [
        "",
        f"Fastest point: {fastest.network} {fastest.precision}, {fastest.lanes} lanes, {fastest.bandwidth_gbps:g} GB/s: "
        f"{fastest.result.latency_s * 1e3:.3f} ms per inference.",
        f"Least energy: {thriftiest.network} {thriftiest.precision}, {thriftiest.lanes} lanes, "
        f"{thriftiest.bandwidth_gbps:g} GB/s: {thriftiest.result.energy_j * 1e3:.3f} mJ per inference.",
    ]
    return "\n".join(lines) + "\n"


def write_outputs(grid: Grid, out: Path) -> list[Path]:
    all_cells = cells(grid, out / "results.jsonl")
    if not all_cells:
        raise InputError(f"{out / 'results.jsonl'}: no successful point to report")
    rows = crossovers(all_cells)
    title = "# Roofline DSE: crossover bandwidth from memory- to compute-bound\n\n"
    return [
        tables.write_csv([c.result for c in all_cells], out / "results.csv"),
        write_crossover_csv(rows, out / "crossover.csv"),
        _write(out / "crossover.md", title + crossover_markdown(rows, grid)),
        _write(out / "summary.md", summary_markdown(rows, all_cells, grid)),
        heatmap(all_cells, grid, "latency", out / "latency_heatmap.png"),
        heatmap(all_cells, grid, "energy", out / "energy_heatmap.png"),
        roofline(all_cells, grid, out / "roofline.png"),
        crossover_plot(rows, grid, out / "crossover.png"),
    ]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="out/roofline_dse", help="output folder (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="3 lane counts x 3 bandwidths, INT8, resnet18 (9 points)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="local worker processes (default: every core)")
    where.add_argument("--in-process", action="store_true", help="run in this process")
    where.add_argument("--dask", metavar="ADDRESS", help="Dask scheduler tcp://HOST:PORT or local:N")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    grid = Grid(**QUICK) if args.quick else Grid()  # type: ignore[arg-type]
    out = Path(args.out)
    try:
        began = time.perf_counter()
        out.mkdir(parents=True, exist_ok=True)
        with make_executor(args.workers, args.dask, in_process=args.in_process) as executor:
            summary = run_sweep(grid.points(), out / "results.jsonl", executor, progress=not args.no_progress)
        print(summary.describe())
        written = write_outputs(grid, out)
    except SweepInterrupted as stop:
        print(stop.summary.describe())
        return 130
    except InputError as exc:
        print(f"roofline_dse: error: {exc}", file=sys.stderr)
        return 2
    print((out / "summary.md").read_text())
    print(f"{time.perf_counter() - began:.1f} s; wrote {', '.join(p.name for p in written)} in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
