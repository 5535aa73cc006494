"""accelsim: a cycle-level simulator of a neural-network accelerator.

The public API: the names below are what scenarios, tools and users import (`from accelsim import
simulate, network, preset`). They load on first use, so `import accelsim` stays light and a command
that never draws a figure never imports matplotlib. Everything else is internal and may move.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: Public name -> (module, attribute); attribute None means the module itself.
_EXPORTS: dict[str, tuple[str, str | None]] = {
    # errors and number formats
    "InputError": ("accelsim.errors", "InputError"),
    "Precision": ("accelsim.precision", "Precision"),
    # hardware
    "hardware": ("accelsim.hardware", None),
    "Accelerator": ("accelsim.hardware", "Accelerator"),
    "preset": ("accelsim.hardware", "preset"),
    "load_hardware": ("accelsim.hardware", "load_toml"),
    # workload
    "network": ("accelsim.workload.networks", "network"),
    "Network": ("accelsim.workload.layers", "Network"),
    "Conv2d": ("accelsim.workload.layers", "Conv2d"),
    "Linear": ("accelsim.workload.layers", "Linear"),
    "Gemm": ("accelsim.workload.layers", "Gemm"),
    "MatMul": ("accelsim.workload.layers", "MatMul"),
    **{
        name: ("accelsim.workload.vector", name)
        for name in (
            "VectorOp",
            "Elementwise",
            "Activation",
            "Softmax",
            "LayerNorm",
            "RMSNorm",
            "BatchNorm",
            "Rotary",
            "Pool",
            "Quantize",
            "without_vector_layers",
        )
    },
    "with_batch": ("accelsim.workload.batched", "with_batch"),
    "with_activation_zero_shares": ("accelsim.workload.activation_zeros", "with_activation_zero_shares"),
    "row_stationary_mapping": ("accelsim.sim.row_stationary", "map_layer"),
    "DecoderConfig": ("accelsim.workload.decoder", "DecoderConfig"),
    "decoder": ("accelsim.workload.decoder", "decoder"),
    "read_hf_config": ("accelsim.workload.decoder", "read_hf_config"),
    "prefill": ("accelsim.workload.decoder", "prefill"),
    "decode_step": ("accelsim.workload.decoder", "decode_step"),
    "generation": ("accelsim.workload.generation", "generation"),
    # calibration of a device family's sustained fractions (issue 19)
    "Calibration": ("accelsim.study.calibration", "Calibration"),
    "fit_dram_fraction": ("accelsim.study.calibration", "fit_dram_fraction"),
    "fit_mac_fraction": ("accelsim.study.calibration", "fit_mac_fraction"),
    # compression and accuracy
    "Transform": ("accelsim.compress", "Transform"),
    "Quantize": ("accelsim.compress", "Quantize"),
    "StructuredPrune": ("accelsim.compress", "StructuredPrune"),
    "UnstructuredPrune": ("accelsim.compress", "UnstructuredPrune"),
    "NMPrune": ("accelsim.compress", "NMPrune"),
    "Distill": ("accelsim.compress", "Distill"),
    "LowRank": ("accelsim.compress", "LowRank"),
    "Tucker": ("accelsim.compress.methods", "Tucker"),
    "pipeline": ("accelsim.compress", "pipeline"),
    "parse_pipeline": ("accelsim.compress.spec", "parse_pipeline"),
    "register_method": ("accelsim.compress.methods.registry", "register"),
    "ProvenanceStep": ("accelsim.workload.provenance", "ProvenanceStep"),
    "WeightPolicy": ("accelsim.compress.policy", "WeightPolicy"),
    "load_weight_policy": ("accelsim.compress.policy", "load_weight_policy"),
    "AccuracyProvider": ("accelsim.compress.accuracy", "AccuracyProvider"),
    "ParametricAccuracy": ("accelsim.compress.accuracy", "ParametricAccuracy"),
    "TableAccuracy": ("accelsim.compress.accuracy", "TableAccuracy"),
    "CallableAccuracy": ("accelsim.compress.accuracy", "CallableAccuracy"),
    "MeasuredAccuracy": ("accelsim.compress.measured", "MeasuredAccuracy"),
    "MeasurementSettings": ("accelsim.compress.measured", "MeasurementSettings"),
    "CALIBRATION_IMAGES": ("accelsim.compress.measured", "CALIBRATION_IMAGES"),
    "numpy_model": ("accelsim.compress.numpy_model", None),
    "single_blas_thread": ("accelsim.compress.threads", "single_blas_thread"),
    # tinylm: a language model trained here, its perplexity measured under compression
    "tinylm": ("accelsim.compress.tinylm", None),
    "TinyLMLab": ("accelsim.compress.tinylm", "TinyLMLab"),
    "TinyLMConfig": ("accelsim.compress.tinylm", "TinyLMConfig"),
    "tinylm_perplexity": ("accelsim.compress.tinylm", "tinylm_perplexity"),
    "tinylm_acceptance_rate": ("accelsim.compress.tinylm", "tinylm_acceptance_rate"),
    "TINYLM_DRAFT": ("accelsim.compress.tinylm.measure", "DRAFT"),
    "MeasuredPerplexity": ("accelsim.compress.tinylm", "MeasuredPerplexity"),
    "llm_perplexity": ("accelsim.compress.llm_perplexity", "llm_perplexity"),
    # simulation, traces, figures
    "simulate": ("accelsim.sim.engine", "simulate"),
    "load_trace": ("accelsim.trace.store", "load"),
    "save_trace": ("accelsim.trace.store", "save"),
    "summarize": ("accelsim.metrics", "summarize"),
    "dram_commands": ("accelsim.metrics", "dram_commands"),
    "dram_command_energy_pj": ("accelsim.metrics", "dram_command_energy_pj"),
    "dram_device": ("accelsim.dram_devices", "dram_device"),
    "network_intensity": ("accelsim.intensity", "network_intensity"),
    "generation_figures": ("accelsim.metrics.generation", "generation_figures"),
    "EnergyBreakdown": ("accelsim.metrics.energy", "EnergyBreakdown"),
    "simulate_generation": ("accelsim.study.llm", "simulate_generation"),
    "GenerationRun": ("accelsim.study.llm", "GenerationRun"),
    # studies
    "Configuration": ("accelsim.study.evaluate", "Configuration"),
    "Evaluation": ("accelsim.study.evaluate", "Evaluation"),
    "Result": ("accelsim.study.evaluate", "Result"),
    "evaluate": ("accelsim.study.evaluate", "evaluate"),
    "best": ("accelsim.study.evaluate", "best"),
    "simulated_summary": ("accelsim.study.evaluate", "simulated_summary"),
    "BitwidthSearch": ("accelsim.study.search", "BitwidthSearch"),
    "SearchPoint": ("accelsim.study.search", "Point"),
    "SearchResult": ("accelsim.study.search", "SearchResult"),
    "Point": ("accelsim.study.points", "Point"),
    "run_sweep": ("accelsim.study.sweep", "run_sweep"),
    "results": ("accelsim.study.sweep", "results"),
    "SweepInterrupted": ("accelsim.study.sweep", "SweepInterrupted"),
    "advise": ("accelsim.study.advise", "advise"),
    "AdviseSettings": ("accelsim.study.advise", "AdviseSettings"),
    "AdviseResult": ("accelsim.study.advise", "AdviseResult"),
    "Candidate": ("accelsim.study.advise", "Candidate"),
    "Constraints": ("accelsim.study.advise", "Constraints"),
    "evaluate_pipelines": ("accelsim.study.advise", "evaluate_pipelines"),
    "hypervolume_2d": ("accelsim.study.advise", "hypervolume_2d"),
    "weakly_dominates": ("accelsim.study.advise", "weakly_dominates"),
    "SearchSpace": ("accelsim.study.space", "SearchSpace"),
    "SpaceOptions": ("accelsim.study.space", "SpaceOptions"),
    "make_executor": ("accelsim.study.executors", "make_executor"),
    "tables": ("accelsim.study.table", None),
    "replace_block": ("accelsim.study.table", "replace_block"),
    "plots": ("accelsim.plots", None),
    "replay": ("accelsim.replay", None),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'accelsim' has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    value = import_module(module) if attribute is None else getattr(import_module(module), attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return __all__
