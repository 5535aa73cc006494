"""Figures of a comparison of configurations, written as PNG, SVG and PDF.

Each function takes study results (and traces where it draws time) and writes one figure. They
build `matplotlib.figure.Figure` objects directly, so they never touch the pyplot backend, and
draw in one house style (`styled`) that scenarios use too. `save_figure` writes the PNG a reader
looks at and, beside it, SVG and PDF with text kept as text, for papers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.patheffects import withStroke
from matplotlib.ticker import FormatStrFormatter

from accelsim.hardware import Accelerator
from accelsim.precision import Precision
from accelsim.study.evaluate import Result
from accelsim.study.table import group_key, ranks
from accelsim.trace.columns import value_fractions
from accelsim.trace.trace import Trace

#: Colour and legend label of each MAC-array state, bottom of a stack first. A stall shares the
#: hue of the buffer whose operand it waits for, so the panels of a replay read together.
STATE_STYLE = {
    "BUSY": ("#2ca02c", "busy (computing)"),
    "STALL_WEIGHTS": ("#1f77b4", "stall: waiting for weights"),
    "STALL_ACTIVATIONS": ("#ff7f0e", "stall: waiting for activations"),
    "STALL_OUTPUT": ("#d62728", "stall: output buffer full"),
    "IDLE": ("#c7c7c7", "idle"),
}
BUS_STYLE = {"READ": ("#9467bd", "DRAM bus reading"), "WRITE": ("#8c564b", "DRAM bus writing")}
ENERGY_STYLE = (
    ("mac_energy_j", "#2ca02c", "MAC"),
    ("sram_energy_j", "#17becf", "on-chip SRAM"),
    ("dram_energy_j", "#9467bd", "DRAM"),
    ("static_energy_j", "#7f7f7f", "static (leakage x time)"),
    ("vector_energy_j", "#bcbd22", "vector unit"),
)
PRECISION_COLORS = {
    "fp32": "#1f77b4",
    "fp16": "#ff7f0e",
    "bf16": "#8c564b",
    "int8": "#2ca02c",
    "int4": "#d62728",
}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def _groups(results: Sequence[Result]) -> dict[tuple[str, str], list[Result]]:
    out: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        out.setdefault(group_key(r), []).append(r)
    return out


def _grid(count: int, width: float, height: float) -> tuple[Figure, list[Axes]]:
    cols = 1 if count == 1 else 2
    rows = -(-count // cols)
    fig = Figure(figsize=(width * cols, height * rows), dpi=110, layout="constrained")
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(count)]
    return fig, axes


def _accuracy_note(results: Sequence[Result]) -> str:
    kinds = sorted({r.accuracy_kind for r in results if r.accuracy_kind})
    return f"accuracy: {', '.join(kinds)}" if kinds else "no accuracy given"


#: The house style: one font scale, light grids, legends that do not hide data, vector text.
HOUSE_STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.framealpha": 0.9,
    "figure.titlesize": 12,
    "figure.titleweight": "bold",
    "grid.alpha": 0.3,
    "savefig.dpi": 150,
    "svg.fonttype": "none",  # SVG text stays text: searchable, editable
    "pdf.fonttype": 42,  # TrueType in PDF: editable in a drawing program, accepted by publishers
    "svg.hashsalt": "accelsim",  # stable SVG ids: the same figure gives the same file
}
#: Formats `save_figure` writes beside the PNG.
VECTOR_FORMATS = (".svg", ".pdf")

F = TypeVar("F", bound=Callable[..., Any])


def styled(draw: F) -> F:
    """Decorator: draw the figure under the house style (rcParams are read as artists are made)."""

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context(HOUSE_STYLE):
            return draw(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write `fig` as PNG at `path` and as SVG and PDF beside it; returns the PNG's path."""
    path = Path(path)
    with matplotlib.rc_context(HOUSE_STYLE):
        fig.savefig(path)
        for suffix in VECTOR_FORMATS:
            fig.savefig(
                path.with_suffix(suffix), metadata={"CreationDate": None} if suffix == ".pdf" else {"Date": None}
            )
    return path


