"""Compression: pure transformations of a workload, with their provenance."""

from accelsim.compress.transforms import (
    Distill,
    LowRank,
    Pipeline,
    Quantize,
    StructuredPrune,
    Transform,
    pipeline,
    prunable_layers,
)

__all__ = [
    "Distill",
    "LowRank",
    "Pipeline",
    "Quantize",
    "StructuredPrune",
    "Transform",
    "pipeline",
    "prunable_layers",
]
