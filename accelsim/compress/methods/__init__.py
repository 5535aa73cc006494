"""The built-in compression methods, one module each, registered by pipeline name in this order
(the order error messages list them in). A new method is one module: a `Transform` subclass
decorated with `registry.register` (see `accelsim.compress.methods.base`)."""

from accelsim.compress.methods.base import Followup, Parameter, Transform

# isort: off
from accelsim.compress.methods.quantize import Quantize
from accelsim.compress.methods.prune import StructuredPrune
from accelsim.compress.methods.sparsify import UnstructuredPrune
from accelsim.compress.methods.nm import NMPrune
from accelsim.compress.methods.distill import Distill
from accelsim.compress.methods.lowrank import LowRank
from accelsim.compress.methods.tucker import Tucker
from accelsim.compress.methods.wq import WeightQuantize
from accelsim.compress.methods.w8a8 import SmoothQuant
from accelsim.compress.methods.kv import KVQuantize
from accelsim.compress.methods.lora import LoRA
from accelsim.compress.methods.decoder_prune import HeadPrune, MLPPrune
from accelsim.compress.methods.speculative import Speculative
from accelsim.compress.methods.fuse import Fuse
# isort: on

__all__ = [
    "Distill",
    "Followup",
    "Fuse",
    "HeadPrune",
    "KVQuantize",
    "LoRA",
    "LowRank",
    "MLPPrune",
    "NMPrune",
    "Parameter",
    "Quantize",
    "SmoothQuant",
    "Speculative",
    "StructuredPrune",
    "Transform",
    "Tucker",
    "UnstructuredPrune",
    "WeightQuantize",
]
