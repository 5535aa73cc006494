"""Distillation: `distill(w, depth)`, a student of width `w` and, with `depth` < 1, fewer
residual blocks."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accelsim.compress.graph import residual_stages, shrink_external_input, with_producers
from accelsim.compress.methods.base import Followup, Parameter, Transform, ratio
from accelsim.compress.methods.registry import register
from accelsim.errors import InputError
from accelsim.workload.layers import Layer, Network, scaled

if TYPE_CHECKING:
    from accelsim.compress.accuracy import ParametricAccuracy
    from accelsim.compress.measured import MeasurementSettings


@register
@dataclass(frozen=True)
class Distill(Transform):
    """A student with every internal width multiplied by `width` (channels, features, attention
    head size) and, with `depth` < 1, fewer residual blocks (`residual_stages`); the network
    input and the final outputs keep their size. Applied once. The student keeps the teacher's
    precisions and sparsity: it is trained for the same deployment format."""

    width: float
    depth: float = 1.0

    method = "distill"
    parameters = (Parameter("width", float), Parameter("depth", float))

    def __post_init__(self) -> None:
        ratio("distill", "width", self.width, upper_open=False)
        ratio("distill", "depth", self.depth, upper_open=False)

    def apply(self, network: Network) -> Network:
        if any(step.method == self.method for step in network.provenance):
            raise InputError("distill: the network is already a distilled student; distillation applies once")
        if self.depth < 1:
            network = _shallower(network, self.depth)
        return _narrower(network, self.width)

    def describe(self) -> str:
        depth = f", depth={self.depth:g}" if self.depth != 1 else ""
        return f"distill(width={self.width:g}{depth})"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """To width w: 1 - distill_scale x (1 - w)^1.5 (students of half width lose a few points:
        G. Hinton et al., "Distilling the knowledge in a neural network", 2015, and the
        width-multiplier study of A. Howard et al., "MobileNets", 2017); to depth d, times
        1 - depth_scale x (1 - d)^1.5 (shallower ResNets lose little: K. He et al., "Deep residual
        learning", CVPR 2016, CIFAR-10: ResNet-56 93.03%, ResNet-32 92.49%, ResNet-20 91.25%)."""
        width = 1 - curves.distill_scale * (1 - self.width) ** 1.5
        return width * (1 - curves.depth_scale * (1 - self.depth) ** 1.5)

    def followup(self, settings: MeasurementSettings) -> Followup:
        """`distill_epochs` against the uncompressed teacher's temperature-softened outputs (the
        labels alone without `use_teacher`); the student starts from the current model's
        strongest channels (as Minitron prunes then distills), or from scratch."""
        scratch = settings.student_init == "scratch"
        rate = settings.learning_rate if scratch else settings.finetune_learning_rate
        return Followup(settings.distill_epochs, rate, teacher=settings.use_teacher, from_scratch=scratch)


def _narrower(network: Network, width: float) -> Network:
    last = len(network.layers) - 1
    layers: list[Layer] = []
    for i, (layer, producers) in enumerate(with_producers(network)):
        if not layer.has_channels:
            layers.append(layer.narrowed(width))
            continue
        student = layer
        source = next((p for p in producers if network.layers[p].has_channels), None)
        if source is not None:  # read what the (already shrunk) producer now writes
            student = student.with_inputs(network.layers[source].out_channels, layers[source].out_channels)
        elif producers:  # reads an attention output: the hidden width shrank with the heads
            student = student.with_inputs(layer.in_channels, scaled(layer.in_channels, width))
        elif network.interior:
            student = shrink_external_input(student, producers, width)
        if (i != last or network.interior) and not layer.is_depthwise:
            student = student.with_outputs(scaled(layer.out_channels, width))
        layers.append(student)
    return dataclasses.replace(network, layers=tuple(layers))


def _shallower(network: Network, depth: float) -> Network:
    """Each stage of n blocks keeps ceil(depth x n), as EfficientNet scales depth; the blocks
    dropped are the stage's last identity blocks, and their readers read the block input."""
    stages = residual_stages(network)
    if not stages:
        raise InputError(
            f"distill: depth {depth:g} needs residual blocks with identity shortcuts; {network.name} has none"
        )
    dropped: set[int] = set()
    sums: dict[tuple[str, ...], tuple[str, ...]] = {}  # a dropped block's sum -> its input
    terms: dict[str, str] = {}  # a dropped block's output -> its input's first term
    for count, run in stages:
        drop = count - max(1, math.ceil(depth * count))
        for block in run[len(run) - min(drop, len(run)) :]:
            dropped.update(range(block.first, block.last + 1))
            last = network.layers[block.last].name
            sums[(last, block.sources[0])] = block.sources
            terms[last] = block.sources[0]

    def rewired(inputs: tuple[str, ...]) -> tuple[str, ...]:
        while True:  # consecutive dropped blocks: follow the chain back
            new = sums.get(inputs) or tuple(terms.get(name, name) for name in inputs)
            if new == inputs:
                return inputs
            inputs = new

    layers = [
        dataclasses.replace(layer, inputs=rewired(layer.inputs) if layer.inputs else layer.inputs)
        for i, layer in enumerate(network.layers)
        if i not in dropped
    ]
    return dataclasses.replace(network, layers=tuple(layers))
