"""Built-in networks, batch 1, FP32, each layer lowered to the shapes in `layers`.

GEMM layers (convolutions, linear layers, attention products) run on the MAC array; the rest
(batch-norm, activations, pooling, residual adds; a decoder's norms, rotary embeddings and
softmax) are vector layers (`accelsim.workload.vector`) run on the vector unit. Batch-norm is
unfolded: a convolution followed by a BatchNorm layer holding the channel's scale and shift
(what inference runs without folding; the parameter count is unchanged). ResNet-20 keeps seed
001's model, batch-norm folded away into its convolutions (no bias), so it has no BatchNorm
layers; the measured digits models and the BERT layer are unchanged (GEMM layers only).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from accelsim.workload.decoder import DECODERS, DEFAULT_PREFILL_TOKENS, prefill
from accelsim.workload.layers import Conv2d, Gemm, Layer, LayerError, Linear, MatMul, Network
from accelsim.workload.vector import Activation, BatchNorm, Elementwise, Pool

#: (channels, height, width) of a feature map.
Shape = tuple[int, int, int]


def _conv(
    layers: list[Layer],
    name: str,
    x: Shape,
    out_channels: int,
    kernel: int,
    stride: int = 1,
    groups: int = 1,
    batch_norm: bool = True,
    inputs: tuple[str, ...] | None = None,
    padding: int | None = None,
    bias: bool = False,
    activation: str | None = "relu",
) -> Shape:
    """Append a square convolution on `x` ("same" padding kernel // 2 unless given, no bias unless
    asked), then its batch-norm `<name>.bn` and its activation `<name>.<activation>` (None: none)
    as vector layers; return the output shape (`layers[-1]` is the output layer). `inputs` names
    the layers whose outputs make `x` (None: the previous layer)."""
    c, h, w = x
    conv = Conv2d(
        name,
        in_channels=c,
        out_channels=out_channels,
        in_height=h,
        in_width=w,
        kernel=(kernel, kernel),
        stride=stride,
        padding=kernel // 2 if padding is None else padding,
        groups=groups,
        bias=bias,
        independent=not layers,
        inputs=inputs,
    )
    layers.append(conv)
    shape = (out_channels, conv.out_height, conv.out_width)
    if batch_norm:
        layers.append(BatchNorm(f"{name}.bn", **_map(shape)))
    if activation:
        layers.append(Activation(f"{name}.{activation}", function=activation, **_map(shape)))
    return shape


def _map(x: Shape) -> dict[str, int | bool]:
    """A feature map as a vector layer sees it: a row per channel."""
    c, h, w = x
    return {"rows": c, "row_length": h * w, "channels_on_rows": True}


def _pool(
    layers: list[Layer], name: str, x: Shape, kernel: int = 3, stride: int = 2, padding: int = 1, mode: str = "max"
) -> Shape:
    """Append a pooling layer on `x` (a max pool 3x3/2 pad 1 unless given); return its output shape."""
    c, h, w = x
    pool = Pool(name, mode=mode, in_height=h, in_width=w, kernel=kernel, stride=stride, padding=padding, **_map(x))
    layers.append(pool)
    return c, pool.out_height, pool.out_width


def _global_pool(layers: list[Layer], x: Shape) -> Shape:
    """Append the global average pool before a classifier."""
    return _pool(layers, "avgpool", x, kernel=x[1], stride=1, padding=0, mode="avg")


def _residual(layers: list[Layer], prefix: str, x: Shape, main: str, shortcut: str, relu: bool = True) -> str:
    """Append the residual add of `main` and `shortcut` (and a ReLU); return the output's name."""
    layers.append(Elementwise(f"{prefix}.add", inputs=(main, shortcut), **_map(x)))
    if relu:
        layers.append(Activation(f"{prefix}.relu", **_map(x)))
    return layers[-1].name


# --- seed GEMMs -------------------------------------------------------------------------------------


SEED_GEMM_SHAPES: tuple[tuple[int, int, int], ...] = (
    (16, 128, 16),
    (32, 128, 32),
    (64, 128, 64),
    (128, 128, 128),
    (256, 256, 256),
)


def seed_gemms() -> Network:
    """Five independent GEMMs of growing size (M, K, N), the smallest calibration workload."""
    shapes = enumerate(SEED_GEMM_SHAPES)
    layers = tuple(Gemm(f"gemm{i}", m=m, k=k, n=n, independent=True) for i, (m, k, n) in shapes)
    sizes = ", ".join(f"{m}x{k}x{n}" for m, k, n in SEED_GEMM_SHAPES)
    return Network(
        "seed-gemms",
        layers,
        f"five independent GEMMs (MxKxN {sizes}), each input read from memory; "
        "96,256 weight elements (K x N each, no bias)",
        interior=True,
    )


