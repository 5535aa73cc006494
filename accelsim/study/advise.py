"""`accelsim advise`: which compression pipeline is best on this accelerator, found by search.

An Optuna study (TPE by default, for one objective or several; NSGA-II; or random search, each seeded)
proposes configurations of a `SearchSpace` (`accelsim.study.space`); each decodes to a
pipeline text that is simulated, and its accuracy estimated, as a sweep point
(`accelsim.study.points.Point`) through accelsim's executors into a results store, so a
configuration already in the store is not simulated again.

Determinism: proposals are asked and told in fixed-size synchronous batches, in trial order,
and the sampler is re-seeded for every trial from (seed, trial number). So what is proposed
depends only on the seed and the trials told before, never on how many workers evaluate a
batch or in which order they finish; and a search killed at any point resumes from its Optuna
storage (a journal file or an RDB URL), first finishing the trials it had asked, and ends as
if it had never stopped.

Start: the first proposals are the corners of the space (`SearchSpace.corners`): the baseline
and each method alone at each uniform value, so that every search, NSGA-II, TPE or random, sees
each method before it combines them; then the pairs (`SearchSpace.pairs`): each method alone
followed by each uniform quantization, the recipe of the hand-written studies (a warm start from
the study grid's pattern, 51 points on ResNet-20). Without them, TPE on ResNet-20 spent its
budget on the low-energy end (distillation and INT4) and left the stretch between INT8 alone and
INT4 alone empty, where "prune(0.5) -> int8", "nm(2, 4) -> int8" or "lowrank(0.5) -> int8" lie:
4 or 5 of the 17 study configurations were not dominated for some seeds. (`corners=False` and
`pairs=False` leave the whole budget to the sampler.)

Decoder LLMs (`gpt2`, `llama-3.2-1b`, `llama-2-7b`, `tinylm`) are searched over the LLM
transforms (`SearchSpace`), each point a whole generation (`study.advise_llm`): the figures are
per token (energy per token, time per output token, carbon per million tokens) and the quality
is the perplexity, measured for tinylm, published or modelled (labelled) for the others.

Budget: the number of distinct pipelines the search evaluates. A proposal that repeats one is
told the stored figures again and costs nothing; one that cannot be built (a step that would
remove every channel) is told failed and costs nothing either. A search also stops after
`max_proposals`, or after `patience` batches in a row proposed nothing new (the sampler has
converged, or the space holds fewer configurations than the budget).
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from accelsim.errors import InputError
from accelsim.metrics.carbon import CarbonModel
from accelsim.study.advise_llm import DEFAULT_GENERATE, DEFAULT_PROMPT, GenerationPoint, run_generation_points
from accelsim.study.evaluate import Result
from accelsim.study.executors import Executor, InProcessExecutor
from accelsim.study.points import MEASURED_NETWORKS, Point, result_of
from accelsim.study.space import SearchSpace, SpaceOptions
from accelsim.study.store import read_records
from accelsim.study.sweep import run_sweep
from accelsim.workload.decoder import DECODERS

OPTUNA_MISSING = "accelsim advise needs the optional extra: pip install 'accelsim[advise]'"
#: Modelled baselines where the network has no measured provider: ResNet-20 on CIFAR-10, 91.25%
#: (He et al., CVPR 2016, Table 6); other networks are scored relative to 1.0.
PARAMETRIC_BASELINE = {"resnet20": 0.9125}


@dataclass(frozen=True)
class Objective:
    name: str
    direction: str  # "maximize" or "minimize"
    label: str
    get: Callable[[Candidate], float]


@dataclass(frozen=True)
class Candidate:
    """One evaluated pipeline with the figures `advise` reports (SI units)."""

    pipeline: str
    accuracy: float | None  # None for a decoder: its quality is the perplexity
    accuracy_source: str  # measured or modelled (parametric), as the provider labels it (or the perplexity's)
    energy_j: float  # per inference; per token for a decoder
    latency_s: float  # per inference; time per output token for a decoder
    size_bytes: int
    carbon_gco2e_per_million: float  # inferences; tokens for a decoder
    perplexity: float | None = None
    per: str = "inference"  # or "token"

    @property
    def accuracy_per_joule(self) -> float:
        if self.accuracy is None:
            raise InputError("accuracy_per_joule: a decoder has a perplexity, not an accuracy")
        return self.accuracy / self.energy_j

    @property
    def quality(self) -> str:
        """The accuracy, or the perplexity, as a short text."""
        if self.accuracy is not None:
            return f"accuracy {self.accuracy:.2%} {self.accuracy_source}"
        return f"perplexity {self.perplexity:.4g} {self.accuracy_source}"

    def as_dict(self) -> dict[str, Any]:
        out = {
            "pipeline": self.pipeline,
            "accuracy": self.accuracy,
            "accuracy_source": self.accuracy_source,
            "energy_j": self.energy_j,
            "latency_s": self.latency_s,
            "size_bytes": self.size_bytes,
            "carbon_gco2e_per_million": self.carbon_gco2e_per_million,
        }
        if self.per != "inference":
            out |= {"perplexity": self.perplexity, "per": self.per}
        return out

    @classmethod
    def from_generation(cls, pipeline: str, result: Mapping[str, Any], carbon: CarbonModel) -> Candidate:
        energy, latency = result["energy_per_token_j"], result["time_per_output_token_s"]
        grams = carbon.per_million(energy, latency).total_gco2e_per_million
        kind = result["perplexity_kind"]
        return cls(pipeline, None, kind, energy, latency, result["weight_bytes"], grams, result["perplexity"], "token")

    @classmethod
    def from_result(cls, pipeline: str, result: Result, carbon: CarbonModel) -> Candidate:
        if result.accuracy is None:
            raise ValueError("advise: every point needs an accuracy")
        grams = carbon.per_million(result.energy_j, result.latency_s).total_gco2e_per_million
        return cls(
            pipeline,
            result.accuracy,
            result.accuracy_kind,
            result.energy_j,
            result.latency_s,
            result.weight_bytes,
            grams,
        )


OBJECTIVES = {
    o.name: o
    for o in (
        Objective("accuracy", "maximize", "accuracy", lambda c: c.accuracy),
        Objective("perplexity", "minimize", "perplexity (decoders)", lambda c: c.perplexity),
        Objective("energy", "minimize", "energy per inference (J)", lambda c: c.energy_j),
        Objective("latency", "minimize", "latency (s)", lambda c: c.latency_s),
        Objective("size", "minimize", "model size (bytes)", lambda c: float(c.size_bytes)),
        Objective("carbon", "minimize", "gCO2e per million inferences", lambda c: c.carbon_gco2e_per_million),
        Objective("accuracy_per_joule", "maximize", "accuracy per joule", lambda c: c.accuracy_per_joule),
    )
}
SAMPLERS = ("auto", "nsga2", "tpe", "random")
#: Objectives that need an accuracy (not for decoders) and one that needs a perplexity (only them).
ACCURACY_OBJECTIVES = ("accuracy", "accuracy_per_joule")


@dataclass(frozen=True)
class Constraints:
    """Deployment limits; None is no limit."""

    min_accuracy: float | None = None
    max_latency_s: float | None = None
    max_size_bytes: int | None = None
    max_energy_j: float | None = None
    max_perplexity: float | None = None  # decoders

    def __post_init__(self) -> None:
        if self.min_accuracy is not None and not 0 <= self.min_accuracy <= 1:
            raise InputError(f"--min-accuracy: must be in [0, 1] (got {self.min_accuracy!r})")
        if self.max_perplexity is not None and not self.max_perplexity >= 1:
            raise InputError(f"--max-perplexity: must be >= 1 (got {self.max_perplexity!r})")
        for name in ("max_latency_s", "max_size_bytes", "max_energy_j"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise InputError(f"{name}: must be > 0 (got {value!r})")

    def violations(self, c: Candidate) -> tuple[float, ...]:
        """One value per limit, <= 0 when met (Optuna's constraint convention), relative."""
        out = []
        if self.min_accuracy is not None:
            out.append(self.min_accuracy - c.accuracy)
        for limit, value in (
            (self.max_latency_s, c.latency_s),
            (self.max_size_bytes, c.size_bytes),
            (self.max_energy_j, c.energy_j),
            (self.max_perplexity, c.perplexity),
        ):
            if limit is not None:
                out.append(value / limit - 1)
        return tuple(out)

    def met(self, c: Candidate) -> bool:
        return all(v <= 0 for v in self.violations(c))

    def describe(self) -> str:
        parts = []
        if self.min_accuracy is not None:
            parts.append(f"accuracy >= {self.min_accuracy:g}")
        if self.max_latency_s is not None:
            parts.append(f"latency <= {self.max_latency_s * 1e3:g} ms")
        if self.max_size_bytes is not None:
            parts.append(f"size <= {self.max_size_bytes:,} bytes")
        if self.max_energy_j is not None:
            parts.append(f"energy <= {self.max_energy_j:g} J")
        if self.max_perplexity is not None:
            parts.append(f"perplexity <= {self.max_perplexity:g}")
        return " and ".join(parts)


@dataclass(frozen=True)
class AdviseSettings:
    network: str
    hardware: str | None = None  # None: seed, or edge-llm for a decoder
    objectives: tuple[str, ...] | None = None  # None: accuracy and energy (perplexity and energy for a decoder)
    constraints: Constraints = Constraints()
    budget: int = 200
    batch_size: int = 16
    seed: int = 0
    sampler: str = "auto"
    accuracy: str | None = None  # a Point accuracy ("measured", "parametric:0.9"); None: the default
    options: SpaceOptions = SpaceOptions()
    carbon: CarbonModel = CarbonModel()
    max_proposals: int | None = None  # default: 20 x budget + a batch
    patience: int = 10  # stop after this many batches in a row bring no new pipeline
    corners: bool = True  # the first proposals: the baseline and each method alone (`SearchSpace.corners`)
    pairs: bool = True  # then each method followed by each uniform quantization (`SearchSpace.pairs`)
    prompt: int = DEFAULT_PROMPT  # decoders: the generation each point simulates
    generate: int = DEFAULT_GENERATE

    def __post_init__(self) -> None:
        if self.hardware is None:
            object.__setattr__(self, "hardware", "edge-llm" if self.decoder else "seed")
        if self.objectives is None:
            object.__setattr__(self, "objectives", ("perplexity" if self.decoder else "accuracy", "energy"))
        object.__setattr__(self, "objectives", tuple(self.objectives))
        if not self.objectives or len(set(self.objectives)) != len(self.objectives):
            raise InputError("--objective: give one or more distinct objectives")
        for name in self.objectives:
            if name not in OBJECTIVES:
                raise InputError(f"--objective: unknown {name!r}; allowed: {', '.join(OBJECTIVES)}")
        if self.sampler not in SAMPLERS:
            raise InputError(f"--sampler: unknown {self.sampler!r}; allowed: {', '.join(SAMPLERS)}")
        for name, value in (("--budget", self.budget), ("batch_size", self.batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name}: must be an integer >= 1 (got {value!r})")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"--seed: must be an integer >= 0 (got {self.seed!r})")
        if self.decoder:
            self._check_decoder()
        else:
            Point(self.network, hardware=self.hardware, accuracy=self.accuracy_spec)  # one-line errors
            if "perplexity" in self.objectives or self.constraints.max_perplexity is not None:
                raise InputError(f"--objective: perplexity is for decoders ({', '.join(DECODERS)}), not {self.network}")

    @property
    def decoder(self) -> bool:
        return self.network in DECODERS

    def _check_decoder(self) -> None:
        wrong = [name for name in self.objectives if name in ACCURACY_OBJECTIVES]
        if wrong or self.constraints.min_accuracy is not None:
            raise InputError(
                f"--objective: {self.network} is a decoder: its quality is the perplexity "
                f"(--objective perplexity, --max-perplexity), not {(wrong or ['--min-accuracy'])[0]}"
            )
        self.generation_point("baseline")

    def generation_point(self, text: str) -> GenerationPoint:
        return GenerationPoint(self.network, text, self.hardware, self.prompt, self.generate, self.accuracy_spec)

    @property
    def accuracy_spec(self) -> str:
        """The accuracy of every point: the given one, measured where the network has a measured
        provider (and scikit-learn is installed), else parametric (labelled modelled)."""
        if self.accuracy is not None:
            return self.accuracy
        if self.decoder:
            return "measured" if self.network == "tinylm" else "published"
        if self.network in MEASURED_NETWORKS and _has_sklearn():
            return "measured"
        return f"parametric:{PARAMETRIC_BASELINE.get(self.network, 1.0)!r}"

    @property
    def sampler_name(self) -> str:
        """`auto` is TPE (multivariate; multi-objective TPE for several objectives): on ResNet-20
        with a budget of 200 it reached a larger hypervolume than NSGA-II, which converges early
        on a space this wide and then proposes mostly pipelines it has seen (README: advise)."""
        return "tpe" if self.sampler == "auto" else self.sampler

    @property
    def study_name(self) -> str:
        """Names the search in its storage: a different search never resumes another's trials."""
        text = repr((self.network, self.hardware, self.objectives, self.constraints, self.batch_size, self.seed))
        text += repr((self.sampler_name, self.accuracy_spec, self.options, self.carbon, self.corners, self.pairs))
        if self.decoder:
            text += repr((self.prompt, self.generate))
        return f"advise-{self.network}-{self.hardware}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _has_sklearn() -> bool:
    import importlib.util

    return importlib.util.find_spec("sklearn") is not None


@dataclass(frozen=True)
class AdviseResult:
    settings: AdviseSettings
    evaluated: tuple[Candidate, ...]  # distinct pipelines, in the order first proposed
    front: tuple[Candidate, ...]  # Pareto front of the feasible ones, by the first objective
    recommended: Candidate | None
    reason: str
    proposals: int
    simulated: int  # points this run simulated (the rest came from the store)
    stopped: str  # why the search ended

    def as_json(self) -> dict[str, Any]:
        return {
            "front": [c.as_dict() for c in self.front],
            "recommended": None if self.recommended is None else self.recommended.as_dict(),
            "reason": self.reason,
            "evaluated": len(self.evaluated),
            "proposals": self.proposals,
        }


def dominates(a: Candidate, b: Candidate, objectives: Sequence[str]) -> bool:
    """`a` at least as good as `b` on every objective and better on one."""
    better = False
    for name in objectives:
        o = OBJECTIVES[name]
        x, y = o.get(a), o.get(b)
        if o.direction == "minimize":
            x, y = -x, -y
        if x < y:
            return False
        better |= x > y
    return better


def weakly_dominates(a: Candidate, b: Candidate, objectives: Sequence[str]) -> bool:
    return all(
        (OBJECTIVES[n].get(a) >= OBJECTIVES[n].get(b))
        if OBJECTIVES[n].direction == "maximize"
        else (OBJECTIVES[n].get(a) <= OBJECTIVES[n].get(b))
        for n in objectives
    )


def pareto_front(candidates: Sequence[Candidate], objectives: Sequence[str]) -> tuple[Candidate, ...]:
    """The non-dominated candidates (one of equal ones), by the first objective, best first."""
    unique: dict[tuple[float, ...], Candidate] = {}
    for c in candidates:
        unique.setdefault(tuple(OBJECTIVES[n].get(c) for n in objectives), c)
    front = [c for c in unique.values() if not any(dominates(d, c, objectives) for d in unique.values())]
    first = OBJECTIVES[objectives[0]]
    return tuple(sorted(front, key=lambda c: -first.get(c) if first.direction == "maximize" else first.get(c)))


def hypervolume_2d(
    candidates: Sequence[Candidate], objectives: tuple[str, str], reference: tuple[float, float]
) -> float:
    """Area dominated by the candidates and bounded by `reference` (both objectives as given,
    each turned to minimization)."""

    def as_min(c: Candidate) -> tuple[float, float]:
        return tuple(  # type: ignore[return-value]
            -OBJECTIVES[n].get(c) if OBJECTIVES[n].direction == "maximize" else OBJECTIVES[n].get(c) for n in objectives
        )

    ref = tuple(-r if OBJECTIVES[n].direction == "maximize" else r for n, r in zip(objectives, reference))
    points = sorted(p for p in map(as_min, candidates) if p[0] < ref[0] and p[1] < ref[1])
    area, best_y = 0.0, ref[1]
    for x, y in points:
        if y < best_y:
            area += (ref[0] - x) * (best_y - y)
            best_y = y
    return area


def recommend(front: Sequence[Candidate], feasible: int, settings: AdviseSettings) -> tuple[Candidate | None, str]:
    """The point to deploy and a sentence saying why: the best of the first objective when there
    is one, else the most accuracy per joule on the front (the question `advise` answers)."""
    if not front:
        limits = settings.constraints.describe()
        if not limits:
            return None, "no configuration could be evaluated (every point failed); see the results store's errors"
        return None, f"no evaluated configuration meets {limits}; relax a limit or raise --budget"
    single = len(settings.objectives) == 1
    # several objectives: the most accuracy per joule; a decoder's least energy per token (a
    # --max-perplexity constraint says how much quality it may give up)
    key = OBJECTIVES[settings.objectives[0] if single else "energy" if settings.decoder else "accuracy_per_joule"]
    ranked = sorted(front, key=key.get, reverse=key.direction == "maximize")
    best = ranked[0]
    limits = settings.constraints.describe()
    among = f"the {feasible} evaluated configurations that meet {limits}" if limits else f"the {feasible} evaluated"
    if not limits:
        among += " configurations"
    where = "of" if single else "on the Pareto front of"
    label = key.label.replace("per inference", "per token") if best.per == "token" else key.label
    why = (
        f"{best.pipeline} wins: {where} {among}, it has the {'highest' if key.direction == 'maximize' else 'lowest'}"
        f" {label} ({key.get(best):.4g}; {best.quality}, "
        f"{best.energy_j:.3g} J, {best.latency_s * 1e3:.3g} ms{' per token' if best.per == 'token' else ''})"
    )
    if len(ranked) > 1:
        why += f"; the runner-up, {ranked[1].pipeline}, has {key.get(ranked[1]):.4g}"
    return best, why + "."


# --- the search ---------------------------------------------------------------------------------


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise InputError(OPTUNA_MISSING) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def open_storage(url: str | None) -> Any:
    """An Optuna storage: None in memory, an RDB URL (`sqlite:///advise.db`,
    `postgresql://...`), or a journal file path (`advise.journal`)."""
    optuna = _optuna()
    if url is None:
        return optuna.storages.InMemoryStorage()
    if "://" in url:
        try:
            return optuna.storages.RDBStorage(url)
        except Exception as exc:  # noqa: BLE001 - any driver error is a bad URL here
            raise InputError(f"--storage: cannot open {url}: {str(exc).splitlines()[0]}") from None
    from optuna.storages.journal import JournalFileBackend

    path = Path(url)
    if not path.parent.is_dir():
        raise InputError(f"--storage: directory {path.parent} does not exist")
    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def _trial_seed(seed: int, number: int) -> int:
    return int(hashlib.sha256(f"{seed}/{number}".encode()).hexdigest()[:8], 16)


def _sampler(settings: AdviseSettings, number: int) -> Any:
    optuna = _optuna()
    seed = _trial_seed(settings.seed, number)
    name = settings.sampler_name

    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=settings.batch_size, multivariate=True)
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(2, settings.batch_size))


