"""Comparison tables of study results: CSV (every field, SI units) and Markdown (readable units).

Results are ranked by accuracy per joule within each (network, hardware) group: a ranking only
means something on one workload and one accelerator.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from accelsim.errors import InputError
from accelsim.study.evaluate import Result
from accelsim.study.points import Point, grid_fields

GroupKey = tuple[str, str]


def group_key(result: Result) -> GroupKey:
    return result.network, result.hardware


def ranks(results: Sequence[Result]) -> list[int]:
    """Rank of each result (1 = most accuracy per joule) within its (network, hardware) group;
    results without accuracy rank by inferences per joule."""

    def score(r: Result) -> tuple[float, int]:
        value = r.accuracy_per_j if r.accuracy_per_j is not None else r.inferences_per_j
        return (-value, r.cycles)

    out = [0] * len(results)
    groups: dict[GroupKey, list[int]] = {}
    for i, r in enumerate(results):
        groups.setdefault(group_key(r), []).append(i)
    for members in groups.values():
        for position, i in enumerate(sorted(members, key=lambda i: score(results[i])), start=1):
            out[i] = position
    return out


_CSV_FIELDS = (
    "rank",
    "configuration",
    "network",
    "hardware",
    "pipeline",
    "cycles",
    "latency_s",
    "macs",
    "network_macs",
    "mac_precision",
    "parameters",
    "nonzero_weights",
    "weight_bytes",
    "dram_busy_cycles",
    "dram_read_bytes",
    "dram_write_bytes",
    "dram_bytes",
    "inferences_per_s",
    "ops_per_s",
    "intensity_ops_per_byte",
    "mac_utilization",
    "bound_cycles",
    "limiter",
    "energy_j",
    "mac_energy_j",
    "sram_energy_j",
    "dram_energy_j",
    "static_energy_j",
    "vector_energy_j",
    "accuracy",
    "accuracy_kind",
    "accuracy_per_j",
    "inferences_per_j",
    "edp_j_s",
    "stall_cycles",
)


def tidy_rows(results: Sequence[Result], points: Sequence[Point] | None = None) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the results table: one row per result, every figure at full precision,
    state cycles as `cycles_<STATE>`. With `points` (one per result), the columns after `hardware`
    are the preset and one per grid dimension (each hardware field a point overrides, named by its
    dotted path), so a sweep's grid is columns to filter on, not text packed in `hardware`."""
    states = sorted({s for r in results for s in r.state_cycles})
    fields = grid_fields(points) if points is not None else []
    at = _CSV_FIELDS.index("hardware") + 1
    header = [*_CSV_FIELDS[:at], *(["preset", *fields] if points is not None else []), *_CSV_FIELDS[at:]]
    header += [f"cycles_{s}" for s in states]
    rows = []
    for i, (rank, r) in enumerate(zip(ranks(results), results)):
        values = {**r.as_dict(), "rank": rank}
        if points is not None:
            values |= {"preset": points[i].hardware, **{f: points[i].field_value(f) for f in fields}}
        rows.append(
            [values.get(f) for f in header[: len(header) - len(states)]] + [r.state_cycles.get(s, 0) for s in states]
        )
    return header, rows


def write_csv(results: Sequence[Result], path: str | Path, points: Sequence[Point] | None = None) -> Path:
    """`tidy_rows` as CSV (an empty field for a missing value)."""
    path = Path(path)
    header, rows = tidy_rows(results, points)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(["" if value is None else value for value in row] for row in rows)
    return path


def _accuracy(r: Result) -> str:
    if r.accuracy is None:
        return "-"
    return f"{100 * r.accuracy:.2f}% ({r.accuracy_kind})"


_MARKDOWN: tuple[tuple[str, Callable[[Result], str]], ...] = (
    ("configuration", lambda r: r.configuration),
    ("cycles", lambda r: f"{r.cycles:,}"),
    ("MACs", lambda r: f"{r.macs:,}"),
    ("DRAM cycles", lambda r: f"{r.dram_busy_cycles:,}"),
    ("DRAM bytes", lambda r: f"{r.dram_bytes:,}"),
    ("inferences/s", lambda r: f"{r.inferences_per_s:,.1f}"),
    ("GOPS", lambda r: f"{r.ops_per_s / 1e9:.3f}"),
    ("energy uJ", lambda r: f"{r.energy_j * 1e6:,.2f}"),
    ("MAC uJ", lambda r: f"{r.mac_energy_j * 1e6:,.2f}"),
    ("SRAM uJ", lambda r: f"{r.sram_energy_j * 1e6:,.2f}"),
    ("DRAM uJ", lambda r: f"{r.dram_energy_j * 1e6:,.2f}"),
    ("static uJ", lambda r: f"{r.static_energy_j * 1e6:,.2f}"),
    ("accuracy", _accuracy),
    ("accuracy/J", lambda r: "-" if r.accuracy_per_j is None else f"{r.accuracy_per_j:,.0f}"),
)


def markdown(results: Sequence[Result]) -> str:
    """One section per (network, hardware) group, rows in rank order."""
    order = ranks(results)
    sections = []
    groups: dict[GroupKey, list[tuple[int, Result]]] = {}
    for rank, r in zip(order, results):
        groups.setdefault(group_key(r), []).append((rank, r))
    for (net, hw), members in groups.items():
        header = ["rank", *(name for name, _ in _MARKDOWN)]
        lines = [f"### {net} on {hw}", "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        for rank, r in sorted(members, key=lambda m: m[0]):
            lines.append("| " + " | ".join([str(rank), *(cell(r) for _, cell in _MARKDOWN)]) + " |")
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"


def replace_block(path: str | Path, name: str, text: str) -> None:
    """Replace the text between `<!-- name:begin -->` and `<!-- name:end -->` in a Markdown
    file (a README section written by a scenario)."""
    path = Path(path)
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    head, found, rest = path.read_text().partition(begin)
    if not found or end not in rest:
        raise InputError(f"--readme: {path} has no {begin} ... {end} block")
    path.write_text(f"{head}{begin}\n{text.rstrip()}\n{end}{rest.partition(end)[2]}")


def block(path: str | Path, name: str) -> str:
    """The text of a block written by `replace_block`."""
    text = Path(path).read_text()
    return text.partition(f"<!-- {name}:begin -->")[2].partition(f"<!-- {name}:end -->")[0].strip()
