"""What every compression method is: a transform `Network -> Network` that says, in one class,
its pipeline name and parameters, how it validates them, what it records in the provenance, and
how each accuracy provider accounts for it.

A method is a frozen dataclass subclassing `Transform` with these class attributes and hooks,
registered with `accelsim.compress.methods.registry.register`:

- `method`: its name in pipeline texts (`prune`), recorded in the provenance;
- `parameters`: its `Parameter`s in positional order (name, converter from text, alias);
- `__post_init__`: validation, one-line `InputError`s naming the field and the allowed range;
- `apply` and `describe`: the new network, and the text reports print;
- `retention(curves, network)`: the parametric model's factor (`ParametricAccuracy`);
- `followup(settings)`: the training the measured provider gives the model after this step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from accelsim.errors import InputError
from accelsim.workload.layers import Network
from accelsim.workload.provenance import ProvenanceStep, Value

if TYPE_CHECKING:  # the providers import the methods, not the other way round
    from accelsim.compress.accuracy import ParametricAccuracy
    from accelsim.compress.measured import MeasurementSettings


@dataclass(frozen=True)
class Parameter:
    """One argument of a pipeline step: `prune(0.5)`, `quantize(w=int4, a=int8)`."""

    name: str
    #: Text to value; a ValueError becomes "<name> must be a number".
    convert: Callable[[str], Any] = float
    #: A short spelling accepted as `alias=value`.
    alias: str | None = None
    #: The converter also takes lists (tuples of values) and nested steps (Transforms); it
    #: raises InputError for what it refuses. Others take one word and raise ValueError.
    structured: bool = False
    #: Given only as `name=value` (`layers=[...]`), never by position.
    keyword: bool = False


@dataclass(frozen=True)
class Followup:
    """The training a measured model gets after a step: `epochs` at `learning_rate` (0 epochs:
    activation calibration only), against the uncompressed teacher when `teacher`, from fresh
    weights when `from_scratch` (else from the current model's)."""

    epochs: int
    learning_rate: float
    teacher: bool = False
    from_scratch: bool = False


class Transform:
    """A compression step. Subclasses implement `apply` and `describe`; methods (see the module
    doc) also set `method` and `parameters` and the accuracy hooks."""

    method: str = ""
    parameters: tuple[Parameter, ...] = ()
    #: Bare names that stand for a whole step (`int8`), made by `from_shorthand`.
    shorthands: tuple[str, ...] = ()
    #: Other names of the method in pipeline texts (`quant` for `quantize`).
    aliases: tuple[str, ...] = ()

    def apply(self, network: Network) -> Network:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    @classmethod
    def from_shorthand(cls, name: str) -> Transform:
        raise NotImplementedError

    def __call__(self, network: Network) -> Network:
        result = self.apply(network)
        return dataclasses.replace(result, provenance=(*result.provenance, self.provenance()))

    def provenance(self) -> ProvenanceStep:
        return ProvenanceStep(self.method or type(self).__name__, self.provenance_params(), self.describe())

    def provenance_params(self) -> tuple[tuple[str, Value], ...]:
        """The parameters as recorded: every dataclass field, as given."""
        return tuple((f.name, getattr(self, f.name)) for f in dataclasses.fields(self))  # type: ignore[arg-type]

    def retention(self, curves: ParametricAccuracy, network: Network | None = None) -> float:
        """The share of accuracy this step keeps in the parametric model."""
        raise InputError(f"parametric accuracy: no curve for {type(self).__name__}")

    def followup(self, settings: MeasurementSettings) -> Followup:
        """A step that changes weights is fine-tuned (`finetune_epochs`)."""
        return Followup(settings.finetune_epochs, settings.finetune_learning_rate)


def ratio(transform: str, name: str, value: float, upper_open: bool = True) -> float:
    """`value` checked to lie in [0, 1) (or (0, 1] when not `upper_open`)."""
    ok = isinstance(value, (int, float)) and (0 <= value < 1 if upper_open else 0 < value <= 1)
    if not ok:
        allowed = "in [0, 1)" if upper_open else "in (0, 1]"
        raise InputError(f"{transform}: {name} must be {allowed} (got {value!r})")
    return float(value)


def layer_names(value: Any) -> tuple[str, ...]:
    """A `layers=[a, b]` argument (or one name) as a tuple of layer names."""
    items = value if isinstance(value, tuple) else (value,)
    if not items or not all(isinstance(item, str) for item in items):
        raise InputError("expected layer names, e.g. [conv1, fc]")
    if len(set(items)) != len(items):
        raise InputError(f"a layer is named twice in {', '.join(items)}")
    return tuple(items)


def mac_share(network: Network | None, layers: tuple[str, ...] | None) -> float:
    """Share of the network's MACs in the named layers (1 for a step on every layer)."""
    if layers is None or network is None:
        return 1.0
    chosen = set(layers)
    part = sum(layer.macs for layer in network.layers if layer.name in chosen)
    return part / network.macs if network.macs else 1.0


def selected(network: Network, names: tuple[str, ...] | None, transform: str) -> set[str]:
    """The named layers (all when None); an unknown name is a one-line error."""
    known = {layer.name for layer in network.layers}
    for name in names or ():
        if name not in known:
            raise InputError(f"{transform}: layers: {name!r} is not a layer of {network.name}")
    return set(names) if names is not None else known
