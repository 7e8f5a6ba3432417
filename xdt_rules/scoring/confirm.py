"""需人工确认 from how often such a verdict was wrong: a small learned model over the item's result.

The rules say what an item's status is; whether a reviewer must look again is a different question —
how likely that verdict is wrong. Hand-set ``needs_confirmation`` on rules flagged a quarter of all
items yet held only about 60 % of the wrong verdicts on the labelled corpus. This model estimates
the chance that a verdict is wrong from named, readable features of the item's result (its item, its
status, the rules that fired, its evidence counted by polarity, match kind, reading and actor, the best
model-hint share, how much of the application has evidence) and flags the items above a threshold chosen
so that about the same quarter is flagged — now the riskiest quarter.

The weights are a JSON file next to the rules (``confirmation:`` in rules.yaml), trained by
``samples/train_confirmation.py`` on the corpus results and gold (logistic regression, no scikit-learn
needed here). Same inputs, same file, same flags. Verdicts resting on OCR text are still always flagged
(:func:`.score.decide`).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import DataFileError
from ..models import ItemResult

HINT_REASON = "model_hint"
# What the reviewer reads when the model flags an item: the estimated chance the preliminary call is wrong.
RISK_REASON = "初判把握不大（按已标注语料，同类判断约 {percent}% 有误），需人工确认"


class ConfirmationModel(BaseModel):
    """Weights of the confirmation model: risk = logistic(intercept + Σ weight · feature)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    trained_on: str = Field("", description="which labelled batches and code version")
    intercept: float
    threshold: float = Field(gt=0, lt=1, description="flag when the estimated risk is at least this")
    share: float = Field(0.0, ge=0, le=1, description="the share of training items flagged at the threshold")
    weights: dict[str, float]


def load_confirmation_model(path: str | Path) -> ConfirmationModel:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return ConfirmationModel.model_validate(data)
    except OSError as exc:
        raise DataFileError(str(path), None, f"无法读取确认模型：{exc.strerror or exc}",
                            f"cannot read the confirmation model: {exc}") from exc
    except (ValueError, ValidationError) as exc:
        raise DataFileError(str(path), None, f"确认模型格式错误：{str(exc).splitlines()[0]}",
                            f"the confirmation model is malformed: {str(exc).splitlines()[0]}") from exc


def features(item: ItemResult, evidenced_share: float) -> dict[str, float]:
    """The named features of one item's result (the same in training and at run time).
    ``evidenced_share``: the share of the application's items with any evidence counted (met/partial)."""
    out: dict[str, float] = {f"item={item.id}": 1.0, f"status={item.status}": 1.0}
    for key in item.rules_fired:
        out[f"rule={key}"] = 1.0
    counted: Counter[str] = Counter()
    hint = 0.0
    evidence = 0
    for ev in item.evidence:
        reading = ev.reading
        if reading is not None and reading.reason == HINT_REASON:
            try:
                hint = max(hint, float(reading.words or 0))
            except ValueError:
                pass
            continue
        evidence += 1
        counted[f"polarity={ev.polarity}"] += 1
        counted[f"kind={ev.kind}"] += 1
        if reading is not None:
            counted[f"reason={reading.reason}"] += 1
            counted[f"actor={reading.actor}"] += 1
    out.update({name: math.log1p(n) for name, n in counted.items()})
    out["evidence"] = math.log1p(evidence)
    out["hint"] = hint
    out["evidenced_share"] = evidenced_share
    return out


def evidenced_share(items: Sequence[ItemResult]) -> float:
    return sum(1 for i in items if i.status in ("met", "partial")) / len(items) if items else 0.0


def risk(model: ConfirmationModel, named: dict[str, float]) -> float:
    z = model.intercept + sum(model.weights.get(name, 0.0) * value for name, value in sorted(named.items()))
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


def confirm_items(items: Sequence[ItemResult], model: ConfirmationModel, *,
                  always: Sequence[bool] | None = None) -> list[ItemResult]:
    """The items with ``needs_confirmation`` set by the model: risky ones flagged (with the estimate as a
    reason), the rest not — except those ``always`` to be confirmed (evidence read from a scan)."""
    share = evidenced_share(items)
    out: list[ItemResult] = []
    for n, item in enumerate(items):
        estimate = risk(model, features(item, share))
        flagged = estimate >= model.threshold
        reasons = list(item.reasons)
        if flagged:
            reasons.append(RISK_REASON.format(percent=max(1, round(estimate * 100))))
        forced = bool(always[n]) if always is not None else False
        out.append(item.model_copy(update={"needs_confirmation": flagged or forced, "reasons": reasons}))
    return out