# --- ResNets ----------------------------------------------------------------------------------------


def resnet20() -> Network:
    """ResNet-20 for CIFAR-10 with 1x1 projection shortcuts (option B), batch-norm folded away."""
    layers: list[Layer] = []
    x = _conv(layers, "conv1", (3, 32, 32), 16, 3, batch_norm=False)
    source = layers[-1].name  # the block input
    for stage, planes in enumerate((16, 32, 64), start=1):
        for block in range(3):
            stride = 2 if stage > 1 and block == 0 else 1
            prefix = f"layer{stage}.{block}"
            y = _conv(layers, f"{prefix}.conv1", x, planes, 3, stride, batch_norm=False, inputs=(source,))
            y = _conv(layers, f"{prefix}.conv2", y, planes, 3, batch_norm=False, activation=None)
            main, shortcut = layers[-1].name, source  # identity: the residual add reads the block input
            if stride != 1 or x[0] != planes:
                _conv(
                    layers,
                    f"{prefix}.downsample",
                    x,
                    planes,
                    1,
                    stride,
                    batch_norm=False,
                    inputs=(source,),
                    activation=None,
                )
                shortcut = layers[-1].name
            x, source = y, _residual(layers, prefix, y, main, shortcut)
    x = _global_pool(layers, x)
    layers.append(Linear("fc", in_features=x[0], out_features=10))
    return Network(
        "resnet20",
        tuple(layers),
        "ResNet-20 (He et al. 2016) for CIFAR-10, input 3x32x32, 1x1 projection shortcuts (option B); "
        "270,906 parameters counted from the architecture (convs + fc, batch-norm folded away)",
    )


def _resnet_imagenet(name: str, bottleneck: bool, blocks: tuple[int, ...], params: str) -> Network:
    """A torchvision ImageNet ResNet (v1.5: a bottleneck strides on its 3x3 conv) at 3x224x224."""
    expansion = 4 if bottleneck else 1
    layers: list[Layer] = []
    x = _conv(layers, "conv1", (3, 224, 224), 64, 7, 2)
    x = _pool(layers, "maxpool", x)  # max pool 3x3/2 pad 1: 112 -> 56
    source = "maxpool"  # the block input
    for stage, (planes, count) in enumerate(zip((64, 128, 256, 512), blocks), start=1):
        for block in range(count):
            stride = 2 if stage > 1 and block == 0 else 1
            prefix = f"layer{stage}.{block}"
            if bottleneck:
                y = _conv(layers, f"{prefix}.conv1", x, planes, 1, inputs=(source,))
                y = _conv(layers, f"{prefix}.conv2", y, planes, 3, stride)
                y = _conv(layers, f"{prefix}.conv3", y, planes * expansion, 1, activation=None)
            else:
                y = _conv(layers, f"{prefix}.conv1", x, planes, 3, stride, inputs=(source,))
                y = _conv(layers, f"{prefix}.conv2", y, planes, 3, activation=None)
            main, shortcut = layers[-1].name, source  # identity: the residual add reads the block input
            if stride != 1 or x[0] != planes * expansion:
                _conv(
                    layers, f"{prefix}.downsample", x, planes * expansion, 1, stride, inputs=(source,), activation=None
                )
                shortcut = layers[-1].name
            x, source = y, _residual(layers, prefix, y, main, shortcut)
    x = _global_pool(layers, x)
    layers.append(Linear("fc", in_features=x[0], out_features=1000))
    return Network(
        name,
        tuple(layers),
        f"torchvision {name} for ImageNet, input 3x224x224; {params} parameters as published by "
        "torchvision (batch-norm gamma and beta counted, unfolded: a BatchNorm layer per convolution)",
    )


def resnet18() -> Network:
    """torchvision ResNet-18 (basic blocks 2-2-2-2), 11,689,512 parameters."""
    return _resnet_imagenet("resnet18", False, (2, 2, 2, 2), "11,689,512")


def resnet50() -> Network:
    """torchvision ResNet-50 v1.5 (bottlenecks 3-4-6-3), 25,557,032 parameters."""
    return _resnet_imagenet("resnet50", True, (3, 4, 6, 3), "25,557,032")


# --- MobileNetV2 ------------------------------------------------------------------------------------

