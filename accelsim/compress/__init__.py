"""Compression: pure transformations of a workload, with their provenance. The methods live one
per module in `accelsim.compress.methods`, registered by pipeline name."""

from accelsim.compress.transforms import (
    Distill,
    LowRank,
    NMPrune,
    Pipeline,
    Quantize,
    StructuredPrune,
    Transform,
    UnstructuredPrune,
    pipeline,
    prunable_layers,
    residual_stages,
)

__all__ = [
    "Distill",
    "LowRank",
    "NMPrune",
    "Pipeline",
    "Quantize",
    "StructuredPrune",
    "Transform",
    "UnstructuredPrune",
    "pipeline",
    "prunable_layers",
    "residual_stages",
]