@dataclass
class _Progress:
    """What the search knows: distinct pipelines told so far and their candidates."""

    seen: dict[str, Candidate | None] = field(default_factory=dict)  # None: the point failed
    order: list[str] = field(default_factory=list)


def advise(
    settings: AdviseSettings,
    store_path: str | Path,
    *,
    executor: Executor | None = None,
    storage: Any = None,
    progress: bool = True,
    after_batch: Callable[[int], None] | None = None,
    lab: Any = None,
) -> AdviseResult:
    """Run (or resume) the search; `storage` is an Optuna storage or URL (`open_storage`).
    `after_batch(batch_index)` runs after each batch is told (tests interrupt there). `lab`: the
    `TinyLMLab` that measures tinylm's perplexity (default: the full model)."""
    optuna = _optuna()
    space = SearchSpace.build(settings.network, settings.options)
    if not space.dimensions:
        raise InputError(f"advise: the search space of {settings.network} is empty")
    storage = open_storage(storage) if storage is None or isinstance(storage, str) else storage
    directions = [OBJECTIVES[name].direction for name in settings.objectives]
    study = optuna.create_study(
        study_name=settings.study_name, storage=storage, directions=directions, load_if_exists=True
    )
    distributions = {d.name: optuna.distributions.CategoricalDistribution(d.choices) for d in space.dimensions}
    executor = executor or InProcessExecutor()
    state = _replay(study, optuna)
    cap = settings.max_proposals or 20 * settings.budget + settings.batch_size
    bar = tqdm(total=settings.budget, initial=len(state.seen), unit="point", desc="advise", disable=not progress)
    simulated, batch_index, idle, stopped = 0, 0, 0, "budget spent"
    try:
        while True:
            if len(state.seen) >= settings.budget:
                break
            if len(study.trials) >= cap:
                stopped = f"{cap} proposals made (the space may hold fewer distinct pipelines than the budget)"
                break
            trials = _ask_batch(study, settings, distributions, optuna)
            before = len(state.seen)
            simulated += _tell_batch(study, trials, space, settings, state, store_path, executor, optuna, lab)
            idle = 0 if len(state.seen) > before else idle + 1
            if idle >= settings.patience:
                stopped = f"converged: {idle} batches in a row proposed no new pipeline"
                break
            bar.n = min(len(state.seen), settings.budget)
            bar.refresh()
            if after_batch is not None:
                after_batch(batch_index)
            batch_index += 1
    finally:
        bar.close()
    return _result(settings, state, len(study.trials), simulated, stopped)


