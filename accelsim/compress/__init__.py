"""Compression: pure transformations of a workload, with their provenance. The methods live one
per module in `accelsim.compress.methods`, registered by pipeline name."""

from accelsim.compress.graph import prunable_layers, residual_stages
from accelsim.compress.methods import (
    Distill,
    LowRank,
    NMPrune,
    Quantize,
    StructuredPrune,
    Transform,
    UnstructuredPrune,
)
from accelsim.compress.transforms import Pipeline, pipeline

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