def declutter(fig: Figure, texts: Iterable[Any], step_points: float = 2.0, tries: int = 12) -> None:
    """Move annotations (offset in points) up or down until no two overlap, nearest free spot
    first; labels are placed in the order given, so give the most important first."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()  # fixes the layout, so extents are final
    renderer = canvas.get_renderer()
    placed: list[Any] = []
    for text in texts:
        x, y = text.xyann
        box = text.get_window_extent(renderer)
        height = box.height * 72 / fig.dpi + step_points
        for k in range(tries + 1):
            shift = (k + 1) // 2 * height * (1 if k % 2 else -1)
            text.xyann = (x, y + shift)
            box = text.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in placed):
                break
        placed.append(box)


def _score(r: Result) -> float:
    return r.accuracy_per_j if r.accuracy_per_j is not None else r.inferences_per_j


# --- 1. efficiency -------------------------------------------------------------------------------


@styled
def efficiency_bars(results: Sequence[Result], path: str | Path) -> Path:
    """Accuracy per joule of every configuration, one panel per network, one bar per hardware."""
    networks = list(dict.fromkeys(r.network for r in results))
    hardware = list(dict.fromkeys(r.hardware for r in results))
    fig, axes = _grid(len(networks), 8.5, 0.32 * len({r.configuration for r in results}) + 1.8)
    rank = dict(zip(map(id, results), ranks(results)))
    for ax, net in zip(axes, networks):
        mine = [r for r in results if r.network == net]
        configs = list(dict.fromkeys(r.configuration for r in mine))
        first = {r.configuration: _score(r) for r in mine if r.hardware == hardware[0]}
        configs.sort(key=lambda c: first.get(c, 0.0))
        y = np.arange(len(configs))
        height = 0.8 / len(hardware)
        for k, hw in enumerate(hardware):
            by_config = {r.configuration: r for r in mine if r.hardware == hw}
            values = [_score(by_config[c]) if c in by_config else 0.0 for c in configs]
            offset = ((len(hardware) - 1) / 2 - k) * height  # first hardware on top, as in the legend
            bars = ax.barh(y + offset, values, height=height, color=f"C{k}", label=f"on {hw}")
            for bar, c in zip(bars, configs):
                if c in by_config:
                    ax.annotate(
                        f" #{rank[id(by_config[c])]}",
                        (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                        va="center",
                        fontsize=7,
                        color="0.3",
                        path_effects=[withStroke(linewidth=2.5, foreground="white")],
                    )
        ax.set_yticks(y, configs, fontsize=8)
        ax.set_xlabel("accuracy per joule (accuracy fraction / J per inference)")
        ax.set_title(f"{net}: efficiency, higher is better (#: rank on that hardware)", loc="left", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.margins(x=0.12)
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(f"Accuracy per joule by configuration ({_accuracy_note(results)})", fontweight="bold")
    return save_figure(fig, path)


# --- 2. energy vs accuracy -------------------------------------------------------------------------


def pareto_front(results: Sequence[Result]) -> list[Result]:
    """Results no other beats on both energy (lower) and accuracy (higher), by energy."""
    scored = sorted((r for r in results if r.accuracy is not None), key=lambda r: (r.energy_j, -r.accuracy))
    front: list[Result] = []
    for r in scored:
        if not front or r.accuracy > front[-1].accuracy:  # type: ignore[operator]
            front.append(r)
    return front


@styled
def energy_vs_accuracy(results: Sequence[Result], path: str | Path) -> Path:
    """Energy per inference against accuracy, one panel per (network, hardware), Pareto front drawn."""
    groups = _groups([r for r in results if r.accuracy is not None])
    fig, axes = _grid(len(groups), 7.5, 5.2)
    labels: list[Any] = []  # Pareto points' labels first: they keep their place when labels collide
    precisions: dict[str, None] = {}
    for ax, ((net, hw), mine) in zip(axes, groups.items()):
        front = pareto_front(mine)
        on_front = {id(r) for r in front}
        for r in sorted(mine, key=lambda r: (id(r) not in on_front, r.energy_j)):
            color = PRECISION_COLORS.get(r.mac_precision, "0.4")
            ax.scatter(r.energy_j * 1e6, 100 * r.accuracy, s=42, color=color, edgecolor="black", lw=0.4, zorder=3)
            labels.append(
                ax.annotate(
                    r.configuration,
                    (r.energy_j * 1e6, 100 * r.accuracy),
                    xytext=(5, 2),
                    textcoords="offset points",
                    fontsize=6.5,
                    color="black" if id(r) in on_front else "0.45",
                    fontweight="bold" if id(r) in on_front else "normal",
                )
            )
        ax.plot(
            [r.energy_j * 1e6 for r in front],
            [100 * r.accuracy for r in front],
            drawstyle="steps-post",
            color="black",
            lw=1,
            ls="--",
            zorder=2,
        )
        ax.set_xscale("log")
        ax.set_xlabel("energy per inference (uJ, log scale)")
        ax.set_ylabel("accuracy (%)")
        ax.set_title(f"{net} on {hw}", loc="left", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.margins(x=0.15, y=0.06)
        precisions.update(dict.fromkeys(r.mac_precision for r in mine))
    handles = [Line2D([], [], color="black", ls="--", label="Pareto front (bold labels)")]
    handles += [
        Line2D([], [], ls="", marker="o", color=PRECISION_COLORS.get(p, "0.4"), label=f"MACs at {p}")
        for p in precisions
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    fig.suptitle(f"Energy against accuracy: up and left is better ({_accuracy_note(results)})", fontweight="bold")
    declutter(fig, labels)
    return save_figure(fig, path)


# --- 3. roofline ------------------------------------------------------------------------------------


@styled
def roofline(results: Sequence[Result], hardware: dict[str, Accelerator], path: str | Path) -> Path:
    """Attained throughput against operational intensity (DRAM bytes actually moved), with each
    accelerator's memory roof and compute roofs per precision; one panel per accelerator."""
    names = list(dict.fromkeys(r.hardware for r in results))
    fig, axes = _grid(len(names), 7.5, 5.6)
    networks = list(dict.fromkeys(r.network for r in results))
    used: dict[str, None] = {}
    for ax, name in zip(axes, names):
        hw = hardware[name]
        mine = [r for r in results if r.hardware == name]
        x = np.array([r.intensity_ops_per_byte for r in mine])
        lo, hi = float(x.min()) / 4, float(x.max()) * 40
        grid = np.geomspace(lo, hi, 200)
        bandwidth = hw.dram.bandwidth_bytes_per_s
        precisions = sorted({Precision(r.mac_precision) for r in mine}, key=lambda p: -p.bits)
        peaks: dict[float, list[str]] = {}
        for p in precisions:
            peaks.setdefault(2 * hw.mac_array.macs_per_cycle(p) * hw.clock_hz, []).append(p.value)
        # The memory roof rises until it meets the highest compute roof, and no further.
        memory = grid[grid <= max(peaks) / bandwidth]
        ax.plot(
            [*memory, max(peaks) / bandwidth], [*(bandwidth * memory / 1e9), max(peaks) / 1e9], color="black", lw=1.2
        )
        for peak, names in peaks.items():
            color = PRECISION_COLORS[names[0]] if len(names) == 1 else "0.2"
            ridge = peak / bandwidth
            ax.plot([ridge, hi], [peak / 1e9, peak / 1e9], color=color, lw=1.2)
            label = f"{', '.join(names)} peak {peak / 1e9:g} GOPS"
            ax.annotate(label, (hi, peak / 1e9), ha="right", va="bottom", fontsize=7, color=color)
        ax.annotate(
            f"DRAM roof: {bandwidth / 1e6:g} MB/s",
            (lo * 1.3, bandwidth * lo * 1.3 / 1e9),
            fontsize=7,
            va="bottom",
        )
        for r in mine:
            marker = _MARKERS[networks.index(r.network) % len(_MARKERS)]
            ax.scatter(
                r.intensity_ops_per_byte,
                r.ops_per_s / 1e9,
                marker=marker,
                s=36,
                color=PRECISION_COLORS.get(r.mac_precision, "0.4"),
                edgecolor="black",
                lw=0.4,
                zorder=3,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("operational intensity (operations per DRAM byte moved)")
        ax.set_ylabel("attained throughput (GOPS)")
        ax.set_title(f"{name}: {hw.mac_array.lanes} MAC lanes at {hw.clock_hz / 1e9:g} GHz", loc="left", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.set_xlim(lo, hi)
        ax.set_ylim(min(r.ops_per_s for r in mine) / 1e9 / 4, max(peaks) / 1e9 * 2.5)
        used.update(dict.fromkeys(p.value for p in precisions))
    handles = [
        Line2D([], [], ls="", marker=_MARKERS[i % len(_MARKERS)], color="0.5", label=net)
        for i, net in enumerate(networks)
    ]
    handles += [Patch(color=PRECISION_COLORS[p], label=f"MACs at {p}") for p in used]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    fig.suptitle("Roofline: every configuration's simulated point under its accelerator's roofs", fontweight="bold")
    return save_figure(fig, path)


# --- 4. energy breakdown ---------------------------------------------------------------------------


Part = tuple[Callable[[Result], float], str, str]  # (value of a result, colour, legend label)


@styled
def _stacked_panels(
    results: Sequence[Result],
    path: str | Path,
    parts: Sequence[Part],
    order: Callable[[Result], float],
    xlabel: str,
    title: str,
) -> Path:
    """One panel per (network, hardware): a horizontal bar per configuration (sorted by
    `order`), stacked from `parts`, with one legend for the figure."""
    groups = _groups(results)
    fig, axes = _grid(len(groups), 7.5, 0.3 * max(len(g) for g in groups.values()) + 1.6)
    for ax, ((net, hw), mine) in zip(axes, groups.items()):
        mine = sorted(mine, key=order)
        y = np.arange(len(mine))
        left = np.zeros(len(mine))
        for value, color, _ in parts:
            widths = np.array([value(r) for r in mine], dtype=float)
            ax.barh(y, widths, left=left, color=color, height=0.75)
            left += widths
        ax.set_yticks(y, [r.configuration for r in mine], fontsize=8)
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlabel(xlabel)
        ax.set_title(f"{net} on {hw}", loc="left", fontsize=10)
    handles = [Patch(color=color, label=label) for _, color, label in parts]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9)
    fig.suptitle(title, fontweight="bold")
    return save_figure(fig, path)


def energy_breakdown(results: Sequence[Result], path: str | Path) -> Path:
    """Energy per inference of every configuration split into MAC, SRAM, DRAM and static."""
    parts = [((lambda r, k=key: getattr(r, k) * 1e6), color, label) for key, color, label in ENERGY_STYLE]
    return _stacked_panels(
        results,
        path,
        parts,
        lambda r: r.energy_j,
        "energy per inference (uJ)",
        "Where the energy goes (configurations by total energy)",
    )


# --- 5. utilization over time ----------------------------------------------------------------------


@styled
def utilization_over_time(runs: Sequence[tuple[str, Trace]], path: str | Path, columns: int = 800) -> Path:
    """For each (label, trace), on its own time axis: the MAC array's share of cycles in each
    state, stacked, and below it the DRAM bus's share of cycles reading and writing; every
    column is exact over its cycles (`accelsim.trace.columns`)."""
    fig = Figure(figsize=(13, 2.6 * len(runs) + 0.8), dpi=110, layout="constrained")
    grid = fig.add_gridspec(2 * len(runs), 1, height_ratios=[3, 1] * len(runs))
    for i, (label, trace) in enumerate(runs):
        ax_mac, ax_bus = fig.add_subplot(grid[2 * i]), fig.add_subplot(grid[2 * i + 1])
        clock, end = float(trace.meta["clock_hz"]), trace.end_cycle
        scale, unit = (1e3, "ms") if end / clock >= 1e-3 else (1e6, "us")
        x = None
        for ax, name, styles in ((ax_mac, "mac.state", STATE_STYLE), (ax_bus, "dram.bus", BUS_STYLE)):
            fractions = value_fractions(trace, name, 0, end, columns)
            x = fractions.edges / clock * scale
            bottom = np.zeros(len(x) - 1)
            for state, (color, _) in styles.items():
                if state in fractions.states:
                    top = bottom + 100 * fractions[state]
                    ax.stairs(top, x, baseline=bottom, fill=True, color=color, lw=0)
                    bottom = top
            ax.set_xlim(x[0], x[-1])
            ax.set_ylim(0, 100)
        ax_mac.set_ylabel("MAC array\n% of cycles", fontsize=8)
        ax_bus.set_ylabel("DRAM bus\n%", fontsize=8)
        ax_mac.tick_params(labelbottom=False)
        ax_bus.set_xlabel(f"time ({unit})", fontsize=8, labelpad=0)
        ax_mac.set_title(label, loc="left", fontsize=10)
    handles = [Patch(color=color, label=text) for color, text in (*STATE_STYLE.values(), *BUS_STYLE.values())]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8)
    fig.suptitle(
        "Hardware utilization over time: MAC array state and DRAM bus (each run on its own axis)", fontweight="bold"
    )
    return save_figure(fig, path)