def _replay(study: Any, optuna: Any) -> _Progress:
    """The distinct pipelines the stored trials were told (a resumed search)."""
    state = _Progress()
    for trial in study.get_trials(deepcopy=False):
        text = trial.user_attrs.get("pipeline")
        if text is None or text in state.seen or not trial.user_attrs.get("counted"):
            continue
        candidate = trial.user_attrs.get("candidate")
        state.seen[text] = None if candidate is None else Candidate(**candidate)
        state.order.append(text)
    return state


def _ask_batch(study: Any, settings: AdviseSettings, distributions: dict[str, Any], optuna: Any) -> list[Any]:
    """The trials to tell next. Batch k is trials k*B to k*B + B - 1 (every trial is asked in
    a batch); a batch a killed run left unfinished is finished first: its missing trials asked,
    its untold ones told, nothing else, so a resumed search proposes what it would have."""
    size, done = settings.batch_size, study.get_trials(deepcopy=False)
    start = (len(done) - 1) // size * size if done else 0
    running = [t for t in done[start:] if t.state == optuna.trial.TrialState.RUNNING]
    if len(done) % size == 0 and not running:
        start = len(done)
    trials = []
    for frozen in running:
        study.sampler = _sampler(settings, frozen.number)
        trial = optuna.trial.Trial(study, frozen._trial_id)
        for name, dist in distributions.items():  # a kill between ask and the last suggestion
            trial.suggest_categorical(name, list(dist.choices))
        trials.append(trial)
    starts = _warm_start(settings)
    for number in range(len(done) if start < len(done) else start, start + size):
        study.sampler = _sampler(settings, number)
        if number < len(starts):  # the search starts from the corners of the space, then the pairs
            with warnings.catch_warnings():  # PartialFixedSampler is marked experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.sampler = optuna.samplers.PartialFixedSampler(starts[number], study.sampler)
        trials.append(study.ask(distributions))
    return trials