#: (expansion t, output channels c, repeats n, first stride s), as in torchvision.
_MOBILENET_V2_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def mobilenet_v2() -> Network:
    """torchvision MobileNetV2 (width 1.0): inverted residuals with depthwise 3x3 convs."""
    layers: list[Layer] = []
    x = _conv(layers, "features.0", (3, 224, 224), 32, 3, 2, activation="relu6")
    source = layers[-1].name  # the block input
    index = 1
    for t, c, n, s in _MOBILENET_V2_SETTINGS:
        for i in range(n):
            prefix = f"features.{index}"
            hidden = x[0] * t
            stride = s if i == 0 else 1
            y = x if t == 1 else _conv(layers, f"{prefix}.expand", x, hidden, 1, inputs=(source,), activation="relu6")
            y = _conv(
                layers,
                f"{prefix}.depthwise",
                y,
                hidden,
                3,
                stride,
                groups=hidden,
                inputs=None if t > 1 else (source,),
                activation="relu6",
            )
            residual = stride == 1 and x[0] == c
            x = _conv(layers, f"{prefix}.project", y, c, 1, activation=None)
            source = _residual(layers, prefix, x, layers[-1].name, source, relu=False) if residual else layers[-1].name
            index += 1
    x = _conv(layers, f"features.{index}", x, 1280, 1, inputs=(source,), activation="relu6")
    x = _global_pool(layers, x)
    layers.append(Linear("classifier", in_features=x[0], out_features=1000))
    return Network(
        "mobilenet_v2",
        tuple(layers),
        "torchvision MobileNetV2 (width 1.0) for ImageNet, input 3x224x224; 3,504,872 parameters as "
        "published by torchvision (batch-norm gamma and beta counted, unfolded: a BatchNorm layer per convolution)",
    )


# --- AlexNet ---------------------------------------------------------------------------------------


def alexnet() -> Network:
    """AlexNet as Krizhevsky et al. (2012) split it over two GPUs and Eyeriss (JSSC 2017) ran it:
    input 3x227x227, CONV2, CONV4 and CONV5 in two groups, biases, no batch-norm; ReLU after
    every layer but the last, max pools after CONV1, CONV2 and CONV5."""
    layers: list[Layer] = []
    x = _alexnet_conv(layers, "conv1", (3, 227, 227), 96, 11, stride=4, padding=0)
    x = _pool(layers, "pool1", x, padding=0)  # max pool 3x3/2: 55 -> 27
    x = _alexnet_conv(layers, "conv2", x, 256, 5, padding=2, groups=2)
    x = _pool(layers, "pool2", x, padding=0)  # 27 -> 13
    x = _alexnet_conv(layers, "conv3", x, 384, 3, padding=1)
    x = _alexnet_conv(layers, "conv4", x, 384, 3, padding=1, groups=2)
    x = _alexnet_conv(layers, "conv5", x, 256, 3, padding=1, groups=2)
    c, h, w = _pool(layers, "pool5", x, padding=0)  # 13 -> 6
    for name, inputs, outputs in (("fc6", c * h * w, 4096), ("fc7", 4096, 4096)):
        layers.append(Linear(name, in_features=inputs, out_features=outputs))
        layers.append(Activation(f"{name}.relu", rows=1, row_length=outputs))
    layers.append(Linear("fc8", in_features=4096, out_features=1000))
    return Network(
        "alexnet",
        tuple(layers),
        "AlexNet (Krizhevsky et al. 2012) for ImageNet, input 3x227x227, grouped CONV2/4/5 as in the "
        "original and in Eyeriss's measurements; 60,965,224 parameters counted from the architecture",
    )


def _alexnet_conv(
    layers: list[Layer],
    name: str,
    x: Shape,
    out_channels: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    groups: int = 1,
) -> Shape:
    """Append an AlexNet convolution (bias, no batch-norm) and its ReLU on `x`; return its output shape."""
    return _conv(layers, name, x, out_channels, kernel, stride, groups, False, None, padding, True)


# --- transformer and MLP ----------------------------------------------------------------------------


def bert_base_layer(seq_len: int = 128) -> Network:
    """One BERT-base encoder layer (hidden 768, 12 heads of 64, FFN 3072) on `seq_len` tokens."""
    hidden, heads, ffn = 768, 12, 3072
    head_dim = hidden // heads
    layers: tuple[Layer, ...] = (
        Linear("attention.query", in_features=hidden, out_features=hidden, tokens=seq_len, independent=True),
        Linear("attention.key", in_features=hidden, out_features=hidden, tokens=seq_len, independent=True),
        Linear("attention.value", in_features=hidden, out_features=hidden, tokens=seq_len, independent=True),
        MatMul(
            "attention.scores",
            batch=heads,
            m=seq_len,
            k=head_dim,
            n=seq_len,
            inputs=("attention.query", "attention.key"),
        ),
        MatMul(
            "attention.context",
            batch=heads,
            m=seq_len,
            k=seq_len,
            n=head_dim,
            inputs=("attention.scores", "attention.value"),
        ),
        Linear(
            "attention.output",
            in_features=hidden,
            out_features=hidden,
            tokens=seq_len,
            folded_parameters=2 * hidden,
        ),
        # Residual add and LayerNorm (not modelled) sit between the attention output and the FFN.
        Linear("intermediate", in_features=hidden, out_features=ffn, tokens=seq_len),
        Linear("output", in_features=ffn, out_features=hidden, tokens=seq_len, folded_parameters=2 * hidden),
    )
    # The query, key and value projections all read the network input.
    return Network(
        "bert-base-layer",
        layers,
        f"one BERT-base encoder layer (hidden 768, 12 heads, FFN 3072), input {seq_len} tokens x 768; "
        "7,087,872 parameters counted from the architecture (weights, biases, two LayerNorms)",
    )