# --- 6. stall breakdown ----------------------------------------------------------------------------


def stall_breakdown(results: Sequence[Result], path: str | Path) -> Path:
    """Cycles of every configuration split by MAC-array state: computing or stalled, on what."""
    parts = [
        ((lambda r, s=state: r.state_cycles.get(s, 0) / 1e6), color, label)
        for state, (color, label) in STATE_STYLE.items()
    ]
    return _stacked_panels(
        results,
        path,
        parts,
        lambda r: r.cycles,
        "cycles (millions)",
        "Where the cycles go: MAC array busy or stalled (configurations by cycles)",
    )


# --- advise: the searched Pareto front -------------------------------------------------------------


def _si_scale(values: Sequence[float], unit: str) -> tuple[float, str]:
    """(factor, label) putting the largest of `values` (SI units) in [1, 1000) of a prefix: a
    decoder's energy per token spans nanojoules (tinylm) to joules (a 7B model)."""
    top = max(values, default=1.0)
    for factor, prefix in ((1e9, "n"), (1e6, "u"), (1e3, "m")):
        if top * factor < 1e3:
            return factor, f"{prefix}{unit}"
    return 1.0, unit


def _draw_front(
    ax: Axes,
    evaluated: Sequence[Any],
    front: Sequence[Any],
    recommended: Any,
    x: Callable[[Any], float],
    y: Callable[[Any], float],
    colors: Sequence[Any],
) -> list[Any]:
    """Every evaluated point (grey), the front's staircase, its points numbered as in the table
    and coloured by `colors`, and the recommended point starred; returns the number labels."""
    ax.scatter(
        [x(c) for c in evaluated],
        [y(c) for c in evaluated],
        s=14,
        color="0.75",
        zorder=2,
        label=f"evaluated ({len(evaluated)})",
    )
    ordered = sorted(front, key=lambda c: c.energy_j)
    ax.plot(
        [x(c) for c in ordered],
        [y(c) for c in ordered],
        drawstyle="steps-post",
        color="black",
        lw=1,
        ls="--",
        zorder=3,
        label="Pareto front (numbers: the table's rows)",
    )
    labels = []
    for i, (c, color) in enumerate(zip(front, colors, strict=True), start=1):
        ax.scatter(x(c), y(c), s=40, color=color, edgecolor="black", lw=0.4, zorder=4)
        labels.append(ax.annotate(str(i), (x(c), y(c)), xytext=(5, 2), textcoords="offset points"))
    if recommended is not None:
        ax.scatter(
            x(recommended),
            y(recommended),
            s=220,
            marker="*",
            color="#d62728",
            edgecolor="black",
            lw=0.5,
            zorder=5,
            label="recommended",
        )
    return labels


