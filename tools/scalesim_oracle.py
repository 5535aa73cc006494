"""Run SCALE-Sim as an oracle, one layer at a time, without its traces; append its figures to a CSV.

Not part of accelsim and never imported by it or its tests: run it with the Python of a scratch
venv holding SCALE-Sim (`python -m venv V && V/bin/pip install scalesim "numpy<2.4"`):

    V/bin/python tools/scalesim_oracle.py OUT.csv full|compute TOPOLOGY.csv CONFIG.cfg [CONFIG.cfg ...]

`full` runs SCALE-Sim's whole simulation of each layer (compute and memory system) through its
Python API, `scalesim(save_disk_space=True, ...)`, the flag that turns its trace files off (its
command line always writes them: about 100 MB per layer), and records its report items: Total
Cycles, Total Cycles (incl. prefetch), Stall Cycles, DRAM reads and writes per operand, average
DRAM bandwidth per operand. `compute` runs its compute system only and records Total Cycles as
the number of lines of its demand matrices less one: what its memory system reports when nothing
stalls (as in CALC mode, where `full` finds 0 stall cycles on every layer), for layers whose
memory simulation would take hours (ResNet-18 on an 8x8 array). SCALE-Sim 3.0.0 builds its os
and is demand matrices by concatenating every fold onto all the folds before it, which takes
hours for such layers; `compute` first makes them gather the folds in a list and concatenate
once, as SCALE-Sim's own ws code does (`_linear_demand`: the same matrices, in linear time;
`compute` and `full` give the same Total Cycles on every layer both ran).
"""

from __future__ import annotations

import csv
import importlib
import inspect
import os
import re
import sys
import tempfile
import time
from importlib.metadata import version

from scalesim.layout_utils import layouts
from scalesim.scale_config import scale_config
from scalesim.scale_sim import scalesim
from scalesim.single_layer_sim import single_layer_sim
from scalesim.topology_utils import topologies

FIELDS = [
    "topology",
    "layer",
    "config",
    "array_rows",
    "array_cols",
    "dataflow",
    "ifmap_kb",
    "filter_kb",
    "ofmap_kb",
    "interface_bandwidth",
    "mode",
    "total_cycles",
    "total_cycles_incl_prefetch",
    "stall_cycles",
    "ifmap_dram_reads",
    "filter_dram_reads",
    "ofmap_dram_writes",
    "avg_ifmap_dram_bw",
    "avg_filter_dram_bw",
    "avg_ofmap_dram_bw",
]


def _full(config: str, topology: str, tmp: str, gemm: bool) -> dict[str, object]:
    layout = os.path.join(tmp, "layout.csv")  # no custom layout is used, but SCALE-Sim opens one
    with open(layout, "w") as fh:
        fh.write("Layer name,\n")
    sim = scalesim(
        save_disk_space=True, verbose=False, config=config, topology=topology, layout=layout, input_type_gemm=gemm
    )
    sim.run_scale(top_path=tmp)
    layer = sim.runner.single_layer_sim_object_list[0]
    overall, total, stall = layer.get_compute_report_items()[:3]
    bandwidth = layer.get_bandwidth_report_items()[-3:]
    return {
        "total_cycles": total,
        "total_cycles_incl_prefetch": overall,
        "stall_cycles": stall,
        "ifmap_dram_reads": layer.ifmap_dram_reads,
        "filter_dram_reads": layer.filter_dram_reads,
        "ofmap_dram_writes": layer.ofmap_dram_writes,
        **{f"avg_{k}_dram_bw": f"{v:.6f}" for k, v in zip(("ifmap", "filter", "ofmap"), bandwidth)},
    }


