"""Compression: pure transformations of a workload, with their provenance."""

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
