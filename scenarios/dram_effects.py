"""What a real DRAM device changes in our answers: the simple model against the banked one.

An accelerator of 1,024 INT8 lanes (4,096 MACs a cycle at 1 GHz; the seed's buffers), so that DRAM
matters, runs resnet20, resnet50 and a GPT-2 decode step (context 512, batch 1), all INT8, on

- `simple`: the seed's DRAM model set to the device's peak bandwidth and its unloaded latency
  (tRCD + CL), with the per-byte energy of the energy table;
- `banked`: the device itself (`dram.model = "banked"`): banks, rows, refresh, and energy per
  command from its IDD currents;

for DDR4-3200, LPDDR5-6400 and HBM2. Then, on DDR4: how the tensor layout (tiles contiguous in
stream order, or the tensor row by row), the page policy and the address mapping change row
locality; and whether the ranking of five compression strategies of resnet20 changes with the
memory model.

    python scenarios/dram_effects.py                      # into out/dram_effects
    python scenarios/dram_effects.py --readme README.md   # also the README block

Writes effects.csv, layout.csv, ranking.csv, summary.md and dram_effects.png (latency and energy,
simple against banked), dram_energy.png (DRAM energy by command).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from accelsim import (
    Accelerator,
    InputError,
    LowRank,
    Network,
    Precision,
    Quantize,
    StructuredPrune,
    UnstructuredPrune,
    decode_step,
    decoder,
    dram_command_energy_pj,
    dram_commands,
    dram_device,
    hardware,
    network,
    pipeline,
    plots,
    replace_block,
    simulate,
    summarize,
)

DEVICES = ("ddr4-3200", "lpddr5-6400", "hbm2")
README_BLOCK = "dram-effects"
COMMANDS = ("act", "read", "write", "refresh", "background")
#: Address mappings compared on DDR4 (DRAMsim3 bit order, most significant first).
MAPPINGS = {
    "rows across banks (rochrababgco, DRAMsim3's)": "rochrababgco",
    "rows within one bank (rabgbarochco)": "rabgbarochco",
}


def accelerator() -> Accelerator:
    seed = hardware.seed()
    return seed.replace(name="seed-1024", mac_array=dataclasses.replace(seed.mac_array, lanes=1024))


def workloads(quick: bool) -> dict[str, Network]:
    nets = {"resnet20": network("resnet20").with_precision(Precision.INT8)}
    if not quick:
        nets["resnet50"] = network("resnet50").with_precision(Precision.INT8)
        nets["gpt2 decode (ctx 512)"] = decode_step(decoder("gpt2"), 512, 1).with_precision(Precision.INT8)
    return nets


def simple_for(base: Accelerator, device: str) -> Accelerator:
    """The simple model at the device's peak bandwidth and unloaded read latency."""
    d = dram_device(device)
    latency_ns = (d.trcd_cycles + d.cl_cycles) * d.tck_ns
    dram = dataclasses.replace(base.dram, bandwidth_bytes_per_s=d.peak_bandwidth_bytes_per_s, latency_ns=latency_ns)
    return base.replace(dram=dram)


def banked_for(base: Accelerator, device: str, **fields: str) -> Accelerator:
    return base.replace(dram=dataclasses.replace(base.dram, model="banked", device=device, **fields))


@dataclass(frozen=True)
class Run:
    """One simulation's figures."""

    cycles: int
    energy_j: float
    dram_j: float
    bus_bytes: int
    hit_rate: float | None
    acts: int
    by_command_j: dict[str, float]

    def bandwidth_gb_s(self, clock_hz: float) -> float:
        return self.bus_bytes / (self.cycles / clock_hz) / 1e9


def measure(net: Network, hw: Accelerator) -> Run:
    trace = simulate(net, hw)
    total = summarize(trace).total
    commands = dram_commands(trace)
    by_command = {k: v * 1e-12 for k, v in dram_command_energy_pj(commands, hw).items()} if commands else {}
    return Run(
        cycles=trace.end_cycle,
        energy_j=total.energy.total_j,
        dram_j=total.energy.dram_j,
        bus_bytes=int(np.sum(trace.transfers["bus_bytes"])),
        hit_rate=commands.row_hit_rate if commands else None,
        acts=commands.acts if commands else 0,
        by_command_j=by_command,
    )


