"""A learned second opinion on what a sentence is about: one linear model per criterion item.

Keywords find a capability when the writer names it (MES, 制造执行系统, 鼎捷). Real applications
often describe it instead ("扫码报工，每批都能追到原料批次", "一块屏上就能看到每台设备在干什么").
This model scores a normalised sentence (or a table row) for every item from its character 2- and
3-grams and its Latin words, with weights learned from the project's own labelled documents
(``samples/train_topics.py``: sentences the gold labels quote for an item, against all others).

It only says which item a sentence is about. Whether the enterprise has it, plans it or lacks it is
the clause reading's business, the same as for a keyword. Its findings are mentions of kind
``model``, weaker than a keyword: evidence found only by the model is scored as weak and flagged.

The weights are data (``keywords/_topics.json``, part of the framework's fingerprint); scoring is a
sum of the weights of the sentence's features (numpy: one vector operation per sentence), rounded
before any threshold so that every machine decides alike.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from .normalize import normalize_key

MODEL_FILE = "_topics.json"
_LATIN = re.compile(r"[a-z][a-z0-9+]*|\d+[a-z]+[a-z0-9]*")
_NOISE = re.compile(r"[\s\d.,;:!?()\[\]{}<>\"'|/\\~`@#$%^&*_=+\-·、。，；：！？（）【】《》“”‘’…—]+")
MAX_CHARS = 400  # a longer passage is scored by its first part (a table row can run on)
# A sentence scoring at least this share of an item's threshold may be about it: shown as a hint and
# flagged for a person when nothing else speaks of the item (measured on corpus batches 1–3: of the
# items the tool found nothing for, those with such a hint were missed 2–3 times as often).
HINT_SHARE = 0.3


def topic_features(text: str, *, normalised: bool = False) -> list[str]:
    """The features of a text: character 2- and 3-grams of its letters (digits and punctuation
    dropped, so "2021年" and "2023年" do not differ) and its Latin words ("w:mes").
    ``normalised``: the text is normalised already (the finder's sentences are)."""
    key = (text if normalised else normalize_key(text))[:MAX_CHARS]
    words = ["w:" + m.group() for m in _LATIN.finditer(key)]
    letters = _NOISE.sub(" ", _LATIN.sub(" ", key))
    grams: list[str] = []
    for piece in letters.split():
        grams += [piece[i:i + 2] for i in range(len(piece) - 1)]
        grams += [piece[i:i + 3] for i in range(len(piece) - 2)]
    return grams + words


def _logistic(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-logit)) if logit > -30 else 0.0


class _Weights:
    """A vocabulary and a dense weight matrix (features × outputs): a text's scores are the sum of
    the rows of its distinct features, in one vector operation."""

    def __init__(self, rows: dict[str, list[float]], width: int, bias: list[float]):
        import numpy as np

        self.index = {feature: n for n, feature in enumerate(sorted(rows))}
        self.matrix = np.zeros((len(self.index) + 1, width), dtype=np.float64)  # the last row: unknown features
        for feature, n in self.index.items():
            self.matrix[n] = rows[feature]
        self.bias = np.asarray(bias, dtype=np.float64)

    def totals(self, features: list[str]):  # noqa: ANN201 - a numpy vector
        """The bias plus the rows of the text's distinct known features, rounded to 6 decimals: sums of
        the same weights in another order (another CPU's vector unit) differ in the last bits, and a
        threshold must fall the same way on every machine."""
        import numpy as np

        index = self.index
        rows = sorted({index[f] for f in features if f in index})
        total = self.bias + np.add.reduce(self.matrix[rows], axis=0) if rows else self.bias
        return np.round(total, 6)