@styled
def advise_front(
    evaluated: Sequence[Any],
    front: Sequence[Any],
    recommended: Any,
    title: str,
    path: str | Path,
    min_accuracy: float | None = None,
) -> Path:
    """Accuracy against energy of every configuration a search evaluated (grey), its Pareto
    front numbered as in the table `accelsim advise` prints, the recommended point starred, and
    the accuracy floor when there is one. The points are `accelsim.study.advise.Candidate`s."""
    fig = Figure(figsize=(7.5, 5.2), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    labels = _draw_front(
        ax,
        evaluated,
        front,
        recommended,
        lambda c: c.energy_j * 1e6,
        lambda c: 100 * c.accuracy,
        ["#1f77b4"] * len(front),
    )
    if min_accuracy is not None:
        ax.axhline(100 * min_accuracy, color="#d62728", lw=0.8, ls=":", zorder=1, label="accuracy floor")
    sources = sorted({c.accuracy_source for c in evaluated})
    ax.set_xscale("log")
    ax.set_xlabel("energy per inference (uJ, log scale)")
    ax.set_ylabel(f"accuracy (%, {', '.join(sources)})")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title, loc="left", fontsize=10)
    declutter(fig, labels)
    return save_figure(fig, path)


@styled
def advise_decoder_front(
    evaluated: Sequence[Any],
    front: Sequence[Any],
    recommended: Any,
    title: str,
    path: str | Path,
    max_perplexity: float | None = None,
) -> Path:
    """A decoder search's `advise_front`: perplexity (lower is better) against energy per token,
    the front's points coloured by their time per output token, the perplexity limit when
    there is one. The points are `Candidate`s of a decoder (`per == "token"`)."""
    fig = Figure(figsize=(7.5, 5.2), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    joules, energy_unit = _si_scale([c.energy_j for c in evaluated], "J")
    seconds, time_unit = _si_scale([c.latency_s for c in front], "s")
    tpot = [c.latency_s * seconds for c in front]
    norm = Normalize(min(tpot, default=0.0), max(tpot, default=1.0))
    cmap = matplotlib.colormaps["viridis"]
    labels = _draw_front(
        ax,
        evaluated,
        front,
        recommended,
        lambda c: c.energy_j * joules,
        lambda c: c.perplexity,
        [cmap(norm(t)) for t in tpot],
    )
    if max_perplexity is not None:
        ax.axhline(max_perplexity, color="#d62728", lw=0.8, ls=":", zorder=1, label="perplexity limit")
    mappable = ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(mappable, ax=ax, label=f"time per output token ({time_unit}), Pareto-front points")
    sources = sorted({c.accuracy_source for c in evaluated})
    ax.set_xscale("log")
    ax.set_xlabel(f"energy per token ({energy_unit}, log scale)")
    ax.set_ylabel(f"perplexity ({', '.join(sources)}; lower is better)")
    ax.grid(alpha=0.3, which="both")
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))  # 200, not 2x10^2
    ax.xaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.legend(loc="best", fontsize=8)  # a front of one point sits in a corner, any corner
    ax.set_title(title, loc="left", fontsize=10)
    declutter(fig, labels)
    return save_figure(fig, path)
