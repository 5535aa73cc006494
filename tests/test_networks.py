"""Built-in networks: exact parameter and MAC counts, spatial sizes, names, registry."""

import pytest

from accelsim.workload.layers import Conv2d, LayerError, Linear, MatMul, Network
from accelsim.workload.networks import (
    NETWORKS,
    SEED_GEMM_SHAPES,
    describe_networks,
    network,
    resnet18,
    resnet20,
    resnet50,
)
from accelsim.workload.vector import BatchNorm

# Parameter counts as frameworks publish them. torchvision counts a batch-norm's gamma and beta,
# 2 per channel; folded for inference they become 1 bias per channel, so the sum of
# `weight_elements` (over layers with a weight operand) is the published count minus the channels
# of every batch-norm. ResNet-20 has batch-norm folded away entirely (convs + fc only) and BERT's
# LayerNorms (2 x 768 each) fold into the preceding Linear.
PARAMETERS = {
    "seed-gemms": sum(k * n for _, k, n in SEED_GEMM_SHAPES),
    "resnet20": 270_906,
    "resnet18": 11_689_512,  # torchvision
    "resnet50": 25_557_032,  # torchvision
    "mobilenet_v2": 3_504_872,  # torchvision
    "bert-base-layer": 7_087_872,
    "mlp": 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10,
    "digits-cnn": (16 * 9 + 16) + (32 * 16 * 9 + 32) + (512 * 64 + 64) + (64 * 10 + 10),
    "digits-mlp": (64 * 128 + 128) + (128 * 64 + 64) + (64 * 10 + 10),
    "alexnet": 60_965_224,  # Krizhevsky et al. 2012, CONV2/4/5 grouped as in the original
    "gpt2": 124_439_808,  # published
    "llama-3.2-1b": 1_235_814_400,  # published
    "llama-2-7b": 6_738_415_616,  # published
    "tinylm": 842_496,  # the numpy model's count (test_tinylm_model)
}


def test_registry_keys():
    assert list(NETWORKS) == list(PARAMETERS)
    assert [name for name, _ in describe_networks()] == list(NETWORKS)
    for name, description in describe_networks():
        assert description and "input" in description, name
        assert network(name).name == name


@pytest.mark.parametrize("name", list(PARAMETERS))
def test_parameter_count(name):
    assert network(name).parameter_count == PARAMETERS[name]


@pytest.mark.parametrize("name", list(PARAMETERS))
def test_folded_weight_elements(name):
    net = network(name)
    bn_channels = sum(x.out_channels for x in net.layers if isinstance(x, Conv2d) and x.batch_norm)
    folded = sum(x.folded_parameters for x in net.layers if isinstance(x, Linear))
    # A rotary embedding's cos/sin table is a stored constant, not a parameter.
    stored = sum(x.weight_elements for x in net.layers if x.b_is_weight and getattr(x, "trainable", True))
    assert stored == PARAMETERS[name] - bn_channels - folded


def test_batch_norm_channel_totals():
    # Hand counts of batch-norm channels: stem + every block conv + downsample convs.
    # Unfolded: a BatchNorm layer per convolution holds its scale and shift, 2 per channel.
    r18 = resnet18()
    norms = [x for x in r18.layers if isinstance(x, BatchNorm)]
    assert sum(x.rows for x in norms) == 4_800 and sum(x.parameter_count for x in norms) == 2 * 4_800
    assert len(norms) == sum(isinstance(x, Conv2d) for x in r18.layers) == 20
    assert 64 + 4 * 64 + 5 * 128 + 5 * 256 + 5 * 512 == 4_800


@pytest.mark.parametrize("name", list(PARAMETERS))
def test_names_unique_and_first_layer_independent(name):
    net = network(name)
    names = [x.name for x in net.layers]
    assert len(set(names)) == len(names)
    assert net.layers[0].independent


def test_only_layers_reading_the_network_input_are_independent():
    for name in NETWORKS:
        layers = network(name).layers
        # A decoder's first norm reads the embeddings (its q, k and v projections read the norm).
        expected = {"seed-gemms": len(layers), "bert-base-layer": 3}.get(name, 1)
        assert sum(x.independent for x in layers) == expected, name
        assert layers[0].independent


def test_dataflow_graph_of_residual_blocks():
    net = network("resnet18")
    names = [layer.name for layer in net.layers]
    producers = {names[i]: [names[j] for j in p] for i, p in enumerate(net.producers())}
    assert producers["layer1.0.conv2"] == ["layer1.0.conv1.relu"]
    # An identity shortcut: the residual add reads the main path and the block input again.
    assert producers["layer1.0.add"] == ["layer1.0.conv2.bn", "maxpool"]
    assert producers["layer1.1.conv1"] == ["layer1.0.relu"]
    # A projection shortcut reads the block input; the add reads both paths.
    assert producers["layer2.0.downsample"] == producers["layer2.0.conv1"] == ["layer1.1.relu"]
    assert producers["layer2.0.add"] == ["layer2.0.conv2.bn", "layer2.0.downsample.bn"]
    assert producers["fc"] == ["avgpool"]
    bert = network("bert-base-layer")
    assert [bert.layers[j].name for j in bert.producers()[3]] == ["attention.query", "attention.key"]


