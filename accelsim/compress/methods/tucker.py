"""Tucker-2 decomposition of convolutions: `tucker(p)`, rank ratio p in (0, 1]."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accelsim.compress.methods.base import Parameter, Transform, ratio
from accelsim.compress.methods.registry import register
from accelsim.workload.layers import Conv2d, Layer, Network
from accelsim.workload.sparsity import DENSE

if TYPE_CHECKING:
    from accelsim.compress.accuracy import ParametricAccuracy

#: Suffixes of the three convolutions a decomposed `<name>` becomes, in order.
PARTS = (".a", ".b", ".c")


@register
@dataclass(frozen=True)
class Tucker(Transform):
    """Each k x k convolution (k > 1, not grouped) C -> N becomes a 1 x 1 convolution C -> r_in,
    a k x k core r_in -> r_out (the original stride and padding), and a 1 x 1 convolution
    r_out -> N, with r_in = round(p x C) and r_out = round(p x N) (at least 1), wherever that
    has fewer weights than the original: Tucker-2 along the channel modes (Y.-D. Kim et al.,
    "Compression of deep convolutional neural networks for fast and low power mobile
    applications", ICLR 2016). The parts are dense; the last keeps the bias and batch norm."""

    rank_ratio: float

    method = "tucker"
    parameters = (Parameter("rank_ratio", float),)

    def __post_init__(self) -> None:
        ratio("tucker", "rank_ratio", self.rank_ratio, upper_open=False)

    def apply(self, network: Network) -> Network:
        renamed: dict[str, str] = {}
        layers: list[Layer] = []
        for layer in network.layers:
            parts = self._parts(layer)
            if parts is None:
                layers.append(layer)
                continue
            layers += parts
            renamed[layer.name] = parts[-1].name
        fixed = [
            dataclasses.replace(layer, inputs=tuple(renamed.get(n, n) for n in layer.inputs)) if layer.inputs else layer
            for layer in layers
        ]
        return dataclasses.replace(network, layers=tuple(fixed))

    def ranks(self, layer: Conv2d) -> tuple[int, int]:
        """(r_in, r_out) of a convolution."""
        p = self.rank_ratio
        return max(1, round(p * layer.in_channels)), max(1, round(p * layer.out_channels))

    def _parts(self, layer: Layer) -> tuple[Conv2d, Conv2d, Conv2d] | None:
        if not isinstance(layer, Conv2d) or layer.groups != 1 or layer.kernel == (1, 1):
            return None
        (kh, kw), c, n = layer.kernel, layer.in_channels, layer.out_channels
        r_in, r_out = self.ranks(layer)
        if c * r_in + kh * kw * r_in * r_out + r_out * n >= kh * kw * c * n:
            return None
        return decompose(layer, r_in, r_out)

    def describe(self) -> str:
        return f"tucker-2(rank_ratio={self.rank_ratio:g})"

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """1 - lowrank_scale x (1 - p)^2, the low-rank curve (Kim et al. report about a point
        lost on VGG-16 after fine-tuning at 1.09x to 4.93x fewer weights). The measured provider
        takes the higher-order SVD of each decomposed kernel along its channel modes, then
        fine-tunes."""
        return 1 - curves.lowrank_scale * (1 - self.rank_ratio) ** 2


def decompose(layer: Conv2d, r_in: int, r_out: int) -> tuple[Conv2d, Conv2d, Conv2d]:
    """The three convolutions `<name>.a`, `.b`, `.c` of a Tucker-2 decomposition at these ranks."""
    plain = {"bias": False, "batch_norm": False, "sparsity": DENSE}
    first = dataclasses.replace(
        layer, name=layer.name + PARTS[0], out_channels=r_in, kernel=(1, 1), stride=1, padding=0, **plain
    )
    core = dataclasses.replace(
        layer,
        name=layer.name + PARTS[1],
        in_channels=r_in,
        out_channels=r_out,
        inputs=(first.name,),
        independent=False,
        **plain,
    )
    last = layer.pointwise_after(layer.name + PARTS[2], core)
    return first, core, last
