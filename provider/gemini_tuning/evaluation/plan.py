"""Everything an evaluation needs, checked before its first request: the plan the operator carries out.

:func:`plan_evaluation` reads the upstream hand-offs, loads and formats the examples, resolves the metrics
(their libraries installed, each one run once on a reference), checks the gates, the generation config
and the tuned-model limits. Any problem is an :class:`~gemini_tuning.exceptions.InvalidInputError`, and
nothing has been sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gemini_tuning.evaluation.checkpoints import checkpoint_requests, select_checkpoints
from gemini_tuning.evaluation.examples import EvalDataset, resolve_dataset
from gemini_tuning.evaluation.gates import GateSpec, check_gate_arguments
from gemini_tuning.evaluation.inputs import ModelUnderTest, read_model
from gemini_tuning.evaluation.limits import check_generation_config, check_tuned_model_request
from gemini_tuning.evaluation.metrics import Metric, resolve_metrics, score
from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.models import Checkpoint


@dataclass(frozen=True, slots=True)
class EvaluationPlan:
    model: ModelUnderTest
    baseline_model: str | None
    data: EvalDataset
    metrics: dict[str, Metric]
    gates: GateSpec
    config: dict[str, Any] | None
    checkpoints: tuple[Checkpoint, ...] = ()

    @property
    def primary_metric(self) -> str:
        """The gate metric, else the first metric: ranks checkpoints and the report's worst examples."""
        return self.gates.primary_metric or next(iter(self.metrics))

    def requests(self) -> dict[str, str]:
        """``{role: model to call}``: ``tuned``, ``baseline`` and the checkpoints that need their own requests."""
        roles = {"tuned": self.model.name}
        if self.baseline_model:
            roles["baseline"] = self.baseline_model
        return roles | checkpoint_requests(self.checkpoints, self.model.name)


def plan_evaluation(
    *,
    model: Any,
    dataset: Any,
    capabilities: Any,
    prompt_template: str | None = None,
    metrics: Sequence[str] = (),
    custom_metrics: Mapping[str, Callable[[str, str], float]] | None = None,
    baseline_model: str | None = None,
    min_scores: Any = None,
    require_improvement: bool | str | Collection[str] = False,
    max_failed_fraction: float = 0.0,
    generation_config: Any = None,
    max_examples: int | None = None,
    checkpoints: str | Collection[str] | None = None,
) -> EvaluationPlan:
    """Check everything that can fail locally; ``capabilities`` are the connection's backend's."""
    tuned = read_model(model)
    resolved = resolve_metrics(metrics, custom_metrics)
    gates = check_gate_arguments(
        list(resolved),
        min_scores=_mapping(min_scores, "min_scores"),
        require_improvement=require_improvement,
        baseline_model=baseline_model or None,
        max_failed_fraction=max_failed_fraction,
    )
    config = _mapping(generation_config, "generation_config") or None
    check_generation_config(config)
    data = resolve_dataset(dataset, prompt_template=prompt_template, model=tuned, max_examples=max_examples)
    first = data.examples[0]  # a metric that cannot score a reference against itself fails here, not after
    score(resolved, first.expected, first.expected, where=f"a trial run on example {first.line}'s reference")
    check_tuned_model_request(data.examples, config, capabilities, model=tuned.name, source=data.source)
    return EvaluationPlan(
        model=tuned,
        baseline_model=baseline_model or None,
        data=data,
        metrics=resolved,
        gates=gates,
        config=config,
        checkpoints=select_checkpoints(tuned, checkpoints),
    )


def _mapping(value: Any, argument: str) -> dict[str, Any]:
    """A dict argument, also when a template rendered it to JSON text."""
    if value is None or (isinstance(value, str) and not value.strip()):  # unset, or a template rendered nothing
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidInputError(f"`{argument}` must be a dict (or its JSON text), got {value!r}") from None
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"`{argument}` must be a dict, got {type(value).__name__}")
    return dict(value)