def _warm_start(settings: AdviseSettings) -> list[dict[str, Any]]:
    """The configurations the first trials propose: the corners, then the pairs."""
    space = SearchSpace.build(settings.network, settings.options)
    return (space.corners() if settings.corners else []) + (space.pairs() if settings.pairs else [])


def _tell_batch(
    study: Any,
    trials: list[Any],
    space: SearchSpace,
    settings: AdviseSettings,
    state: _Progress,
    store_path: str | Path,
    executor: Executor,
    optuna: Any,
    lab: Any = None,
) -> int:
    """Decode, evaluate what is new (within the budget), and tell every trial in trial order."""
    texts: list[str | None] = []
    for trial in trials:
        try:
            texts.append(space.decode(trial.params))
        except InputError:
            texts.append(None)
    room = settings.budget - len(state.seen)
    new = list(dict.fromkeys(t for t in texts if t is not None and t not in state.seen))[: max(0, room)]
    found, simulated = _evaluate(settings, new, store_path, executor, lab)
    for text in new:
        state.seen[text] = found.get(text)
        state.order.append(text)
    points = set(new)
    counted: set[str] = set()
    for trial, text in zip(trials, texts):
        study.sampler = _sampler(settings, trial.number)
        if text is None or text not in state.seen:  # cannot be built, or beyond the budget
            trial.set_user_attr("pipeline", text)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        candidate = state.seen[text]
        trial.set_user_attr("pipeline", text)
        trial.set_user_attr("counted", text in points and text not in counted)
        counted.add(text)
        if candidate is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        trial.set_user_attr("candidate", candidate.as_dict())
        for i, violation in enumerate(settings.constraints.violations(candidate)):
            trial.set_constraint(f"limit{i}", violation)  # the samplers prefer feasible trials
        study.tell(trial, [_told(name, candidate) for name in settings.objectives])
    return simulated


