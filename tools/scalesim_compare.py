"""accelsim against SCALE-Sim 3.0.0's figures in tests/data/scalesim_calc_reference.csv (no SCALE-Sim needed).

    python tools/scalesim_compare.py [--memory scalesim|accelsim]

Runs every topology of scenarios/scalesim on every configuration of the reference file, as
`accelsim run --topology T --scalesim-config C` does, and prints one markdown row per array,
dataflow and SRAM set: the layers compared, the error of accelsim's per-layer cycles against
SCALE-Sim's "Total Cycles" (max and median; the compute cycles, BUSY, and the layer's cycles as
`accelsim run` prints them), and accelsim's DRAM bytes over SCALE-Sim's DRAM words where SCALE-Sim
simulated its memory (`full` rows).
"""

from __future__ import annotations

import argparse
import collections
import csv
import re
import statistics
import tempfile
from pathlib import Path

from accelsim.interop.scalesim import read_config, read_topology
from accelsim.metrics import summarize
from accelsim.precision import Precision
from accelsim.sim.engine import simulate
from accelsim.workload.layers import Network

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "data" / "scalesim_calc_reference.csv"
SCENARIO = ROOT / "scenarios" / "scalesim"


def reference() -> dict[tuple[str, str], list[dict[str, str]]]:
    """Reference rows by (topology, config), in file order."""
    with REFERENCE.open() as fh:
        next(fh)  # provenance
        groups: dict[tuple[str, str], list[dict[str, str]]] = collections.defaultdict(list)
        for row in csv.DictReader(fh):
            groups[(row["topology"], row["config"])].append(row)
    return groups


def config_file(row: dict[str, str], directory: Path) -> Path:
    """scenarios/scalesim/scale.cfg with the array, dataflow and SRAMs of a reference row."""
    if row["config"] == "scale.cfg":
        return SCENARIO / "scale.cfg"
    text = (SCENARIO / "scale.cfg").read_text()
    for key, field in (
        ("ArrayHeight", "array_rows"),
        ("ArrayWidth", "array_cols"),
        ("IfmapSramSzkB", "ifmap_kb"),
        ("FilterSramSzkB", "filter_kb"),
        ("OfmapSramSzkB", "ofmap_kb"),
        ("Dataflow", "dataflow"),
    ):
        text = re.sub(rf"{key}\s*:\s*\w+", f"{key}: {row[field]}", text)
    path = directory / row["config"]
    path.write_text(text)
    return path


def compare(memory: str) -> list[dict[str, object]]:
    """One record per layer: SCALE-Sim's figures and accelsim's."""
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for (topology, _), rows in reference().items():
            full = read_topology(SCENARIO / topology).network
            names = {row["layer"] for row in rows}
            net = Network(full.name, tuple(layer for layer in full.layers if layer.name in names))
            hw = read_config(config_file(rows[0], Path(tmp)), memory=memory).accelerator
            summary = summarize(simulate(net.with_precision(Precision.INT8), hw))
            for figures, row in zip(summary.layers, rows, strict=True):
                records.append(
                    {
                        **row,
                        "busy": figures.state_cycles.get("BUSY", 0),
                        "cycles": figures.cycles,
                        "read_bytes": figures.dram_read_bytes,
                        "write_bytes": figures.dram_write_bytes,
                    }
                )
    return records


def _error(ours: int, theirs: int) -> float:
    return (ours - theirs) / theirs


def table(records: list[dict[str, object]]) -> str:
    groups: dict[tuple, list[dict[str, object]]] = collections.defaultdict(list)
    for r in records:
        key = (
            f"{r['array_rows']}x{r['array_cols']}",
            r["dataflow"],
            f"{r['ifmap_kb']}/{r['filter_kb']}/{r['ofmap_kb']} KB",
        )
        groups[key].append(r)
    lines = [
        "| array | dataflow | SRAMs (IFMAP/filter/OFMAP) | layers | compute cycles: max, median error | layer cycles: max, median error | DRAM traffic, accelsim / SCALE-Sim (layers) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for key in sorted(groups, key=lambda k: (int(k[0].split("x")[0]), k[1], k[2])):
        rows = groups[key]
        busy = [_error(int(r["busy"]), int(r["total_cycles"])) for r in rows]
        cycles = [_error(int(r["cycles"]), int(r["total_cycles"])) for r in rows]
        full = [r for r in rows if r["mode"] == "full"]
        ours = sum(int(r["read_bytes"]) + int(r["write_bytes"]) for r in full)
        theirs = sum(
            int(r["ifmap_dram_reads"]) + int(r["filter_dram_reads"]) + int(r["ofmap_dram_writes"]) for r in full
        )
        traffic = f"{ours / theirs:.2f} ({len(full)})" if full else "-"
        lines.append(
            f"| {key[0]} | {key[1]} | {key[2]} | {len(rows)} | {max(busy):+.2%}, {statistics.median(busy):+.3%} | "
            f"{max(cycles, key=abs):+.2%}, {statistics.median(cycles):+.3%} | {traffic} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", choices=["scalesim", "accelsim"], default="scalesim")
    args = parser.parse_args()
    records = compare(args.memory)
    print(table(records))
    worst = max(records, key=lambda r: abs(_error(int(r["cycles"]), int(r["total_cycles"]))))
    exact = sum(int(r["busy"]) == int(r["total_cycles"]) + 1 for r in records)
    print(f"\n{len(records)} layers, {exact} with compute cycles (BUSY) = SCALE-Sim's Total Cycles + 1")
    print(
        f"largest layer-cycles error: {worst['layer']} on {worst['config']}: {worst['cycles']} against {worst['total_cycles']}"
    )


if __name__ == "__main__":
    main()
