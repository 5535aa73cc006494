"""Plain-text tables of a run summary, as `accelsim run` prints them; `format_si` and
`format_table` serve every command that prints figures."""

from __future__ import annotations

from accelsim.metrics.summary import Figures, Summary


def format_si(value: float, unit: str) -> str:
    """A value with an SI prefix and 3 significant digits, e.g. 0.0293 J -> '29.3 mJ'."""
    for factor, prefix in (
        (1e9, "G"),
        (1e6, "M"),
        (1e3, "k"),
        (1, ""),
        (1e-3, "m"),
        (1e-6, "u"),
        (1e-9, "n"),
        (1e-12, "p"),
    ):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"0 {unit}"


def _row(f: Figures, precision: str) -> list[str]:
    s = f.state_cycles
    return [
        f.name,
        precision,
        f"{f.cycles:,}",
        f"{f.bound.cycles:,}",
        f"{f.bound_ratio:.2f}",
        f"{100 * f.mac_utilization:.1f}",
        f"{s.get('STALL_WEIGHTS', 0):,}",
        f"{s.get('STALL_ACTIVATIONS', 0):,}",
        f"{s.get('STALL_OUTPUT', 0):,}",
        f"{(f.dram_read_bytes + f.dram_write_bytes) / 1024:,.1f}",
        f"{100 * f.bus_utilization:.1f}",
        f"{f.energy.total_j * 1e6:,.2f}",
    ]


HEADERS = [
    "layer",
    "prec",
    "cycles",
    "bound",
    "sim/bound",
    "MAC util %",
    "stall W",
    "stall A",
    "stall out",
    "DRAM KiB",
    "bus %",
    "energy uJ",
]


def format_table(rows: list[list[str]], headers: list[str], text_columns: tuple[int, ...] = (0,)) -> str:
    """Columns padded to their widest cell; text columns left-aligned, numbers right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        padded = [c.ljust(w) if i in text_columns else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(padded).rstrip()

    head = line(headers)
    return "\n".join([head, "-" * len(head), *(line(r) for r in rows)])


def format_summary(summary: Summary) -> str:
    """Per-layer table, totals, energy breakdown and efficiency."""
    rows = [_row(f, f.detail.get("precision", "")) for f in summary.layers]
    rows.append(_row(summary.total, ""))
    t, e, eff = summary.total, summary.total.energy, summary.efficiency
    lines = [f"network {summary.network} on hardware {summary.hardware}"]
    if summary.provenance:
        lines.append("compressed by " + " -> ".join(summary.provenance))
    lines += [
        format_table(rows, HEADERS),
        "",
        f"cycles {t.cycles:,}  latency {format_si(t.latency_s, 's')}  MACs {t.macs:,}  MAC utilization {100 * t.mac_utilization:.2f}%",
        f"bound  {t.bound.cycles:,} cycles ({t.bound.limiter}-bound: compute {t.bound.compute_cycles:,},"
        f" memory {t.bound.memory_cycles:,})  simulated/bound {t.bound_ratio:.3f}",
        f"DRAM   read {t.dram_read_bytes:,} B  written {t.dram_write_bytes:,} B  bus utilization {100 * t.bus_utilization:.1f}%",
        f"energy {format_si(e.total_j, 'J')}: MAC {format_si(e.mac_j, 'J')}, SRAM {format_si(e.sram_j, 'J')},"
        f" DRAM {format_si(e.dram_j, 'J')}, static {format_si(e.static_j, 'J')}"
        + (f", vector {format_si(e.vector_j, 'J')}" if e.vector_j else ""),
        f"efficiency {eff.inferences_per_j:,.1f} inferences/J  {eff.tops_per_w:.4f} TOPS/W  EDP {eff.edp_j_s:.4g} J*s",
    ]
    if "vector_ops" in t.detail:
        lines.insert(
            -1,
            f"vector {t.detail['vector_ops']:,} operations in vector layers taking"
            f" {t.detail['vector_layer_cycles']:,} cycles ({100 * t.detail['vector_share']:.1f}% of the run)",
        )
    if eff.accuracy is not None:
        lines.append(f"accuracy {eff.accuracy:.4f}  accuracy/energy {eff.accuracy_per_j:,.2f} per J")
    return "\n".join(lines)