@dataclass(frozen=True)
class ModeModel:
    """Whether a sentence about some item states it as achieved, planned or lacking (a softmax over
    the three), for sentences the clause reading finds no cue in."""

    labels: tuple[str, ...]
    weights: _Weights
    confidence: float  # below this the guess is not used

    def mode(self, text: str, *, normalised: bool = False) -> tuple[str, float]:
        totals = self.weights.totals(topic_features(text, normalised=normalised)).tolist()
        top = max(totals)
        exps = [math.exp(t - top) for t in totals]
        best = max(range(len(exps)), key=lambda i: exps[i])
        return self.labels[best], exps[best] / sum(exps)


@dataclass(frozen=True)
class TopicModel:
    """Per item: a bias and weights over a shared vocabulary, and the probability above which a
    sentence counts as being about the item; and the mode model."""

    items: tuple[str, ...]
    thresholds: tuple[float, ...]
    weights: _Weights
    version: str
    modes: ModeModel | None = None

    def __post_init__(self) -> None:
        import numpy as np

        # a probability threshold as the logit it stands for: compared without computing every probability
        def logit(p: float) -> float:
            return math.log(p / (1 - p)) if 0 < p < 1 else (-math.inf if p <= 0 else math.inf)

        object.__setattr__(self, "_cuts", np.asarray([logit(t) for t in self.thresholds], dtype=np.float64))
        object.__setattr__(self, "_hint_cuts", np.asarray([logit(HINT_SHARE * t) for t in self.thresholds],
                                                          dtype=np.float64))

    def scores(self, text: str, *, normalised: bool = False) -> list[float]:
        """The probability that ``text`` is about each item (in ``items`` order)."""
        return [_logistic(t) for t in self.weights.totals(topic_features(text, normalised=normalised)).tolist()]

    def topics(self, text: str, *, normalised: bool = False) -> list[tuple[str, float]]:
        """(item, probability) for every item the text is about, strongest first."""
        found, _ = self.topics_and_hints(text, normalised=normalised)
        return found

    def topics_and_hints(self, text: str, *, normalised: bool = False, hint: float = HINT_SHARE
                         ) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """The items the text is about, and the items it may be about: a probability of at least ``hint``
        times the item's threshold (item, share of the threshold), strongest first."""
        import numpy as np

        totals = self.weights.totals(topic_features(text, normalised=normalised))
        above = np.flatnonzero(totals >= self._cuts)  # type: ignore[attr-defined]
        found = [(self.items[i], _logistic(float(totals[i]))) for i in above.tolist()]
        found.sort(key=lambda f: -f[1])
        near: list[tuple[str, float]] = []
        if hint < 1:
            # a share of the threshold is a logit bound too: p ≥ hint·t ⟺ logit ≥ log(hint·t / (1 − hint·t))
            low = np.flatnonzero((totals >= self._hint_cuts) & (totals < self._cuts))  # type: ignore[attr-defined]
            near = [(self.items[i], round(_logistic(float(totals[i])) / self.thresholds[i], 3)) for i in low.tolist()]
            near.sort(key=lambda f: -f[1])
        return found, near


def load_topic_model(folder: Path) -> TopicModel | None:
    """The model in a keywords folder, or None when the folder has none (the finder then goes without)."""
    path = Path(folder) / MODEL_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    items = tuple(data["items"])
    rows: dict[str, list[float]] = {}
    for feature, pairs in data["weights"].items():
        row = [0.0] * len(items)
        for index, weight in pairs:
            row[int(index)] = float(weight)
        rows[feature] = row
    modes = None
    if "modes" in data:
        m = data["modes"]
        modes = ModeModel(labels=tuple(m["labels"]),
                          weights=_Weights({f: [float(v) for v in ws] for f, ws in m["weights"].items()},
                                           len(m["labels"]), [float(b) for b in m["bias"]]),
                          confidence=float(m["confidence"]))
    return TopicModel(items=items, thresholds=tuple(float(t) for t in data["thresholds"]),
                      weights=_Weights(rows, len(items), [float(b) for b in data["bias"]]),
                      version=str(data.get("version", "")), modes=modes)