def _linear_demand() -> None:
    """Rewrite, in memory, SCALE-Sim's os and is demand-matrix builders so that each gathers its
    folds in a list (as its ws builder does) instead of re-concatenating every fold onto all
    before it; the matrices are the same."""
    import numpy as np
    import scalesim.single_layer_sim as single

    growing = re.compile(
        r"( +)if fr == 0 and fc == 0:\n( +)self\.(\w+) = this_fold_demand\n +else:\n +self\.\3 = \\\n"
        r" +np\.concatenate\(\(self\.\3, this_fold_demand\), axis=0\)"
    )
    gathering = (
        r"\1if fr == 0 and fc == 0:\n\2self.\3 = [this_fold_demand]\n\1else:\n\2self.\3.append(this_fold_demand)"
    )
    for name in ("systolic_compute_os", "systolic_compute_is"):
        module = importlib.import_module(f"scalesim.compute.{name}")
        source, count = growing.subn(gathering, inspect.getsource(module))
        assert count == 3, (name, count)
        exec(compile(source, module.__file__, "exec"), module.__dict__)
        cls = module.__dict__[name]
        for kind in ("ifmap", "filter", "ofmap"):
            method = getattr(cls, f"create_{kind}_demand_mat")

            def gathered(self: object, method: object = method, attr: str = f"{kind}_demand_matrix") -> None:
                method(self)  # type: ignore[operator]
                setattr(self, attr, np.concatenate(getattr(self, attr), axis=0))

            setattr(cls, f"create_{kind}_demand_mat", gathered)
        setattr(single, name, cls)


def _compute(conf: scale_config, topology: str, gemm: bool) -> dict[str, object]:
    topo = topologies()
    topo.load_arrays(topofile=topology, mnk_inputs=gemm)
    layer = single_layer_sim()
    layer.set_params(layer_id=0, config_obj=conf, topology_obj=topo, layout_obj=layouts(), verbose=False)
    _, ifmap = layer.op_mat_obj.get_ifmap_matrix()
    _, filters = layer.op_mat_obj.get_filter_matrix()
    _, ofmap = layer.op_mat_obj.get_ofmap_matrix()
    layer.compute_system.set_params(config_obj=conf, ifmap_op_mat=ifmap, filter_op_mat=filters, ofmap_op_mat=ofmap)
    _, _, ofmap_demand = layer.compute_system.get_demand_matrices()
    return {"total_cycles": ofmap_demand.shape[0] - 1}


def main(out: str, mode: str, topology: str, *configs: str) -> None:
    if mode == "compute":
        _linear_demand()
    lines = [line for line in open(topology).read().splitlines() if line.strip()]
    header, rows = lines[0], lines[1:]
    gemm = header.replace(" ", "").upper().startswith("LAYER,M,N,K")
    new = not os.path.exists(out)
    with open(out, "a", newline="") as fh:
        writer = csv.DictWriter(fh, FIELDS)
        if new:
            writer.writeheader()
        for config in configs:
            conf = scale_config()
            conf.read_conf_file(config)
            rows_, cols_ = conf.get_array_dims()
            sizes = conf.get_mem_sizes()
            for row in rows:
                record: dict[str, object] = {
                    "topology": os.path.basename(topology),
                    "layer": row.split(",")[0].strip(),
                    "config": os.path.basename(config),
                    "array_rows": rows_,
                    "array_cols": cols_,
                    "dataflow": conf.get_dataflow(),
                    "ifmap_kb": sizes[0],
                    "filter_kb": sizes[1],
                    "ofmap_kb": sizes[2],
                    "interface_bandwidth": "USER" if conf.use_user_dram_bandwidth() else "CALC",
                    "mode": mode,
                }
                start = time.time()
                with tempfile.TemporaryDirectory() as tmp:
                    one = os.path.join(tmp, "one.csv")  # layer by layer
                    with open(one, "w") as layer_file:
                        layer_file.write(header + "\n" + row + "\n")
                    record.update(_full(config, one, tmp, gemm) if mode == "full" else _compute(conf, one, gemm))
                writer.writerow(record)
                fh.flush()
                print(record["config"], record["layer"], record["total_cycles"], f"{time.time() - start:.1f}s")


if __name__ == "__main__":
    print("scalesim", version("scalesim"), file=sys.stderr)
    main(*sys.argv[1:])
