"""tinylm: a byte-level GPT-2-style decoder in numpy, forward and backward.

Architecture (the built-in decoder `tinylm` of `accelsim.workload.decoder` has exactly this shape):
byte embeddings (vocabulary 256) plus learned positions; per block, pre-LayerNorm, causal
multi-head attention through one fused QKV projection (`attn.c_attn`) and an output projection
(`attn.o_proj`), a residual, pre-LayerNorm, a GELU MLP (`mlp.c_fc` -> tanh-GELU -> `mlp.c_proj`)
and a residual; a final LayerNorm; logits through the tied embedding table (no head bias). Every
linear layer has a bias. Linear weights are stored [in, out], as `numpy_model` stores them.

Parameters are a dict of arrays keyed by the accelsim layer names (`layers.0.attn.c_attn.weight`),
so a transform keyed by layer name reaches the same weights here and in the simulator. The
number of heads and the MLP width of each block are read from the weight shapes, so a model whose
heads or channels were pruned runs unchanged. `Hooks` let measurements quantize weights,
activations and the KV cache, or add low-rank adapters, without another forward pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from accelsim.errors import InputError
from accelsim.workload.decoder import DecoderConfig

VOCAB = 256
_GELU_C = float(np.sqrt(2.0 / np.pi))
LINEARS = ("attn.c_attn", "attn.o_proj", "mlp.c_fc", "mlp.c_proj")

Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class TinyLMConfig:
    """The shape of a tinylm: `layers` blocks of width `width` with `heads` heads."""

    layers: int = 4
    width: int = 128
    heads: int = 4
    context: int = 128
    mlp_ratio: int = 4

    def __post_init__(self) -> None:
        for name in ("layers", "width", "heads", "context", "mlp_ratio"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InputError(f"tinylm: {name} must be an integer >= 1 (got {value!r})")
        if self.width % self.heads:
            raise InputError(f"tinylm: heads must divide width ({self.heads}, {self.width})")

    @property
    def head_dim(self) -> int:
        return self.width // self.heads

    def decoder(self, name: str = "tinylm") -> DecoderConfig:
        """The workload shape the simulator runs for this model."""
        return DecoderConfig(
            name,
            VOCAB,
            self.width,
            self.layers,
            self.heads,
            self.heads,
            self.mlp_ratio * self.width,
            self.context,
            "gelu",
            "layernorm",
            "learned",
            tied_embeddings=True,
            bias=True,
        )


def init_params(config: TinyLMConfig, rng: np.random.Generator, dtype: type = np.float32) -> Params:
    """GPT-2's initialization: N(0, 0.02), residual projections scaled by 1/sqrt(2 x layers)."""
    c, f = config.width, config.mlp_ratio * config.width
    residual = 0.02 / np.sqrt(2 * config.layers)
    p: Params = {"wte": rng.normal(0, 0.02, (VOCAB, c)), "wpe": rng.normal(0, 0.01, (config.context, c))}
    for i in range(config.layers):
        b = f"layers.{i}."
        for norm in ("ln_1", "ln_2"):
            p[b + norm + ".weight"], p[b + norm + ".bias"] = np.ones(c), np.zeros(c)
        shapes = {"attn.c_attn": (c, 3 * c), "attn.o_proj": (c, c), "mlp.c_fc": (c, f), "mlp.c_proj": (f, c)}
        for name, shape in shapes.items():
            std = residual if name in ("attn.o_proj", "mlp.c_proj") else 0.02
            p[b + name + ".weight"], p[b + name + ".bias"] = rng.normal(0, std, shape), np.zeros(shape[1])
    p["ln_f.weight"], p["ln_f.bias"] = np.ones(c), np.zeros(c)
    return {k: np.asarray(v, dtype=dtype) for k, v in p.items()}


def parameter_count(params: Params) -> int:
    return sum(int(v.size) for v in params.values())


def layer_count(params: Params) -> int:
    return sum(1 for k in params if k.endswith(".ln_1.weight"))