# ---- the device against the simple model -------------------------------------------------------
def effects(nets: dict[str, Network], base: Accelerator) -> list[dict]:
    rows = []
    for name, net in nets.items():
        for device in DEVICES:
            simple, banked = measure(net, simple_for(base, device)), measure(net, banked_for(base, device))
            peak = dram_device(device).peak_bandwidth_bytes_per_s / 1e9
            rows.append(
                {
                    "workload": name,
                    "device": device,
                    "simple_cycles": simple.cycles,
                    "banked_cycles": banked.cycles,
                    "latency_ratio": banked.cycles / simple.cycles,
                    "peak_gb_s": peak,
                    "simple_gb_s": simple.bandwidth_gb_s(base.clock_hz),
                    "banked_gb_s": banked.bandwidth_gb_s(base.clock_hz),
                    "row_hit_rate": banked.hit_rate,
                    "simple_dram_uj": simple.dram_j * 1e6,
                    "banked_dram_uj": banked.dram_j * 1e6,
                    "simple_total_uj": simple.energy_j * 1e6,
                    "banked_total_uj": banked.energy_j * 1e6,
                    **{f"{k}_uj": v * 1e6 for k, v in banked.by_command_j.items()},
                }
            )
    return rows


# ---- layout, page policy and mapping against row locality ---------------------------------------
def layout(net: Network, base: Accelerator) -> list[dict]:
    rows = []
    for mapping_name, mapping in MAPPINGS.items():
        for layout_name in ("tiled", "row-major"):
            for policy in ("open", "closed"):
                hw = banked_for(base, "ddr4-3200", layout=layout_name, page_policy=policy, address_mapping=mapping)
                run = measure(net, hw)
                rows.append(
                    {
                        "mapping": mapping_name,
                        "layout": layout_name,
                        "page": policy,
                        "cycles": run.cycles,
                        "row_hit_rate": run.hit_rate,
                        "acts": run.acts,
                        "bus_kib": run.bus_bytes / 1024,
                        "dram_uj": run.dram_j * 1e6,
                    }
                )
    return rows


# ---- compression ranking --------------------------------------------------------------------------
def strategies() -> dict[str, Callable[[Network], Network]]:
    return {
        "INT8": Quantize("int8"),
        "INT4 weights": Quantize("int4", "int8"),
        "50% channels pruned, INT8": pipeline(StructuredPrune(0.5), Quantize("int8")),
        "70% sparse (bitmask), INT8": pipeline(UnstructuredPrune(0.7), Quantize("int8")),
        "low rank 0.5, INT8": pipeline(LowRank(0.5), Quantize("int8")),
    }


def ranking(base: Accelerator) -> tuple[list[dict], dict[str, dict[str, list[str]]]]:
    net = network("resnet20")
    memories = {"simple (DDR4 peak)": simple_for(base, "ddr4-3200")} | {
        f"banked {d}": banked_for(base, d) for d in DEVICES
    }
    rows, orders = [], {}
    compressed = {name: transform(net) for name, transform in strategies().items()}
    for memory, hw in memories.items():
        runs = {name: measure(c, hw) for name, c in compressed.items()}
        for name, run in runs.items():
            rows.append({"memory": memory, "strategy": name, "cycles": run.cycles, "energy_uj": run.energy_j * 1e6})
        orders[memory] = {
            "latency": sorted(runs, key=lambda n: runs[n].cycles),
            "energy": sorted(runs, key=lambda n: runs[n].energy_j),
        }
    return rows, orders