def _linear_chain(sizes: tuple[int, ...]) -> tuple[Layer, ...]:
    """Fully connected layers fc1, fc2, ... with biases, one input row."""
    return tuple(
        Linear(f"fc{i + 1}", in_features=a, out_features=b, independent=i == 0)
        for i, (a, b) in enumerate(zip(sizes, sizes[1:]))
    )


def mlp() -> Network:
    """A small MLP 784 -> 256 -> 256 -> 10 with biases, one input row."""
    return Network(
        "mlp",
        _linear_chain((784, 256, 256, 10)),
        "MLP 784-256-256-10 with biases (MNIST-sized), input 784 features; "
        "269,322 parameters counted from the architecture",
    )


# --- the measured-accuracy models (accelsim.compress.measured) -----------------------------------------


def digits_cnn() -> Network:
    """The CNN whose accuracy accelsim measures on scikit-learn's digits: two 3x3 convolutions
    (the second strided) and two fully connected layers, ReLU between, biases everywhere."""
    layers = (
        Conv2d(
            "conv1", in_channels=1, out_channels=16, in_height=8, in_width=8, padding=1, bias=True, independent=True
        ),
        Conv2d("conv2", in_channels=16, out_channels=32, in_height=8, in_width=8, padding=1, stride=2, bias=True),
        Linear("fc1", in_features=32 * 4 * 4, out_features=64),
        Linear("fc2", in_features=64, out_features=10),
    )
    return Network(
        "digits-cnn",
        layers,
        "CNN for scikit-learn's digits, input 1x8x8: conv 3x3 1->16, conv 3x3/2 16->32, fc 512->64, fc 64->10; "
        "38,282 parameters; trained with numpy by accelsim.compress.measured",
    )


def digits_mlp() -> Network:
    """The MLP whose accuracy accelsim measures on scikit-learn's digits: 64-128-64-10."""
    return Network(
        "digits-mlp",
        _linear_chain((64, 128, 64, 10)),
        "MLP 64-128-64-10 for scikit-learn's digits, input 64 pixels; 17,226 parameters; "
        "trained with numpy by accelsim.compress.measured",
    )


def _default_prefill(name: str) -> Network:
    config = DECODERS[name]()
    net = prefill(config, DEFAULT_PREFILL_TOKENS)
    description = (
        f"{config.name}: {config.parameter_count:,} parameters ({config.layers} layers, hidden "
        f"{config.hidden_size}, {config.heads} heads / {config.kv_heads} KV heads), input a {DEFAULT_PREFILL_TOKENS}-token "
        "prompt (prefill): GEMMs and attention products on the MAC array; norms, rotary embeddings, softmax, "
        "activations and residual adds on the vector unit"
    )
    return dataclasses.replace(net, description=description)


# --- registry ---------------------------------------------------------------------------------------


NETWORKS: dict[str, Callable[[], Network]] = {
    "seed-gemms": seed_gemms,
    "resnet20": resnet20,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
    "bert-base-layer": bert_base_layer,
    "mlp": mlp,
    "digits-cnn": digits_cnn,
    "digits-mlp": digits_mlp,
    "alexnet": alexnet,
    # Decoder LLMs as one prefill of DEFAULT_PREFILL_TOKENS tokens (decoder.prefill and
    # decoder.decode_step build any other length, batch or context).
    **{name: functools.partial(_default_prefill, name) for name in DECODERS},
}


def network(name: str) -> Network:
    """The built-in network called `name`; LayerError for an unknown name."""
    builder = NETWORKS.get(name)
    if builder is None:
        raise LayerError(f"network: unknown {name!r}; allowed: {', '.join(NETWORKS)}")
    return builder()


def describe_networks() -> list[tuple[str, str]]:
    """(name, description) of every built-in network, in registry order."""
    return [(name, builder().description) for name, builder in NETWORKS.items()]
