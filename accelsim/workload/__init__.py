"""Workloads: layers lowered to GEMM views, and built-in networks."""

from accelsim.workload.layers import Conv2d, Gemm, Layer, LayerError, Linear, MatMul, Network

__all__ = ["Conv2d", "Gemm", "Layer", "LayerError", "Linear", "MatMul", "Network"]