# ---- output ---------------------------------------------------------------------------------------
def write_csv(rows: list[dict], path: Path) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@plots.styled
def effects_figure(rows: list[dict], path: Path) -> Path:
    fig = Figure(figsize=(14, 4.8), dpi=110, layout="constrained")
    ax_lat, ax_energy = fig.subplots(1, 2)
    names = list(dict.fromkeys(r["workload"] for r in rows))
    x = np.arange(len(names))
    width = 0.8 / len(DEVICES)
    for i, device in enumerate(DEVICES):
        mine = [next(r for r in rows if r["workload"] == n and r["device"] == device) for n in names]
        ax_lat.bar(x + i * width, [r["latency_ratio"] for r in mine], width, label=device)
        ax_energy.bar(x + i * width, [r["banked_dram_uj"] / r["simple_dram_uj"] for r in mine], width, label=device)
    for ax, title in (
        (ax_lat, "latency: banked / simple at the device's peak bandwidth"),
        (ax_energy, "DRAM energy: per command (banked) / per byte (simple)"),
    ):
        ax.axhline(1.0, color="0.3", lw=0.8)
        ax.set_xticks(x + width * (len(DEVICES) - 1) / 2, names)
        ax.set_title(title, loc="left", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylim(0, 1.25 * max(max(b.get_height() for b in ax.patches), 1.0))
        ax.legend(fontsize=8, loc="upper left", ncols=len(DEVICES))
    ax_lat.set_ylabel("ratio")
    ax_energy.set_ylabel("ratio")
    fig.suptitle("What the DRAM device changes (1,024-lane INT8 accelerator, seed buffers)", fontweight="bold")
    return plots.save_figure(fig, path)


@plots.styled
def energy_figure(rows: list[dict], path: Path) -> Path:
    names = list(dict.fromkeys(r["workload"] for r in rows))
    fig = Figure(figsize=(5 * len(names), 4.6), dpi=110, layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(names)))
    for ax, name in zip(axes, names):
        mine = [r for r in rows if r["workload"] == name]
        labels = ["per byte\n(simple)"] + [r["device"] for r in mine]
        ax.bar([0], [mine[0]["simple_dram_uj"]], color="0.6")
        bottom = np.zeros(len(mine))
        for k, command in enumerate(COMMANDS):
            values = np.array([r[f"{command}_uj"] for r in mine])
            ax.bar(np.arange(1, len(mine) + 1), values, bottom=bottom, color=f"C{k}", label=command)
            bottom += values
        ax.set_xticks(np.arange(len(labels)), labels, fontsize=8)
        ax.set_title(name, loc="left", fontsize=10)
        ax.set_ylabel("DRAM energy (uJ)")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("DRAM energy: by command (banked) and per byte (simple)", fontweight="bold")
    return plots.save_figure(fig, path)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def summary_markdown(effect_rows: list[dict], layout_rows: list[dict], orders: dict, seconds: float) -> str:
    lines = [
        "Simple model at each device's peak bandwidth and unloaded latency against the banked device "
        "(1,024-lane INT8 accelerator at 1 GHz, seed buffers; all workloads INT8):",
        "",
        "| workload | device | cycles simple | cycles banked | banked / simple | GB/s simple / banked (peak) | row hits | DRAM uJ per byte / per command | of which background |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in effect_rows:
        lines.append(
            f"| {r['workload']} | {r['device']} | {r['simple_cycles']:,} | {r['banked_cycles']:,} | "
            f"{r['latency_ratio']:.2f} | {r['simple_gb_s']:.1f} / {r['banked_gb_s']:.1f} ({r['peak_gb_s']:.1f}) | "
            f"{_pct(r['row_hit_rate'])} | {r['simple_dram_uj']:,.1f} / {r['banked_dram_uj']:,.1f} | "
            f"{_pct(r['background_uj'] / r['banked_dram_uj'])} |"
        )
    lines += [
        "",
        "Tensor layout, page policy and address mapping on DDR4-3200 (resnet20):",
        "",
        "| mapping | layout | page | cycles | row hits | ACTs | bus KiB | DRAM uJ |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in layout_rows:
        lines.append(
            f"| {r['mapping']} | {r['layout']} | {r['page']} | {r['cycles']:,} | {_pct(r['row_hit_rate'])} | "
            f"{r['acts']:,} | {r['bus_kib']:,.0f} | {r['dram_uj']:,.1f} |"
        )
    lines += ["", "Ranking of compression strategies of resnet20 (best first):", ""]
    lines += ["| memory | by latency | by energy |", "| --- | --- | --- |"]
    for memory, o in orders.items():
        lines.append(f"| {memory} | {' < '.join(o['latency'])} | {' < '.join(o['energy'])} |")
    reference = next(iter(orders.values()))
    changed = [m for m, o in orders.items() if o != reference]
    lines += [
        "",
        (
            "The ranking changes with the memory model on: " + ", ".join(changed) + "."
            if changed
            else "The ranking is the same under every memory model."
        ),
        "",
        f"(`python scenarios/dram_effects.py`, {seconds:.0f} s.)",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="out/dram_effects", help="output folder (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="resnet20 only, for tests")
    parser.add_argument("--readme", help="also write the summary into this README between the markers")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        if args.quick and args.readme:
            raise InputError("--readme: needs the full run (drop --quick)")
        base = accelerator()
        nets = workloads(args.quick)
        effect_rows = effects(nets, base)
        layout_rows = layout(nets["resnet20"], base)
        rank_rows, orders = ranking(base)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        written = [
            write_csv(effect_rows, out / "effects.csv"),
            write_csv(layout_rows, out / "layout.csv"),
            write_csv(rank_rows, out / "ranking.csv"),
            effects_figure(effect_rows, out / "dram_effects.png"),
            energy_figure(effect_rows, out / "dram_energy.png"),
        ]
        summary = summary_markdown(effect_rows, layout_rows, orders, time.perf_counter() - began)
        (out / "summary.md").write_text(summary)
        if args.readme:
            replace_block(args.readme, README_BLOCK, summary)
    except InputError as exc:
        print(f"dram_effects: error: {exc}", file=sys.stderr)
        return 2
    print(summary)
    print(f"wrote {', '.join(p.name for p in written)} in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