def _told(name: str, candidate: Candidate) -> float:
    return OBJECTIVES[name].get(candidate)


def _result(settings: AdviseSettings, state: _Progress, proposals: int, simulated: int, stopped: str) -> AdviseResult:
    evaluated = tuple(c for text in state.order if (c := state.seen[text]) is not None)
    feasible = [c for c in evaluated if settings.constraints.met(c)]
    quality = "perplexity" if settings.decoder else "accuracy"
    shown = settings.objectives if len(settings.objectives) > 1 else (quality, "energy")
    front = pareto_front(feasible, shown)
    best, reason = recommend(front if len(settings.objectives) > 1 else tuple(feasible), len(feasible), settings)
    if best is not None and best not in front:
        front = (*front, best)
    return AdviseResult(settings, evaluated, front, best, reason, proposals, simulated, stopped)


def _evaluate(
    settings: AdviseSettings, texts: Sequence[str], store_path: str | Path, executor: Executor, lab: Any = None
) -> tuple[dict[str, Candidate], int]:
    """The candidates of the pipelines that did not fail (by text) and how many points were
    simulated now (the others came from the store)."""
    if not texts:
        return {}, 0
    if settings.decoder:
        generation = {text: settings.generation_point(text) for text in texts}
        records, ran = run_generation_points(list(generation.values()), store_path, executor, lab)
        return {
            text: Candidate.from_generation(text, records[p.key]["result"], settings.carbon)
            for text, p in generation.items()
            if records[p.key]["result"] is not None
        }, ran
    points = {t: Point(settings.network, t, hardware=settings.hardware, accuracy=settings.accuracy_spec) for t in texts}
    summary = run_sweep(list(points.values()), store_path, executor, progress=False)
    records = read_records(store_path)
    out = {}
    for text, point in points.items():
        result = result_of(records[point.key])
        if result is not None:
            out[text] = Candidate.from_result(point.compression, result, settings.carbon)
    return out, summary.ran


def evaluate_pipelines(
    settings: AdviseSettings, texts: Sequence[str], store_path: str | Path, executor: Executor | None = None
) -> tuple[Candidate, ...]:
    """Given pipelines (a study's configurations, say) evaluated as the search evaluates its
    points, through the same store; the ones that fail are left out."""
    unique = list(dict.fromkeys(texts))
    found, _ = _evaluate(settings, unique, store_path, executor or InProcessExecutor())
    return tuple(found[text] for text in unique if text in found)


def exhaustive(
    space: SearchSpace, settings: AdviseSettings, store_path: str | Path, executor: Executor | None = None
) -> tuple[Candidate, ...]:
    """Every distinct pipeline of a (small) space evaluated: the ground truth a test compares
    the search with."""
    texts: list[str] = []
    for values in space.combinations():
        try:
            texts.append(space.decode(values))
        except InputError:
            continue
    return evaluate_pipelines(settings, texts, store_path, executor)


def space_size(space: SearchSpace) -> float:
    """Value combinations of a space (a float: large spaces overflow nothing)."""
    return math.prod(float(len(d.choices)) for d in space.dimensions)


def constraints_from(values: Mapping[str, float | None]) -> Constraints:
    return Constraints(**{k: v for k, v in values.items() if v is not None})