@dataclass
class Hooks:
    """Optional interventions in a forward pass.

    - `linear(name, x, params) -> x`: sees each linear layer's input [rows, in] before its product
      (it may change `params[name + ".weight"]` in place, as GPTQ does, and returns the input the
      product reads, e.g. quantized activations);
    - `kv(layer, k, v) -> (k, v)`: the keys and values [B, heads, T, head_dim] as cached;
    - `adapters`: layer name -> (A [in, r], B [r, out], scale): unmerged low-rank adapters.
    """

    linear: Callable[[str, np.ndarray, Params], np.ndarray] | None = None
    kv: Callable[[int, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
    adapters: dict[str, tuple[np.ndarray, np.ndarray, float]] = field(default_factory=dict)


# --- pieces ---------------------------------------------------------------------------------------


def _layernorm(x: np.ndarray, g: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    rstd = 1.0 / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + 1e-5)
    xhat = xc * rstd
    return xhat * g + b, (xhat, rstd, g)


def _layernorm_backward(dy: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xhat, rstd, g = cache
    dg = (dy * xhat).reshape(-1, xhat.shape[-1]).sum(axis=0)
    db = dy.reshape(-1, dy.shape[-1]).sum(axis=0)
    dxhat = dy * g
    dx = rstd * (dxhat - dxhat.mean(axis=-1, keepdims=True) - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True))
    return dx, dg, db


def _gelu(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """tanh-GELU of u, and the tanh term the backward pass reuses (u * u * u: `u**3` is slow)."""
    u2 = u * u
    t = np.tanh(_GELU_C * u * (1.0 + 0.044715 * u2))
    return 0.5 * u * (1.0 + t), t


def _gelu_backward(u: np.ndarray, t: np.ndarray, dy: np.ndarray) -> np.ndarray:
    return dy * (0.5 * (1 + t) + 0.5 * u * (1 - t * t) * _GELU_C * (1 + 3 * 0.044715 * u * u))


def _linear(params: Params, name: str, x: np.ndarray, hooks: Hooks | None) -> tuple[np.ndarray, np.ndarray]:
    """y = x W + b on x [..., in]; returns y and the operand the product read (for backward)."""
    shape = x.shape
    x2 = x.reshape(-1, shape[-1])
    if hooks is not None and hooks.linear is not None:
        x2 = hooks.linear(name, x2, params)
    y = x2 @ params[name + ".weight"] + params[name + ".bias"]
    if hooks is not None and name in hooks.adapters:
        a, b, scale = hooks.adapters[name]
        y = y + scale * ((x2 @ a) @ b)
    return y.reshape(*shape[:-1], y.shape[-1]), x2


def _heads(params: Params, i: int, head_dim: int) -> int:
    return params[f"layers.{i}.attn.c_attn.weight"].shape[1] // (3 * head_dim)


# --- forward and backward -------------------------------------------------------------------------


def forward(
    params: Params, tokens: np.ndarray, head_dim: int, hooks: Hooks | None = None, keep: bool = False
) -> tuple[np.ndarray, list | None]:
    """Logits [B, T, 256] for byte tokens [B, T]; with `keep`, what `backward` needs."""
    batch, t = tokens.shape
    if t > params["wpe"].shape[0]:
        raise InputError(f"tinylm: {t} tokens exceed the context of {params['wpe'].shape[0]}")
    h = params["wte"][tokens] + params["wpe"][:t]
    causal = np.triu(np.full((t, t), -np.inf, dtype=h.dtype), k=1)
    tape: list = []
    for i in range(layer_count(params)):
        p = f"layers.{i}."
        heads = _heads(params, i, head_dim)
        a, ln1 = _layernorm(h, params[p + "ln_1.weight"], params[p + "ln_1.bias"])
        qkv, x_qkv = _linear(params, p + "attn.c_attn", a, hooks)
        q, k, v = (
            qkv.reshape(batch, t, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)[j] for j in range(3)
        )  # each [B, H, T, D]
        if hooks is not None and hooks.kv is not None:
            k, v = hooks.kv(i, k, v)
        s = (q @ k.transpose(0, 1, 3, 2)) / np.sqrt(head_dim) + causal
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        probs = s / s.sum(axis=-1, keepdims=True)
        o = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, t, heads * head_dim)
        y, x_o = _linear(params, p + "attn.o_proj", o, hooks)
        h = h + y
        a2, ln2 = _layernorm(h, params[p + "ln_2.weight"], params[p + "ln_2.bias"])
        u, x_fc = _linear(params, p + "mlp.c_fc", a2, hooks)
        g, tanh = _gelu(u)
        z, x_proj = _linear(params, p + "mlp.c_proj", g, hooks)
        h = h + z
        if keep:
            tape.append((ln1, x_qkv, q, k, v, probs, x_o, ln2, x_fc, u, tanh, x_proj))
    hf, lnf = _layernorm(h, params["ln_f.weight"], params["ln_f.bias"])
    logits = hf @ params["wte"].T
    if keep:
        tape.append((lnf, hf, tokens))
    return logits, (tape if keep else None)


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean next-byte cross-entropy in nats, and its gradient with respect to the logits."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    total = e.sum(axis=-1, keepdims=True)
    logp = z - np.log(total)
    flat = targets.reshape(-1)
    n = flat.size
    loss = -float(logp.reshape(-1, logp.shape[-1])[np.arange(n), flat].mean())
    grad = (e / total).reshape(n, -1)
    grad[np.arange(n), flat] -= 1.0
    return loss, (grad / n).reshape(logits.shape)


def backward(params: Params, tape: list, dlogits: np.ndarray, head_dim: int) -> Params:
    """Gradients of every parameter given d(loss)/d(logits), from a `forward(..., keep=True)`."""
    grads: Params = {k: np.zeros_like(v) for k, v in params.items()}
    lnf, hf, tokens = tape[-1]
    batch, t = tokens.shape
    c = hf.shape[-1]
    d2 = dlogits.reshape(-1, dlogits.shape[-1])
    grads["wte"] += d2.T @ hf.reshape(-1, c)
    dh, grads["ln_f.weight"], grads["ln_f.bias"] = _layernorm_backward((d2 @ params["wte"]).reshape(hf.shape), lnf)

    def linear_back(name: str, operand: np.ndarray, dy: np.ndarray) -> np.ndarray:
        dy2 = dy.reshape(-1, dy.shape[-1])
        grads[name + ".weight"] += operand.T @ dy2
        grads[name + ".bias"] += dy2.sum(axis=0)
        return dy2 @ params[name + ".weight"].T

    for i in range(len(tape) - 2, -1, -1):
        p = f"layers.{i}."
        ln1, x_qkv, q, k, v, probs, x_o, ln2, x_fc, u, tanh, x_proj = tape[i]
        heads = q.shape[1]
        dg = linear_back(p + "mlp.c_proj", x_proj, dh)
        du = _gelu_backward(u.reshape(dg.shape), tanh.reshape(dg.shape), dg)
        da2 = linear_back(p + "mlp.c_fc", x_fc, du).reshape(dh.shape)
        dx, grads[p + "ln_2.weight"], grads[p + "ln_2.bias"] = _layernorm_backward(da2, ln2)
        dh = dh + dx
        do = linear_back(p + "attn.o_proj", x_o, dh)
        do = do.reshape(batch, t, heads, head_dim).transpose(0, 2, 1, 3)
        dprobs = do @ v.transpose(0, 1, 3, 2)
        dv = probs.transpose(0, 1, 3, 2) @ do
        ds = probs * (dprobs - (dprobs * probs).sum(axis=-1, keepdims=True)) / np.sqrt(head_dim)
        dq = ds @ k
        dk = ds.transpose(0, 1, 3, 2) @ q
        dqkv = np.stack([dq, dk, dv]).transpose(1, 3, 0, 2, 4).reshape(batch * t, 3 * heads * head_dim)
        da = linear_back(p + "attn.c_attn", x_qkv, dqkv).reshape(dh.shape)
        dx, grads[p + "ln_1.weight"], grads[p + "ln_1.bias"] = _layernorm_backward(da, ln1)
        dh = dh + dx
    np.add.at(grads["wte"], tokens.reshape(-1), dh.reshape(-1, c))
    grads["wpe"][:t] += dh.sum(axis=0)
    return grads


def loss_and_grads(params: Params, batch: np.ndarray, head_dim: int) -> tuple[float, Params]:
    """Next-byte loss of windows `batch` [B, T + 1] and its gradients."""
    logits, tape = forward(params, batch[:, :-1], head_dim, keep=True)
    loss, dlogits = cross_entropy(logits, batch[:, 1:])
    return loss, backward(params, tape, dlogits.astype(logits.dtype), head_dim)  # type: ignore[arg-type]