def test_inputs_must_name_earlier_layers():
    with pytest.raises(LayerError, match="inputs: 'later' is not an earlier layer"):
        Network("bad", (Linear("a", in_features=2, out_features=2, inputs=("later",)), Linear("later")))


def test_seed_gemm_macs():
    net = network("seed-gemms")
    assert [x.macs for x in net.layers] == [m * k * n for m, k, n in SEED_GEMM_SHAPES]
    assert [x.name for x in net.layers] == [f"gemm{i}" for i in range(5)]
    assert net.macs == 16 * 128 * 16 + 32 * 128 * 32 + 64 * 128 * 64 + 128**3 + 256**3


def test_resnet18_macs():
    # Convs + fc of torchvision ResNet-18 at 224x224: the commonly quoted 1.814 GMACs.
    assert resnet18().macs == 1_814_073_344


def test_resnet20_macs_by_hand():
    def conv(hw, k, c_in, c_out):  # output pixels x (c_in x k x k) x c_out
        return hw * hw * c_in * k * k * c_out

    stem = conv(32, 3, 3, 16)
    stage1 = 6 * conv(32, 3, 16, 16)
    stage2 = conv(16, 3, 16, 32) + 5 * conv(16, 3, 32, 32)
    stage3 = conv(8, 3, 32, 64) + 5 * conv(8, 3, 64, 64)
    projections = conv(16, 1, 16, 32) + conv(8, 1, 32, 64)
    fc = 64 * 10
    # 40,550,400 is the usual figure for option-A ResNet-20 (identity shortcuts, no projection convs).
    assert stem + stage1 + stage2 + stage3 == 40_550_400
    assert projections == 262_144
    assert resnet20().macs == 40_550_400 + projections + fc


def test_other_mac_counts_near_published():
    assert network("resnet50").macs == pytest.approx(4.09e9, rel=0.005)
    assert network("mobilenet_v2").macs == pytest.approx(300e6, rel=0.01)
    seq, d, ffn = 128, 768, 3072
    assert network("bert-base-layer").macs == seq * (4 * d * d + 2 * d * ffn) + 2 * seq * seq * d
    assert network("mlp").macs == 784 * 256 + 256 * 256 + 256 * 10


def test_spatial_sizes():
    r50 = {x.name: x for x in resnet50().layers}
    assert (r50["conv1"].out_height, r50["conv1"].out_width) == (112, 112)
    assert (r50["layer1.0.conv1"].in_height, r50["layer1.0.conv1"].in_width) == (56, 56)
    # v1.5: the bottleneck strides on its 3x3 conv, the 1x1 before it runs at full resolution.
    assert (r50["layer2.0.conv1"].stride, r50["layer2.0.conv2"].stride) == (1, 2)
    assert r50["layer2.0.conv1"].out_height == 56 and r50["layer2.0.conv2"].out_height == 28
    assert r50["layer1.0.downsample"].out_channels == 256
    last = [x for x in resnet50().layers if isinstance(x, Conv2d)][-1]
    assert (last.out_channels, last.out_height, last.out_width) == (2048, 7, 7)
    assert resnet50().layers[-1].in_features == 2048

    r20 = {x.name: x for x in resnet20().layers}
    assert (r20["layer3.2.conv2"].out_height, r20["layer3.2.conv2"].out_channels) == (8, 64)
    assert r20["layer2.0.downsample"].stride == 2 and r20["layer2.0.downsample"].kernel == (1, 1)
    assert "layer1.0.downsample" not in r20

    mb = [x for x in network("mobilenet_v2").layers if isinstance(x, Conv2d)]
    assert (mb[-1].out_channels, mb[-1].out_height) == (1280, 7)
    depthwise = [x for x in mb if x.groups > 1]
    assert len(depthwise) == 17 and all(x.groups == x.in_channels == x.out_channels for x in depthwise)


def test_resnet_layer_order():
    names = [x.name for x in resnet20().layers]
    assert names[:8] == [
        "conv1",
        "conv1.relu",
        "layer1.0.conv1",
        "layer1.0.conv1.relu",
        "layer1.0.conv2",
        "layer1.0.add",
        "layer1.0.relu",
        "layer1.1.conv1",
    ]
    i = names.index("layer2.0.conv1")
    assert names[i : i + 6] == [
        "layer2.0.conv1",
        "layer2.0.conv1.relu",
        "layer2.0.conv2",
        "layer2.0.downsample",
        "layer2.0.add",
        "layer2.0.relu",
    ]
    assert names[-2:] == ["avgpool", "fc"]


def test_bert_shapes():
    layers = network("bert-base-layer").layers
    matmuls = [x for x in layers if isinstance(x, MatMul)]
    assert [(x.batch, x.m, x.k, x.n) for x in matmuls] == [(12, 128, 64, 128), (12, 128, 128, 64)]
    assert all(x.parameter_count == 0 for x in matmuls)
    assert layers[1].independent and layers[2].independent


def test_unknown_network():
    with pytest.raises(LayerError, match="allowed") as info:
        network("nope")
    message = str(info.value)
    assert "'nope'" in message and "\n" not in message
    assert all(name in message for name in NETWORKS)
